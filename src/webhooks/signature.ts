import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Hero's webhook signature (docs/hero-api.md §5): `X-Herohealth-Signature` is HMAC-SHA256, keyed with
 * the subscription's signing key, of `"{X-Herohealth-Timestamp}.{raw body}"`. Hero documents neither
 * the signature's encoding nor the timestamp's format, so every plausible form is accepted (hex in any
 * case, base64 or base64url, with or without a `sha256=` prefix; Unix seconds, Unix milliseconds or
 * ISO 8601), and the timestamp must fall within a tolerance of now, either way, so an old delivery
 * cannot be replayed.
 */

export const SIGNATURE_HEADER = 'x-herohealth-signature';
export const TIMESTAMP_HEADER = 'x-herohealth-timestamp';
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;

/** Why a delivery was refused. A code only: no header value, body or key is ever echoed. */
export type SignatureRefusal =
  | 'missing_timestamp'
  | 'missing_signature'
  | 'malformed_timestamp'
  | 'malformed_signature'
  | 'signature_mismatch'
  | 'stale_timestamp';

export type SignatureCheck = { ok: true; timestampMs: number } | { ok: false; reason: SignatureRefusal };

export interface SignatureInput {
  signingKey: string;
  /** The X-Herohealth-Timestamp header, exactly as received (it is part of the signed text). */
  timestamp: string | undefined;
  /** The X-Herohealth-Signature header. */
  signature: string | undefined;
  /** The raw body, byte for byte: re-serialised JSON would not match. */
  body: Buffer;
  /** Default DEFAULT_TOLERANCE_MS. */
  toleranceMs?: number;
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
}

const SHA256_BYTES = 32;
const HEX = /^[0-9a-f]{64}$/i;
/** 32 bytes in base64 or base64url: 43 characters, and one '=' of padding or none. */
const BASE64 = /^[A-Za-z0-9+/]{43}=?$/;
const BASE64URL = /^[A-Za-z0-9_-]{43}=?$/;
/** Whole seconds up to 11 digits (the year 5138), with an optional fraction. */
const UNIX_SECONDS = /^\d{1,11}(\.\d{1,9})?$/;
/** Milliseconds: 12 or 13 digits (from 2001 to 2286). */
const UNIX_MILLIS = /^\d{12,13}$/;
/** A date and time with a zone: without one, the instant would depend on the server's own zone. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The timestamp header as milliseconds since the epoch, or undefined when it is none of the accepted forms. */
export function parseHeroTimestamp(value: string): number | undefined {
  const text = value.trim();
  if (UNIX_MILLIS.test(text)) return Number(text);
  if (UNIX_SECONDS.test(text)) return Math.round(Number(text) * 1000);
  const iso = text.toUpperCase();
  if (!ISO_8601.test(iso)) return undefined;
  // Date.parse wants "+01:00"; "+0100" is ISO 8601 too.
  const ms = Date.parse(iso.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** The 32 signature bytes the header carries, or undefined when it is not a SHA-256 MAC in a known encoding. */
export function decodeHeroSignature(value: string): Buffer | undefined {
  const text = value.trim().replace(/^sha256=/i, '');
  let bytes: Buffer | undefined;
  if (HEX.test(text)) bytes = Buffer.from(text, 'hex');
  else if (BASE64.test(text)) bytes = Buffer.from(text, 'base64');
  else if (BASE64URL.test(text)) bytes = Buffer.from(text, 'base64url');
  return bytes?.length === SHA256_BYTES ? bytes : undefined;
}

/** HMAC-SHA256 of `"{timestamp}.{body}"` with the signing key: what Hero sends, as bytes. */
export function heroSignature(signingKey: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', signingKey).update(`${timestamp}.`, 'utf8').update(body).digest();
}

/**
 * Checks one delivery's signature and timestamp. The MAC is compared in constant time on two 32-byte
 * buffers; the timestamp is checked after the MAC, so a forged delivery is reported as forged.
 */
export function verifyHeroSignature(input: SignatureInput): SignatureCheck {
  if (!input.timestamp?.trim()) return { ok: false, reason: 'missing_timestamp' };
  if (!input.signature?.trim()) return { ok: false, reason: 'missing_signature' };
  const timestampMs = parseHeroTimestamp(input.timestamp);
  if (timestampMs === undefined) return { ok: false, reason: 'malformed_timestamp' };
  const given = decodeHeroSignature(input.signature);
  if (!given) return { ok: false, reason: 'malformed_signature' };
  const expected = heroSignature(input.signingKey, input.timestamp, input.body);
  if (!timingSafeEqual(given, expected)) return { ok: false, reason: 'signature_mismatch' };
  const tolerance = input.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  if (Math.abs((input.now ?? Date.now()) - timestampMs) > tolerance) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true, timestampMs };
}
