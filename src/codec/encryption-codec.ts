import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { UNENCRYPTED_MARKER_KEY } from '../shared/unencrypted-marker';
import { CodecConfigError, PayloadDecryptionError } from './errors';
import { KEY_BYTES, KEY_ID, type KeyRing } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCODING = 'encoding';
export const METADATA_KEY_ID = 'encryption-key-id';
export { UNENCRYPTED_MARKER_KEY };

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = temporal.api.common.v1.Payload;
const utf8 = new TextDecoder('utf-8');

const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const varintBytes = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);
/** A length-delimited protobuf field: tag, length, bytes. */
const field = (n: number): number => 1 + varintBytes(n) + n;

/**
 * An upper bound on the `data` length {@link EncryptionCodec.encode} gives `payload`, computed without
 * encrypting or serializing it, so that a server can refuse an oversized answer before the work.
 */
export function encryptedBytesBound(payload: Payload): number {
  let proto = field(payload.data?.length ?? 0);
  for (const [k, v] of Object.entries(payload.metadata ?? {})) {
    proto += field(field(Buffer.byteLength(k)) + field(v?.length ?? 0));
  }
  if (payload.externalPayloads?.length) {
    proto += ProtoPayload.encode({ externalPayloads: payload.externalPayloads }).finish().length;
  }
  return IV_BYTES + proto + TAG_BYTES;
}

/** A key id as it may appear in an error message: metadata can be anything, so keep it printable. */
const printable = (id: string): string => (KEY_ID.test(id) ? id : id.slice(0, 64).replace(/[^A-Za-z0-9._-]/g, '?'));

export interface EncryptionCodecOptions {
  /**
   * What `decode` does with a payload that is not `binary/encrypted`.
   * - `'pass'` (clients, the codec server, the CLI): returns it unchanged, so history written without
   *   keys (by a worker run with `--insecure-no-encryption`) still reads.
   * - `'mark'` (the worker with keys): returns the marker `{ "$heroFlowUnencrypted": true, value }`
   *   instead, so that the workflow can refuse patient data that reached it in plaintext. The codec
   *   cannot tell an input from a signal, a memo or an activity result; the workflow can.
   * @default 'pass'
   */
  unencrypted?: 'pass' | 'mark';
}

/**
 * Encrypts each whole serialized Payload (metadata included) with AES-256-GCM:
 * data = 12-byte random IV || ciphertext || 16-byte tag, with the key id as additional authenticated
 * data, so a swapped `encryption-key-id` header fails authentication. Payloads that are not
 * `binary/encrypted` decode unchanged, or as a marker for the worker: see
 * {@link EncryptionCodecOptions.unencrypted}.
 *
 * `encode` does not throw. `decode` throws {@link PayloadDecryptionError} for an encrypted payload it
 * cannot read (key id not in the ring, failed authentication, malformed): never returned undecrypted.
 */
export class EncryptionCodec implements PayloadCodec {
  readonly #ring: KeyRing;
  readonly #markUnencrypted: boolean;

  /**
   * @throws CodecConfigError when the ring's encrypting key is not a 32-byte key of the ring (a ring
   *   made by hand), or `opts.unencrypted` is neither 'pass' nor 'mark'.
   */
  constructor(ring: KeyRing, opts: EncryptionCodecOptions = {}) {
    const { id, key } = ring.encryptWith;
    if (key.length !== KEY_BYTES || ring.keys.get(id) !== key) {
      throw new CodecConfigError([`the encrypting key '${printable(id)}' must be a ${KEY_BYTES}-byte key of the ring`]);
    }
    if (opts.unencrypted !== undefined && opts.unencrypted !== 'pass' && opts.unencrypted !== 'mark') {
      throw new CodecConfigError([`unencrypted must be 'pass' or 'mark'`], 'EncryptionCodec options');
    }
    this.#ring = ring;
    this.#markUnencrypted = opts.unencrypted === 'mark';
  }

  /** The id of the key new payloads are encrypted with. */
  get keyId(): string {
    return this.#ring.encryptWith.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.#encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.#decrypt(p));
  }

  #encrypt(payload: Payload): Payload {
    const { id, key } = this.#ring.encryptWith;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const plaintext = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: Buffer.from(id),
      },
      data,
    };
  }

  #decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING];
    if (!encoding || utf8.decode(encoding) !== ENCRYPTED_ENCODING) {
      return this.#markUnencrypted ? unencryptedMarker(payload) : payload;
    }

    const rawId = payload.metadata?.[METADATA_KEY_ID];
    if (!rawId) throw new PayloadDecryptionError(`encrypted payload has no ${METADATA_KEY_ID} metadata`);
    const id = utf8.decode(rawId);
    const key = this.#ring.keys.get(id);
    if (!key) {
      // Only the unknown id: the configured ids would tell any caller of the codec server the ring's layout.
      throw new PayloadDecryptionError(
        `payload encrypted with key id '${printable(id)}', which is not in HERO_CODEC_KEYS`,
        id,
      );
    }
    const data = payload.data ?? new Uint8Array(0);
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`encrypted payload under key id '${id}' is malformed (too short)`, id);
    }
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`payload failed authentication (tampered or wrong key for id '${id}')`, id);
    }
    let inner: temporal.api.common.v1.Payload;
    try {
      inner = ProtoPayload.decode(plaintext);
    } catch {
      throw new PayloadDecryptionError(`encrypted payload under key id '${id}' is malformed (not a Payload)`, id);
    }
    const metadata = Object.fromEntries(Object.entries(inner.metadata).map(([k, v]) => [k, view(v)]));
    // proto3 has no "absent" bytes: an empty `data` is not serialized, so restore it as empty.
    const decoded: Payload = { metadata, data: Object.hasOwn(inner, 'data') ? view(inner.data) : new Uint8Array(0) };
    if (inner.externalPayloads.length) decoded.externalPayloads = inner.externalPayloads;
    return decoded;
  }
}

/**
 * The JSON payload that stands for a payload that arrived unencrypted. It keeps the payload's value,
 * in memory only, for the one path on which the workflow reads it: the replay of a run that accepted
 * plaintext (the `refuse-plaintext` patch, src/workflows/patient-outreach.ts). A value the default
 * converter cannot read is left out.
 */
function unencryptedMarker(payload: Payload): Payload {
  try {
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    return defaultPayloadConverter.toPayload({ [UNENCRYPTED_MARKER_KEY]: true, value });
  } catch {
    return defaultPayloadConverter.toPayload({ [UNENCRYPTED_MARKER_KEY]: true });
  }
}
