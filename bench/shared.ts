/**
 * Small helpers of the benches. bench/run.ts and bench/campaign.ts still hold their own copies of these
 * (quantile, the machine's description, the Hero endpoints); they can import them from here.
 */
import { cpus, totalmem } from 'node:os';

/** The sandbox's endpoints that are Hero's /v1 API calls (not the sandbox's own admin routes). */
export const HERO_ENDPOINTS: ReadonlySet<string> = new Set([
  'register_pds',
  'create_booking_link',
  'get_booking_link',
  'send_message',
  'get_message',
]);

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
