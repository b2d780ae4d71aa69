/**
 * Durations in requests: "7 days", "6 hours", "90d", "1.5h", "250ms", or milliseconds as a number. The
 * grammar is the one Temporal's SDK accepts for its own durations (the `ms` package's): requests
 * accepted before this parser still parse to the same milliseconds, so runs in flight replay unchanged.
 * Parsed here, in one place, rather than through an SDK internal (`@temporalio/common/lib/time`).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const UNIT_MS: Record<string, number> = {
  y: DAY * 365.25,
  w: DAY * 7,
  d: DAY,
  h: HOUR,
  m: MINUTE,
  s: SECOND,
  ms: 1,
};

const UNIT =
  /^(years?|yrs?|y|weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|milliseconds?|msecs?|ms)$/;

function unitMs(unit: string): number {
  if (/^(milliseconds?|msecs?|ms)$/.test(unit)) return UNIT_MS.ms!;
  if (/^y/.test(unit)) return UNIT_MS.y!;
  if (/^w/.test(unit)) return UNIT_MS.w!;
  if (/^d/.test(unit)) return UNIT_MS.d!;
  if (/^h/.test(unit)) return UNIT_MS.h!;
  if (/^m/.test(unit)) return UNIT_MS.m!;
  return UNIT_MS.s!;
}

/** Milliseconds, or NaN for what is not a duration. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(-?(?:\d+)?\.?\d+) *([a-z]+)?$/i.exec(value);
  if (!match) return Number.NaN;
  const unit = (match[2] ?? 'ms').toLowerCase();
  if (!UNIT.test(unit)) return Number.NaN;
  return parseFloat(match[1]!) * unitMs(unit);
}

/** A duration in words for messages: "90 days", "2.88 hours", "10 seconds". */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [DAY, 'day'],
    [HOUR, 'hour'],
    [MINUTE, 'minute'],
    [SECOND, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size) {
      const n = Math.round((ms / size) * 100) / 100;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}

/**
 * Milliseconds in a Temporal `Duration` (a number of milliseconds, or a string as above), for settings
 * handed to the SDK (a worker's `shutdownGraceTime`, the webhook receiver's tolerance).
 *
 * @throws TypeError when `value` is a string that is not a duration.
 */
export function msToNumber(value: string | number): number {
  const ms = parseDuration(value);
  if (Number.isNaN(ms)) throw new TypeError(`not a duration: ${JSON.stringify(value)}`);
  return ms;
}
