import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  CodecConfigError,
  type CodecServer,
  DEFAULT_MAX_PAYLOADS,
  encryptedBytesBound,
  type CodecServerOptions,
  EncryptionCodec,
  FAILURE_CONVERTER_PATH,
  generateKeySpec,
  heroDataConverter,
  type KeyRing,
  loadCodecServerOptions,
  loadKeyRing,
  parseKeyRing,
  PayloadDecryptionError,
  startCodecServer,
  workerDataConverter,
} from '../src/codec';
import { failureConverter } from '../src/codec/failure-converter';
import { rawRequest } from './support/raw-http';

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');
const ringA = parseKeyRing(`A:${KEY_A}`);
const ringB = parseKeyRing(`B:${KEY_B}`);
const ringBA = parseKeyRing(`B:${KEY_B},A:${KEY_A}`);

const NHS = '9434765919';
/** A typical workflow input: what the client starts a run with (~300 bytes as JSON). */
const INPUT = {
  nhsNumber: NHS,
  nhsNumberSpaced: '943 476 5919',
  dob: '1992-01-01',
  patientId: 'pat_7f3c9a1e2b',
  loginUrl: 'https://app.herohealth.net/verify/Zm9vYmFyLXNlY3JldC10b2tlbg',
  booking: { appointmentTypeId: '1', locationId: '5', expiryDate: '2026-12-31', maximumUseCount: 1 },
  message: { type: 'sms', text: 'Book your appointment: {booking_link}' },
};
const SECRETS = [NHS, INPUT.nhsNumberSpaced, INPUT.dob, INPUT.patientId, INPUT.loginUrl];

const utf8 = (u8: Uint8Array | null | undefined) => Buffer.from(u8 ?? []).toString('utf8');
const protoBytes = (p: Payload) => Buffer.from(temporal.api.common.v1.Payload.encode(p).finish());
const b64 = (u8: Uint8Array | null | undefined) => Buffer.from(u8 ?? []).toString('base64');

/**
 * The secret as it could appear: plain, JSON-escaped, and inside base64 at each of the 3 byte alignments
 * (a secret at byte offset 3k+1 of a payload encodes to different characters than one at 3k).
 */
function leakForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1)];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), Buffer.from(secret)]).toString('base64');
    // Drop the group holding padding bytes and the trailing partial group: what remains depends on the secret only.
    forms.push(encoded.slice(shift ? 4 : 0, Math.floor((shift + secret.length) / 3) * 4));
  }
  return forms;
}

const contains = (haystack: string, secret: string): boolean => leakForms(secret).some((f) => haystack.includes(f));

/** A payload in proto3 JSON, as the codec server and the Web UI carry it: metadata and data in base64. */
const jsonPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});
const protoJson = (p: Payload) => JSON.stringify(jsonPayload(p));

/** The secrets readable in a payload's proto3 JSON or its wire bytes. */
function leaks(p: Payload): string[] {
  const views = [protoJson(p), protoBytes(p).toString('latin1')];
  return SECRETS.filter((secret) => views.some((v) => contains(v, secret)));
}

/** The same request with 0, 1 and 2 bytes in front of it, so each secret sits at each base64 alignment once. */
const shifted = (value: object) =>
  [0, 1, 2].map((n) => defaultPayloadConverter.toPayload({ pad: 'x'.repeat(n), ...value }));

