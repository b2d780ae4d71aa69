/**
 * One way to turn a zod error into readable problems, one line each (`booking.expiryDte: unknown
 * field; did you mean "expiryDate"?`), for the client, the CLI, the workflow and the activities.
 *
 * Pure and deterministic (no Node built-ins, no I/O): workflow code imports it.
 * Never echoes a value (values are patient data); a key or path segment is shown only when it looks
 * like a field name, since a caller can put patient data in a key too (`{"9434765919": 1}`).
 */
import type { z } from 'zod';

/** Problems listed at most; the rest are counted, so a request with 100,000 bad keys yields a short message. */
export const MAX_PROBLEMS = 20;
/** Unknown keys named per object; the rest are counted. */
const MAX_UNKNOWN_KEYS_NAMED = 5;

/** A field name: letters, digits, `_`, `$`, `-`, at most 64 long, and too few digits to hold an NHS number or a date. */
const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/;
export function isShowableKey(key: PropertyKey): key is string {
  return typeof key === 'string' && FIELD_NAME.test(key) && key.replace(/\D/g, '').length <= 4;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? String(p) : isShowableKey(p) ? p : '<field>')).join('.');
}

/**
 * The problems of `error`, one line per problem, each prefixed with the field path (`root` names the
 * whole value, e.g. "(request)"). Pass the `schema` that produced the error so an unknown key gets the
 * nearest known key as a suggestion.
 */
export function describeProblems(error: z.ZodError, root = '(input)', schema?: z.core.$ZodType): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const at = pathText(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeysAt(schema, issue.path) : [];
      const named = issue.keys.filter(isShowableKey);
      for (const key of named.slice(0, MAX_UNKNOWN_KEYS_NAMED)) {
        const suggestion = nearestKey(key, known);
        lines.push(`${at ? `${at}.` : ''}${key}: unknown field${suggestion ? `; did you mean "${suggestion}"?` : ''}`);
      }
      const more = named.length - Math.min(named.length, MAX_UNKNOWN_KEYS_NAMED);
      if (more > 0) lines.push(`${at || root}: ${more} more unknown field${more === 1 ? '' : 's'}`);
      const hidden = issue.keys.length - named.length;
      if (hidden > 0) {
        lines.push(
          hidden === 1
            ? `${at || root}: an unknown field whose name is not shown (it does not look like a field name and may hold patient data)`
            : `${at || root}: ${hidden} unknown fields whose names are not shown (they do not look like field names and may hold patient data)`,
        );
      }
      continue;
    }
    lines.push(`${at || root}: ${issue.message}`);
  }
  if (lines.length <= MAX_PROBLEMS) return lines;
  const rest = lines.length - (MAX_PROBLEMS - 1);
  return [...lines.slice(0, MAX_PROBLEMS - 1), `... and ${rest} more problems`];
}

/**
 * The closest of `known` to `key` (case-insensitive edit distance, transpositions counting once), if
 * close enough to be a typo: 1 edit for short names, 2 up to 8 characters, 3 beyond. Ties go to the
 * first in `known`, so the suggestion is deterministic.
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const limit = key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    if (candidate === key) continue;
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 64) return Math.abs(a.length - b.length);
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    [prev2, prev] = [prev, row];
  }
  return prev[b.length]!;
}

/** The parts of a zod schema's definition this module walks; read structurally, whatever the schema kind. */
interface SchemaDef {
  type: string;
  innerType?: Walkable;
  in?: Walkable;
  options?: readonly Walkable[];
  left?: Walkable;
  right?: Walkable;
  shape?: Record<string, Walkable>;
  element?: Walkable;
  valueType?: Walkable;
  items?: readonly Walkable[];
}
interface Walkable {
  _zod: { def: SchemaDef };
}

/** The schemas `schema` may stand for once wrappers (optional, default, pipe, union, ...) are looked through. */
function unwrap(schema: Walkable): Walkable[] {
  const out: Walkable[] = [];
  const todo = [schema];
  // A bound, not a recursion: schemas are finite trees here (no z.lazy is followed).
  for (let steps = 0; todo.length && steps < 1000; steps++) {
    const s = todo.pop()!;
    const def = s._zod.def;
    const next = [def.innerType, def.in, def.left, def.right, ...(def.type === 'union' ? (def.options ?? []) : [])];
    const wrappers = next.filter((n): n is Walkable => n !== undefined);
    if (wrappers.length && def.type !== 'object') todo.push(...wrappers);
    else out.push(s);
  }
  return out;
}

/** The keys the object schema(s) at `path` within `schema` declare, in declaration order. */
function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let here = unwrap(schema as unknown as Walkable);
  for (const segment of path) {
    const next: Walkable[] = [];
    for (const s of here) {
      const def = s._zod.def;
      const child =
        def.type === 'object' && typeof segment === 'string'
          ? def.shape?.[segment]
          : def.type === 'array'
            ? def.element
            : def.type === 'record'
              ? def.valueType
              : def.type === 'tuple' && typeof segment === 'number'
                ? def.items?.[segment]
                : undefined;
      if (child) next.push(...unwrap(child));
    }
    here = next;
  }
  const keys = here.flatMap((s) => (s._zod.def.type === 'object' ? Object.keys(s._zod.def.shape ?? {}) : []));
  return [...new Set(keys)];
}
