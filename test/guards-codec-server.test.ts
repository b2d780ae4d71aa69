import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  CodecConfigError,
  type CodecServer,
  type CodecServerOptions,
  EncryptionCodec,
  loadCodecServerOptions,
  parseKeyRing,
  PayloadDecryptionError,
  startCodecServer,
  workerDataConverter,
} from '../src/codec';
import { failureConverter } from '../src/codec/failure-converter';
import { authTokenProblems, isLoopback, parseHost } from '../src/codec/server-config';
import { type RawResponse, rawRequest } from './support/raw-http';

/**
 * The codec server and its settings at their edges (found by mutation testing, src/codec/server.ts,
 * server-config.ts, data-converter.ts, failure-converter.ts, errors.ts): each refusal's status, headers
 * and wording, the limits to the unit, Host and token parsing, and the settings read from the environment.
 */

const ring = parseKeyRing(`B:${randomBytes(32).toString('base64')}`);
const TOKEN = 'a-token-of-thirty-two-characters';
const b64 = (u8: Uint8Array | null | undefined) => Buffer.from(u8 ?? []).toString('base64');
const jsonPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecConfigError, String(err));
    return err.problems;
  }
  return [];
};

const send = rawRequest;
const messageOf = (r: RawResponse) => (JSON.parse(r.text) as { message: string }).message;

describe('codec server settings from the environment (loadCodecServerOptions)', () => {
  it('reads a port of 0 and of 65535, and refuses 65536, a sign, a fraction and a blank-padded word', () => {
    assert.equal(loadCodecServerOptions({ HERO_CODEC_PORT: '0' }).port, 0);
    assert.equal(loadCodecServerOptions({ HERO_CODEC_PORT: ' 65535 ' }).port, 65535);
    for (const bad of ['65536', '-1', '80.5', 'http', '1e3']) {
      assert.deepEqual(
        problemsOf(() => loadCodecServerOptions({ HERO_CODEC_PORT: bad })),
        ['HERO_CODEC_PORT: must be a port number 0-65535'],
        bad,
      );
    }
  });

  it('takes a blank variable as unset: the default port, origins, no namespaces or host list', () => {
    assert.deepEqual(
      loadCodecServerOptions({
        HERO_CODEC_PORT: ' ',
        HERO_CODEC_CORS_ORIGINS: '\t',
        HERO_CODEC_NAMESPACES: '',
        HERO_CODEC_ALLOWED_HOSTS: '  ',
        HERO_CODEC_HOST: ' ',
      }),
      { port: 8888, allowedOrigins: ['http://localhost:8233'] },
    );
  });

  it('reads the bind host, trimmed, and leaves out each setting that is not set', () => {
    const opts = loadCodecServerOptions({ HERO_CODEC_HOST: ' 127.0.0.2 ' });
    assert.deepEqual(opts, { port: 8888, allowedOrigins: ['http://localhost:8233'], host: '127.0.0.2' });
    assert.deepEqual(Object.keys(loadCodecServerOptions({})).sort(), ['allowedOrigins', 'port']);
  });

  it('accepts http and https origins only, exactly as a browser sends them', () => {
    assert.deepEqual(
      loadCodecServerOptions({ HERO_CODEC_CORS_ORIGINS: 'https://ui.example.com,http://10.0.0.1:8080' }).allowedOrigins,
      ['https://ui.example.com', 'http://10.0.0.1:8080'],
    );
    assert.deepEqual(
      problemsOf(() => loadCodecServerOptions({ HERO_CODEC_CORS_ORIGINS: 'ftp://files.example.com, not a url' })),
      [
        "HERO_CODEC_CORS_ORIGINS: 'ftp://files.example.com' is not an exact origin like http://localhost:8233 (scheme, host, port; no path or wildcard)",
        "HERO_CODEC_CORS_ORIGINS: 'not a url' is not an exact origin like http://localhost:8233 (scheme, host, port; no path or wildcard)",
      ],
    );
  });

  it('refuses a namespace list or a host list of commas only, in so many words', () => {
    assert.deepEqual(
      problemsOf(() => loadCodecServerOptions({ HERO_CODEC_NAMESPACES: ' , ,', HERO_CODEC_ALLOWED_HOSTS: ',' })),
      [
        'HERO_CODEC_NAMESPACES: must list at least one namespace when set',
        'HERO_CODEC_ALLOWED_HOSTS: must list at least one host when set',
      ],
    );
  });

  it('accepts an allowed host with port 65535 and refuses port 65536, with the whole message', () => {
    assert.deepEqual(loadCodecServerOptions({ HERO_CODEC_ALLOWED_HOSTS: 'codec.example:65535' }).allowedHosts, [
      'codec.example:65535',
    ]);
    assert.deepEqual(
      problemsOf(() => loadCodecServerOptions({ HERO_CODEC_ALLOWED_HOSTS: 'codec.example:65536' })),
      [
        "HERO_CODEC_ALLOWED_HOSTS: 'codec.example:65536' is not a host name or host:port as the browser sends it (no scheme or path)",
      ],
    );
  });

  it('names the configuration in the error, as a CodecConfigError', () => {
    assert.throws(
      () => loadCodecServerOptions({ HERO_CODEC_PORT: 'x' }),
      (err: unknown) =>
        err instanceof CodecConfigError &&
        err.name === 'CodecConfigError' &&
        err.message === 'Invalid codec server configuration:\n  - HERO_CODEC_PORT: must be a port number 0-65535',
    );
  });
});

