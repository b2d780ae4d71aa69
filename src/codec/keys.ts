import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { CodecConfigError } from './errors';

/** The first key encrypts; every key decrypts (keep old keys while runs encrypted with them are retained). */
export interface KeyRing {
  encryptWith: { id: string; key: Buffer };
  keys: Map<string, Buffer>;
}

export const KEY_BYTES = 32;
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** Standard base64 with padding (what `keys generate` prints), or unpadded base64url. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses "id1:BASE64KEY,id2:BASE64KEY". Every problem is reported at once, by entry number and
 * (valid) key id only: a misplaced key must not end up in a log through its own error message.
 * The first key encrypts; every key decrypts.
 *
 * @throws CodecConfigError when the spec is empty, an entry is malformed, an id repeats, or a key is
 *   not 32 bytes of base64 (padded) or base64url (unpadded).
 */
export function parseKeyRing(spec: string): KeyRing {
  const entries = spec.trim() === '' ? [] : spec.split(',');
  const problems: string[] = [];
  if (entries.length === 0) problems.push('no keys given; expected "<id>:<base64 32-byte key>,..."');
  const keys = new Map<string, Buffer>();
  entries.forEach((raw, i) => {
    const entry = raw.trim();
    const where = `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${where}: expected "<id>:<base64 key>"${entry === '' ? ' (the entry is empty)' : ''}`);
      return;
    }
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    const idOk = KEY_ID.test(id);
    if (!idOk) problems.push(`${where}: key id must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    const label = idOk ? `${where} (key id '${id}')` : where;
    let key: Buffer | undefined;
    if (!BASE64.test(encoded) && !BASE64URL.test(encoded)) {
      problems.push(`${label}: key is not valid base64`);
    } else {
      key = Buffer.from(encoded, BASE64.test(encoded) ? 'base64' : 'base64url');
      if (key.length !== KEY_BYTES) {
        problems.push(`${label}: key must be ${KEY_BYTES} bytes after base64 decoding, got ${key.length}`);
        key = undefined;
      }
    }
    if (idOk && keys.has(id)) problems.push(`${where}: key id '${id}' appears more than once`);
    else if (idOk && key) keys.set(id, key);
  });
  if (problems.length) throw new CodecConfigError(problems);
  const [first] = keys;
  if (!first) throw new CodecConfigError(['no usable key']);
  return hideKeys({ encryptWith: { id: first[0], key: first[1] }, keys });
}

/**
 * The ring from HERO_CODEC_KEYS; undefined when unset or blank.
 * @param env @default process.env
 * @throws CodecConfigError when HERO_CODEC_KEYS is set but invalid (see {@link parseKeyRing}).
 */
export function loadKeyRing(env: NodeJS.ProcessEnv = process.env): KeyRing | undefined {
  const spec = env.HERO_CODEC_KEYS;
  if (spec === undefined || spec.trim() === '') return undefined;
  return parseKeyRing(spec);
}

/**
 * A new "<id>:BASE64" entry for HERO_CODEC_KEYS, with a random 32-byte key (prepend it to rotate).
 * @param id the key id. @default `k-YYYYMMDD-xxxx` (today's UTC date, 4 random hex digits)
 * @throws CodecConfigError when `id` is not 1-64 characters of A-Z a-z 0-9 . _ -
 */
export function generateKeySpec(id?: string): string {
  const keyId = id ?? `k-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(2).toString('hex')}`;
  if (!KEY_ID.test(keyId)) throw new CodecConfigError(['key id must be 1-64 characters of A-Z a-z 0-9 . _ -']);
  return `${keyId}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** console.log / JSON.stringify of a ring show key ids only, never key bytes. */
function hideKeys(ring: KeyRing): KeyRing {
  const describe = () => ({ encryptWith: ring.encryptWith.id, keyIds: [...ring.keys.keys()] });
  Object.defineProperty(ring, 'toJSON', { value: describe, enumerable: false });
  Object.defineProperty(ring, inspect.custom, { value: () => `KeyRing ${inspect(describe())}`, enumerable: false });
  return ring;
}
