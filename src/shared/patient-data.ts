import { isValidNhsNumber } from './nhs-number';

/**
 * The one definition of "looks like patient data" in a string, shared by the workflow-ID check
 * (src/client/workflow-id.ts), which refuses it, and redact() (src/shared/redact.ts), which masks
 * it. Keeping one definition is what lets a test assert that every ID the check accepts comes out
 * of redact() unchanged.
 *
 * The text is read as chains: runs of digits joined by anything that is not an ASCII letter or
 * digit ("943.476.5919", "943 \u00a0476\t5919", "01/01/1992", "943-476:5919"). A letter ends a
 * chain. A chain is patient data when
 * - any 10 consecutive digits of it, separators ignored, pass the NHS Modulus 11 check
 *   (an NHS number, however it is grouped or separated), or
 * - one of its digit runs is exactly 8 digits long. Every such run counts, a real date or not:
 *   simpler and safer than guessing which 8-digit orders a caller might use for a date of birth, or
 * - three consecutive runs form a real calendar date as YYYY-M-D, D-M-YYYY or M-D-YYYY (any
 *   four-digit year, one- or two-digit day and month, leap years checked).
 *
 * Pure and deterministic (no Node built-ins), so workflow code may use it too. Linear in the
 * length of the text: no backtracking regex.
 */
export type PatientDataKind = 'nhs-number' | 'date';

export interface PatientDataMatch {
  kind: PatientDataKind;
  /** The whole chain that contains it, [start, end) in the text: redact() masks all of it. */
  start: number;
  end: number;
}

export interface FindOptions {
  /**
   * Leave a date alone when it is the date of an ISO timestamp (`2026-11-26T09:10:38.123Z`), as
   * log lines carry them. A timestamp at exactly midnight is still masked: that is what a date of
   * birth looks like once it went through a JavaScript Date. The workflow-ID check does not set
   * this: an ID never needs a timestamp.
   */
  keepTimestamps?: boolean;
}

interface Run {
  start: number;
  end: number;
}

const DIGIT_RUN = /[0-9]+/g;
const LETTER = /[A-Za-z]/;
const TIMESTAMP_TIME = /^T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?/;

/** Every chain of the text that looks like patient data, in order. */
export function findPatientData(text: string, opts: FindOptions = {}): PatientDataMatch[] {
  const found: PatientDataMatch[] = [];
  let chain: Run[] = [];
  const close = () => {
    const kind = chain.length ? chainKind(text, chain, opts) : undefined;
    if (kind) found.push({ kind, start: chain[0]!.start, end: chain[chain.length - 1]!.end });
    chain = [];
  };
  for (const m of text.matchAll(DIGIT_RUN)) {
    const run = { start: m.index, end: m.index + m[0].length };
    const prev = chain[chain.length - 1];
    if (prev && LETTER.test(text.slice(prev.end, run.start))) close();
    chain.push(run);
  }
  close();
  return found;
}

/** The kinds of patient data the text looks like it contains (empty when none). */
export function patientDataKinds(text: string, opts: FindOptions = {}): Set<PatientDataKind> {
  return new Set(findPatientData(text, opts).map((m) => m.kind));
}

function chainKind(text: string, runs: Run[], opts: FindOptions): PatientDataKind | undefined {
  const digits = runs.map((r) => text.slice(r.start, r.end)).join('');
  for (let i = 0; i + 10 <= digits.length; i++) if (isValidNhsNumber(digits.slice(i, i + 10))) return 'nhs-number';
  if (runs.some((r) => r.end - r.start === 8)) return 'date';
  for (let i = 0; i + 3 <= runs.length; i++) {
    const [a, b, c] = [runs[i]!, runs[i + 1]!, runs[i + 2]!].map((r) => text.slice(r.start, r.end)) as [
      string,
      string,
      string,
    ];
    if (!isCalendarTriple(a, b, c)) continue;
    if (opts.keepTimestamps && i + 3 === runs.length && isTimestampDate(text, runs.slice(i))) continue;
    return 'date';
  }
  return undefined;
}

function isCalendarTriple(a: string, b: string, c: string): boolean {
  const short = (s: string) => s.length <= 2;
  if (a.length === 4 && short(b) && short(c) && isDate(+a, +b, +c)) return true; // YYYY-M-D
  if (c.length === 4 && short(a) && short(b) && (isDate(+c, +b, +a) || isDate(+c, +a, +b))) return true; // D-M-Y, M-D-Y
  return false;
}

function isDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/** `YYYY-MM-DD` joined by single hyphens, then `THH:MM`, at a time other than midnight. */
function isTimestampDate(text: string, [y, m, d]: Run[]): boolean {
  if (y!.end - y!.start !== 4 || m!.end - m!.start !== 2 || d!.end - d!.start !== 2) return false;
  if (text[y!.end] !== '-' || m!.start !== y!.end + 1 || text[m!.end] !== '-' || d!.start !== m!.end + 1) return false;
  const time = TIMESTAMP_TIME.exec(text.slice(d!.end, d!.end + 40));
  if (!time) return false;
  return time.slice(1).some((part) => part !== undefined && /[1-9]/.test(part));
}