describe('Host and token rules (server-config)', () => {
  it('counts 127.x.y.z, ::1 and localhost (any case) as loopback, and nothing that merely contains them', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '127.10.200.30', '::1', 'localhost', 'LocalHost'])
      assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '127.0.0.1.evil.example', 'x127.0.0.1', 'localhost.example', '::12', 'my-localhost'])
      assert.equal(isLoopback(host), false, host);
  });

  it('parses a Host header to a lower-case name and a port, or nothing', () => {
    assert.deepEqual(parseHost(' Codec.Example.COM:8443 '), { name: 'codec.example.com', port: '8443' });
    assert.deepEqual(parseHost('codec'), { name: 'codec', port: '' });
    assert.deepEqual(parseHost('[::1]:9'), { name: '[::1]', port: '9' });
    assert.deepEqual(parseHost('a'), { name: 'a', port: '' });
    for (const bad of ['', 'http://codec', 'codec/x', '-codec', 'codec-', 'codec:123456', 'a b', 'codec:', '[::1']) {
      assert.equal(parseHost(bad), undefined, bad);
    }
  });

  it('says what is wrong with a token, with the loopback or network minimum, never the token', () => {
    assert.deepEqual(authTokenProblems(undefined, undefined), []);
    assert.deepEqual(authTokenProblems(undefined, '127.0.0.1'), []);
    assert.deepEqual(authTokenProblems(undefined, '10.0.0.1'), [
      'HERO_CODEC_AUTH_TOKEN: required when HERO_CODEC_HOST is not a loopback address (it decrypts patient data)',
    ]);
    assert.deepEqual(authTokenProblems(' ', undefined), [
      'HERO_CODEC_AUTH_TOKEN: is set but blank; set a real token, or unset it to run without one (loopback only)',
    ]);
    assert.deepEqual(authTokenProblems('short', undefined), [
      'HERO_CODEC_AUTH_TOKEN: must be at least 16 characters (e.g. `openssl rand -base64 32`)',
    ]);
    assert.deepEqual(authTokenProblems('sixteen-chars-xy', '10.0.0.1'), [
      'HERO_CODEC_AUTH_TOKEN: must be at least 32 characters when HERO_CODEC_HOST is not a loopback address (e.g. `openssl rand -base64 32`)',
    ]);
    assert.deepEqual(authTokenProblems('sixteen chars xy', 'localhost'), [
      'HERO_CODEC_AUTH_TOKEN: must be printable ASCII without spaces',
    ]);
    assert.deepEqual(authTokenProblems(TOKEN, '10.0.0.1'), []);
  });
});

