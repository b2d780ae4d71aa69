/**
 * Small helpers of the benches, one definition each: the Hero endpoints, quantile, positive numbers from the
 * environment, the machine's description and the synthetic patients (bench/run.ts, campaign.ts, cache.ts and
 * load.ts import them from here).
 */
import { cpus, totalmem } from 'node:os';
import { syntheticNhsNumber } from '../test/support/fixtures';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../src/config/worker';
import type { RecordedRequest, Sandbox } from '../tools/sandbox';

/** The sandbox's endpoints that are Hero's /v1 API calls (not the sandbox's own admin routes). */
export const HERO_ENDPOINTS: ReadonlySet<string> = new Set([
  'register_pds',
  'create_booking_link',
  'get_booking_link',
  'send_message',
  'get_message',
]);

/**
 * How many requests a bench's sandbox keeps (its `maxRecordedRequests`): far above any bench's calls (a
 * 10,000-record campaign makes about 50,000), where the sandbox's default, 10,000, dropped the first ones.
 */
export const BENCH_RECORDED_REQUESTS = 2_000_000;

/**
 * Every Hero call the sandbox recorded, in order.
 * @throws Error if the sandbox dropped any (more calls than it keeps): every figure counted from them
 * (first call, shares, 429s) would be wrong.
 */
export function heroCallsOf(sandbox: Sandbox): RecordedRequest[] {
  if (sandbox.requestsDropped > 0)
    throw new Error(
      `the sandbox dropped its ${sandbox.requestsDropped} oldest requests (it keeps ${BENCH_RECORDED_REQUESTS}): ` +
        'figures counted from its log would be wrong; raise BENCH_RECORDED_REQUESTS in bench/shared.ts',
    );
  return sandbox.requests().filter((r) => HERO_ENDPOINTS.has(r.endpoint));
}

/** The nearest-rank quantile `q` (0-1) of `values`; NaN when there are none. */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/**
 * A positive number from the environment, or `fallback` when unset.
 * @throws Error naming the variable when it is set to anything but a positive number.
 */
export function positiveEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (!v) return fallback;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name}: "${v}" is not a positive number`);
  return n;
}

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpu: string;
  node: string;
  platform: string;
}

/** What the bench ran on, for its report. */
export function machine(): Machine {
  return {
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/**
 * Unique synthetic NHS numbers from `seed`: syntheticNhsNumber(seed + 13), (seed + 26), ..., skipping any
 * number already given (the seeds are kept per bench so that results stay comparable).
 */
export function* syntheticNhsNumbers(seed: number): Generator<string, never> {
  const seen = new Set<string>();
  for (;;) {
    let nhsNumber: string;
    do nhsNumber = syntheticNhsNumber((seed += 13));
    while (seen.has(nhsNumber));
    seen.add(nhsNumber);
    yield nhsNumber;
  }
}

/** The synthetic date of birth of the patient at `index` (1950-1989, month 1-9, day 10-18). */
export const syntheticDob = (index: number): string => `19${50 + (index % 40)}-0${1 + (index % 9)}-1${index % 9}`;

export interface SyntheticPatient {
  index: number;
  nhsNumber: string;
  dob: string;
  patientId: string;
}

/** `n` synthetic patients: unique NHS numbers from `seed`, patient IDs `patientIdBase` + index. */
export function syntheticPatients(n: number, opts: { seed: number; patientIdBase: number }): SyntheticPatient[] {
  const nhsNumbers = syntheticNhsNumbers(opts.seed);
  return Array.from({ length: n }, (_, index) => ({
    index,
    nhsNumber: nhsNumbers.next().value,
    dob: syntheticDob(index),
    patientId: String(opts.patientIdBase + index),
  }));
}

/** The bench worker's workflow cache, as printed: hero-flow's default unless HERO_MAX_CACHED_WORKFLOWS is set. */
export const WORKER_CACHE = process.env.HERO_MAX_CACHED_WORKFLOWS?.trim()
  ? `${process.env.HERO_MAX_CACHED_WORKFLOWS.trim()} runs (HERO_MAX_CACHED_WORKFLOWS)`
  : `${DEFAULT_MAX_CACHED_WORKFLOWS} runs (hero-flow's default)`;