describe('EncryptionCodec', () => {
  const codec = new EncryptionCodec(ringA);
  const plain = defaultPayloadConverter.toPayload(INPUT);

  it('round-trips JSON payloads', async () => {
    const values = [INPUT, 'text', 42, null, undefined, [1, 'two'], new Uint8Array([0, 1, 2]), new Uint8Array(0)];
    const payloads = values.map((v) => defaultPayloadConverter.toPayload(v));
    const decoded = await codec.decode(await codec.encode(payloads));
    assert.equal(decoded.length, values.length);
    decoded.forEach((p, i) => assert.deepEqual(defaultPayloadConverter.fromPayload(p), values[i]));
    assert.deepEqual((await codec.decode(await codec.encode([plain])))[0], plain);
  });

  it('has a leak check that finds every datum in plaintext, in base64 at any alignment and in wire bytes', () => {
    for (const [shift, p] of shifted(INPUT).entries()) {
      const json = protoJson(p);
      assert.ok(!json.includes(NHS), 'the proto3 JSON carries the data in base64 only');
      for (const secret of SECRETS) {
        assert.ok(contains(json, secret), `base64 of "${secret}" shifted by ${shift} bytes not found`);
        assert.ok(contains(protoBytes(p).toString('latin1'), secret), `"${secret}" not found in the wire bytes`);
      }
    }
  });

  it('leaves no patient data readable in the encrypted payload', async () => {
    assert.deepEqual(leaks(plain), SECRETS, 'the leak check must find every datum in the plaintext payload');
    const [encrypted] = await codec.encode([plain]);
    assert.ok(encrypted);
    assert.deepEqual(leaks(encrypted), []);
    assert.ok(plain.data && encrypted.data!.length >= plain.data.length + 28);
  });

  it('encrypts every payload of a batch, not only the first', async () => {
    const batch = [...shifted(INPUT), ...shifted({ other: INPUT })];
    for (const p of batch) assert.deepEqual(leaks(p), SECRETS);
    const encrypted = await codec.encode(batch);
    assert.equal(encrypted.length, batch.length);
    encrypted.forEach((p, i) => {
      assert.equal(utf8(p.metadata!.encoding), 'binary/encrypted', `payload ${i} is not encrypted`);
      assert.equal(utf8(p.metadata!['encryption-key-id']), 'A', `payload ${i}`);
      assert.deepEqual(leaks(p), [], `payload ${i} shows patient data`);
    });
  });

  it('bounds the encrypted size from the plaintext, without encrypting', async () => {
    const payloads = [
      plain,
      defaultPayloadConverter.toPayload(null),
      { metadata: {}, data: new Uint8Array(0) },
      { metadata: { encoding: Buffer.from('binary/plain'), 'x-é': Buffer.alloc(300) }, data: Buffer.alloc(70_000) },
    ];
    const encrypted = await codec.encode(payloads);
    payloads.forEach((p, i) => {
      const actual = encrypted[i]!.data!.length;
      assert.ok(encryptedBytesBound(p) >= actual, `payload ${i}: bound ${encryptedBytesBound(p)} < ${actual}`);
      assert.ok(
        encryptedBytesBound(p) <= actual + 8,
        `payload ${i}: bound ${encryptedBytesBound(p)} far above ${actual}`,
      );
    });
  });

  it('marks the encoding and key id in metadata, with a fresh IV each time', async () => {
    const [one, two] = await codec.encode([plain, plain]);
    assert.deepEqual(Object.keys(one!.metadata!).sort(), ['encoding', 'encryption-key-id']);
    assert.equal(utf8(one!.metadata!.encoding), 'binary/encrypted');
    assert.equal(utf8(one!.metadata!['encryption-key-id']), 'A');
    assert.notDeepEqual(one!.data, two!.data);
    assert.notDeepEqual(one!.data!.subarray(0, 12), two!.data!.subarray(0, 12));
  });

  it('passes unencrypted payloads through on decode, so older history still reads', async () => {
    const [out] = await codec.decode([plain]);
    assert.equal(out, plain);
  });

  it('rejects a ring whose encrypting key is not 32 bytes', () => {
    const bad: KeyRing = { encryptWith: { id: 'x', key: Buffer.alloc(16) }, keys: new Map([['x', Buffer.alloc(16)]]) };
    assert.throws(() => new EncryptionCodec(bad), CodecConfigError);
  });
});

describe('key rotation', () => {
  it('decodes old payloads with a retired key and encrypts new ones with the first key', async () => {
    const payload = defaultPayloadConverter.toPayload(INPUT);
    const [underA] = await new EncryptionCodec(ringA).encode([payload]);
    const rotated = new EncryptionCodec(ringBA);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([underA!]))[0]!), INPUT);
    const [underB] = await rotated.encode([payload]);
    assert.equal(utf8(underB!.metadata!['encryption-key-id']), 'B');
    assert.deepEqual(
      defaultPayloadConverter.fromPayload((await new EncryptionCodec(ringB).decode([underB!]))[0]!),
      INPUT,
    );
  });

  it('fails clearly, naming only the missing key id, never a key or the configured ids', async () => {
    const [underOld] = await new EncryptionCodec(parseKeyRing(`k-old-2025:${KEY_A}`)).encode([
      defaultPayloadConverter.toPayload(INPUT),
    ]);
    const current = new EncryptionCodec(parseKeyRing(`k-current-2026:${KEY_B},k-retired-2024:${KEY_A}`));
    await assert.rejects(current.decode([underOld!]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.equal(err.message, "payload encrypted with key id 'k-old-2025', which is not in HERO_CODEC_KEYS");
      assert.equal(err.keyId, 'k-old-2025');
      for (const hidden of [KEY_A, KEY_B, 'k-current-2026', 'k-retired-2024']) assert.ok(!err.message.includes(hidden));
      return true;
    });
  });
});

