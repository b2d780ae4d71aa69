import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { EncryptionCodec, parseKeyRing, PayloadDecryptionError } from '../src/codec';

/** The vector another language's implementation is checked against (docs/codec-wire-format.md). */
const vector = JSON.parse(readFileSync(join(__dirname, '..', 'docs', 'codec-test-vectors.json'), 'utf8')) as {
  key: { id: string; base64: string };
  iv: string;
  plaintext: { metadata: Record<string, string>; data: string };
  serializedPlaintextHex: string;
  encrypted: { metadata: Record<string, string>; dataHex: string };
};

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const toPayload = (p: { metadata: Record<string, string> }, data: Uint8Array): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, bytes(v)])),
  data,
});
const plaintext = toPayload(vector.plaintext, bytes(vector.plaintext.data));
const encrypted = toPayload(vector.encrypted, new Uint8Array(Buffer.from(vector.encrypted.dataHex, 'hex')));
const ring = parseKeyRing(`${vector.key.id}:${vector.key.base64}`);

describe('codec wire format: the documented test vector', () => {
  it('serializes the plaintext payload to the documented protobuf bytes', () => {
    const serialized = temporal.api.common.v1.Payload.encode(plaintext).finish();
    assert.equal(Buffer.from(serialized).toString('hex'), vector.serializedPlaintextHex);
  });

  it('decrypts the documented bytes to the plaintext payload', async () => {
    const [decoded] = await new EncryptionCodec(ring).decode([encrypted]);
    assert.equal(Buffer.from(decoded!.data!).toString('utf8'), vector.plaintext.data);
    assert.deepEqual(
      Object.fromEntries(Object.entries(decoded!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('utf8')])),
      vector.plaintext.metadata,
    );
  });

  it('is reproduced byte for byte by a plain AES-256-GCM implementation of the document', () => {
    // What another language does: AES-256-GCM over the serialized payload, key id as AAD, IV||ct||tag.
    const iv = Buffer.from(vector.iv, 'hex');
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(vector.key.base64, 'base64'), iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from(vector.key.id, 'utf8'));
    const data = Buffer.concat([
      iv,
      cipher.update(Buffer.from(vector.serializedPlaintextHex, 'hex')),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    assert.equal(data.toString('hex'), vector.encrypted.dataHex);
  });

  it('writes payloads in the documented shape: metadata, a fresh 12-byte IV, ciphertext and a 16-byte tag', async () => {
    const [out] = await new EncryptionCodec(ring).encode([plaintext]);
    assert.deepEqual(
      Object.fromEntries(Object.entries(out!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('utf8')])),
      vector.encrypted.metadata,
    );
    assert.equal(out!.data!.length, encrypted.data!.length);
    assert.notEqual(Buffer.from(out!.data!).subarray(0, 12).toString('hex'), vector.iv);
  });

  it('refuses the vector when the key id it names is swapped, as the key id is authenticated', async () => {
    const swapped = parseKeyRing(`other:${vector.key.base64}`);
    const relabelled = { ...encrypted, metadata: { ...encrypted.metadata, 'encryption-key-id': bytes('other') } };
    await assert.rejects(new EncryptionCodec(swapped).decode([relabelled]), PayloadDecryptionError);
  });
});
