import { createHmac } from 'node:crypto';
import type { OutreachInput } from '../workflows/schemas';

/** Memo key holding the request fingerprint of a run, set when the run is started. */
export const REQUEST_FINGERPRINT_MEMO_KEY = 'heroFlowRequestFingerprint';

/**
 * The key used when HERO_WORKFLOW_ID_SECRET is not set. The memo goes through the payload codec, so it
 * is encrypted like the input; the key only makes the hash useless to someone who could read it anyway.
 */
const DEFAULT_FINGERPRINT_KEY = 'hero-flow request fingerprint v1';

/** JSON with object keys sorted at every depth, so equal requests give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A keyed hash (HMAC-SHA256) of the validated request: the same request in any spelling (spaced NHS
 * number, durations as text or milliseconds, defaults left out) gives the same fingerprint, another
 * patient or another request a different one. Starting a workflow ID that is already running compares
 * it, so a second patient is never folded into the first one's run.
 */
export function requestFingerprint(input: OutreachInput, secret?: string): string {
  return createHmac('sha256', secret || DEFAULT_FINGERPRINT_KEY)
    .update(canonicalJson(input))
    .digest('hex');
}