describe('startCodecServer refuses settings it cannot serve with', () => {
  const refused = async (opts: Partial<CodecServerOptions>) => {
    const started = await startCodecServer({ ring, allowedOrigins: [], ...opts }).catch((err: unknown) => err);
    if (!(started instanceof Error)) {
      await (started as CodecServer).close();
      assert.fail(`started with ${JSON.stringify(opts)}`);
    }
    return started;
  };

  it('a limit or timeout that is not a positive integer, by name', async () => {
    for (const name of [
      'maxPayloads',
      'maxResponseBytes',
      'headersTimeoutMs',
      'bodyTimeoutMs',
      'requestTimeoutMs',
    ] as const) {
      for (const value of [0, -1, 1.5]) {
        const err = await refused({ [name]: value, ...(name === 'requestTimeoutMs' && { headersTimeoutMs: 1 }) });
        assert.ok(err instanceof CodecConfigError, `${name} ${value}: ${String(err)}`);
        assert.equal(err.message, `Invalid codec server:\n  - ${name} must be a positive integer`, `${name} ${value}`);
      }
    }
  });

  it('a headers timeout above the request timeout, but not one equal to it', async () => {
    const err = await refused({ headersTimeoutMs: 2000, requestTimeoutMs: 1999 });
    assert.ok(err instanceof CodecConfigError);
    assert.equal(err.message, 'Invalid codec server:\n  - headersTimeoutMs must not exceed requestTimeoutMs');
    const equal = await startCodecServer({ ring, allowedOrigins: [], headersTimeoutMs: 2000, requestTimeoutMs: 2000 });
    await equal.close();
  });

  it('an allowed host that is not a host name, quoting only that entry', async () => {
    const err = await refused({ allowedHosts: ['ok.example', 'https://bad.example'] });
    assert.ok(err instanceof CodecConfigError);
    assert.equal(
      err.message,
      "Invalid codec server:\n  - allowed host 'https://bad.example' is not a host name or host:port",
    );
  });

  it('a token that is too short, as the codec server configuration', async () => {
    const err = await refused({ authToken: 'short' });
    assert.ok(err instanceof CodecConfigError);
    assert.match(err.message, /^Invalid codec server configuration:\n {2}- HERO_CODEC_AUTH_TOKEN: must be at least 16/);
  });
});