describe('tampering', () => {
  const codec = new EncryptionCodec(ringBA);
  const encrypt = async () => (await codec.encode([defaultPayloadConverter.toPayload(INPUT)]))[0]!;

  it('detects a flipped byte in the IV, the ciphertext or the tag', async () => {
    const original = await encrypt();
    for (const at of [0, 20, original.data!.length - 1]) {
      const data = Buffer.from(original.data!);
      data[at]! ^= 0x01;
      await assert.rejects(
        codec.decode([{ ...original, data }]),
        (err: Error) =>
          err instanceof PayloadDecryptionError &&
          err.message === "payload failed authentication (tampered or wrong key for id 'B')",
      );
    }
  });

  it('detects a swapped key-id header (the key id is authenticated data)', async () => {
    const original = await encrypt();
    const swapped = { ...original, metadata: { ...original.metadata, 'encryption-key-id': Buffer.from('A') } };
    await assert.rejects(codec.decode([swapped]), /payload failed authentication \(tampered or wrong key for id 'A'\)/);
    // Same key under two ids: only the key id as authenticated data tells them apart.
    const sameKey = new EncryptionCodec(parseKeyRing(`X:${KEY_A},Y:${KEY_A}`));
    const [underX] = await sameKey.encode([defaultPayloadConverter.toPayload(INPUT)]);
    const relabelled = { ...underX!, metadata: { ...underX!.metadata, 'encryption-key-id': Buffer.from('Y') } };
    await assert.rejects(sameKey.decode([relabelled]), /payload failed authentication/);
  });

  it('rejects truncated or unlabelled encrypted payloads instead of passing them on', async () => {
    const original = await encrypt();
    await assert.rejects(codec.decode([{ ...original, data: original.data!.subarray(0, 20) }]), /malformed/);
    const { 'encryption-key-id': _dropped, ...noKeyId } = original.metadata!;
    await assert.rejects(codec.decode([{ ...original, metadata: noKeyId }]), PayloadDecryptionError);
  });
});

describe('parseKeyRing / loadKeyRing / generateKeySpec', () => {
  it('parses ids and keys; the first key encrypts', () => {
    const ring = parseKeyRing(` B:${KEY_B} , A:${KEY_A}`);
    assert.equal(ring.encryptWith.id, 'B');
    assert.deepEqual(ring.encryptWith.key, Buffer.from(KEY_B, 'base64'));
    assert.deepEqual([...ring.keys.keys()], ['B', 'A']);
    assert.deepEqual(ring.keys.get('A'), Buffer.from(KEY_A, 'base64'));
  });

  it('lists every problem at once and never echoes a key', () => {
    const short = randomBytes(16).toString('base64');
    const long = randomBytes(33).toString('base64');
    const notBase64 = 'not*base64!' + KEY_A.slice(11);
    const spec = [
      `k1:${short}`,
      `k2:${notBase64}`,
      `k3:${KEY_A}`,
      `k3:${KEY_B}`,
      `bad id!:${KEY_A}`,
      `k4:${long}`,
      KEY_B,
    ].join(',');
    assert.throws(
      () => parseKeyRing(spec),
      (err: Error) => {
        assert.ok(err instanceof CodecConfigError);
        assert.match(err.message, /entry 1 \(key id 'k1'\): key must be 32 bytes after base64 decoding, got 16/);
        assert.match(err.message, /entry 2 \(key id 'k2'\): key is not valid base64/);
        assert.match(err.message, /entry 4: key id 'k3' appears more than once/);
        assert.match(err.message, /entry 5: key id must be 1-64 characters/);
        assert.match(err.message, /entry 6 \(key id 'k4'\): key must be 32 bytes after base64 decoding, got 33/);
        assert.match(err.message, /entry 7: expected "<id>:<base64 key>"/);
        for (const secret of [short, long, notBase64, KEY_A, KEY_B]) assert.ok(!err.message.includes(secret));
        assert.ok(!err.message.includes('bad id!'));
        return true;
      },
    );
    assert.throws(() => parseKeyRing(''), /no keys given/);
    assert.throws(() => parseKeyRing(`${'x'.repeat(65)}:${KEY_A}`), /key id must be 1-64 characters/);
  });

  it('loads HERO_CODEC_KEYS, or nothing when it is unset or empty', () => {
    assert.equal(loadKeyRing({}), undefined);
    assert.equal(loadKeyRing({ HERO_CODEC_KEYS: '  ' }), undefined);
    assert.equal(loadKeyRing({ HERO_CODEC_KEYS: `A:${KEY_A}` })?.encryptWith.id, 'A');
    assert.throws(() => loadKeyRing({ HERO_CODEC_KEYS: 'A:short' }), CodecConfigError);
  });

  it('generates a fresh, parseable key entry', () => {
    const spec = generateKeySpec();
    assert.match(spec, /^k-\d{8}-[0-9a-f]{4}:[A-Za-z0-9+/]{43}=$/);
    assert.equal(parseKeyRing(spec).encryptWith.key.length, 32);
    assert.notEqual(generateKeySpec(), spec);
    assert.match(generateKeySpec('prod-2026'), /^prod-2026:/);
    assert.throws(() => generateKeySpec('no spaces'), CodecConfigError);
  });

  it('shows key ids only when a ring is logged or serialized', () => {
    const ring = parseKeyRing(`A:${KEY_A}`);
    for (const shown of [inspect(ring), JSON.stringify(ring), inspect(new EncryptionCodec(ring))]) {
      assert.ok(!shown.includes(KEY_A) && !shown.includes(ring.encryptWith.key.toString('hex').slice(0, 8)), shown);
    }
  });
});

