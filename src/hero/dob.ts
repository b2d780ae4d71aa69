import { z } from 'zod';

/** True if `value` is `YYYY-MM-DD` and names a real calendar date (no 2023-02-30). */
export function isIsoCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** Longer strings are refused before any date check (a date is 10 characters). */
const DATE_MAX_LENGTH = 32;
const dateLength = { message: `must be at most ${DATE_MAX_LENGTH} characters`, abort: true } as const;

/** An ISO calendar date, e.g. a booking link's expiry date. */
export const isoDateSchema = z
  .string({ error: 'must be a string' })
  .max(DATE_MAX_LENGTH, dateLength)
  .refine(isIsoCalendarDate, { message: 'must be a real calendar date written YYYY-MM-DD' });

/**
 * Date of birth: a real calendar date, not in the future. "Today" is the date in the furthest-ahead
 * time zone (UTC+14), so no caller's today is rejected (in the UK it is ahead of UTC half the year).
 * `Date.now()` is safe here even inside workflow code, where the SDK replaces it with the
 * deterministic workflow clock.
 */
export const dobSchema = z
  .string({ error: 'must be a string' })
  .max(DATE_MAX_LENGTH, dateLength)
  .refine(isIsoCalendarDate, { message: 'must be a real calendar date written YYYY-MM-DD', abort: true })
  .refine((v) => !isIsoCalendarDate(v) || v <= new Date(Date.now() + 14 * 3600_000).toISOString().slice(0, 10), {
    message: 'must not be in the future',
  });
