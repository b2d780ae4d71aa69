import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { BookingEventStart } from '../client/outreach-client';
import type { Client } from '@temporalio/client';
import { healthAnswer, LIVENESS_PATH, READINESS_PATH, sendHealthAnswer } from '../observability/health';
import { heroDeliveryIdentity } from '../hero/inferred';
import { appointmentEventTypeSchema } from '../hero/schemas';
import { HERO_ID as APPOINTMENT_ID } from '../shared/patterns';
import type { BookingEventInput } from '../workflows/schemas';
import { DEFAULT_WEBHOOK_HOST, DEFAULT_WEBHOOK_PORT, parseWebhookReceiverOptions } from './config';
import { DEFAULT_TOLERANCE_MS, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyHeroSignature } from './signature';

/**
 * Hero's appointment webhooks (docs/hero-api.md §5) as an HTTP service: `POST /hero/webhooks`, and
 * `GET /healthz` (alive) and `/readyz` (receiving: 503 while closing or while Temporal does not answer, when
 * deliveries would be answered 503 too). Each delivery is checked in this order, and answered only once what it asks is done:
 *
 * 1. the body is read raw, at most `maxBodyBytes` (413 past it; the rest is not read);
 * 2. the signature is verified before the body is parsed (401, nothing started);
 * 3. the thin payload `{object, id, practice_group_id, event}` is parsed (400 if it is not one);
 * 4. an appointment event of a practice group we serve (practiceGroupId, practiceGroupIds) starts the
 *    booking-event workflow (with the group, when several are served), whose ID is made of
 *    the event, the appointment id and a hash of the delivery (src/hero/inferred.ts: heroDeliveryIdentity),
 *    so the same delivery sent again is processed once while a second event about the same appointment (a
 *    second reschedule) is processed anew; only then is it answered 200. Other events, or another practice
 *    group's: 200, no effect. An event without `practice_group_id` while one is configured is processed
 *    (the booking-event workflow reads the appointment with our API key, which sees only our group's) and
 *    logged as such. Temporal unreachable: 503, so Hero delivers it again.
 *
 * One log line per delivery: the event name, the HTTP status, the outcome and a short reason, and for a
 * refusal the peer's address; never the body, the headers or the key.
 */

export const WEBHOOK_PATH = '/hero/webhooks';
/** Liveness; `/readyz` (READINESS_PATH) answers 503 once the receiver is closing. */
export const HEALTH_PATH = LIVENESS_PATH;
export const WEBHOOKS_SERVICE_NAME = 'hero-flow-webhooks';
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** How long a delivery may wait for Temporal before it is answered 503. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
const BODY_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;

/** What the receiver needs of a HeroFlowClient (src/client/outreach-client.ts). */
export interface BookingEventStarter {
  /** `delivery` (hex) tells deliveries apart in the workflow ID; the same delivery again is a duplicate. */
  startBookingEvent(
    input: BookingEventInput,
    opts?: { timeoutMs?: number; delivery?: string },
  ): Promise<BookingEventStart>;
  /** The Temporal client it starts with (a HeroFlowClient's): `/readyz` asks it whether Temporal answers. */
  readonly client?: Pick<Client, 'connection' | 'withDeadline'>;
}

export interface WebhookReceiverOptions {
  /** Starts the booking-event workflow: a HeroFlowClient, which encrypts with the hero-flow data converter. */
  client: BookingEventStarter;
  /** HERO_WEBHOOK_SIGNING_KEY: the key given to Hero when subscribing (at least 16 characters). */
  signingKey: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** How far a delivery's timestamp may be from now, either way; default 5 minutes. */
  toleranceMs?: number;
  /** Default 64 KiB; Hero's payloads are a few hundred bytes. */
  maxBodyBytes?: number;
  /**
   * When set, events of another practice group are answered 200 and ignored (unless in practiceGroupIds);
   * with practiceGroupIds, the default group, whose events start the booking-event workflow as before.
   */
  practiceGroupId?: string;
  /**
   * Every practice group served (HERO_PRACTICE_GROUP_IDS): their events are routed, each to the booking-event
   * workflow with its group (read with that group's key); others' are answered 200 and ignored.
   * @default [practiceGroupId] when that is set; otherwise every group
   */
  practiceGroupIds?: string[];
  /** Default 10 s. */
  startTimeoutMs?: number;
  /** One line per delivery (`delivery event=… status=… outcome=… reason=…`); default stderr, prefixed "hero-flow webhooks: ". */
  log?: (line: string) => void;
}

