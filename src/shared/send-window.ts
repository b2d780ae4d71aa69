import { z } from 'zod';

/**
 * Sending hours: when a message or reminder may go out, in a practice's local time. Pure and without Node
 * built-ins (only `Intl`), so the workflows use it for their durable waits and the client and CLI for
 * spreading a campaign and telling its next opening.
 */

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
type Weekday = (typeof WEEKDAYS)[number];

const HHMM = /^([01]\d|2[0-4]):([0-5]\d)$/;

function minutesOf(hhmm: string): number {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
}

/** "mon-fri", "mon,wed,fri", "sat-sun", "mon-sun": the weekdays (0 = Sunday) it names, or undefined. */
export function parseDays(spec: string): number[] | undefined {
  const days = new Set<number>();
  for (const part of spec.toLowerCase().split(',')) {
    const [from, to, ...rest] = part.trim().split('-');
    if (rest.length) return undefined;
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a < 0 || b < 0) return undefined;
    // mon-sun wraps through the week: Monday to Sunday.
    for (let d = a, n = 0; n < 7; d = (d + 1) % 7, n++) {
      days.add(d);
      if (d === b) break;
    }
  }
  return [...days].sort();
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The `between` field: two local times, the first before the second, the second at most `lastEnd`. */
function betweenSchema(lastEnd: string) {
  return z
    .string()
    .max(11)
    .regex(/^\d\d:\d\d-\d\d:\d\d$/, 'must be HH:MM-HH:MM, e.g. "08:00-18:00"')
    .refine(
      (v) => {
        const [a, b] = v.split('-') as [string, string];
        return (
          HHMM.test(a) &&
          HHMM.test(b) &&
          minutesOf(a) < 24 * 60 &&
          minutesOf(a) < minutesOf(b) &&
          minutesOf(b) <= minutesOf(lastEnd)
        );
      },
      { error: 'must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"' },
    )
    .default('08:00-18:00')
    .describe('Local times between which messages may be sent, HH:MM-HH:MM (24:00 for midnight); default 08:00-18:00');
}

function windowSchema(lastEnd: string) {
  return z.strictObject({
    between: betweenSchema(lastEnd),
    days: z
      .string()
      .max(40)
      .refine((v) => parseDays(v) !== undefined && parseDays(v)!.length > 0, {
        error: 'must name weekdays, e.g. "mon-fri", "mon,wed,fri" or "mon-sun"',
      })
      .default('mon-fri')
      .describe('The weekdays messages may be sent on, e.g. "mon-fri" (default) or "mon,wed,fri"'),
    timezone: z
      .string()
      .max(64)
      .refine(isTimeZone, { error: 'must be an IANA time zone, e.g. "Europe/London"' })
      .default('Europe/London')
      .describe('The time zone of `between`, IANA; default Europe/London'),
  });
}

/**
 * When messages may be sent: `between` local times (start before end; "24:00" for midnight), on `days`,
 * in `timezone` (IANA). What requests, campaigns and the CLI's `--send-between/--send-days/--timezone`
 * carry, and what the functions below take once parsed.
 */
export const sendWindowSchema = windowSchema('24:00');

/**
 * What workflows read back from the inputs of runs, campaigns and pages already started: the same, but with
 * an end up to 24:59, which was accepted (as that time after midnight) before ends past 24:00 were refused.
 * New input never passes it: clients and new runs parse sendWindowSchema. (A campaign handed over with such
 * an end before the refusal still reports and spreads by it, but the runs it starts now refuse it.)
 */
export const acceptedSendWindowSchema = windowSchema('24:59');

/** The same form in and out (defaults filled in): a parsed request parses again to itself. */
export type SendWindowInput = z.input<typeof sendWindowSchema>;
export type SendWindow = z.output<typeof sendWindowSchema>;

