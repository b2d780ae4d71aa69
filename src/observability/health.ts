import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Liveness: the process answers. Restart it when this fails. */
export const LIVENESS_PATH = '/healthz';
/** Readiness: the process does its work (a worker polls its task queue, a server serves). */
export const READINESS_PATH = '/readyz';

/** What a readiness check says: ready or not, and why in a few words (no data, no configuration values). */
export interface Readiness {
  ready: boolean;
  detail: string;
}

/**
 * The answer to a health request, or undefined when `path` is not a health path. GET and HEAD only.
 * Used by the worker's health server and by the codec server beside its own paths.
 */
export function healthAnswer(
  method: string | undefined,
  path: string,
  service: string,
  readiness: () => Readiness,
): { status: number; body: Record<string, unknown>; allow?: string } | undefined {
  if (path !== LIVENESS_PATH && path !== READINESS_PATH) return undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, body: { message: 'method not allowed' }, allow: 'GET, HEAD' };
  }
  if (path === LIVENESS_PATH) return { status: 200, body: { status: 'alive', service } };
  let check: Readiness;
  try {
    check = readiness();
  } catch {
    check = { ready: false, detail: 'the readiness check failed' };
  }
  return {
    status: check.ready ? 200 : 503,
    body: { status: check.ready ? 'ready' : 'not_ready', service, detail: check.detail },
  };
}

/** Writes a healthAnswer() (no body for HEAD); never cached. */
export function sendHealthAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  answer: NonNullable<ReturnType<typeof healthAnswer>>,
): void {
  const json = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(json),
    // A refused method may come with a body: close rather than read it to keep the connection.
    ...(answer.allow && { Allow: answer.allow, Connection: 'close' }),
  });
  res.end(req.method === 'HEAD' ? undefined : json);
}

export interface HealthServerOptions {
  /** 0: any free port. */
  port: number;
  /** Default 127.0.0.1: set 0.0.0.0 (or the pod's address) where an orchestrator probes from outside. */
  host?: string;
  service: string;
  readiness: () => Readiness;
}

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A small HTTP server answering `/healthz` and `/readyz` only, for a process that has no HTTP server of
 * its own (the worker). It reads no request body and holds no connection open for long.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 5_000 }, (req, res) => {
    const answer = healthAnswer(req.method, (req.url ?? '/').split('?')[0]!, opts.service, opts.readiness) ?? {
      status: 404,
      body: { message: `not found; use ${LIVENESS_PATH} or ${READINESS_PATH}` },
    };
    res.setHeader('Connection', 'close');
    sendHealthAnswer(req, res, answer);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => (server.off('error', reject), resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
