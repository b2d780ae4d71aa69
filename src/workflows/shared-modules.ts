/**
 * Loaded once per worker thread and shared by every run in it (the bundler's `preloadModules`, listed in
 * src/worker/workflow-source.ts), instead of once per run: the zod schemas and the small pure modules they
 * import. A run that loaded them itself would build its own copy of every schema: about 1.5 MiB of heap
 * per cached run and some 40 CPU-ms on every replay of an evicted run.
 *
 * The SDK freezes what a shared module exports. zod 4 binds a schema's methods and derives some of its
 * internals on first read, and settles each schema's parse function on its first parse, by writing to
 * the instance, which a frozen instance refuses; so every schema in the graph is read and parsed once
 * here, while it can still take them (the replay tests and every workflow test run on this bundle). zod
 * also resets a pattern's `lastIndex` before each test, which a frozen RegExp refuses: each RegExp in the
 * graph is swapped for a Pattern that tests with it and takes that reset. Only modules without per-run
 * state may be shared: these hold immutable definitions and pure functions.
 */
import * as dob from '../hero/dob';
import * as heroInferred from '../hero/inferred';
import * as heroSchemas from '../hero/schemas';
import * as campaignIds from '../shared/campaign-ids';
import * as duration from '../shared/duration';
import * as nhsNumber from '../shared/nhs-number';
import * as patientData from '../shared/patient-data';
import * as priority from '../shared/priority';
import * as sendWindow from '../shared/send-window';
import * as campaignSchemas from './campaign-schemas';
import * as schemas from './schemas';

/**
 * Every module these imports load, each frozen by the SDK: one left out keeps its schemas' lazy members
 * unsettled (test/workflow-source.test.ts checks the list against the imports).
 */
export const SHARED_MODULES = {
  'hero/dob': dob,
  'hero/inferred': heroInferred,
  'hero/schemas': heroSchemas,
  'shared/campaign-ids': campaignIds,
  'shared/duration': duration,
  'shared/nhs-number': nhsNumber,
  'shared/patient-data': patientData,
  'shared/priority': priority,
  'shared/send-window': sendWindow,
  'workflows/campaign-schemas': campaignSchemas,
  'workflows/schemas': schemas,
};

/** Prototypes shared by every object of their kind, which hold no lazy member of a schema. */
const BUILT_IN = new Set<unknown>([Object.prototype, Array.prototype, Function.prototype, null]);

/**
 * Reads every accessor a value's prototypes define, parses once with each schema, then reads every
 * property, through the whole object graph: whatever zod stores lazily is stored before the SDK freezes
 * the value.
 */
export function materialize(value: unknown, seen: WeakSet<object> = new WeakSet(), inSchema = false): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  for (let proto = Object.getPrototypeOf(value) as object | null; !BUILT_IN.has(proto);) {
    for (const key of Reflect.ownKeys(proto!)) {
      if (Object.getOwnPropertyDescriptor(proto!, key)?.get) read(value, key);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  const schema = value as { _zod?: unknown; safeParse?: (data: unknown) => unknown };
  const within = inSchema || schema._zod !== undefined;
  if (schema._zod !== undefined && typeof schema.safeParse === 'function') {
    // Any answer will do, a refusal included: the first parse settles the function, whatever the input.
    try {
      schema.safeParse(undefined);
    } catch {
      // A transform reached directly with no input throws; its schema's parse is settled all the same.
    }
  }
  for (const key of Reflect.ownKeys(value)) {
    const v = read(value, key);
    // Only a schema's own patterns: any other RegExp is refused by test/workflow-source.test.ts.
    if (within && v instanceof RegExp) swapPattern(value, key, v);
    else materialize(v, seen, within);
  }
}

/**
 * Stands in for a RegExp once frozen: `test` uses the RegExp, held where freezing does not reach, and
 * `lastIndex` is an accessor of the prototype (which the SDK does not freeze), so zod's reset is taken.
 */
class Pattern {
  readonly #re: RegExp;
  readonly source: string;
  readonly flags: string;
  constructor(re: RegExp) {
    this.#re = re;
    this.source = re.source;
    this.flags = re.flags;
  }
  get lastIndex(): number {
    return this.#re.lastIndex;
  }
  set lastIndex(n: number) {
    this.#re.lastIndex = n;
  }
  test(s: string): boolean {
    return this.#re.test(s);
  }
  exec(s: string): RegExpExecArray | null {
    return this.#re.exec(s);
  }
  toString(): string {
    return String(this.#re);
  }
}

function swapPattern(holder: object, key: string | symbol, re: RegExp): void {
  const d = Object.getOwnPropertyDescriptor(holder, key);
  if (d?.writable) (holder as Record<string | symbol, unknown>)[key] = new Pattern(re);
}

function read(value: object, key: string | symbol): unknown {
  try {
    return (value as Record<string | symbol, unknown>)[key];
  } catch {
    return undefined;
  }
}

materialize(SHARED_MODULES);