/** What the functions below compute with, derived once per window. */
interface Hours {
  startMinute: number;
  endMinute: number;
  weekdays: number[];
  timezone: string;
}
const hoursCache = new WeakMap<SendWindow, Hours>();
function hoursOf(w: SendWindow): Hours {
  let h = hoursCache.get(w);
  if (!h) {
    const [a, b] = w.between.split('-') as [string, string];
    h = { startMinute: minutesOf(a), endMinute: minutesOf(b), weekdays: parseDays(w.days)!, timezone: w.timezone };
    hoursCache.set(w, h);
  }
  return h;
}

/** What campaigns use when they are given no sending hours: 08:00-18:00, Monday to Friday, Europe/London. */
export const CAMPAIGN_DEFAULT_SEND_WINDOW: SendWindowInput = {
  between: '08:00-18:00',
  days: 'mon-fri',
  timezone: 'Europe/London',
};

const DAY_MS = 24 * 3600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local calendar day (as a UTC midnight, for arithmetic), weekday and ms since local midnight of `t`. */
function localParts(t: number, tz: string): { day: number; weekday: number; msOfDay: number } {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  const day = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day));
  const msOfDay = ((Number(p.hour) * 60 + Number(p.minute)) * 60 + Number(p.second)) * 1000 + (t % 1000);
  return { day, weekday: new Date(day).getUTCDay(), msOfDay };
}

/**
 * The instant of local wall time `day` (a UTC midnight) + `minute` in `tz`. A time that occurs twice (clocks
 * going back) is its first occurrence; one that does not occur (clocks going forward) is the instant the
 * clocks jumped, the first local time after the gap.
 */
function instantOf(day: number, minute: number, tz: string): number {
  const wall = day + minute * 60_000;
  const offsetAt = (t: number) => {
    const p = localParts(t, tz);
    return p.day + p.msOfDay - t;
  };
  // Offsets change at most once within a day around `wall`: the two candidates are the offsets either side.
  const candidates = [wall - offsetAt(wall - DAY_MS / 2), wall - offsetAt(wall + DAY_MS / 2)].sort((a, b) => a - b);
  for (const t of candidates) if (t + offsetAt(t) === wall) return t;
  let [lo, hi] = candidates as [number, number];
  const before = offsetAt(lo);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The openings (start, end) that overlap [from, to), in order. */
export function openingsBetween(from: number, to: number, window: SendWindow): Array<[number, number]> {
  const w = hoursOf(window);
  const out: Array<[number, number]> = [];
  // From the local day before `from`, in case an opening that began then is still open.
  const first = localParts(from, w.timezone).day - DAY_MS;
  for (let day = first; ; day += DAY_MS) {
    const start = instantOf(day, w.startMinute, w.timezone);
    if (start >= to) break;
    if (!w.weekdays.includes(new Date(day).getUTCDay())) continue;
    const end = instantOf(day, w.endMinute, w.timezone);
    if (end > from) out.push([Math.max(start, from), Math.min(end, to)]);
  }
  return out;
}

/**
 * The first instant at or after `t` inside the sending hours: `t` itself when they are open, else the next
 * opening. Without a window, `t`.
 */
export function nextOpening(t: number, w: SendWindow | undefined): number {
  if (!w) return t;
  // A window opens at least once a week: look eight days ahead.
  const [first] = openingsBetween(t, t + 8 * DAY_MS, w);
  return first ? first[0] : t;
}

/**
 * When the `index`-th of `count` first messages is due, spreading them evenly over the sending hours of
 * `[start, start + spreadMs)` (or over that period itself, without a window). Index 0 is due at the first
 * opening; the last before the period ends.
 */
export function spreadSlot(
  start: number,
  spreadMs: number,
  index: number,
  count: number,
  w: SendWindow | undefined,
): number {
  const openings: Array<[number, number]> = w
    ? openingsBetween(start, start + spreadMs, w)
    : [[start, start + spreadMs]];
  const total = openings.reduce((sum, [a, b]) => sum + (b - a), 0);
  if (total <= 0 || count <= 1) return nextOpening(start, w);
  let offset = Math.floor((index * total) / count);
  for (const [a, b] of openings) {
    if (offset < b - a) return a + offset;
    offset -= b - a;
  }
  return openings[openings.length - 1]![1];
}