describe('codec server answers', () => {
  const servers: CodecServer[] = [];
  let open: CodecServer;
  let locked: CodecServer;
  const start = async (opts: Omit<CodecServerOptions, 'ring'>) => {
    const server = await startCodecServer({ ring, ...opts });
    servers.push(server);
    return server;
  };
  before(async () => {
    open = await start({ allowedOrigins: ['http://localhost:8233'] });
    locked = await start({ allowedOrigins: [], authToken: TOKEN, namespaces: ['hero'] });
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const payload = defaultPayloadConverter.toPayload({ hello: 'world' });
  const body = JSON.stringify({ payloads: [jsonPayload(payload)] });
  const json = { 'Content-Type': 'application/json' };

  it('listens on 127.0.0.1 by default, and says so in its url', () => {
    assert.match(open.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives IPv6 bind addresses in brackets, and serves their Host', async () => {
    const v6 = await start({ allowedOrigins: [], host: '::1' });
    const { port } = new URL(v6.url);
    assert.equal(v6.url, `http://[::1]:${port}`);
    assert.equal((await send(`${v6.url}/encode`, { headers: json, body })).status, 200);
  });

  it('answers health probes before any check, whatever the Host', async () => {
    const alive = await send(`${locked.url}/healthz`, { method: 'GET', headers: { Host: 'attacker.example' } });
    assert.equal(alive.status, 200);
    assert.deepEqual(JSON.parse(alive.text), { status: 'alive', service: 'hero-flow-codec-server' });
    const ready = await send(`${locked.url}/readyz?probe=1`, { method: 'GET' });
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.text), {
      status: 'ready',
      service: 'hero-flow-codec-server',
      detail: 'serving /encode and /decode',
    });
  });

  it('sends JSON that no cache keeps and no browser sniffs, with its length, varying by Origin', async () => {
    const res = await send(`${open.url}/encode?x=1`, { headers: json, body });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['vary'], 'Origin');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.text));
  });

  it('refuses a request without a Host header it serves, closing the connection', async () => {
    const res = await send(`${open.url}/encode`, { headers: { ...json, Host: 'attacker.example' }, body });
    assert.equal(res.status, 421);
    assert.equal(res.headers['connection'], 'close');
    assert.equal(messageOf(res), 'Host header not served by this codec server (add it to HERO_CODEC_ALLOWED_HOSTS)');
  });

  it('names the paths it serves, and the methods it allows', async () => {
    const other = await send(`${open.url}/other`, { headers: json, body });
    assert.equal(other.status, 404);
    assert.equal(messageOf(other), 'not found; use /encode or /decode');
    const get = await send(`${open.url}/decode`, { method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers['allow'], 'POST, OPTIONS');
    assert.equal(messageOf(get), 'method not allowed');
  });

  it('answers a preflight with 204 and caches it for 10 minutes', async () => {
    const res = await send(`${open.url}/encode`, { method: 'OPTIONS', headers: { Origin: 'http://localhost:8233' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-max-age'], '600');
  });

  it('refuses an origin it does not list, by name of the problem', async () => {
    const res = await send(`${open.url}/encode`, { headers: { ...json, Origin: 'http://evil.example' }, body });
    assert.equal(res.status, 403);
    assert.equal(messageOf(res), 'origin not allowed');
  });

  it('takes the bearer scheme in any case, the token trimmed, and refuses an empty or wrong one', async () => {
    const auth = (authorization: string) =>
      send(`${locked.url}/encode`, { headers: { ...json, 'X-Namespace': 'hero', Authorization: authorization }, body });
    assert.equal((await auth(`bearer ${TOKEN}`)).status, 200);
    assert.equal((await auth(`BEARER ${TOKEN}  `)).status, 200);
    for (const bad of ['Bearer ', 'Bearer  ', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `xBearer ${TOKEN}`]) {
      const res = await auth(bad);
      assert.equal(res.status, 401, JSON.stringify(bad));
      assert.equal(messageOf(res), 'missing or invalid bearer token');
    }
  });

  it('refuses a request without X-Namespace when namespaces are listed', async () => {
    const res = await send(`${locked.url}/encode`, { headers: { ...json, Authorization: `Bearer ${TOKEN}` }, body });
    assert.equal(res.status, 403);
    assert.equal(messageOf(res), 'namespace (X-Namespace) not served by this codec server');
  });

  it('answers "100 Continue" only once the checks pass, then serves the body', async () => {
    const res = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false;
      const req = request(`${open.url}/encode`, {
        method: 'POST',
        headers: { ...json, Expect: '100-continue', 'Content-Length': Buffer.byteLength(body) },
        agent: false,
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('response', (r) => {
        r.resume();
        r.on('end', () => resolve({ continued, status: r.statusCode ?? 0 }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(res, { continued: true, status: 200 });
  });

  it('says the body limit in bytes when a declared length is over it, before reading the body', async () => {
    const res = await send(`${open.url}/encode`, {
      headers: { ...json, 'Content-Length': String(4 * 1024 * 1024 + 1) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers['connection'], 'close');
    assert.equal(messageOf(res), 'request body exceeds 4194304 bytes');
  });

  it('refuses more payloads than its own limit, and serves exactly that many', async () => {
    const two = await start({ allowedOrigins: [], maxPayloads: 2 });
    const many = (n: number) => JSON.stringify({ payloads: Array.from({ length: n }, () => jsonPayload(payload)) });
    assert.equal((await send(`${two.url}/encode`, { headers: json, body: many(2) })).status, 200);
    const res = await send(`${two.url}/encode`, { headers: json, body: many(3) });
    assert.equal(res.status, 413);
    assert.equal(
      messageOf(res),
      'too many payloads: the limit is 2 payloads per request; send them in smaller batches',
    );
  });

  it('answers a JSON null body as an invalid request, not as a crash', async () => {
    const res = await send(`${open.url}/encode`, { headers: json, body: 'null' });
    assert.equal(res.status, 400);
    assert.match(messageOf(res), /^invalid request: /);
  });

  it('serves a response of exactly its size limit, and refuses one byte more', async () => {
    const [encrypted] = await new EncryptionCodec(ring).encode([payload]);
    const decoded = JSON.stringify({ payloads: [jsonPayload(payload)] });
    const exact = Buffer.byteLength(decoded);
    const decode = async (maxResponseBytes: number, n = 1) => {
      const server = await start({ allowedOrigins: [], maxResponseBytes });
      const payloads = Array.from({ length: n }, () => jsonPayload(encrypted!));
      return send(`${server.url}/decode`, { headers: json, body: JSON.stringify({ payloads }) });
    };
    const fits = await decode(exact);
    assert.equal(fits.status, 200);
    assert.equal(fits.text, decoded);
    assert.equal((await decode(exact - 1)).status, 413);
    // Two payloads: one comma between them.
    const twoExact = exact * 2 - '{"payloads":[]}'.length + 1;
    assert.equal((await decode(twoExact, 2)).status, 200);
    assert.equal((await decode(twoExact - 1, 2)).status, 413);
  });

  it('answers 500 without detail when the codec fails unexpectedly', async () => {
    const realDecode = EncryptionCodec.prototype.decode;
    EncryptionCodec.prototype.decode = () => Promise.reject(new Error('disk on fire: 9434765919'));
    try {
      const res = await send(`${open.url}/decode`, { headers: json, body });
      assert.equal(res.status, 500);
      assert.equal(res.headers['connection'], 'close');
      assert.deepEqual(JSON.parse(res.text), { message: 'internal error' });
    } finally {
      EncryptionCodec.prototype.decode = realDecode;
    }
  });

  it('answers 400 naming the key id for a payload it cannot decrypt', async () => {
    const realDecode = EncryptionCodec.prototype.decode;
    EncryptionCodec.prototype.decode = () => Promise.reject(new PayloadDecryptionError('cannot decrypt: bad tag', 'B'));
    try {
      const res = await send(`${open.url}/decode`, { headers: json, body });
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.text), { message: 'cannot decrypt: bad tag' });
    } finally {
      EncryptionCodec.prototype.decode = realDecode;
    }
  });
});

describe('converters', () => {
  it('the worker marks unencrypted payloads and loads the failure converter by path', async () => {
    const converter = workerDataConverter(ring);
    const [marked] = await converter.payloadCodecs[0]!.decode([defaultPayloadConverter.toPayload('plain')]);
    assert.notDeepEqual(marked, defaultPayloadConverter.toPayload('plain'));
    assert.match(converter.failureConverterPath, /failure-converter\.(ts|js)$/);
  });

  it("leaves the workflow's own unencrypted-payload refusal readable, without its stack", () => {
    // With details [] (nonRetryable) and with no details at all (create).
    for (const refusal of [
      ApplicationFailure.nonRetryable('this run was started without the codec', 'HeroUnencryptedPayload'),
      ApplicationFailure.create({ message: 'this run was started without the codec', type: 'HeroUnencryptedPayload' }),
    ]) {
      const failure = failureConverter.errorToFailure(refusal, defaultPayloadConverter);
      assert.equal(failure.message, 'this run was started without the codec');
      assert.equal(failure.stackTrace, '');
      assert.equal(failure.encodedAttributes, undefined);
    }
  });

  it('encodes that refusal like any failure once it has a cause or details', () => {
    const withDetails = ApplicationFailure.create({
      message: 'refused 9434765919',
      type: 'HeroUnencryptedPayload',
      details: ['x'],
    });
    const withCause = ApplicationFailure.create({
      message: 'refused 9434765919',
      type: 'HeroUnencryptedPayload',
      cause: new Error('inner'),
    });
    const otherType = ApplicationFailure.create({ message: 'refused 9434765919', type: 'Other' });
    for (const err of [withDetails, withCause, otherType]) {
      const failure = failureConverter.errorToFailure(err, defaultPayloadConverter);
      assert.equal(failure.message, 'Encoded failure', String(err.type));
      assert.ok(failure.encodedAttributes, String(err.type));
    }
    const plain = failureConverter.errorToFailure(new Error('refused'), defaultPayloadConverter);
    assert.equal(plain.message, 'Encoded failure');
  });

  it('names its errors', () => {
    assert.equal(new PayloadDecryptionError('x', 'k').name, 'PayloadDecryptionError');
    assert.equal(new PayloadDecryptionError('x', 'k').keyId, 'k');
    assert.equal(new CodecConfigError(['p']).message, 'Invalid HERO_CODEC_KEYS:\n  - p');
    assert.equal(new CodecConfigError(['p']).name, 'CodecConfigError');
  });
});
