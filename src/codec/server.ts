import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  encryptedBytesBound,
  METADATA_ENCODING,
  METADATA_KEY_ID,
} from './encryption-codec';
import { CodecConfigError, PayloadDecryptionError } from './errors';
import { healthAnswer, sendHealthAnswer } from '../observability/health';
import { codecRequestSchema, describeIssues, fromJsonPayload, toJsonPayload } from './protocol';
import { authTokenProblems, parseHost } from './server-config';
import {
  type CodecServer,
  type CodecServerOptions,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_PAYLOADS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './server-options';

/** Request bodies past this many bytes are refused (413); the rest of the body is not read. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The `service` of its health answers. */
export const CODEC_SERVICE_NAME = 'hero-flow-codec-server';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

const HEADERS = {
  'Content-Type': 'application/json',
  // Decoded payloads are patient data: no browser or proxy may keep them.
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

function sendJson(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { ...HEADERS, 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

const send = (res: ServerResponse, status: number, body: unknown): void => sendJson(res, status, JSON.stringify(body));

/**
 * Answers and closes the connection. For answers given before the body is read: Node would otherwise
 * read and discard the rest of it (up to gigabytes) to keep the connection alive.
 */
function refuse(res: ServerResponse, status: number, message: string): void {
  res.setHeader('Connection', 'close');
  send(res, status, { message });
}

type Body = { bytes: Buffer } | { tooLarge: true } | { timedOut: true };

/** The body; or, once it exceeds `limit` or takes over `timeoutMs`, a refusal (the rest is not read). */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Body> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: Body | Error): void => {
      clearTimeout(timer);
      req.removeListener('data', onData).removeListener('end', onEnd).removeListener('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => settle({ timedOut: true }), timeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) settle({ tooLarge: true });
      else chunks.push(chunk);
    };
    const onEnd = (): void => settle({ bytes: Buffer.concat(chunks) });
    const onClose = (): void => settle(new Error('client closed the connection before the body ended'));
    // An aborted body also emits 'close' before 'end', which settles; 'error' needs a listener not to throw.
    req
      .on('data', onData)
      .on('end', onEnd)
      .on('close', onClose)
      .on('error', () => {});
  });
}

/**
 * Serializes a response body, or undefined as soon as it would exceed `limit` bytes (it stops there, so a
 * refused response never exists whole in memory).
 */
function responseBody(payloads: Payload[], limit: number): string | undefined {
  const parts: string[] = [];
  let size = '{"payloads":[]}'.length;
  for (const p of payloads) {
    const json = JSON.stringify(toJsonPayload(p));
    size += Buffer.byteLength(json) + (parts.length ? 1 : 0);
    if (size > limit) return undefined;
    parts.push(json);
  }
  return `{"payloads":[${parts.join(',')}]}`;
}

const formatHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0)
    throw new CodecConfigError([`${name} must be a positive integer`], 'codec server');
  return v;
}

/**
 * Temporal's remote codec protocol (`POST /encode`, `POST /decode`) for the Web UI and
 * `temporal --codec-endpoint`. Browser origins must be listed exactly; requests without Origin
 * (CLI, server-to-server) pass the origin check but not the Host, bearer-token or namespace checks.
 * Nothing is logged, so payloads never reach a log.
 *
 * `GET /healthz` (alive) and `GET /readyz` (serving /encode and /decode) answer before every
 * check, whatever the Host header, origin or token: an orchestrator probes by address, without the
 * token, and the answers hold no data.
 *
 * Defaults: see {@link CodecServerOptions}.
 * @throws CodecConfigError (the promise rejects) for options it cannot serve with: a token too short or
 *   missing off loopback, a limit that is not a positive integer, headersTimeoutMs above
 *   requestTimeoutMs, an allowed host that is not a host name, or a ring whose encrypting key is invalid.
 * @throws the listen error (e.g. EADDRINUSE) when it cannot bind `host`:`port`.
 */
