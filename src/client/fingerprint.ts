import { createHmac, hkdfSync } from 'node:crypto';
import type { KeyRing } from '../codec/keys';
import type { OutreachInput } from '../workflows/schemas';

/** Memo key holding the request fingerprint of a run, set when the run is started. */
export const REQUEST_FINGERPRINT_MEMO_KEY = 'heroFlowRequestFingerprint';

/**
 * The key of fingerprints before they needed a secret (hero-flow stored them until now). It is public,
 * so such a fingerprint gives a request away to anyone who can guess the rest of it (an NHS number and
 * the message: the date of birth in some 26,000 tries): kept only to recognise runs started with one.
 */
const LEGACY_FINGERPRINT_KEY = 'hero-flow request fingerprint v1';
/** HKDF `info` deriving the fingerprint key from a payload key, so the payload key itself is never the HMAC key. */
const RING_DERIVATION_INFO = 'hero-flow request fingerprint v2';

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
 * Without `secret`, the legacy form under a public key: hero-flow only compares it, never stores it.
 */
export function requestFingerprint(input: OutreachInput, secret?: string | Buffer): string {
  return createHmac('sha256', secret || LEGACY_FINGERPRINT_KEY)
    .update(canonicalJson(input))
    .digest('hex');
}

/** Fingerprint keys derived from the payload keys of the clients HeroFlowClient.connect made. */
const ringKeys = new WeakMap<object, Buffer[]>();

/**
 * Keys the fingerprints of `client` (a Temporal Client) with the payload key ring it encrypts with, when
 * no HERO_WORKFLOW_ID_SECRET is set: every key of the ring gives one (the encrypting key's is stored),
 * so a run started before a key rotation is still recognised while its key is in the ring.
 */
export function keyFingerprintsWithRing(client: object, ring: KeyRing | undefined): void {
  if (!ring) return;
  const keys = [ring.encryptWith.key, ...[...ring.keys.values()].filter((k) => k !== ring.encryptWith.key)];
  ringKeys.set(
    client,
    keys.map((key) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), RING_DERIVATION_INFO, 32))),
  );
}

/** The fingerprint key derived from `client`'s encrypting payload key (keyFingerprintsWithRing), if any; campaigns key patients with it. */
export const ringFingerprintKey = (client: object): Buffer | undefined => ringKeys.get(client)?.[0];

/** A request's fingerprints: the one a new run stores, and every one a run of the same request may carry. */
export interface RequestFingerprints {
  /** The memo to start a run with; none without a secret (then a running run is compared by its input). */
  readonly memo: Record<string, string> | undefined;
  /** Whether a fingerprint read from a running run (its memo, or computed from its input) is this request's. */
  matches(theirs: unknown): boolean;
}

/**
 * The fingerprints of `input` for a client (a Temporal Client): keyed by HERO_WORKFLOW_ID_SECRET when set,
 * else by a key derived from the client's payload keys (keyFingerprintsWithRing), else none is stored.
 * Only a holder of the secret or the keys can compute one, so a fingerprint read from a memo (decrypted in
 * every worker) tells nothing about the request. The legacy unkeyed form still matches, so runs started
 * by an earlier hero-flow are recognised; it is never stored again.
 */
export function requestFingerprints(
  input: OutreachInput,
  secret: string | undefined,
  client: object,
): RequestFingerprints {
  const keys: (string | Buffer)[] = [...(secret ? [secret] : []), ...(ringKeys.get(client) ?? [])];
  const keyed = keys.map((key) => requestFingerprint(input, key));
  const accepted = new Set([...keyed, requestFingerprint(input)]);
  return {
    memo: keyed[0] === undefined ? undefined : { [REQUEST_FINGERPRINT_MEMO_KEY]: keyed[0] },
    matches: (theirs) => typeof theirs === 'string' && accepted.has(theirs),
  };
}