describe('failure converter', () => {
  it('moves the message and stack into encodedAttributes, which the codec then encrypts', async () => {
    const failure = failureConverter.errorToFailure(
      new ApplicationFailure(`NHS ${NHS} rejected`),
      defaultPayloadConverter,
    );
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    const attrs = defaultPayloadConverter.fromPayload<{ message: string; stack_trace: string }>(
      failure.encodedAttributes!,
    );
    assert.equal(attrs.message, `NHS ${NHS} rejected`);

    const [encrypted] = await new EncryptionCodec(ringA).encode([failure.encodedAttributes!]);
    const stored = temporal.api.failure.v1.Failure.encode({ ...failure, encodedAttributes: encrypted }).finish();
    assert.ok(!Buffer.from(stored).toString('latin1').includes(NHS));
    const [decrypted] = await new EncryptionCodec(ringA).decode([encrypted!]);
    const err = failureConverter.failureToError({ ...failure, encodedAttributes: decrypted }, defaultPayloadConverter);
    assert.equal(err.message, `NHS ${NHS} rejected`);
  });

  it('is wired into the client and worker data converters', async () => {
    const client = new Client({ dataConverter: heroDataConverter(ringA) });
    assert.equal(client.options.loadedDataConverter.failureConverter, failureConverter);
    assert.ok(client.options.loadedDataConverter.payloadCodecs[0] instanceof EncryptionCodec);

    const worker = workerDataConverter(ringA);
    assert.equal(worker.failureConverterPath, FAILURE_CONVERTER_PATH);
    assert.ok(worker.payloadCodecs[0] instanceof EncryptionCodec);
    // The path the worker's sandbox bundler and loadDataConverter require.
    const loaded = (await import(FAILURE_CONVERTER_PATH)) as { failureConverter: unknown };
    assert.equal(typeof (loaded.failureConverter as { errorToFailure?: unknown }).errorToFailure, 'function');
  });
});

/** POSTs `total` bytes with chunked transfer encoding (no Content-Length); resolves the status code. */
function streamChunked(url: string, total: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** The promise's value and the milliseconds from now until it settled. */
async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - started };
}

/**
 * Opens a TCP connection, lets `talk` write to it (and keep writing), and resolves with everything the
 * server answered once the server closes the connection; the test never closes it itself.
 */
function untilServerCloses(url: string, talk: (socket: Socket) => void): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => talk(socket));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {}); // a reset is one way for the server to close
    socket.on('close', () =>
      resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: performance.now() - started }),
    );
  });
}

/** Writes one byte every 100 ms, as a slow (or malicious) client does, until the connection closes. */
function drip(socket: Socket): void {
  const timer = setInterval(() => socket.write('a'), 100);
  socket.on('close', () => clearInterval(timer));
}

const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
const TOKEN = 's3cret-token-0123456789';

