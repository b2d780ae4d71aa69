import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { type BookingEventStart, HeroFlowClient } from '../src/client';
import { EncryptionCodec, generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import { ConfigError } from '../src/shared/errors';
import { redact } from '../src/shared/redact';
import { DEFAULT_WEBHOOK_PORT, loadWebhookReceiverSettings } from '../src/webhooks/config';
import {
  type BookingEventStarter,
  DEFAULT_MAX_BODY_BYTES,
  deliveryKey,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../src/webhooks/receiver';
import type { BookingEventInput } from '../src/workflows/schemas';
import { heroSignature } from '../src/webhooks/signature';
import { WEBHOOK_BODY_CAP, WEBHOOK_DEFAULT_PORT } from '../src/cli/usage';
import { formatBytes } from '../src/client/batch';
import { BOOKING_EVENT_WORKFLOW_TYPE, bookingEventWorkflowId } from '../src/workflows/definitions';
import type { Worker } from '@temporalio/worker';
import { HeroClient } from '../src/hero/client';
import { checkWebhookUrl, registerWebhooks } from '../src/webhooks/register';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { cli, freePort, Proc, ROOT } from './support/processes';
import { sandboxWorker, startTestStack, stopTestStack, type TestStack } from './support/temporal';

const SIGNING_KEY = 'whsec-test-0123456789abcdef';
const PRACTICE_GROUP = 'pg-receiver-test';

type Encoding = 'hex' | 'HEX' | 'base64' | 'base64url' | 'sha256=hex';
type TimestampForm = 'unix seconds' | 'unix milliseconds' | 'ISO 8601';

const timestampIn = (form: TimestampForm, ms = Date.now()): string =>
  form === 'unix seconds'
    ? String(Math.floor(ms / 1000))
    : form === 'unix milliseconds'
      ? String(ms)
      : new Date(ms).toISOString();

function encode(mac: Buffer, encoding: Encoding): string {
  switch (encoding) {
    case 'hex':
      return mac.toString('hex');
    case 'HEX':
      return mac.toString('hex').toUpperCase();
    case 'base64':
      return mac.toString('base64');
    case 'base64url':
      return mac.toString('base64url');
    case 'sha256=hex':
      return `sha256=${mac.toString('hex')}`;
  }
}

/** Hero's headers for `body`: HMAC-SHA256 of "{timestamp}.{body}" (docs/hero-api.md §5). */
function signedHeaders(
  body: string,
  opts: { key?: string; timestamp?: string; encoding?: Encoding } = {},
): Record<string, string> {
  const timestamp = opts.timestamp ?? timestampIn('unix seconds');
  const mac = heroSignature(opts.key ?? SIGNING_KEY, timestamp, body);
  return {
    'content-type': 'application/json',
    'x-herohealth-timestamp': timestamp,
    'x-herohealth-signature': encode(mac, opts.encoding ?? 'hex'),
  };
}

/** A thin appointment event, as Hero sends it. */
const eventBody = (
  appointmentId: string,
  event = 'appointment.confirmed',
  extra: Record<string, unknown> = {},
): string =>
  JSON.stringify({ object: 'Appointment', id: appointmentId, practice_group_id: PRACTICE_GROUP, event, ...extra });

/** The booking-event workflow ID of one delivery: the event, the appointment, and the delivery's hash. */
const deliveryRunId = (event: string, id: string, body: string, headers: Record<string, string>): string =>
  bookingEventWorkflowId(event, id, deliveryKey(headers['x-herohealth-timestamp']!, Buffer.from(body)));

/** Every start the receiver asked for, through the real client: what a test can tell "nothing started" by. */
interface Recorded {
  input: BookingEventInput;
  started: BookingEventStart;
}
function recording(client: HeroFlowClient, starts: Recorded[]): BookingEventStarter {
  return {
    client: client.client,
    async startBookingEvent(input, opts) {
      const started = await client.startBookingEvent(input, opts);
      starts.push({ input, started });
      return started;
    },
  };
}

/** A fresh appointment id: digits, as Hero's are. */
let idCounter = 0;
const appointmentId = () => `${700_000 + process.pid * 10 + ++idCounter * 1000}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  connection?: string;
}

/**
 * One POST with node:http: `chunked` sends the body without Content-Length, in pieces. Resolves with
 * the answer even when the server stops reading the body and closes the connection.
 */
function post(url: string, body: string, headers: Record<string, string>, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request(
      url,
      {
        method: 'POST',
        headers: chunked ? headers : { ...headers, 'content-length': String(bytes.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            connection: res.headers.connection,
          }),
        );
      },
    );
    // The server may close while the body is still being written: the answer already came, or not.
    req.on('error', reject);
    if (!chunked) return void req.end(bytes);
    const piece = 8 * 1024;
    let at = 0;
    const pump = () => {
      while (at < bytes.length) {
        const ok = req.write(bytes.subarray(at, at + piece));
        at += piece;
        if (!ok) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('webhook receiver: signed Hero deliveries start one durable workflow each', () => {
  const keySpec = generateKeySpec('webhooks');
  const ring = parseKeyRing(keySpec);
  let stack: TestStack;
  let client: HeroFlowClient;
  let taskQueue: string;
  let receiver: WebhookReceiver;
  const logs: string[] = [];
  const starts: Recorded[] = [];
  let hooks: string;

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring });
    taskQueue = uniqueId('tq-webhooks');
    client = new HeroFlowClient(stack.env.client, taskQueue);
    receiver = await startWebhookReceiver({
      client: recording(client, starts),
      signingKey: SIGNING_KEY,
      port: 0,
      practiceGroupId: PRACTICE_GROUP,
      log: (line) => logs.push(line),
    });
    hooks = `${receiver.url}/hero/webhooks`;
  });

  after(async () => {
    await receiver?.close();
    await stopTestStack(stack);
  });

  /** The booking-event run of a workflow ID, or undefined when there is none. */
  async function bookingRun(workflowId: string) {
    try {
      return await stack.env.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Asserts nothing was started for the appointment id, for any appointment event: the receiver asked for no
   * start, and no run has the ID of the form before the delivery hash.
   */
  async function noRunFor(id: string) {
    assert.deepEqual(
      starts.filter((s) => s.input.appointmentId === id),
      [],
      `a workflow was started for ${id}`,
    );
    for (const event of ['appointment.confirmed', 'appointment.cancelled', 'appointment.rescheduled']) {
      assert.equal(await bookingRun(bookingEventWorkflowId(event, id)), undefined, `${event} ${id}: a run`);
    }
  }

  for (const timestamp of ['unix seconds', 'unix milliseconds', 'ISO 8601'] as const) {
    it(`accepts hex and base64 signatures with the timestamp in ${timestamp}, and starts the booking-event workflow`, async () => {
      for (const encoding of ['hex', 'HEX', 'base64', 'base64url', 'sha256=hex'] as const) {
        const id = appointmentId();
        const body = eventBody(id);
        const headers = signedHeaders(body, { encoding, timestamp: timestampIn(timestamp) });
        const answer = await post(hooks, body, headers);
        assert.equal(answer.status, 200, `${encoding}: ${JSON.stringify(answer.body)}`);
        assert.deepEqual(answer.body, { ok: true, outcome: 'started' });

        // Durable before the 200: the run is there, of the booking-event type, on the hero-flow task queue.
        const run = await bookingRun(deliveryRunId('appointment.confirmed', id, body, headers));
        assert.ok(run, `${encoding}: no workflow`);
        assert.equal(run.type, BOOKING_EVENT_WORKFLOW_TYPE);
        assert.equal(run.taskQueue, taskQueue);
      }
    });
  }

  it("stores the event encrypted with hero-flow's data converter, as {event, appointmentId}", async () => {
    const id = appointmentId();
    const body = eventBody(id, 'appointment.rescheduled');
    const headers = signedHeaders(body);
    assert.equal((await post(hooks, body, headers)).status, 200);
    const workflowId = deliveryRunId('appointment.rescheduled', id, body, headers);
    assert.match(workflowId, new RegExp(`^hero-webhook\\.appointment\\.rescheduled\\.${id}\\.[0-9a-f]{32}$`));
    const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]! as Payload;
    assert.equal(Buffer.from(input.metadata!.encoding!).toString(), 'binary/encrypted');
    assert.ok(!Buffer.from(input.data!).toString('latin1').includes(id), 'the appointment id is in plaintext');
    const [decoded] = await new EncryptionCodec(ring).decode([input]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), {
      event: 'appointment.rescheduled',
      appointmentId: id,
    });
  });

  it('refuses a wrong key, a stale or future timestamp and a tampered body with 401, starting nothing', async () => {
    const cases: { name: string; reason: string; send: (id: string) => Promise<Answer> }[] = [
      {
        name: 'wrong key',
        reason: 'signature_mismatch',
        send: (id) => post(hooks, eventBody(id), signedHeaders(eventBody(id), { key: 'another-key-0123456789' })),
      },
      {
        name: 'stale timestamp (6 minutes ago)',
        reason: 'stale_timestamp',
        send: (id) =>
          post(
            hooks,
            eventBody(id),
            signedHeaders(eventBody(id), { timestamp: timestampIn('unix seconds', Date.now() - 6 * 60_000) }),
          ),
      },
      {
        name: 'timestamp 6 minutes ahead, in ISO 8601',
        reason: 'stale_timestamp',
        send: (id) =>
          post(
            hooks,
            eventBody(id),
            signedHeaders(eventBody(id), { timestamp: timestampIn('ISO 8601', Date.now() + 6 * 60_000) }),
          ),
      },
      {
        name: 'tampered body (another appointment id, same signature)',
        reason: 'signature_mismatch',
        send: (id) => post(hooks, eventBody(id), signedHeaders(eventBody(`${id}9`))),
      },
      {
        name: 'timestamp changed after signing',
        reason: 'signature_mismatch',
        send: (id) => {
          const headers = signedHeaders(eventBody(id), { timestamp: timestampIn('unix seconds') });
          headers['x-herohealth-timestamp'] = String(Number(headers['x-herohealth-timestamp']) - 1);
          return post(hooks, eventBody(id), headers);
        },
      },
      {
        name: 'no signature',
        reason: 'missing_signature',
        send: (id) => {
          const { 'x-herohealth-signature': _s, ...headers } = signedHeaders(eventBody(id));
          return post(hooks, eventBody(id), headers);
        },
      },
      {
        name: 'a signature of the wrong length',
        reason: 'malformed_signature',
        send: (id) =>
          post(hooks, eventBody(id), { ...signedHeaders(eventBody(id)), 'x-herohealth-signature': 'ab'.repeat(31) }),
      },
    ];
    for (const c of cases) {
      const id = appointmentId();
      const answer = await c.send(id);
      assert.equal(answer.status, 401, `${c.name}: ${JSON.stringify(answer.body)}`);
      assert.deepEqual(answer.body, { ok: false, outcome: 'refused', reason: c.reason }, c.name);
      await noRunFor(id);
      await noRunFor(`${id}9`);
    }
  });

  it(`refuses a body over ${formatBytes(DEFAULT_MAX_BODY_BYTES)} with 413, without reading it, starting nothing`, async () => {
    assert.equal(WEBHOOK_BODY_CAP, formatBytes(DEFAULT_MAX_BODY_BYTES), 'the help states the cap the code enforces');
    for (const chunked of [false, true]) {
      const id = appointmentId();
      // A valid, correctly signed event: only its size is wrong.
      const body = eventBody(id, 'appointment.confirmed', { padding: 'x'.repeat(DEFAULT_MAX_BODY_BYTES) });
      const answer = await post(hooks, body, signedHeaders(body), chunked);
      assert.equal(answer.status, 413, `chunked=${chunked}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.connection, 'close');
      await noRunFor(id);
    }
    // A body declared too large is refused from its Content-Length, before any of it is read: here the
    // rest never comes, and the answer does not wait for it.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(hooks, {
        method: 'POST',
        headers: { ...signedHeaders('{}'), 'content-length': String(10 * 1024 * 1024) },
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0), req.destroy()));
      req.on('error', reject);
      req.write('{"object":"Appointment",');
    });
    assert.equal(declared, 413);
    // At the limit it is read.
    const id = appointmentId();
    const base = eventBody(id, 'appointment.confirmed', { padding: '' });
    const body = eventBody(id, 'appointment.confirmed', { padding: 'x'.repeat(DEFAULT_MAX_BODY_BYTES - base.length) });
    assert.equal(Buffer.byteLength(body), DEFAULT_MAX_BODY_BYTES);
    assert.equal((await post(hooks, body, signedHeaders(body))).status, 200);
  });

  it('processes a redelivery (the same signed request) once: one workflow execution, every delivery answered 200', async () => {
    const id = appointmentId();
    const body = eventBody(id, 'appointment.cancelled');
    const headers = signedHeaders(body);
    const first = await post(hooks, body, headers);
    assert.deepEqual([first.status, first.body.outcome], [200, 'started']);
    const workflowId = deliveryRunId('appointment.cancelled', id, body, headers);
    const { runId } = (await bookingRun(workflowId))!;
    // Delivered again, byte for byte, and several times at once.
    const again = await Promise.all([0, 1, 2].map(() => post(hooks, body, headers)));
    for (const answer of again) assert.deepEqual([answer.status, answer.body.outcome], [200, 'duplicate']);
    assert.equal((await bookingRun(workflowId))!.runId, runId, 'a new run replaced the first');
    // Visibility lags a little behind: wait until the list shows the run, then it must be the only one.
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const run of stack.env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        ids.push(run.runId);
      }
      return ids.length > 0 && ids;
    });
    assert.deepEqual(listed, [runId]);
    // The same appointment's other event is another event: processed on its own.
    const confirmed = eventBody(id, 'appointment.confirmed');
    assert.equal((await post(hooks, confirmed, signedHeaders(confirmed))).body.outcome, 'started');
  });

  it('processes a second reschedule of the same appointment anew: the same thin body, sent at another time', async () => {
    const id = appointmentId();
    const body = eventBody(id, 'appointment.rescheduled');
    const firstHeaders = signedHeaders(body, { timestamp: timestampIn('unix milliseconds', Date.now() - 2_000) });
    const secondHeaders = signedHeaders(body, { timestamp: timestampIn('unix milliseconds') });
    const first = await post(hooks, body, firstHeaders);
    const second = await post(hooks, body, secondHeaders);
    assert.deepEqual(
      [first.status, first.body.outcome, second.status, second.body.outcome],
      [200, 'started', 200, 'started'],
      'the second reschedule was taken for a redelivery of the first',
    );
    const ids = [firstHeaders, secondHeaders].map((h) => deliveryRunId('appointment.rescheduled', id, body, h));
    assert.notEqual(ids[0], ids[1]);
    for (const workflowId of ids) assert.ok(await bookingRun(workflowId), `no run ${workflowId}`);
    // A run of the form before the delivery hash (one per event and appointment) is still only that ID's.
    assert.equal(await bookingRun(bookingEventWorkflowId('appointment.rescheduled', id)), undefined);
  });

  it('answers other event types and other practice groups 200, starting nothing', async () => {
    for (const [event, group] of [
      ['prescription.issued', PRACTICE_GROUP],
      ['patient.medical-record-updated', PRACTICE_GROUP],
      ['appointment.created', PRACTICE_GROUP],
      ['appointment.confirmed', 'pg-someone-else'],
    ] as const) {
      const id = appointmentId();
      const body = JSON.stringify({ object: 'Appointment', id, practice_group_id: group, event });
      const headers = signedHeaders(body);
      const answer = await post(hooks, body, headers);
      assert.equal(answer.status, 200, `${event} ${group}`);
      assert.equal(answer.body.outcome, 'ignored');
      assert.equal(await bookingRun(deliveryRunId(event, id, body, headers)), undefined, `${event} ${group} started`);
      await noRunFor(id);
    }
  });

  it('processes a signed event without practice_group_id, and logs that it had none', async () => {
    const id = appointmentId();
    const body = JSON.stringify({ object: 'Appointment', id, event: 'appointment.confirmed' });
    const headers = signedHeaders(body);
    const before = logs.length;
    const answer = await post(hooks, body, headers);
    assert.deepEqual([answer.status, answer.body], [200, { ok: true, outcome: 'started' }]);
    assert.ok(await bookingRun(deliveryRunId('appointment.confirmed', id, body, headers)), 'no run');
    assert.deepEqual(logs.slice(before), [
      'delivery event=appointment.confirmed status=200 outcome=started reason=recorded_without_practice_group',
    ]);
  });

  it('answers a signed body that is not a Hero event 400, starting nothing', async () => {
    for (const body of [
      'not json',
      '[]',
      JSON.stringify({ id: '1' }),
      JSON.stringify({ event: 'appointment.confirmed', id: '../1', practice_group_id: PRACTICE_GROUP }),
    ]) {
      const answer = await post(hooks, body, signedHeaders(body));
      assert.equal(answer.status, 400, body);
      assert.equal(answer.body.outcome, 'malformed');
    }
  });

  it('serves GET /healthz (alive) and /readyz (receiving), and 404 or 405 elsewhere', async () => {
    const health = await fetch(`${receiver.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, status: 'alive', service: 'hero-flow-webhooks' });
    const ready = await fetch(`${receiver.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      ok: true,
      status: 'ready',
      service: 'hero-flow-webhooks',
      detail: 'receiving /hero/webhooks',
    });
    assert.equal((await fetch(`${receiver.url}/readyz`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${receiver.url}/elsewhere`, { method: 'POST' })).status, 404);
    const get = await fetch(hooks);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('logs one line per delivery with the event name and outcome: never the body, the appointment id or the key', async () => {
    const before = logs.length;
    const id = appointmentId();
    const body = eventBody(id);
    await post(hooks, body, signedHeaders(body));
    await post(hooks, body, signedHeaders(body, { key: 'another-key-0123456789' }));
    const lines = logs.slice(before);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.equal(lines[0], 'delivery event=appointment.confirmed status=200 outcome=started reason=recorded');
    // A refusal names its peer (an address is not patient data), which redaction keeps whole.
    assert.match(
      lines[1]!,
      /^delivery event=- status=401 outcome=refused reason=signature_mismatch peer=127\.0\.0\.1:\d+$/,
    );
    assert.equal(redact(lines[1]!), lines[1]);
    const all = logs.join('\n').replace(/ peer=\S+/g, '');
    for (const secret of [SIGNING_KEY, PRACTICE_GROUP, '"object"', 'Appointment'])
      assert.ok(!all.includes(secret), secret);
    assert.doesNotMatch(all, /\d{4,}/, 'an id reached the log');
  });

  it('answers 503 when Temporal cannot be reached, so Hero delivers again', async () => {
    // A real client, on a port where no Temporal server listens.
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const down = new HeroFlowClient(new Client({ connection, dataConverter: heroDataConverter(ring) }), taskQueue);
    const unreachable = await startWebhookReceiver({
      client: down,
      signingKey: SIGNING_KEY,
      port: 0,
      startTimeoutMs: 1_500,
      log: (line) => logs.push(line),
    });
    try {
      // Not ready either, before any delivery: the probe asks Temporal (bounded), so a load balancer sends
      // deliveries elsewhere rather than have them answered 503.
      const asked = Date.now();
      const ready = await fetch(`${unreachable.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), {
        ok: false,
        status: 'not_ready',
        service: 'hero-flow-webhooks',
        detail: 'Temporal does not answer: deliveries are answered 503 until it does',
      });
      assert.ok(Date.now() - asked < 5_000, `readyz answered after ${Date.now() - asked} ms`);
      const id = appointmentId();
      const body = eventBody(id);
      const began = Date.now();
      const answer = await post(`${unreachable.url}/hero/webhooks`, body, signedHeaders(body));
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { ok: false, outcome: 'unavailable', reason: 'temporal_unreachable' });
      assert.ok(Date.now() - began < 5_000, `answered after ${Date.now() - began} ms`);
      assert.equal((await fetch(`${unreachable.url}/readyz`)).status, 503);
      await noRunFor(id);
    } finally {
      await unreachable.close();
      await connection.close();
    }
  });

  describe('with a worker and the Hero sandbox: a booking through the link reaches its run', () => {
    let worker: Worker;
    let running: Promise<void>;
    let heroFlow: HeroFlowClient;
    let bookings: WebhookReceiver;
    let bookingsUrl: string;
    /** Subscribes the receiver to the sandbox's appointment events, as `hero-flow webhooks register` does. */
    const subscribeReceiver = () =>
      registerWebhooks({
        hero: new HeroClient({
          apiKey: stack.sandbox.apiKey,
          practiceGroupId: stack.sandbox.practiceGroupId,
          baseUrl: stack.sandbox.url,
          timeoutMs: 5_000,
        }),
        url: bookingsUrl,
        signingKey: SIGNING_KEY,
      });
    let heroEnv: NodeJS.ProcessEnv;
    const bookingStarts: Recorded[] = [];
    /** The workflow IDs the receiver started (or found) for one event of one appointment, in order. */
    const startsOf = (event: string, id: string) =>
      bookingStarts.filter((s) => s.input.event === event && s.input.appointmentId === id).map((s) => s.started);

    before(async () => {
      let queue: string;
      ({ worker, taskQueue: queue } = await sandboxWorker({
        connection: stack.env.nativeConnection,
        sandbox: stack.sandbox,
        bundle: stack.bundle,
        ring,
      }));
      running = worker.run();
      heroFlow = new HeroFlowClient(stack.env.client, queue);
      bookings = await startWebhookReceiver({
        client: recording(heroFlow, bookingStarts),
        signingKey: SIGNING_KEY,
        port: 0,
        practiceGroupId: stack.sandbox.practiceGroupId,
        log: (line) => logs.push(line),
      });
      bookingsUrl = `${bookings.url}/hero/webhooks`;
      heroEnv = {
        ...process.env,
        HERO_API_KEY: stack.sandbox.apiKey,
        HERO_PRACTICE_GROUP_ID: stack.sandbox.practiceGroupId,
        HERO_API_BASE_URL: stack.sandbox.url,
        HERO_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
      };
    });

    after(async () => {
      await bookings?.close();
      worker?.shutdown();
      await running;
    });

    it('`hero-flow webhooks register` subscribes the three appointment events once; again, it finds them', async () => {
      const first = await cli(['webhooks', 'register', '--url', bookingsUrl], heroEnv);
      assert.equal(first.code, 0, first.stderr);
      const created = first.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const subscribed = stack.sandbox.webhooks().filter((w) => w.url === bookingsUrl);
      assert.deepEqual(
        subscribed.map((w) => [w.eventType, w.hasSigningKey]),
        [
          ['appointment.confirmed', true],
          ['appointment.cancelled', true],
          ['appointment.rescheduled', true],
        ],
      );
      assert.deepEqual(
        created,
        subscribed.map((w) => ({
          event: w.eventType,
          id: w.id,
          created: true,
          practiceGroupId: stack.sandbox.practiceGroupId,
        })),
      );
      const again = await cli(['webhooks', 'register', '--url', bookingsUrl], heroEnv);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(
        again.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
        subscribed.map((w) => ({
          event: w.eventType,
          id: w.id,
          existing: true,
          practiceGroupId: stack.sandbox.practiceGroupId,
        })),
      );
      assert.equal(stack.sandbox.webhooks().filter((w) => w.url === bookingsUrl).length, 3, 'subscribed twice');
      assert.ok(!first.stdout.includes(SIGNING_KEY) && !first.stderr.includes(SIGNING_KEY), 'the key was printed');
      // Without the signing key nothing is subscribed, and the key's name is given.
      const { HERO_WEBHOOK_SIGNING_KEY: _k, ...noKey } = heroEnv;
      const refused = await cli(['webhooks', 'register', '--url', `${bookings.url}/other`], noKey);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /HERO_WEBHOOK_SIGNING_KEY: is required/);
      assert.equal(stack.sandbox.webhooks().filter((w) => w.url === `${bookings.url}/other`).length, 0);
    });

    it('refuses to subscribe an http:// URL off loopback (deliveries in clear), asking Hero nothing', async () => {
      const before = stack.sandbox.requests().length;
      const plain = 'http://hooks.example.com/hero/webhooks';
      const refused = await cli(['webhooks', 'register', '--url', plain], heroEnv);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /url: must be https:\/\/ \(put TLS in front of the receiver\)/);
      await assert.rejects(
        registerWebhooks({
          hero: new HeroClient({
            apiKey: stack.sandbox.apiKey,
            practiceGroupId: stack.sandbox.practiceGroupId,
            baseUrl: stack.sandbox.url,
            timeoutMs: 5_000,
          }),
          url: 'HTTP://10.0.0.5:8787/hero/webhooks',
          signingKey: SIGNING_KEY,
        }),
        (err: Error) => err instanceof ConfigError && /http:\/\/ is accepted only on loopback/.test(err.message),
      );
      assert.equal(stack.sandbox.requests().length, before, 'Hero was asked');
      assert.deepEqual(
        stack.sandbox.webhooks().filter((w) => !w.url.startsWith('http://127.0.0.1:')),
        [],
      );
    });

    it('the signed appointment.confirmed of a booking through the link makes the run booked; a forged copy is refused, a duplicate is processed once', async () => {
      await subscribeReceiver();
      const patient = newPatient();
      stack.sandbox.addPatient(patient);
      const { workflowId } = await heroFlow.start(outreachRequest(patient, { awaitBooking: { window: '1 hour' } }), {
        workflowId: uniqueId('webhook-booked'),
      });
      const linkId = await eventually(
        async () => {
          const s = await heroFlow.status(workflowId);
          return s.state === 'awaiting_booking' && s.bookingLinkId;
        },
        20_000,
        'awaiting_booking',
      );
      // Hero's other forms this time, and a forged copy (a wrong key) before the real delivery.
      stack.sandbox.setWebhookSigning({ encoding: 'base64', timestamp: 'iso' });
      stack.sandbox.injectWebhookFault('forged');
      const appointment = stack.sandbox.book(linkId);
      await stack.sandbox.settleWebhooks();
      const deliveries = stack.sandbox
        .webhookDeliveries()
        .filter((d) => d.appointmentId === appointment.id && d.url === bookingsUrl);
      assert.deepEqual(
        deliveries.map((d) => [d.event, d.fault ?? 'real', d.status]),
        [
          ['appointment.confirmed', 'forged', 401],
          ['appointment.confirmed', 'real', 200],
        ],
      );
      // A booked run follows its appointment until the window closes: its status says booked at once.
      const booked = await eventually(
        async () => {
          const s = await heroFlow.status(workflowId);
          return s.state === 'booked' && s;
        },
        20_000,
        'booked',
      );
      assert.equal(booked.appointment?.id, appointment.id);
      // `hero-flow status` says so, for a person: the appointment, and the message's delivery status.
      const shown = await cli(['status', workflowId, '--pretty'], {
        ...process.env,
        TEMPORAL_ADDRESS: stack.env.address,
        HERO_CODEC_KEYS: keySpec,
      });
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        new RegExp(`^${workflowId}: booked \\(booked: the patient booked through the link\\)\n`),
      );
      assert.ok(
        shown.stdout.includes(
          `\n  Booked: appointment ${appointment.id}, confirmed ${booked.appointment!.confirmedAt}`,
        ),
        shown.stdout,
      );
      assert.match(shown.stdout, new RegExp(`\n  Booking link: ${linkId}\n`));
      assert.match(shown.stdout, /\n {2}message \d+, sent \S+: /);
      const [confirmedStart] = startsOf('appointment.confirmed', appointment.id);
      const confirmed = await stack.env.client.workflow.getHandle(confirmedStart!.workflowId).result();
      assert.deepEqual(confirmed, { outcome: 'signalled', bookingLinkId: linkId, workflowId });

      // Cancelled, and the cancellation delivered twice: one booking-event run; the run waits for a booking again.
      stack.sandbox.injectWebhookFault('duplicated');
      stack.sandbox.cancelAppointment(appointment.id);
      await stack.sandbox.settleWebhooks();
      const cancellations = stack.sandbox
        .webhookDeliveries()
        .filter((d) => d.event === 'appointment.cancelled' && d.appointmentId === appointment.id);
      assert.deepEqual(
        cancellations.map((d) => d.status),
        [200, 200],
      );
      const cancelledStarts = startsOf('appointment.cancelled', appointment.id);
      assert.deepEqual(
        cancelledStarts.map((s) => s.duplicate),
        [false, true],
      );
      const cancelledId = cancelledStarts[0]!.workflowId;
      assert.equal(cancelledStarts[1]!.workflowId, cancelledId);
      assert.deepEqual(await stack.env.client.workflow.getHandle(cancelledId).result(), {
        outcome: 'signalled',
        bookingLinkId: linkId,
        workflowId,
      });
      const runs = await eventually(async () => {
        const ids: string[] = [];
        for await (const r of stack.env.client.workflow.list({ query: `WorkflowId = "${cancelledId}"` }))
          ids.push(r.runId);
        return ids.length > 0 && ids;
      });
      assert.equal(runs.length, 1, 'the duplicate started a second run');
      await eventually(async () => (await heroFlow.status(workflowId)).state === 'awaiting_booking', 20_000);
      await heroFlow.cancel(workflowId);
    });

    it('a patient who moves the appointment twice: the run follows both reschedules, ending at the second time', async () => {
      await subscribeReceiver();
      // Milliseconds: two events of one appointment within a second would otherwise be signed alike.
      stack.sandbox.setWebhookSigning({ encoding: 'hex', timestamp: 'unix-ms' });
      const patient = newPatient();
      stack.sandbox.addPatient(patient);
      const { workflowId } = await heroFlow.start(outreachRequest(patient, { awaitBooking: { window: '1 hour' } }), {
        workflowId: uniqueId('webhook-moved'),
      });
      try {
        const linkId = await eventually(
          async () => {
            const s = await heroFlow.status(workflowId);
            return s.state === 'awaiting_booking' && s.bookingLinkId;
          },
          20_000,
          'awaiting_booking',
        );
        const appointment = stack.sandbox.book(linkId);
        await eventually(async () => (await heroFlow.status(workflowId)).state === 'booked', 20_000, 'booked');
        const times = ['2031-03-04T09:00:00.000Z', '2031-03-05T14:30:00.000Z'];
        for (const [i, time] of times.entries()) {
          stack.sandbox.rescheduleAppointment(appointment.id, time);
          await stack.sandbox.settleWebhooks();
          await eventually(
            async () =>
              Date.parse((await heroFlow.status(workflowId)).appointment?.startTime ?? '') === Date.parse(time),
            20_000,
            `reschedule ${i + 1}: the run's start time`,
          );
        }
        const moves = startsOf('appointment.rescheduled', appointment.id);
        assert.deepEqual(
          moves.map((m) => m.duplicate),
          [false, false],
          'the second reschedule was taken for a redelivery of the first',
        );
        for (const move of moves) {
          assert.deepEqual(await stack.env.client.workflow.getHandle(move.workflowId).result(), {
            outcome: 'signalled',
            bookingLinkId: linkId,
            workflowId,
          });
        }
      } finally {
        stack.sandbox.setWebhookSigning({});
        await heroFlow.cancel(workflowId);
      }
    });
  });

  describe('`hero-flow webhooks`: the receiver as a service', () => {
    it('reads its settings from the environment, refuses a short or missing key without printing it', () => {
      assert.equal(DEFAULT_WEBHOOK_PORT, WEBHOOK_DEFAULT_PORT, 'the help states the default port');
      const settings = loadWebhookReceiverSettings({ HERO_WEBHOOK_SIGNING_KEY: SIGNING_KEY });
      assert.deepEqual(settings, {
        port: 8787,
        host: '127.0.0.1',
        signingKey: SIGNING_KEY,
        toleranceMs: 300_000,
        practiceGroupId: undefined,
      });
      assert.equal(
        loadWebhookReceiverSettings({ HERO_WEBHOOK_SIGNING_KEY: SIGNING_KEY, HERO_WEBHOOK_TOLERANCE: '90s' })
          .toleranceMs,
        90_000,
      );
      const short = 'short-secret-1';
      assert.throws(
        () =>
          loadWebhookReceiverSettings({
            HERO_WEBHOOK_SIGNING_KEY: short,
            HERO_WEBHOOK_PORT: 'x',
            HERO_WEBHOOK_TOLERANCE: 'soon',
          }),
        (err: Error) => {
          assert.match(err.message, /HERO_WEBHOOK_SIGNING_KEY: must be at least 16 characters/);
          assert.match(err.message, /HERO_WEBHOOK_PORT: must be a port number/);
          assert.match(err.message, /HERO_WEBHOOK_TOLERANCE: must be a duration/);
          assert.ok(!err.message.includes(short));
          return true;
        },
      );
      assert.throws(() => loadWebhookReceiverSettings({}), /HERO_WEBHOOK_SIGNING_KEY: is required/);
    });

    it('accepts an https receiver URL anywhere and an http one only on loopback', () => {
      for (const url of [
        'https://hooks.example.com/hero/webhooks',
        'https://10.0.0.5/hero/webhooks',
        'http://127.0.0.1:8787/hero/webhooks',
        'http://127.8.9.10/hero/webhooks',
        'http://localhost:8787/hero/webhooks',
        'http://[::1]:8787/hero/webhooks',
      ])
        assert.doesNotThrow(() => checkWebhookUrl(url), url);
      for (const url of [
        'http://hooks.example.com/hero/webhooks',
        'http://0.0.0.0:8787/hero/webhooks',
        'http://192.168.1.5/hero/webhooks',
        'http://127.0.0.1.example.com/hero/webhooks',
        'http://[::ffff:a00:5]/hero/webhooks',
      ])
        assert.throws(() => checkWebhookUrl(url), /http:\/\/ is accepted only on loopback/, url);
      assert.throws(() => checkWebhookUrl('ftp://hooks.example.com/'), /url: must be an https URL/);
    });

    it('refuses library options that would turn a protection off (NaN, Infinity, out of range), naming each', async () => {
      const good = { client, signingKey: SIGNING_KEY, port: 0, log: () => {} };
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ toleranceMs: Number.NaN }, /toleranceMs: must be a number of milliseconds from 1000/],
        [{ toleranceMs: Number.POSITIVE_INFINITY }, /toleranceMs: must be a number of milliseconds/],
        [{ toleranceMs: 0 }, /toleranceMs: must be a number of milliseconds/],
        [{ maxBodyBytes: Number.NaN }, /maxBodyBytes: must be a whole number of bytes/],
        [{ maxBodyBytes: Number.POSITIVE_INFINITY }, /maxBodyBytes: must be a whole number of bytes/],
        [{ maxBodyBytes: -1 }, /maxBodyBytes: must be a whole number of bytes/],
        [{ startTimeoutMs: Number.NaN }, /startTimeoutMs: must be a number of milliseconds/],
        [{ port: 70_000 }, /port: must be a port number 0-65535/],
        [{ port: Number.NaN }, /port: must be a port number 0-65535/],
        [{ host: '' }, /host: must be a non-empty string/],
        [{ practiceGroupId: ' ' }, /practiceGroupId: must be a non-empty string/],
        [{ signingKey: 'short-secret-1' }, /signingKey: must be at least 16 characters/],
        [{ client: {} }, /client: must have startBookingEvent\(\)/],
        [{ log: 'stderr' }, /log: must be a function/],
      ];
      for (const [bad, problem] of cases) {
        await assert.rejects(
          startWebhookReceiver({ ...good, ...bad } as never),
          (err: Error) =>
            err instanceof ConfigError &&
            problem.test(err.message) &&
            /^Invalid startWebhookReceiver options:/.test(err.message) &&
            !err.message.includes('short-secret-1'),
          Object.entries(bad)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(),
        );
      }
      // Every problem at once.
      await assert.rejects(
        startWebhookReceiver({ ...good, toleranceMs: Number.NaN, maxBodyBytes: Number.POSITIVE_INFINITY }),
        (err: ConfigError) => err.problems.length === 2,
      );
      // The bounds hold: the smallest and largest accepted values start a receiver.
      const edge = await startWebhookReceiver({ ...good, toleranceMs: 1_000, maxBodyBytes: 16 * 1024 * 1024 });
      await edge.close();
    });

    it('serves deliveries from the environment, encrypting with HERO_CODEC_KEYS, and stops cleanly on SIGTERM', async () => {
      const port = await freePort();
      const { HERO_WEBHOOK_TOLERANCE: _t, HERO_PRACTICE_GROUP_ID: _g, ...base } = process.env;
      const proc = Proc.start(process.execPath, [`${ROOT}/bin/hero-flow.js`, 'webhooks'], {
        ...base,
        TEMPORAL_ADDRESS: stack.env.address,
        HERO_CODEC_KEYS: keySpec,
        HERO_TASK_QUEUE: taskQueue,
        HERO_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
        HERO_WEBHOOK_PORT: String(port),
      });
      try {
        await proc.waitFor(`webhook receiver on http://127.0.0.1:${port}/hero/webhooks`, 20_000);
        const id = appointmentId();
        const body = eventBody(id);
        const headers = signedHeaders(body, { encoding: 'base64' });
        const answer = await post(`http://127.0.0.1:${port}/hero/webhooks`, body, headers);
        assert.deepEqual([answer.status, answer.body.outcome], [200, 'started']);
        const run = await bookingRun(deliveryRunId('appointment.confirmed', id, body, headers));
        assert.equal(run?.taskQueue, taskQueue);
        assert.ok((await proc.stop('SIGTERM', 10_000)) === 0, proc.tail());
        assert.match(
          proc.stderr,
          /^hero-flow webhooks: delivery event=appointment\.confirmed status=200 outcome=started reason=recorded$/m,
        );
        assert.ok(!proc.output.includes(SIGNING_KEY), 'the key was printed');
        assert.ok(!proc.output.includes(id), 'the appointment id was printed');
      } finally {
        await proc.stop('SIGKILL');
      }
    });
  });
});