export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:8787; deliveries go to `${url}/hero/webhooks`. */
  url: string;
  /**
   * Stops accepting, lets deliveries in flight finish (each is bounded by startTimeoutMs) and a readiness
   * question to Temporal (asked with a 2 s deadline), then closes; the Temporal connection may be closed after.
   */
  close(): Promise<void>;
}

/** What happened to one delivery: the answer and the words in the log. */
export type DeliveryOutcome =
  'started' | 'duplicate' | 'ignored' | 'refused' | 'too_large' | 'malformed' | 'timed_out' | 'unavailable' | 'failed';

/** The thin payload (docs/hero-api.md §5). Extra fields are allowed: Hero may add some. */
const payloadSchema = z.object({
  object: z.string().max(64).optional(),
  event: z.string().min(1).max(128),
  id: z.union([z.string(), z.number().int().nonnegative()]).transform(String).optional(),
  practice_group_id: z.union([z.string(), z.number().int()]).transform(String).optional(),
});
/** Hex characters of the delivery hash in the workflow ID: 128 bits, no patient data (ids and a timestamp). */
const DELIVERY_HASH_CHARS = 32;
/** How long a Temporal reachability answer is reused by `/readyz`. */
export const READY_CHECK_TTL_MS = 5_000;
/** How long asking Temporal may take; `/readyz` waits at most READY_ANSWER_MS for it (probes time out at 1 s). */
const READY_CHECK_TIMEOUT_MS = 2_000;
const READY_ANSWER_MS = 800;
/** An event name safe to write to a log line; anything else is logged as "?". */
const LOGGABLE_EVENT = /^[a-z][a-z0-9._-]{0,63}$/i;

type Body = { bytes: Buffer } | { tooLarge: true } | { timedOut: true } | { aborted: true };

/** The body, or a refusal as soon as it exceeds `limit` or takes over `timeoutMs` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Body> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: Body): void => {
      clearTimeout(timer);
      req.removeListener('data', onData).removeListener('end', onEnd).removeListener('close', onClose);
      resolve(result);
    };
    const timer = setTimeout(() => settle({ timedOut: true }), timeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) settle({ tooLarge: true });
      else chunks.push(chunk);
    };
    const onEnd = (): void => settle({ bytes: Buffer.concat(chunks, size) });
    const onClose = (): void => settle({ aborted: true });
    req
      .on('data', onData)
      .on('end', onEnd)
      .on('close', onClose)
      .on('error', () => {});
  });
}

/** The gRPC status of a Temporal error, from it or its causes (ServiceError wraps the gRPC error). */
function grpcCode(err: unknown): number | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED (the deadline's abort): Temporal could not be reached in time. */
const UNREACHABLE_CODES = new Set([14, 4, 1]);

/**
 * What tells one delivery from another in the booking-event workflow ID (bookingEventWorkflowId's `delivery`):
 * a hash of Hero's delivery identity (INFERRED, src/hero/inferred.ts), so a redelivery is processed once and a
 * second event about the same appointment anew. Hex; the body holds ids only, and is not recoverable from it.
 */
export function deliveryKey(timestamp: string, body: Uint8Array): string {
  const hash = createHash('sha256');
  for (const part of heroDeliveryIdentity({ timestamp, body })) hash.update(part);
  return hash.digest('hex').slice(0, DELIVERY_HASH_CHARS);
}

const formatHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** The peer as `address:port` (IPv6 in brackets): an address is not patient data, and says who was refused. */
function peerOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress;
  if (address === undefined) return '-';
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return `${formatHost(plain)}:${req.socket.remotePort ?? '-'}`;
}