describe('codec server', () => {
  const UI = 'http://localhost:8233';
  const servers: CodecServer[] = [];
  let open: CodecServer;
  let locked: CodecServer;
  const start = async (opts: Omit<CodecServerOptions, 'ring'>, ring = ringBA) => {
    const server = await startCodecServer({ ring, ...opts });
    servers.push(server);
    return server;
  };
  const post = (server: CodecServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const message = async (res: Response) => ((await res.json()) as { message: string }).message;

  const body = { payloads: [...shifted(INPUT), defaultPayloadConverter.toPayload('second')].map(jsonPayload) };

  before(async () => {
    open = await start({ allowedOrigins: [UI] });
    locked = await start({ allowedOrigins: [UI], authToken: TOKEN, namespaces: ['hero'] });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('answers a call without arguments, which proto3 JSON sends as {} (the Temporal CLI querying status)', async () => {
    for (const path of ['/encode', '/decode']) {
      const res = await post(open, path, {});
      assert.equal(res.status, 200, path);
      assert.deepEqual(await res.json(), { payloads: [] });
    }
  });

  it('round-trips /encode then /decode, encrypting every payload of the request', async () => {
    const plaintext = JSON.stringify(body);
    for (const secret of SECRETS)
      assert.ok(contains(plaintext, secret), `the check must find "${secret}" in plaintext`);

    const encoded = await post(open, '/encode', body);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('cache-control'), 'no-store');
    const encrypted = (await encoded.json()) as typeof body;
    assert.equal(encrypted.payloads.length, body.payloads.length);
    encrypted.payloads.forEach((p, i) => {
      assert.equal(Buffer.from(p.metadata.encoding!, 'base64').toString(), 'binary/encrypted', `payload ${i}`);
      assert.deepEqual(leaks(fromJson(p)), [], `payload ${i} shows patient data`);
    });
    const ciphertext = JSON.stringify(encrypted);
    for (const secret of SECRETS)
      assert.ok(!contains(ciphertext, secret), `"${secret}" readable in the /encode answer`);

    const decoded = await post(open, '/decode', encrypted);
    assert.equal(decoded.status, 200);
    assert.deepEqual(await decoded.json(), body);
  });

  it('answers CORS preflight for allowed origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${open.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace',
        },
      });
    const ok = await preflight(UI);
    assert.ok(ok.status >= 200 && ok.status < 300, String(ok.status));
    assert.equal(ok.headers.get('access-control-allow-origin'), UI);
    assert.equal(ok.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    assert.equal(ok.headers.get('access-control-allow-headers'), 'Content-Type, X-Namespace, Authorization');
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(ok.headers.get('vary'), 'Origin');

    const denied = await preflight('https://evil.example');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
  });

  it('refuses POSTs from other origins, serves listed origins and callers without Origin', async () => {
    const evil = await post(open, '/decode', body, { Origin: 'http://localhost:8234' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const ui = await post(open, '/decode', body, { Origin: UI });
    assert.equal(ui.status, 200);
    assert.equal(ui.headers.get('access-control-allow-origin'), UI);
    assert.equal((await post(open, '/decode', body)).status, 200);
  });

  it('requires the bearer token when configured', async () => {
    const ns = { 'X-Namespace': 'hero' };
    const missing = await post(locked, '/decode', body, ns);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post(locked, '/decode', body, { ...ns, Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post(locked, '/decode', body, { ...ns, Authorization: TOKEN })).status, 401);
    const right = await post(locked, '/decode', body, { ...ns, Authorization: `Bearer ${TOKEN}` });
    assert.equal(right.status, 200);
    assert.deepEqual(await right.json(), body);
  });

  it('serves only the configured namespaces', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    assert.equal((await post(locked, '/decode', body, { ...auth, 'X-Namespace': 'default' })).status, 403);
    assert.equal((await post(locked, '/encode', body, { ...auth, 'X-Namespace': 'hero' })).status, 200);
  });

  it('answers 400 with a reason for bad JSON or a bad shape', async () => {
    const badJson = await post(open, '/decode', '{"payloads": [');
    assert.equal(badJson.status, 400);
    assert.match(await message(badJson), /not valid JSON/);

    const badShape = await post(open, '/decode', { payloads: [{ data: 'not base64!' }] });
    assert.equal(badShape.status, 400);
    assert.match(await message(badShape), /payloads\.0\.data: must be base64/);
    assert.equal((await post(open, '/decode', { nope: [] })).status, 400);
  });

  it('names only the unknown key id of an undecryptable payload, never the configured ones', async () => {
    const server = await start(
      { allowedOrigins: [UI] },
      parseKeyRing(`k-current-2026:${KEY_B},k-retired-2024:${KEY_A}`),
    );
    const [underC] = await new EncryptionCodec(parseKeyRing(generateKeySpec('k-other-team'))).encode([
      defaultPayloadConverter.toPayload(INPUT),
    ]);
    const unknownKey = await post(server, '/decode', { payloads: [jsonPayload(underC!)] });
    assert.equal(unknownKey.status, 400);
    const text = await message(unknownKey);
    assert.equal(text, "payload encrypted with key id 'k-other-team', which is not in HERO_CODEC_KEYS");
    for (const hidden of ['k-current-2026', 'k-retired-2024']) assert.ok(!text.includes(hidden), text);
  });

  it('limits body size, paths and methods', async () => {
    const huge = await post(open, '/encode', { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] });
    assert.equal(huge.status, 413);
    assert.equal(await streamChunked(`${open.url}/encode`, 5 * 1024 * 1024), 413);
    assert.equal((await post(open, '/other', body)).status, 404);
    assert.equal((await fetch(`${open.url}/decode`)).status, 405);
  });

  it(`refuses more than ${DEFAULT_MAX_PAYLOADS} payloads at once, quickly, and serves other requests meanwhile`, async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'X-Namespace': 'hero' };
    const atLimit = { payloads: Array.from({ length: DEFAULT_MAX_PAYLOADS }, () => jsonPayload(shifted(INPUT)[0]!)) };
    const full = await post(locked, '/encode', atLimit, auth);
    assert.equal(full.status, 200);
    assert.equal(((await full.json()) as typeof body).payloads.length, DEFAULT_MAX_PAYLOADS);

    // The audit's request: 1.39 million empty payloads in a 4 MB body took 21 s and stalled the server 17.6 s.
    const flood = `{"payloads":[${'{},'.repeat(1_389_999)}{}]}`;
    let floodSent!: () => void;
    const sent = new Promise<void>((resolve) => (floodSent = resolve));
    const floodAnswer = timed(
      rawRequest(`${locked.url}/encode`, {
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: flood,
        sent: floodSent,
      }),
    );
    // Once the whole flood is on its way, a normal request from the Web UI.
    await sent;
    const normalAnswer = timed(
      post(locked, '/decode', body, auth).then(async (r) => ({ status: r.status, json: await r.json() })),
    );

    const [refused, normal] = await Promise.all([floodAnswer, normalAnswer]);
    assert.equal(refused.value.status, 413);
    assert.match(refused.value.text, new RegExp(`the limit is ${DEFAULT_MAX_PAYLOADS} payloads per request`));
    assert.ok(refused.ms < 5_000, `refused after ${Math.round(refused.ms)} ms`);
    assert.equal(normal.value.status, 200);
    assert.deepEqual(normal.value.json, body);
    assert.ok(normal.ms < 5_000, `the normal request waited ${Math.round(normal.ms)} ms`);
  });
});

