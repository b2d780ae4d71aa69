/**
 * Masks patient identifiers in free text before it is logged: NHS numbers (10 digits, optionally
 * grouped 3-3-4 by spaces or hyphens), calendar dates that are not timestamps (dates of birth),
 * and login URLs. Pure and deterministic, so workflow code may use it too.
 */
const NHS_NUMBER = /(?<![\d])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d])/g;
const DATE = /(?<![\d])\d{4}-\d{2}-\d{2}(?![\dT])/g;
const LOGIN_URL = /https?:\/\/[^\s"'<>]*\/verify\/[^\s"'<>]*/gi;

export function redact(text: string): string {
  return text.replace(LOGIN_URL, '[login-url]').replace(NHS_NUMBER, '[nhs-number]').replace(DATE, '[date]');
}

/** Redacts every string inside a log record's metadata, recursively. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redact(String(value.stack ?? value.message));
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}