/** Whether Temporal answers (a cheap GetSystemInfo), asked at most once per READY_CHECK_TTL_MS. */
function temporalReachability(client: BookingEventStarter['client']): {
  check(): Promise<boolean>;
  record(reachable: boolean): void;
  /** Resolves once no question is in flight: the connection may be closed then (a retry would throw). */
  settled(): Promise<unknown>;
} {
  let known: { reachable: boolean; at: number } | undefined;
  let asking: Promise<boolean> | undefined;
  const record = (reachable: boolean) => (known = { reachable, at: Date.now() });
  return {
    record,
    settled: () => asking ?? Promise.resolve(),
    check() {
      if (!client) return Promise.resolve(true);
      if (known && Date.now() - known.at < READY_CHECK_TTL_MS) return Promise.resolve(known.reachable);
      // Asked already and not answered yet: the last answer known stands (none: not ready).
      if (asking) return Promise.resolve(known?.reachable ?? false);
      asking = client
        .withDeadline(Date.now() + READY_CHECK_TIMEOUT_MS, () => client.connection.workflowService.getSystemInfo({}))
        .then(
          () => true,
          () => false,
        )
        .then((reachable) => (record(reachable), reachable))
        .finally(() => (asking = undefined));
      // Nor is a slow answer waited for: the last one known stands, and this one is kept when it comes.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(known?.reachable ?? false), READY_ANSWER_MS);
      });
      return Promise.race([asking, late]).finally(() => clearTimeout(timer));
    },
  };
}