describe('codec server connection limits', () => {
  const servers: CodecServer[] = [];
  const start = async (opts: Partial<CodecServerOptions>) => {
    const server = await startCodecServer({ ring: ringBA, allowedOrigins: [], authToken: TOKEN, ...opts });
    servers.push(server);
    return server;
  };
  // Each server has one short timeout and long others, so a test sees only the limit it names.
  let slowHeaders: CodecServer;
  let slowBody: CodecServer;
  let slowRequest: CodecServer;
  const LONG = 30_000;
  before(async () => {
    slowHeaders = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: LONG, bodyTimeoutMs: LONG });
    slowBody = await start({ headersTimeoutMs: LONG, requestTimeoutMs: LONG, bodyTimeoutMs: 1_000 });
    slowRequest = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_000, bodyTimeoutMs: LONG });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const head = (server: CodecServer, headers: string[]) =>
    [`POST /decode HTTP/1.1`, `Host: ${new URL(server.url).host}`, 'Content-Type: application/json', ...headers]
      .map((line) => `${line}\r\n`)
      .join('');

  for (const [what, authorization] of [
    ['a wrong', [`Authorization: Bearer wrong-token-0123456789`]],
    ['a missing', []],
  ] as const) {
    it(
      `closes the connection after the 401 for ${what} token, without reading the rest of the body`,
      { timeout: 10_000 },
      async () => {
        // 2 GiB declared, 64 KiB sent: the server must neither wait for nor drain the rest.
        const { text } = await untilServerCloses(slowHeaders.url, (socket) => {
          socket.write(head(slowHeaders, [...authorization, `Content-Length: ${2 ** 31}`]) + '\r\n');
          socket.write(Buffer.alloc(64 * 1024, 0x41));
        });
        assert.match(text, /^HTTP\/1\.1 401 /);
        assert.match(text, /\r\nConnection: close\r\n/i);
        assert.match(text, /missing or invalid bearer token/);
      },
    );
  }

  it('cuts off request headers sent one byte at a time', { timeout: 10_000 }, async () => {
    const { text, ms } = await untilServerCloses(slowHeaders.url, (socket) => {
      socket.write(head(slowHeaders, []) + 'X-Slow: ');
      drip(socket);
    });
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 4_000, `cut off after ${Math.round(ms)} ms`);
  });

  it('cuts off a body sent one byte at a time, with a valid token', { timeout: 10_000 }, async () => {
    const { text, ms } = await untilServerCloses(slowBody.url, (socket) => {
      socket.write(head(slowBody, [`Authorization: Bearer ${TOKEN}`, 'Content-Length: 1000']) + '\r\n');
      drip(socket);
    });
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /\r\nConnection: close\r\n/i);
    assert.match(text, /request body not received within 1000 ms/);
    assert.ok(ms < 4_000, `cut off after ${Math.round(ms)} ms`);
  });

  it('cuts off a whole request that takes longer than the request timeout', { timeout: 10_000 }, async () => {
    const { text, ms } = await untilServerCloses(slowRequest.url, (socket) => {
      socket.write(head(slowRequest, [`Authorization: Bearer ${TOKEN}`, 'Content-Length: 1000']) + '\r\n');
      drip(socket);
    });
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 4_000, `cut off after ${Math.round(ms)} ms`);
  });

  it('refuses a response over its size limit, before encrypting when the size is known', async () => {
    const small = await start({ maxResponseBytes: 64 * 1024 });
    const send = (path: string, payloads: Payload[]) =>
      rawRequest(`${small.url}${path}`, {
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ payloads: payloads.map(jsonPayload) }),
      });
    const bytes = (n: number): Payload => ({
      metadata: { encoding: Buffer.from('binary/plain') },
      data: randomBytes(n),
    });

    assert.equal((await send('/encode', [bytes(40_000)])).status, 200);
    const tooBig = await send('/encode', [bytes(40_000), bytes(20_000)]);
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.text, /the response would exceed the limit of 65536 bytes/);

    // Plain payloads decode to themselves: 3 x 30 KB in, about 120 KB of base64 out.
    const decoded = await send('/decode', [bytes(30_000), bytes(30_000), bytes(30_000)]);
    assert.equal(decoded.status, 413);
    assert.match(decoded.text, /the response would exceed the limit of 65536 bytes/);
    assert.equal((await send('/decode', [bytes(30_000)])).status, 200);
  });

  it('serves only its own host names, so a DNS-rebound page decrypts nothing', async () => {
    const server = await start({ authToken: undefined, allowedHosts: ['codec.example.com', 'ui.example:9443'] });
    const { port } = new URL(server.url);
    const [encrypted] = await new EncryptionCodec(ringBA).encode([defaultPayloadConverter.toPayload(INPUT)]);
    const decode = (host: string) =>
      rawRequest(`${server.url}/decode`, {
        headers: { Host: host, 'Content-Type': 'application/json' },
        body: JSON.stringify({ payloads: [jsonPayload(encrypted!)] }),
      });

    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'codec.example.com',
      'ui.example:9443',
    ]) {
      const ok = await decode(host);
      assert.equal(ok.status, 200, host);
      assert.ok(contains(ok.text, NHS), `${host}: the key holder reads the payload`);
    }
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `localhost:${Number(port) + 1}`,
      'ui.example:9444',
    ]) {
      const refused = await decode(host);
      assert.equal(refused.status, 421, host);
      assert.match(refused.text, /Host header not served by this codec server/);
      for (const secret of SECRETS) assert.ok(!contains(refused.text, secret), `${host}: "${secret}" answered`);
    }
  });
});

