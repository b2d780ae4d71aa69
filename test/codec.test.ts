import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  CodecConfigError,
  type CodecServer,
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

/** The secret as it could appear: plain, JSON-escaped, and inside base64 at each of the 3 byte alignments. */
function leakForms(secret: string): string[] {
  const forms = [secret, JSON.stringify(secret).slice(1, -1)];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), Buffer.from(secret)]).toString('base64');
    // Drop the group holding padding bytes and the trailing partial group: what remains depends on the secret only.
    forms.push(encoded.slice(shift ? 4 : 0, Math.floor((shift + secret.length) / 3) * 4));
  }
  return forms;
}

/** Every place a payload's bytes could be read: JS object, proto3 JSON (Web UI / codec server), wire bytes. */
function leaks(p: Payload): string[] {
  const views = [
    JSON.stringify(p),
    JSON.stringify({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    }),
    protoBytes(p).toString('latin1'),
  ];
  return SECRETS.flatMap(leakForms).filter((form) => views.some((v) => v.includes(form)));
}

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

  it('leaves no patient data readable in the encrypted payload', async () => {
    assert.ok(leaks(plain).length > 0, 'the leak check must find the data in a plaintext payload');
    const [encrypted] = await codec.encode([plain]);
    assert.ok(encrypted);
    assert.deepEqual(leaks(encrypted), []);
    assert.ok(plain.data && encrypted.data!.length >= plain.data.length + 28);
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

  it('fails clearly, naming the missing key id and never a key, once the old key is dropped', async () => {
    const [underA] = await new EncryptionCodec(ringA).encode([defaultPayloadConverter.toPayload(INPUT)]);
    await assert.rejects(new EncryptionCodec(ringB).decode([underA!]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.equal(err.message, "payload encrypted with key id 'A', which is not in HERO_CODEC_KEYS (known: B)");
      assert.equal(err.keyId, 'A');
      for (const key of [KEY_A, KEY_B]) assert.ok(!err.message.includes(key));
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

describe('codec server', () => {
  const UI = 'http://localhost:8233';
  const servers: CodecServer[] = [];
  let open: CodecServer;
  let locked: CodecServer;
  const start = async (opts: Omit<CodecServerOptions, 'ring'>) => {
    const server = await startCodecServer({ ring: ringBA, ...opts });
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

  const jsonPayload = (value: unknown) => {
    const p = defaultPayloadConverter.toPayload(value);
    return { metadata: { encoding: b64(p.metadata!.encoding) }, data: b64(p.data) };
  };
  const body = { payloads: [jsonPayload(INPUT), jsonPayload('second')] };

  before(async () => {
    open = await start({ allowedOrigins: [UI] });
    locked = await start({ allowedOrigins: [UI], authToken: 's3cret-token', namespaces: ['hero'] });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('round-trips /encode then /decode', async () => {
    const encoded = await post(open, '/encode', body);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('cache-control'), 'no-store');
    const encrypted = (await encoded.json()) as typeof body;
    assert.equal(encrypted.payloads.length, 2);
    assert.equal(Buffer.from(encrypted.payloads[0]!.metadata.encoding, 'base64').toString(), 'binary/encrypted');
    assert.ok(!JSON.stringify(encrypted).includes(Buffer.from(NHS).toString('base64').slice(0, 8)));
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
    assert.equal((await post(locked, '/decode', body, { ...ns, Authorization: 's3cret-token' })).status, 401);
    const right = await post(locked, '/decode', body, { ...ns, Authorization: 'Bearer s3cret-token' });
    assert.equal(right.status, 200);
    assert.deepEqual(await right.json(), body);
  });

  it('serves only the configured namespaces', async () => {
    const auth = { Authorization: 'Bearer s3cret-token' };
    assert.equal((await post(locked, '/decode', body, { ...auth, 'X-Namespace': 'default' })).status, 403);
    assert.equal((await post(locked, '/encode', body, { ...auth, 'X-Namespace': 'hero' })).status, 200);
  });

  it('answers 400 with a reason for bad JSON, a bad shape or an undecryptable payload', async () => {
    const badJson = await post(open, '/decode', '{"payloads": [');
    assert.equal(badJson.status, 400);
    assert.match(await message(badJson), /not valid JSON/);

    const badShape = await post(open, '/decode', { payloads: [{ data: 'not base64!' }] });
    assert.equal(badShape.status, 400);
    assert.match(await message(badShape), /payloads\.0\.data: must be base64/);
    assert.equal((await post(open, '/decode', { nope: [] })).status, 400);

    const [underC] = await new EncryptionCodec(parseKeyRing(generateKeySpec('C'))).encode([
      defaultPayloadConverter.toPayload(INPUT),
    ]);
    const unknownKey = await post(open, '/decode', {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(underC!.metadata!).map(([k, v]) => [k, b64(v)])),
          data: b64(underC!.data),
        },
      ],
    });
    assert.equal(unknownKey.status, 400);
    assert.equal(
      await message(unknownKey),
      "payload encrypted with key id 'C', which is not in HERO_CODEC_KEYS (known: B, A)",
    );
  });

  it('limits body size, paths and methods', async () => {
    const huge = await post(open, '/encode', { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] });
    assert.equal(huge.status, 413);
    assert.equal(await streamChunked(`${open.url}/encode`, 5 * 1024 * 1024), 413);
    assert.equal((await post(open, '/other', body)).status, 404);
    assert.equal((await fetch(`${open.url}/decode`)).status, 405);
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
        HERO_CODEC_AUTH_TOKEN: 'tok',
        HERO_CODEC_NAMESPACES: 'a,b',
      }),
      {
        port: 9999,
        allowedOrigins: ['http://localhost:8233', 'https://ui.example.com'],
        authToken: 'tok',
        namespaces: ['a', 'b'],
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
        }),
      (err: Error) => {
        assert.ok(err instanceof CodecConfigError);
        assert.match(err.message, /HERO_CODEC_PORT/);
        assert.match(err.message, /'\*' is not an exact origin/);
        assert.match(err.message, /'http:\/\/localhost:8233\/' is not an exact origin/);
        assert.match(err.message, /HERO_CODEC_AUTH_TOKEN: required when HERO_CODEC_HOST is not a loopback address/);
        return true;
      },
    );
    assert.throws(
      () => loadCodecServerOptions({ HERO_CODEC_AUTH_TOKEN: 'has space' }),
      (err: Error) => !err.message.includes('has space'),
    );
  });
});