export async function startWebhookReceiver(opts: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const settings = parseWebhookReceiverOptions(opts);
  const host = settings.host ?? DEFAULT_WEBHOOK_HOST;
  const maxBodyBytes = settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const toleranceMs = settings.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const startTimeoutMs = settings.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const practiceGroupId = settings.practiceGroupId;
  const served: ReadonlySet<string> | undefined =
    settings.practiceGroupIds || practiceGroupId !== undefined
      ? new Set([...(settings.practiceGroupIds ?? []), ...(practiceGroupId !== undefined ? [practiceGroupId] : [])])
      : undefined;
  // Serving several groups, every event names its group to the workflow, so the worker reads the appointment
  // with that group's key whatever its own default; serving one, the input keeps its old shape (a worker not
  // yet upgraded accepts it, and it replays as before).
  const routeByGroup = settings.practiceGroupIds !== undefined;
  const log = opts.log ?? ((line: string) => process.stderr.write(`hero-flow webhooks: ${line}\n`));
  const temporal = temporalReachability(opts.client.client);
  let closing = false;
  const inFlight = new Set<Promise<void>>();

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>, close = false): void => {
    const json = JSON.stringify(body);
    // Answers given before the body was read close the connection: Node would otherwise read the rest.
    if (close || closing) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(json),
    });
    res.end(json);
  };

  /** Answers a delivery and logs it: event name, status, outcome, reason, and the peer of a refusal. */
  const deliver = (
    res: ServerResponse,
    status: number,
    outcome: DeliveryOutcome,
    reason: string,
    event?: string,
    close = false,
  ): void => {
    const ok = status < 300;
    answer(res, status, ok ? { ok: true, outcome } : { ok: false, outcome, reason }, close);
    const name = event === undefined ? '-' : LOGGABLE_EVENT.test(event) ? event : '?';
    const peer = status >= 400 && status < 500 ? ` peer=${peerOf(res.req)}` : '';
    log(`delivery event=${name} status=${status} outcome=${outcome} reason=${reason}${peer}`);
  };

  async function delivery(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (/100-continue/i.test(req.headers.expect ?? '')) {
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
        return deliver(res, 413, 'too_large', 'body_too_large', undefined, true);
      }
      res.writeContinue();
    }
    const body = await readBody(req, maxBodyBytes, BODY_TIMEOUT_MS);
    if ('aborted' in body) return void res.destroy();
    if ('tooLarge' in body) return deliver(res, 413, 'too_large', 'body_too_large', undefined, true);
    if ('timedOut' in body) return deliver(res, 408, 'timed_out', 'body_too_slow', undefined, true);

    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const timestamp = header(TIMESTAMP_HEADER);
    const check = verifyHeroSignature({
      signingKey: settings.signingKey,
      timestamp,
      signature: header(SIGNATURE_HEADER),
      body: body.bytes,
      toleranceMs,
    });
    if (!check.ok) return deliver(res, 401, 'refused', check.reason);

    let json: unknown;
    try {
      json = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      return deliver(res, 400, 'malformed', 'not_json');
    }
    const payload = payloadSchema.safeParse(json);
    if (!payload.success) return deliver(res, 400, 'malformed', 'not_a_hero_event');
    const { event, id, practice_group_id: group } = payload.data;
    const appointmentEvent = appointmentEventTypeSchema.safeParse(event);
    if (!appointmentEvent.success) return deliver(res, 200, 'ignored', 'not_an_appointment_event', event);
    if (served !== undefined && group !== undefined && !served.has(group)) {
      return deliver(res, 200, 'ignored', 'other_practice_group', event);
    }
    if (id === undefined || !APPOINTMENT_ID.test(id))
      return deliver(res, 400, 'malformed', 'bad_appointment_id', event);
    // Signed with our key but not saying whose it is: processed, since the workflow's read of the appointment
    // with our API key finds only our group's, and logged so that it is not taken for an ordinary one.
    const noGroup = served !== undefined && group === undefined ? '_without_practice_group' : '';
    const routed = routeByGroup && group !== undefined ? { practiceGroupId: group } : {};

    try {
      const started = await opts.client.startBookingEvent(
        { event: appointmentEvent.data, appointmentId: id, ...routed },
        { timeoutMs: startTimeoutMs, delivery: deliveryKey(timestamp ?? '', body.bytes) },
      );
      temporal.record(true);
      return started.duplicate
        ? deliver(res, 200, 'duplicate', `already_recorded${noGroup}`, event)
        : deliver(res, 200, 'started', `recorded${noGroup}`, event);
    } catch (err) {
      const code = grpcCode(err);
      if (code !== undefined && UNREACHABLE_CODES.has(code)) {
        temporal.record(false);
        return deliver(res, 503, 'unavailable', 'temporal_unreachable', event);
      }
      return deliver(res, 500, 'failed', code === undefined ? 'start_failed' : `start_failed_grpc_${code}`, event);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    // Deliveries are answered 503 while Temporal does not answer: so is readiness (asked cheaply, cached).
    const reachable =
      path === READINESS_PATH && (req.method === 'GET' || req.method === 'HEAD') && !closing
        ? await temporal.check()
        : true;
    const health = healthAnswer(req.method, path ?? '/', WEBHOOKS_SERVICE_NAME, () =>
      closing
        ? { ready: false, detail: 'closing: answering the deliveries in flight' }
        : reachable
          ? { ready: true, detail: `receiving ${WEBHOOK_PATH}` }
          : { ready: false, detail: 'Temporal does not answer: deliveries are answered 503 until it does' },
    );
    if (health) {
      // `ok`, as /healthz answered before it took the other services' shape.
      if (health.status !== 405) health.body = { ok: health.status === 200, ...health.body };
      return sendHealthAnswer(req, res, health);
    }
    if (path !== WEBHOOK_PATH) return answer(res, 404, { ok: false, reason: 'not_found' }, true);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return answer(res, 405, { ok: false, reason: 'method_not_allowed' }, true);
    }
    return delivery(req, res);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const done = handle(req, res)
      .catch(() => {
        if (!res.headersSent) answer(res, 500, { ok: false, reason: 'internal_error' }, true);
        else res.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: HEADERS_TIMEOUT_MS + BODY_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    listener,
  );
  // Handled by `listener`, so "100 Continue" is sent only for a body of an acceptable size.
  server.on('checkContinue', listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_WEBHOOK_PORT, host, () => (server.off('error', reject), resolve()));
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${formatHost(host)}:${port}`,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...inFlight]);
        await temporal.settled();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
