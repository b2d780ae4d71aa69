import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  CodecConfigError,
  type CodecServer,
  encryptedBytesBound,
  EncryptionCodec,
  generateKeySpec,
  type KeyRing,
  parseKeyRing,
  PayloadDecryptionError,
  startCodecServer,
  UNENCRYPTED_MARKER_KEY,
} from '../src/codec';
import { codecRequestSchema, describeIssues, fromJsonPayload, toJsonPayload } from '../src/codec/protocol';

const ring = parseKeyRing(`B:${randomBytes(32).toString('base64')}`);

/**
 * The codec server's size check before encrypting (issue 18, item 11): an /encode whose answer would pass
 * maxResponseBytes is refused before any payload is encrypted, and one whose answer fits is served. A
 * refusal after encrypting looks the same from outside (413, same message), so the test counts the
 * codec's encode calls in this process.
 */
describe('codec server: /encode refuses an oversized answer before encrypting, and serves one that fits', () => {
  const realEncode = EncryptionCodec.prototype.encode;
  let encodeCalls = 0;
  before(() => {
    EncryptionCodec.prototype.encode = function (this: EncryptionCodec, payloads: Payload[]) {
      encodeCalls++;
      return realEncode.call(this, payloads);
    };
  });
  after(() => {
    EncryptionCodec.prototype.encode = realEncode;
  });
  const servers: CodecServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const plain = (n: number): Payload => ({ metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(n) });
  /** The length of the real answer: the payloads encrypted here, in the proto3 JSON the server answers with. */
  async function answerLength(payloads: Payload[]): Promise<number> {
    const encrypted = await realEncode.call(new EncryptionCodec(ring), payloads);
    return `{"payloads":[${encrypted.map((p) => JSON.stringify(toJsonPayload(p))).join(',')}]}`.length;
  }
  async function encodeWithLimit(maxResponseBytes: number, payloads: Payload[]) {
    const server = await startCodecServer({ ring, allowedOrigins: [], maxResponseBytes });
    servers.push(server);
    encodeCalls = 0;
    const res = await fetch(`${server.url}/encode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ payloads: payloads.map(toJsonPayload) }),
    });
    return { status: res.status, text: await res.text(), encodeCalls };
  }

  // Sizes at each base64 alignment (the answer grows by 4 characters per 3 bytes), one payload and several.
  const cases: [string, number[]][] = [
    ['one payload of 40,000 bytes', [40_000]],
    ['one payload of 40,001 bytes', [40_001]],
    ['one payload of 40,002 bytes', [40_002]],
    ['one payload of 1 byte', [1]],
    ['three payloads', [10_000, 20_001, 5_002]],
  ];
  for (const [what, sizes] of cases) {
    it(`${what}: refused without encrypting one byte under its answer, served two bytes over it`, async () => {
      const payloads = sizes.map(plain);
      const length = await answerLength(payloads);

      const refused = await encodeWithLimit(length - 1, payloads);
      assert.equal(refused.status, 413, refused.text);
      assert.match(refused.text, new RegExp(`the response would exceed the limit of ${length - 1} bytes`));
      assert.equal(refused.encodeCalls, 0, 'refused before encrypting');

      // The estimate is the answer's size to within its envelope (2 bytes): an answer that fits is served.
      const served = await encodeWithLimit(length + 2, payloads);
      assert.equal(served.status, 200, served.text);
      assert.equal(served.encodeCalls, 1);
      assert.equal(served.text.length, length);
    });
  }

  it('serves an answer well under the limit, and refuses one far over it, still without encrypting', async () => {
    const payloads = [plain(30_000), plain(30_000)];
    const length = await answerLength(payloads);
    assert.equal((await encodeWithLimit(length * 2, payloads)).status, 200);
    const refused = await encodeWithLimit(Math.floor(length / 2), payloads);
    assert.equal(refused.status, 413);
    assert.equal(refused.encodeCalls, 0);
  });
});

/*
 * The codec's own behaviour at its edges, found by mutation testing (npm run test:mutation -- codec): each test
 * below failed against at least one planted bug that the rest of the suite let through.
 */
const KEY = randomBytes(32);
const oneKey = parseKeyRing(`K:${KEY.toString('base64')}`);
const codec = new EncryptionCodec(oneKey);
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
/** Encrypts `plaintext` exactly as the codec does, so a test can hand it bytes the codec would never write. */
function sealed(plaintext: Uint8Array, id = 'K', key = KEY): Payload {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(id, 'utf8'));
  const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from(id) }, data };
}
/** Bytes a protobuf varint of `n` takes: 7 bits a byte (the protobuf encoding spec). */
const varintLength = (n: number) => Math.max(1, Math.ceil(n.toString(2).length / 7));
/** A reference to an external payload of `n` bytes (protobufjs takes a number for the int64 its type calls Long). */
const external = (n: number) => ({ sizeBytes: n }) as unknown as NonNullable<Payload['externalPayloads']>[number];

describe('encryptedBytesBound: exact for every length a protobuf varint can take', () => {
  // Each edge where a length prefix grows by a byte: 2^7, 2^14, 2^21 bytes of data, metadata and both.
  const sizes = [1, 127, 128, 129, 200, 16_383, 16_384, 2_097_151, 2_097_152];
  for (const n of sizes) {
    it(`${n} bytes of data, and a metadata value of ${n} bytes`, async () => {
      const payloads: Payload[] = [
        { metadata: {}, data: Buffer.alloc(n, 1) },
        { metadata: { encoding: Buffer.from('binary/plain'), big: Buffer.alloc(n, 2) }, data: Buffer.alloc(3) },
      ];
      const encrypted = await codec.encode(payloads);
      payloads.forEach((p, i) => assert.equal(encryptedBytesBound(p), encrypted[i]!.data!.length, `payload ${i}`));
    });
  }

  it('a payload of 256 MiB counts a 5-byte length (the size is read, the bytes are not allocated)', () => {
    for (const n of [0x0fff_ffff, 0x1000_0000, 0x1000_0001]) {
      const huge = { metadata: {}, data: { length: n } as Uint8Array };
      assert.equal(varintLength(n), n < 0x1000_0000 ? 4 : 5);
      assert.equal(encryptedBytesBound(huge), 12 + 1 + varintLength(n) + n + 16, `data of ${n} bytes`);
    }
  });

  it('a payload without data, or with external payloads, is bounded as the codec encrypts it', async () => {
    const payloads: Payload[] = [
      { metadata: { encoding: Buffer.from('binary/null') } },
      { metadata: {}, data: Buffer.alloc(10), externalPayloads: [external(1000), external(70_000)] },
    ];
    const [noData, withExternal] = await codec.encode(payloads);
    // Absent data is not serialized; the bound counts it as an empty field (2 bytes), staying an upper bound.
    assert.equal(encryptedBytesBound(payloads[0]!), noData!.data!.length + 2);
    assert.equal(encryptedBytesBound(payloads[1]!), withExternal!.data!.length);
  });
});

describe('EncryptionCodec edges', () => {
  it('round-trips a payload whose serialized form is empty (IV and tag only, 28 bytes)', async () => {
    const [enc] = await codec.encode([{ metadata: {}, data: new Uint8Array(0) }]);
    assert.equal(enc!.data!.length, 28);
    const [dec] = await codec.decode([enc!]);
    assert.deepEqual({ ...dec, data: Buffer.from(dec!.data!) }, { metadata: {}, data: Buffer.alloc(0) });
  });

  it('keeps external payload references through encode and decode', async () => {
    const externalPayloads = [external(1234)];
    const [enc] = await codec.encode([{ metadata: {}, data: Buffer.from('x'), externalPayloads }]);
    const [dec] = await codec.decode([enc!]);
    assert.equal(Number(dec!.externalPayloads?.[0]?.sizeBytes), 1234);
  });

  it('passes a payload without metadata through on decode', async () => {
    const bare: Payload = { data: Buffer.from('x') };
    assert.equal((await codec.decode([bare]))[0], bare);
  });

  it('says which header is missing when an encrypted payload has no key id', async () => {
    const { 'encryption-key-id': _dropped, ...metadata } = sealed(Buffer.from('x')).metadata!;
    await assert.rejects(
      codec.decode([{ metadata, data: Buffer.alloc(40) }]),
      (err: Error) =>
        err instanceof PayloadDecryptionError && err.message === 'encrypted payload has no encryption-key-id metadata',
    );
  });

  it('refuses an authenticated plaintext that is not a Payload as malformed, with the key id', async () => {
    await assert.rejects(
      codec.decode([sealed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))]),
      (err: Error) =>
        err instanceof PayloadDecryptionError &&
        err.message === "encrypted payload under key id 'K' is malformed (not a Payload)" &&
        err.keyId === 'K',
    );
  });

  it('shows an unknown key id cut to 64 characters, with anything unprintable as ?', async () => {
    const id = `evil\n${'x'.repeat(100)}`;
    await assert.rejects(codec.decode([sealed(Buffer.from('x'), id)]), (err: Error) => {
      assert.equal(
        err.message,
        `payload encrypted with key id 'evil?${'x'.repeat(59)}', which is not in HERO_CODEC_KEYS`,
      );
      return true;
    });
  });

  it("refuses a ring whose encrypting key is not a 32-byte key of the ring, naming the key's id", () => {
    const short = Buffer.alloc(16);
    const strays: KeyRing[] = [
      // 16 bytes, though it is the ring's own key
      { encryptWith: { id: 'short', key: short }, keys: new Map([['short', short]]) },
      // 32 bytes, but not the ring's key under that id
      { encryptWith: { id: 'stray', key: Buffer.alloc(32) }, keys: new Map([['stray', Buffer.alloc(32)]]) },
    ];
    for (const ring of strays) {
      assert.throws(
        () => new EncryptionCodec(ring),
        (err: Error) =>
          err instanceof CodecConfigError &&
          err.message.includes(`the encrypting key '${ring.encryptWith.id}' must be a 32-byte key of the ring`),
      );
    }
  });

  it("accepts unencrypted 'pass' and 'mark' only, and says so", async () => {
    assert.ok(new EncryptionCodec(oneKey, { unencrypted: 'pass' }));
    for (const bad of ['', 'PASS', 'drop']) {
      assert.throws(
        () => new EncryptionCodec(oneKey, { unencrypted: bad as 'pass' }),
        (err: Error) =>
          err instanceof CodecConfigError &&
          err.message === "Invalid EncryptionCodec options:\n  - unencrypted must be 'pass' or 'mark'",
      );
    }
    const plain = defaultPayloadConverter.toPayload({ nhs: '9434765919' });
    assert.equal((await new EncryptionCodec(oneKey, { unencrypted: 'pass' }).decode([plain]))[0], plain);
  });

  it("with unencrypted 'mark', decodes plaintext as the marker, with its value when the converter can read it", async () => {
    const marking = new EncryptionCodec(oneKey, { unencrypted: 'mark' });
    const readable = defaultPayloadConverter.toPayload({ nhs: '9434765919' });
    const unreadable: Payload = { metadata: { encoding: Buffer.from('binary/unknown') }, data: Buffer.from('x') };
    const [a, b] = await marking.decode([readable, unreadable]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(a!), {
      [UNENCRYPTED_MARKER_KEY]: true,
      value: { nhs: '9434765919' },
    });
    assert.deepEqual(defaultPayloadConverter.fromPayload(b!), { [UNENCRYPTED_MARKER_KEY]: true });
    // An encrypted payload still decrypts.
    const [enc] = await marking.encode([readable]);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await marking.decode([enc!]))[0]!), { nhs: '9434765919' });
  });
});

describe('parseKeyRing edges', () => {
  const bytes = randomBytes(32);
  const b64 = bytes.toString('base64');

  it('accepts unpadded base64url (with - and _) for the same key, and spaces around ids, keys and colons', () => {
    // A key whose base64 holds + and /, so its base64url form holds - and _.
    let key = randomBytes(32);
    while (!/[+/]/.test(key.toString('base64'))) key = randomBytes(32);
    const url = key.toString('base64url');
    assert.match(url, /[-_]/);
    const ring = parseKeyRing(`  u : ${url} ,s:${b64}`);
    assert.deepEqual([...ring.keys.keys()], ['u', 's']);
    assert.deepEqual(ring.keys.get('u'), key);
    assert.deepEqual(ring.keys.get('s'), bytes);
  });

  it('refuses a key with junk around its base64, or misplaced padding, as not base64', () => {
    const url = bytes.toString('base64url');
    for (const bad of [`#${url}`, `${url}#`, `${b64.slice(0, 43)}==`, `${b64.slice(0, 42)}=`]) {
      assert.throws(() => parseKeyRing(`k:${bad}`), /entry 1 \(key id 'k'\): key is not valid base64/, bad);
    }
  });

  it('reports a padded base64 key of the wrong length by its length, whatever its characters', () => {
    let long = randomBytes(33).toString('base64');
    while (!/[+/]/.test(long)) long = randomBytes(33).toString('base64');
    assert.throws(() => parseKeyRing(`k:${long}`), /key must be 32 bytes after base64 decoding, got 33/);
  });

  it('says "no keys given" for a spec of spaces, and marks an empty entry as empty', () => {
    assert.throws(() => parseKeyRing('   '), /^.*no keys given/s);
    assert.throws(
      () => parseKeyRing(`a:${b64}, ,nocolon`),
      (err: Error) => {
        assert.match(err.message, /entry 2: expected "<id>:<base64 key>" \(the entry is empty\)/);
        assert.match(err.message, /entry 3: expected "<id>:<base64 key>"$/m);
        return true;
      },
    );
  });

  it('names the rule when a generated key id is refused', () => {
    assert.throws(() => generateKeySpec('no spaces'), /key id must be 1-64 characters of A-Z a-z 0-9 \. _ -/);
  });

  it('shows its key ids when inspected', () => {
    const ring = parseKeyRing(`new:${b64},old:${randomBytes(32).toString('base64')}`);
    assert.equal(inspect(ring), "KeyRing { encryptWith: 'new', keyIds: [ 'new', 'old' ] }");
  });
});

describe('codec protocol', () => {
  it('reads a payload whose empty data proto3 JSON left out as empty data', () => {
    const p = fromJsonPayload({ metadata: { encoding: Buffer.from('binary/null').toString('base64') } });
    assert.equal(p.data!.length, 0);
    assert.equal(utf8(p.metadata!.encoding), 'binary/null');
  });

  it('describes every problem of a bad body by its path, the whole body as (body)', () => {
    const many = codecRequestSchema.safeParse({ payloads: [{ data: '***' }, { metadata: { a: '%' } }] });
    assert.equal(many.success, false);
    const text = describeIssues(many.error!);
    assert.match(text, /payloads\.0\.data: must be base64; payloads\.1\.metadata\.a: must be base64/);
    const whole = codecRequestSchema.safeParse('nope');
    assert.match(describeIssues(whole.error!), /^\(body\)/);
  });
});
