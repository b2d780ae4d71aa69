import { findPatientData } from './patient-data';

/**
 * Masks patient identifiers in free text before it is logged: NHS numbers and dates of birth in
 * any grouping or separators, as defined once in ./patient-data (the workflow-ID check refuses the
 * same forms), and login URLs. ISO timestamps are kept: log lines carry them.
 *
 * Workflow IDs that hero-flow derives (`outreach-` + 32 hex characters of an HMAC, see
 * src/client/workflow-id.ts) are kept whole even when their hex happens to hold a run of digits
 * that looks like an NHS number or a date: they are not patient data, and a log that mangled them
 * could not be matched to its run.
 *
 * Pure and deterministic, so workflow code may use it too.
 */
const LOGIN_URL = /https?:\/\/[^\s"'<>]*\/verify\/[^\s"'<>]*/gi;
/**
 * Kept whole: derived workflow IDs, and IPv4 addresses with their port (keptAddress). Their digits can
 * read as an NHS number (127.0.0.1:8787 holds a valid check digit), and a log line that masked where a
 * service listens would not say where to look.
 */
const KEPT =
  /(?<![A-Za-z0-9])outreach-[0-9a-f]{32}(?![A-Za-z0-9])|(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?::\d{1,5})?(?![\d.])/g;

/**
 * Whether an IPv4 address (with its port) is kept whole. Validity decides: one whose digits hold no valid
 * NHS number is kept. One that does (94.34.76.59:19 is 943 476 5919 written as an address) is kept only
 * in the ranges services listen on (loopback, private, link-local), which all start with 1: England and
 * Wales issue NHS numbers starting 4, 6, 7 or 9 (tests), Northern Ireland 3. (0.0.0.0:port has too few digits.)
 */
function keptAddress(address: string): boolean {
  if (!findPatientData(address).some((m) => m.kind === 'nhs-number')) return true;
  const [a, b] = address.split(/[.:]/).map(Number) as [number, number];
  return (
    a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
  );
}

const ALPHANUMERIC = /[A-Za-z0-9]/;

/**
 * Whether text[start, end) is a chain of its own (./patient-data): the first letter or digit on each side
 * of it, past any separators, is not a digit. An address joined to more digits ("0000/0.0.01.08",
 * "301 3.0.0.00_07") is part of a longer chain, which may hold an NHS number.
 */
function standsAlone(text: string, start: number, end: number): boolean {
  let i = start - 1;
  while (i >= 0 && !ALPHANUMERIC.test(text[i]!)) i--;
  let j = end;
  while (j < text.length && !ALPHANUMERIC.test(text[j]!)) j++;
  return !(i >= 0 && /\d/.test(text[i]!)) && !(j < text.length && /\d/.test(text[j]!));
}

export function redact(text: string): string {
  const urlsMasked = text.replace(LOGIN_URL, '[login-url]');
  let out = '';
  let from = 0;
  for (const m of urlsMasked.matchAll(KEPT)) {
    // Not kept: masked with the text around it (its chain may run on into that text).
    if (
      !m[0].startsWith('outreach-') &&
      !(keptAddress(m[0]) && standsAlone(urlsMasked, m.index, m.index + m[0].length))
    ) {
      continue;
    }
    out += maskPatientData(urlsMasked.slice(from, m.index)) + m[0];
    from = m.index + m[0].length;
  }
  return out + maskPatientData(urlsMasked.slice(from));
}

function maskPatientData(text: string): string {
  let out = '';
  let from = 0;
  for (const m of findPatientData(text, { keepTimestamps: true })) {
    out += text.slice(from, m.start) + `[${m.kind}]`;
    from = m.end;
  }
  return out + text.slice(from);
}

/** How deep and how much of a log record's metadata is walked; what lies beyond is replaced. */
export const REDACT_MAX_DEPTH = 64;
export const REDACT_MAX_NODES = 10_000;

/**
 * Redacts every string inside a log record's metadata, object keys and numbers included (a
 * number can be an NHS number), however deep. Iterative, so depth cannot overflow the stack;
 * cycles become '[circular]', anything deeper than REDACT_MAX_DEPTH '[too deep]', and anything
 * past REDACT_MAX_NODES values '[truncated]': never returned unmasked. The result is plain data
 * that JSON.stringify accepts (bigints become strings).
 */
export function redactDeep(value: unknown): unknown {
  const root: { value?: unknown } = {};
  // Each task fills one slot of an already-built parent with the redacted copy of `value`.
  const tasks: { value: unknown; depth: number; ancestors: Set<object>; set: (v: unknown) => void }[] = [
    { value, depth: 0, ancestors: new Set(), set: (v) => (root.value = v) },
  ];
  let nodes = 0;
  while (tasks.length) {
    const task = tasks.pop()!;
    if (++nodes > REDACT_MAX_NODES) {
      task.set('[truncated]');
      continue;
    }
    const v = task.value;
    if (typeof v === 'string') task.set(redact(v));
    else if (typeof v === 'number' || typeof v === 'bigint') {
      const masked = redact(String(v));
      task.set(masked !== String(v) || typeof v === 'bigint' ? masked : v);
    } else if (v === null || typeof v !== 'object') task.set(typeof v === 'function' ? undefined : v);
    else if (task.ancestors.has(v)) task.set('[circular]');
    else if (task.depth >= REDACT_MAX_DEPTH) task.set('[too deep]');
    else if (v instanceof Error) task.set(redact(String(v.stack ?? v.message)));
    else if (v instanceof Date) task.set(Number.isNaN(v.getTime()) ? 'Invalid Date' : redact(v.toISOString()));
    else {
      const ancestors = new Set(task.ancestors).add(v);
      const copy: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
      task.set(copy);
      // Enumerate no more than the budget left, so a huge array or object costs no more than that.
      let room = REDACT_MAX_NODES - nodes - tasks.length;
      const push = (key: string, x: unknown) =>
        tasks.push({
          value: x,
          depth: task.depth + 1,
          ancestors,
          set: (r) => ((copy as Record<string, unknown>)[key] = r),
        });
      if (Array.isArray(copy)) {
        const items = v as unknown[];
        const take = Math.max(0, Math.min(items.length, room));
        for (let i = 0; i < take; i++) push(String(i), items[i]);
        if (take < items.length) copy[take] = '[truncated]';
      } else {
        for (const k in v) {
          if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
          if (room-- <= 0) {
            copy['[truncated]'] = '[truncated]';
            break;
          }
          push(redact(k), (v as Record<string, unknown>)[k]);
        }
      }
    }
  }
  return root.value;
}
