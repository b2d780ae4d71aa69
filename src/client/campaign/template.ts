/**
 * A campaign's template: the request's shared part (message, booking, awaitBooking, review), given once;
 * each line carries only the patient's own fields and whatever it overrides.
 */

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Template + line: objects are merged key by key (the line wins), arrays and scalars are replaced by the
 * line's. Neither input is changed. Keys are defined, never assigned, so a `__proto__` key stays a key
 * (the strict request schema then refuses it) instead of changing the result's prototype.
 */
export function mergeTemplate(template: unknown, line: unknown): unknown {
  if (!isPlainObject(template) || !isPlainObject(line)) return line === undefined ? template : line;
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown) =>
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  for (const key of Object.keys(template)) put(key, template[key]);
  for (const key of Object.keys(line)) {
    put(key, Object.prototype.hasOwnProperty.call(template, key) ? mergeTemplate(template[key], line[key]) : line[key]);
  }
  return out;
}