describe('loadCodecServerOptions', () => {
  it('applies defaults', () => {
    assert.deepEqual(loadCodecServerOptions({}), { port: 8888, allowedOrigins: ['http://localhost:8233'] });
  });

  it('reads every setting', () => {
    assert.deepEqual(
      loadCodecServerOptions({
        HERO_CODEC_PORT: '9999',
        HERO_CODEC_CORS_ORIGINS: 'http://localhost:8233, https://ui.example.com',
        HERO_CODEC_AUTH_TOKEN: ' 0123456789abcdef\n',
        HERO_CODEC_NAMESPACES: 'a,b',
        HERO_CODEC_ALLOWED_HOSTS: 'codec.example.com, codec.internal:8443,[::1]:9999',
      }),
      {
        port: 9999,
        allowedOrigins: ['http://localhost:8233', 'https://ui.example.com'],
        authToken: '0123456789abcdef',
        namespaces: ['a', 'b'],
        allowedHosts: ['codec.example.com', 'codec.internal:8443', '[::1]:9999'],
      },
    );
  });

  it('lists every problem without echoing the token', () => {
    assert.throws(
      () =>
        loadCodecServerOptions({
          HERO_CODEC_PORT: '70000',
          HERO_CODEC_CORS_ORIGINS: '*,http://localhost:8233/',
          HERO_CODEC_HOST: '0.0.0.0',
          HERO_CODEC_ALLOWED_HOSTS: 'https://codec.example.com,codec.example.com/x',
        }),
      (err: Error) => {
        assert.ok(err instanceof CodecConfigError);
        assert.match(err.message, /HERO_CODEC_PORT/);
        assert.match(err.message, /'\*' is not an exact origin/);
        assert.match(err.message, /'http:\/\/localhost:8233\/' is not an exact origin/);
        assert.match(err.message, /HERO_CODEC_AUTH_TOKEN: required when HERO_CODEC_HOST is not a loopback address/);
        assert.match(err.message, /HERO_CODEC_ALLOWED_HOSTS: 'https:\/\/codec.example.com' is not a host name/);
        assert.match(err.message, /HERO_CODEC_ALLOWED_HOSTS: 'codec.example.com\/x' is not a host name/);
        return true;
      },
    );
    assert.throws(
      () => loadCodecServerOptions({ HERO_CODEC_AUTH_TOKEN: 'has space in a long token' }),
      (err: Error) => /printable ASCII without spaces/.test(err.message) && !err.message.includes('has space'),
    );
  });

  it('refuses a token of spaces, or empty, instead of running without auth', () => {
    for (const blank of ['   ', '', '\t\n']) {
      assert.throws(
        () => loadCodecServerOptions({ HERO_CODEC_AUTH_TOKEN: blank }),
        (err: Error) => err instanceof CodecConfigError && /HERO_CODEC_AUTH_TOKEN: is set but blank/.test(err.message),
        JSON.stringify(blank),
      );
    }
  });

  it('refuses a token under 16 characters on loopback, and under 32 off loopback, never echoing it', () => {
    const refused = (env: NodeJS.ProcessEnv, min: number) =>
      assert.throws(
        () => loadCodecServerOptions(env),
        (err: Error) =>
          err instanceof CodecConfigError &&
          err.message.includes(`HERO_CODEC_AUTH_TOKEN: must be at least ${min} characters`) &&
          !err.message.includes(env.HERO_CODEC_AUTH_TOKEN!),
      );
    refused({ HERO_CODEC_AUTH_TOKEN: 'x' }, 16);
    refused({ HERO_CODEC_AUTH_TOKEN: 'fifteen-chars-x' }, 16);
    assert.equal(loadCodecServerOptions({ HERO_CODEC_AUTH_TOKEN: 'sixteen-chars-xy' }).authToken, 'sixteen-chars-xy');
    assert.equal(
      loadCodecServerOptions({ HERO_CODEC_HOST: '::1', HERO_CODEC_AUTH_TOKEN: 'sixteen-chars-xy' }).host,
      '::1',
    );

    const remote = (token: string) => ({ HERO_CODEC_HOST: '0.0.0.0', HERO_CODEC_AUTH_TOKEN: token });
    refused(remote('sixteen-chars-xy'), 32);
    refused(remote('thirty-one-characters-long-abcd'), 32);
    assert.equal(loadCodecServerOptions(remote('a-token-of-thirty-two-characters')).host, '0.0.0.0');
  });

  it('refuses the same tokens when the server is started from code', async () => {
    for (const [authToken, host] of [
      ['   ', undefined],
      ['short', undefined],
      ['sixteen-chars-xy', '0.0.0.0'],
      [undefined, '0.0.0.0'],
    ] as const) {
      const what = `${JSON.stringify(authToken)} on ${host ?? 'loopback'}`;
      const started = await startCodecServer({
        ring: ringA,
        allowedOrigins: [],
        ...(authToken && { authToken }),
        ...(host && { host }),
      }).catch((err: unknown) => err);
      if (!(started instanceof Error)) {
        await (started as CodecServer).close();
        assert.fail(`started with ${what}`);
      }
      assert.ok(started instanceof CodecConfigError, `${what}: ${String(started)}`);
      assert.ok(!(authToken && started.message.includes(authToken)), `${what}: the message quotes the token`);
    }
  });
});
