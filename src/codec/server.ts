import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EncryptionCodec } from './encryption-codec';
import { PayloadDecryptionError } from './errors';
import { codecRequestSchema, describeIssues, fromJsonPayload, toJsonPayload } from './protocol';
import type { CodecServer, CodecServerOptions } from './server-options';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    // Decoded payloads are patient data: no browser or proxy may keep them.
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(json);
}

/** The body, or undefined once it exceeds `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Temporal's remote codec protocol (`POST /encode`, `POST /decode`) for the Web UI and
 * `temporal --codec-endpoint`. Browser origins must be listed exactly; requests without Origin
 * (CLI, server-to-server) pass the origin check but not the bearer-token or namespace checks.
 * Nothing is logged, so payloads never reach a log.
 */
export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const codec = new EncryptionCodec(opts.ring);
  const origins = new Set(opts.allowedOrigins);
  const namespaces = opts.namespaces && new Set(opts.namespaces);
  const tokenHash = opts.authToken ? sha256(opts.authToken) : undefined;

  const authorized = (header: string | undefined): boolean => {
    if (!tokenHash) return true;
    const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1]?.trim();
    // Equal-length digests, so the comparison is constant-time whatever the token's length.
    return token !== undefined && timingSafeEqual(sha256(token), tokenHash);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) return send(res, 403, { message: 'origin not allowed' });
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/encode' && path !== '/decode')
      return send(res, 404, { message: 'not found; use /encode or /decode' });
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
      return send(res, 405, { message: 'method not allowed' });
    }
    if (!authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return send(res, 401, { message: 'missing or invalid bearer token' });
    }
    const namespace = req.headers['x-namespace'];
    if (namespaces && (typeof namespace !== 'string' || !namespaces.has(namespace))) {
      return send(res, 403, { message: 'namespace (X-Namespace) not served by this codec server' });
    }

    const body = await readBody(req, MAX_BODY_BYTES);
    if (!body) {
      res.setHeader('Connection', 'close');
      return send(res, 413, { message: `request body exceeds ${MAX_BODY_BYTES} bytes` });
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return send(res, 400, { message: 'request body is not valid JSON' });
    }
    const parsed = codecRequestSchema.safeParse(json);
    if (!parsed.success) return send(res, 400, { message: `invalid request: ${describeIssues(parsed.error)}` });

    const payloads = parsed.data.payloads.map(fromJsonPayload);
    try {
      const out = path === '/encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      send(res, 200, { payloads: out.map(toJsonPayload) });
    } catch (err) {
      if (err instanceof PayloadDecryptionError) return send(res, 400, { message: err.message });
      throw err;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { message: 'internal error' });
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => (server.off('error', reject), resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