export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const host = opts.host ?? '127.0.0.1';
  const tokenProblems = authTokenProblems(opts.authToken, host);
  if (tokenProblems.length) throw new CodecConfigError(tokenProblems, 'codec server configuration');
  const maxPayloads = positive('maxPayloads', opts.maxPayloads, DEFAULT_MAX_PAYLOADS);
  const maxResponseBytes = positive('maxResponseBytes', opts.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES);
  const headersTimeout = positive('headersTimeoutMs', opts.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS);
  const bodyTimeout = positive('bodyTimeoutMs', opts.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT_MS);
  const requestTimeout = positive('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  if (headersTimeout > requestTimeout) {
    throw new CodecConfigError(['headersTimeoutMs must not exceed requestTimeoutMs'], 'codec server');
  }
  const extraHosts = (opts.allowedHosts ?? []).map((h) => {
    const parsed = parseHost(h);
    if (!parsed) throw new CodecConfigError([`allowed host '${h}' is not a host name or host:port`], 'codec server');
    return parsed;
  });

  const codec = new EncryptionCodec(opts.ring);
  /** An encrypted payload's proto3 JSON without its data: the part of its size that is fixed. */
  const encryptedShellBytes = JSON.stringify(
    toJsonPayload({
      metadata: { [METADATA_ENCODING]: Buffer.from(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: Buffer.from(codec.keyId) },
      data: new Uint8Array(0),
    }),
  ).length;
  const origins = new Set(opts.allowedOrigins);
  const namespaces = opts.namespaces && new Set(opts.namespaces);
  const tokenHash = opts.authToken ? sha256(opts.authToken) : undefined;
  /** "name:port" pairs served; filled in once the port is known. */
  const hosts = new Set<string>();
  /** Names served on any port (HERO_CODEC_ALLOWED_HOSTS entries without a port, e.g. behind a TLS proxy). */
  const anyPortNames = new Set(extraHosts.filter((h) => h.port === '').map((h) => h.name));

  const authorized = (header: string | undefined): boolean => {
    if (!tokenHash) return true;
    const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1]?.trim();
    // Equal-length digests, so the comparison is constant-time whatever the token's length.
    return token !== undefined && timingSafeEqual(sha256(token), tokenHash);
  };

  /**
   * DNS rebinding: a page on attacker.example, re-pointed at 127.0.0.1, reaches this server as a
   * same-origin request, with no Origin check to stop it; its Host header still names attacker.example.
   */
  const hostAllowed = (header: string | undefined): boolean => {
    const parsed = header === undefined ? undefined : parseHost(header);
    if (!parsed) return false;
    return anyPortNames.has(parsed.name) || hosts.has(`${parsed.name}:${parsed.port || '80'}`);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    // Answering at all is serving: the key ring was checked at start, and close() stops the listener.
    const health = healthAnswer(req.method, path, CODEC_SERVICE_NAME, () => ({
      ready: true,
      detail: 'serving /encode and /decode',
    }));
    if (health) return sendHealthAnswer(req, res, health);
    res.setHeader('Vary', 'Origin');
    if (!hostAllowed(req.headers.host)) {
      return refuse(res, 421, 'Host header not served by this codec server (add it to HERO_CODEC_ALLOWED_HOSTS)');
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) return refuse(res, 403, 'origin not allowed');
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (path !== '/encode' && path !== '/decode') return refuse(res, 404, 'not found; use /encode or /decode');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization',
        'Access-Control-Max-Age': '600',
      });
      return void res.end();
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      return refuse(res, 405, 'method not allowed');
    }
    if (!authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return refuse(res, 401, 'missing or invalid bearer token');
    }
    const namespace = req.headers['x-namespace'];
    if (namespaces && (typeof namespace !== 'string' || !namespaces.has(namespace))) {
      return refuse(res, 403, 'namespace (X-Namespace) not served by this codec server');
    }

    // Only now may the client send its body (curl sends large bodies after "100 Continue").
    if (/100-continue/i.test(req.headers.expect ?? '')) res.writeContinue();
    const body = await readBody(req, MAX_BODY_BYTES, bodyTimeout);
    if ('tooLarge' in body) return refuse(res, 413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    if ('timedOut' in body) return refuse(res, 408, `request body not received within ${bodyTimeout} ms`);
    let json: unknown;
    try {
      json = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return send(res, 400, { message: 'request body is not valid JSON' });
    }
    // Counted before validating: validating 1.39 million payloads is itself seconds of work.
    const list = (json as { payloads?: unknown } | null)?.payloads;
    if (Array.isArray(list) && list.length > maxPayloads) {
      return send(res, 413, {
        message: `too many payloads: the limit is ${maxPayloads} payloads per request; send them in smaller batches`,
      });
    }
    const parsed = codecRequestSchema.safeParse(json);
    if (!parsed.success) return send(res, 400, { message: `invalid request: ${describeIssues(parsed.error)}` });
    const tooLarge = `the response would exceed the limit of ${maxResponseBytes} bytes; send fewer or smaller payloads per request`;

    const payloads = parsed.data.payloads.map(fromJsonPayload);
    if (path === '/encode') {
      // Encryption's output size is known from the input: refuse before doing the work.
      const base64 = (n: number): number => Math.ceil(n / 3) * 4;
      const bound = payloads.reduce((sum, p) => sum + encryptedShellBytes + base64(encryptedBytesBound(p)) + 1, 16);
      if (bound > maxResponseBytes) return send(res, 413, { message: tooLarge });
    }
    let out;
    try {
      out = path === '/encode' ? await codec.encode(payloads) : await codec.decode(payloads);
    } catch (err) {
      if (err instanceof PayloadDecryptionError) return send(res, 400, { message: err.message });
      throw err;
    }
    // Decryption's output size is not: stop serializing as soon as it passes the limit.
    const response = responseBody(out, maxResponseBytes);
    if (response === undefined) return send(res, 413, { message: tooLarge });
    sendJson(res, 200, response);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
        send(res, 500, { message: 'internal error' });
      } else res.destroy();
    });
  };
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      // Node checks both timeouts on this interval (30 s by default), so a check must come well within them.
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeout / 4)),
    },
    listener,
  );
  // Handled by `listener` like any request, so Node does not send "100 Continue" before the checks.
  server.on('checkContinue', listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => (server.off('error', reject), resolve()));
  });
  const { port } = server.address() as AddressInfo;
  for (const name of [formatHost(host), 'localhost', '127.0.0.1', '[::1]']) hosts.add(`${name.toLowerCase()}:${port}`);
  for (const h of extraHosts) if (h.port) hosts.add(`${h.name}:${h.port}`);
  return {
    url: `http://${formatHost(host)}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
