import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeroClient } from '../src/hero/client';
import {
  SandboxConflictError,
  SandboxNotFoundError,
  startSandbox,
  type Sandbox,
  type SandboxOptions,
  type WebhookDeliveryRecord,
} from '../tools/sandbox';
import { admin, call, type SandboxResponse } from './support/sandbox-http';

/** Synthetic test patients (DEFAULT_PATIENTS): not real people. */
const PLAIN_ID = '1001';
const OTHER_ID = '1003';
const KEY = 'whsec-sandbox-test-key-0001';

/** Paths of a Hero 400 body's issues (docs/hero-api.md §6.4), checking its shape. */
function issuePaths(res: SandboxResponse): string[] {
  assert.equal(res.status, 400, res.text);
  const body = res.json as { error: unknown; statusCode: unknown; message: Array<{ path: unknown[] }> };
  assert.equal(body.error, true);
  assert.equal(body.statusCode, 400);
  return body.message.map((i) => i.path.join('.'));
}

async function createLink(sb: Sandbox, extra: Record<string, unknown> = {}) {
  const res = await call(sb, 'POST', '/v1/booking_links', {
    appointment_type_id: '1',
    location_id: '5',
    patient_id: PLAIN_ID,
    practitioner_id: '7',
    ...extra,
  });
  assert.equal(res.status, 200, res.text);
  return res.json as { id: string; short_link: string };
}

async function subscribe(sb: Sandbox, event: string, url: string, extra: Record<string, unknown> = {}) {
  const res = await call(sb, 'POST', '/v1/webhooks', { event_type: event, url, signing_key: KEY, ...extra });
  assert.equal(res.status, 200, res.text);
  return res.json as { id: string };
}

async function sendMessage(sb: Sandbox, patientId: string, shortLinkId?: string) {
  const res = await call(sb, 'POST', '/v1/messages/send', {
    patient_id: patientId,
    message_type: 'sms',
    message_string: 'Book here',
    ...(shortLinkId !== undefined && { short_link_id: shortLinkId }),
  });
  assert.equal(res.status, 200, res.text);
  return (res.json as { message_id: string }).message_id;
}

const linkState = async (sb: Sandbox, id: string) =>
  (await call(sb, 'GET', `/v1/booking_links/${id}`)).json as { number_of_uses: number; active: boolean };

/** What the booking page offers: its form's action and the slots' values. */
async function openBookingPage(shortLink: string) {
  const res = await fetch(shortLink);
  const html = await res.text();
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  const slots = [...html.matchAll(/name="start_time" value="([^"]+)"/g)].map((m) => m[1] as string);
  return { status: res.status, html, action, slots };
}

/** Submits the booking form as a browser does. */
async function submitBooking(base: string, action: string, fields: Record<string, string>) {
  const res = await fetch(base + action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', html: await res.text() };
}

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
}

/** A webhook endpoint on loopback: records each POST's headers and exact body, answers `answer(…)`. */
async function startReceiver() {
  const received: Received[] = [];
  let answer: (r: Received, n: number) => number = () => 200;
  let gate: Promise<void> | undefined;
  let arrivals: Array<() => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const status = answer(r, received.length);
      for (const arrived of arrivals.splice(0)) arrived();
      void (gate ?? Promise.resolve()).then(() => res.writeHead(status).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hero/webhooks`;
  return {
    url,
    received,
    answerWith(fn: (r: Received, n: number) => number) {
      answer = fn;
    },
    /** Holds every answer until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
    /** Resolves once the receiver holds `n` requests in all. */
    async arrived(n: number): Promise<void> {
      while (received.length < n) await new Promise<void>((resolve) => arrivals.push(resolve));
    },
    clear() {
      received.length = 0;
      answer = () => 200;
      gate = undefined;
      arrivals = [];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

function header(r: Received, name: string): string {
  const v = r.headers[name];
  assert.equal(typeof v, 'string', `${name} header`);
  return v as string;
}

/** docs/hero-api.md §5, computed here independently of the sandbox. */
function signatureValid(r: Received, key: string, encoding: 'hex' | 'base64'): boolean {
  const timestamp = header(r, 'x-herohealth-timestamp');
  const expected = createHmac('sha256', key).update(`${timestamp}.${r.raw}`).digest(encoding);
  return header(r, 'x-herohealth-signature') === expected;
}

const payload = (sb: Sandbox, id: string, event: string) =>
  `{"object":"Appointment","id":"${id}","practice_group_id":"${sb.practiceGroupId}","event":"${event}"}`;

const eventOf = (r: Received) => (JSON.parse(r.raw) as { event: string }).event;

/** A sandbox and a receiver per suite; both reset before each test. */
function useSandboxAndReceiver(opts: SandboxOptions, onStart: (sb: Sandbox, rx: Receiver) => void): void {
  let sb: Sandbox | undefined;
  let rx: Receiver | undefined;
  before(async () => {
    sb = await startSandbox(opts);
    rx = await startReceiver();
    onStart(sb, rx);
  });
  after(async () => {
    await sb?.close();
    await rx?.close();
  });
  beforeEach(async () => {
    // Deliveries still running from the test before would land in this one's receiver.
    await sb?.settleWebhooks();
    sb?.reset();
    rx?.clear();
  });
}

void describe('sandbox booking: the booking page', () => {
  let sb: Sandbox;
  let rx: Receiver;
  useSandboxAndReceiver({}, (s, r) => ((sb = s), (rx = r)));

  void it('books through the page: an appointment with link_id, number_of_uses + 1, and a signed appointment.confirmed', async () => {
    const link = await createLink(sb, { maximum_use_count: 2 });
    const hook = await subscribe(sb, 'appointment.confirmed', rx.url, { headers: { 'X-Partner-Token': 'abc' } });

    const page = await openBookingPage(link.short_link);
    assert.equal(page.status, 200);
    assert.match(page.html, /<button type="submit">Book<\/button>/);
    assert.ok(page.slots.length >= 1 && page.slots.length <= 2, 'one or two offered slots');
    assert.ok(!page.html.includes(PLAIN_ID), 'the page shows no patient data');
    const chosen = page.slots.at(-1) as string;

    const before = Date.now();
    const booked = await submitBooking(sb.url, page.action as string, { start_time: chosen });
    assert.equal(booked.status, 200);
    assert.match(booked.type, /^text\/html/);
    assert.match(booked.html, /Appointment 7001/);

    const appt = await call(sb, 'GET', '/v1/appointments/7001');
    assert.equal(appt.status, 200);
    const a = appt.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), [
      'appointment_type_id',
      'booking_confirmed_at',
      'can_be_cancelled',
      'can_be_rescheduled',
      'cancellation_policy_hours',
      'duration',
      'id',
      'in_person',
      'link_id',
      'location_id',
      'patient_id',
      'practitioner_id',
      'reserved_until',
      'start_time',
      'suppress_mail',
      'telephone',
      'video',
    ]);
    assert.equal(a.id, '7001');
    assert.equal(a.link_id, link.id);
    assert.equal(a.patient_id, PLAIN_ID);
    assert.equal(a.practitioner_id, '7');
    assert.equal(a.start_time, chosen);
    assert.ok(Date.parse(String(a.booking_confirmed_at)) >= before - 1000);
    assert.equal(a.can_be_cancelled, true);
    assert.equal((await linkState(sb, link.id)).number_of_uses, 1);

    // The client the worker uses reads the same answer.
    const client = new HeroClient({
      baseUrl: sb.url,
      apiKey: sb.apiKey,
      practiceGroupId: sb.practiceGroupId,
      timeoutMs: 5000,
    });
    const read = await client.getAppointment('7001');
    assert.equal(read.linkId, link.id);
    assert.equal(read.bookingConfirmedAt, a.booking_confirmed_at);

    await sb.settleWebhooks();
    assert.equal(rx.received.length, 1);
    const [d] = rx.received as [Received];
    assert.equal(d.raw, payload(sb, '7001', 'appointment.confirmed'));
    assert.ok(signatureValid(d, KEY, 'hex'), 'hex HMAC-SHA256 over "{timestamp}.{raw body}"');
    assert.match(header(d, 'x-herohealth-timestamp'), /^\d{10}$/);
    assert.ok(Math.abs(Number(header(d, 'x-herohealth-timestamp')) * 1000 - Date.now()) < 60_000);
    assert.equal(header(d, 'x-partner-token'), 'abc');
    assert.deepEqual(
      sb.webhookDeliveries().map((r) => [r.event, r.appointmentId, r.webhookId, r.url, r.attempt, r.status, r.fault]),
      [['appointment.confirmed', '7001', hook.id, rx.url, 1, 200, undefined]],
    );
    assert.deepEqual(
      sb.appointments().map((x) => [x.id, x.linkId, x.patientId, x.startTime, x.status]),
      [['7001', link.id, PLAIN_ID, chosen, 'confirmed']],
    );
    assert.deepEqual(
      sb.requests({ endpoint: 'booking_submit' }).map((r) => r.status),
      [200],
    );
  });

  void it('signs with each encoding and timestamp form that can be configured', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    const forms = {
      'unix-seconds': { re: /^\d{10}$/, ms: (t: string) => Number(t) * 1000 },
      'unix-ms': { re: /^\d{13}$/, ms: (t: string) => Number(t) },
      iso: { re: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, ms: (t: string) => Date.parse(t) },
    } as const;
    for (const encoding of ['hex', 'base64'] as const) {
      for (const [timestamp, form] of Object.entries(forms)) {
        sb.setWebhookSigning({ encoding, timestamp: timestamp as keyof typeof forms });
        sb.book(link.id);
        await sb.settleWebhooks();
        const d = rx.received.at(-1) as Received;
        const what = `${encoding} / ${timestamp}`;
        assert.ok(signatureValid(d, KEY, encoding), what);
        assert.ok(!signatureValid(d, KEY, encoding === 'hex' ? 'base64' : 'hex'), what);
        assert.ok(!signatureValid(d, `${KEY}x`, encoding), what);
        const ts = header(d, 'x-herohealth-timestamp');
        assert.match(ts, form.re, what);
        assert.ok(Math.abs(form.ms(ts) - Date.now()) < 60_000, what);
      }
    }
    assert.equal(rx.received.length, 6);
  });

  void it('refuses an inactive link (used up or expired) with an HTML page, booking and sending nothing', async () => {
    await subscribe(sb, 'appointment.confirmed', rx.url);
    const once = await createLink(sb, { maximum_use_count: 1 });
    const page = await openBookingPage(once.short_link);
    assert.equal((await submitBooking(sb.url, page.action as string, {})).status, 200);
    assert.equal((await linkState(sb, once.id)).active, false);

    const again = await submitBooking(sb.url, page.action as string, { start_time: page.slots[0] as string });
    assert.equal(again.status, 410);
    assert.match(again.type, /^text\/html/);
    assert.match(again.html, /no longer active/);
    const reopened = await openBookingPage(once.short_link);
    assert.equal(reopened.status, 410);
    assert.equal(reopened.action, undefined, 'no form on an inactive link');
    assert.throws(() => sb.book(once.id), SandboxConflictError);
    assert.equal((await admin(sb, 'POST', '/book', { linkId: once.id })).status, 409);

    assert.equal((await submitBooking(sb.url, '/s/nosuchcode/book', {})).status, 404);
    assert.throws(() => sb.book('4999'), SandboxNotFoundError);
    assert.equal((await admin(sb, 'POST', '/book', { linkId: '4999' })).status, 404);

    assert.equal((await linkState(sb, once.id)).number_of_uses, 1);
    assert.equal(sb.appointments().length, 1);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 1);
  });

  void it('refuses a link whose expiry date has passed (injected clock)', async () => {
    let clock = Date.parse('2030-01-01T12:00:00Z');
    const timed = await startSandbox({ now: () => clock });
    try {
      const link = await createLink(timed, { expiry_date: '2030-01-01' });
      const page = await openBookingPage(link.short_link);
      assert.equal(page.status, 200);
      clock = Date.parse('2030-01-02T00:00:00Z');
      assert.equal((await submitBooking(timed.url, page.action as string, {})).status, 410);
      assert.throws(() => timed.book(link.id), SandboxConflictError);
      assert.deepEqual(timed.appointments(), []);
      assert.equal((await linkState(timed, link.id)).number_of_uses, 0);
    } finally {
      await timed.close();
    }
  });

  void it('books without a webhook when asked: number_of_uses rises and no delivery is ever made', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    const page = await openBookingPage(link.short_link);
    assert.match(page.html, /name="notify" value="false"/);
    const silent = await submitBooking(sb.url, page.action as string, { notify: 'false' });
    assert.equal(silent.status, 200);
    assert.match(silent.html, /No webhook was sent/);
    assert.equal(sb.book(link.id, { notify: false }).linkId, link.id);
    assert.equal((await admin(sb, 'POST', '/book', { linkId: link.id, notify: false })).status, 200);
    await sb.settleWebhooks();
    assert.equal((await linkState(sb, link.id)).number_of_uses, 3);
    assert.equal(sb.appointments().length, 3);
    assert.deepEqual(rx.received, []);
    assert.deepEqual(sb.webhookDeliveries(), []);
  });

  // A booking that waited for the delivery would wait for the held receiver: the timeout turns that into a failure.
  void it(
    'never blocks the booking on a delivery: the book call answers while the receiver holds the webhook',
    { timeout: 5000 },
    async () => {
      const link = await createLink(sb);
      await subscribe(sb, 'appointment.confirmed', rx.url);
      const release = rx.hold();
      const booked = await admin(sb, 'POST', '/book', { linkId: link.id });
      assert.equal(booked.status, 200);
      assert.equal((booked.json as { appointment: { id: string } }).appointment.id, '7001');
      await rx.arrived(1);
      assert.deepEqual(sb.webhookDeliveries(), [], 'the delivery is still in flight');
      release();
      await sb.settleWebhooks();
      assert.deepEqual(
        sb.webhookDeliveries().map((r) => r.status),
        [200],
      );
    },
  );
});

void describe('sandbox booking: cancel and reschedule', () => {
  let sb: Sandbox;
  let rx: Receiver;
  useSandboxAndReceiver({}, (s, r) => ((sb = s), (rx = r)));

  void it('sends appointment.rescheduled and appointment.cancelled to their own subscriptions, signed with their keys', async () => {
    const link = await createLink(sb);
    const keys = {
      'appointment.confirmed': `${KEY}-c`,
      'appointment.rescheduled': `${KEY}-r`,
      'appointment.cancelled': `${KEY}-x`,
    };
    for (const [event, key] of Object.entries(keys)) await subscribe(sb, event, rx.url, { signing_key: key });

    const booked = (await admin(sb, 'POST', '/book', { linkId: link.id })).json as { appointment: { id: string } };
    const id = booked.appointment.id;
    await sb.settleWebhooks();
    const moved = await admin(sb, 'POST', '/reschedule', { appointmentId: id, startTime: '2031-03-04T10:15:00Z' });
    assert.equal(moved.status, 200);
    assert.equal(
      (moved.json as { appointment: { startTime: string } }).appointment.startTime,
      '2031-03-04T10:15:00.000Z',
    );
    await sb.settleWebhooks();
    assert.equal(sb.cancelAppointment(id).status, 'cancelled');
    await sb.settleWebhooks();

    assert.deepEqual(rx.received.map(eventOf), [
      'appointment.confirmed',
      'appointment.rescheduled',
      'appointment.cancelled',
    ]);
    for (const d of rx.received) {
      const event = eventOf(d) as keyof typeof keys;
      assert.equal(d.raw, payload(sb, id, event));
      assert.ok(signatureValid(d, keys[event], 'hex'), event);
    }

    const after = (await call(sb, 'GET', `/v1/appointments/${id}`)).json as Record<string, unknown>;
    assert.equal(after.start_time, '2031-03-04T10:15:00.000Z');
    assert.equal(after.can_be_cancelled, false);
    assert.equal(after.can_be_rescheduled, false);

    assert.equal((await admin(sb, 'POST', '/cancel', { appointmentId: id })).status, 409);
    assert.throws(() => sb.rescheduleAppointment(id, '2031-03-05T10:00:00Z'), SandboxConflictError);
    assert.equal((await admin(sb, 'POST', '/cancel', { appointmentId: '7999' })).status, 404);
    assert.equal((await admin(sb, 'POST', '/reschedule', { appointmentId: id, startTime: 'soon' })).status, 400);
    const missing = await call(sb, 'GET', '/v1/appointments/7999');
    assert.deepEqual(missing.json, { error: true, statusCode: 404, message: 'Appointment not found' });
    assert.equal((await call(sb, 'GET', '/v1/appointments/7001', undefined, {})).status, 401);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 3);
  });

  void it('injects scripted and random faults into the new endpoints like the others', async () => {
    sb.injectFault('get_appointment', { kind: 'status', status: 503 });
    sb.injectFault('list_sent_messages', { kind: 'schema_violation' });
    sb.injectFault('create_webhook', { kind: 'status', status: 500 });
    sb.injectFault('list_webhooks', { kind: 'malformed_json' });
    assert.equal((await call(sb, 'GET', '/v1/appointments/7001')).status, 503);
    assert.equal((await call(sb, 'GET', `/v1/messages?patient_id=${PLAIN_ID}`)).status, 200);
    assert.equal((await call(sb, 'POST', '/v1/webhooks', {})).status, 500);
    assert.equal((await call(sb, 'GET', '/v1/webhooks')).json, undefined);
    assert.deepEqual(
      sb.requests().map((r) => [r.endpoint, r.fault]),
      [
        ['get_appointment', 'status'],
        ['list_sent_messages', 'schema_violation'],
        ['create_webhook', 'status'],
        ['list_webhooks', 'malformed_json'],
      ],
    );
    sb.setFaultRates({ rates: { server_error: 1 } });
    for (const path of ['/v1/appointments/7001', '/v1/messages', '/v1/webhooks']) {
      assert.ok((await call(sb, 'GET', path)).status >= 500, path);
    }
  });
});

void describe('sandbox booking: message status and the sent-messages list', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({ messageStatus: { sequence: ['queued', 'sent', 'delivered'] } });
  });
  after(async () => {
    await sb.close();
  });
  beforeEach(() => sb.reset());

  const status = async (id: string) =>
    ((await call(sb, 'GET', `/v1/messages/${id}`)).json as { status: string }).status;

  void it('reports delivered at once by default, with the short_link the message carries (null without one)', async () => {
    const plain = await startSandbox();
    try {
      const link = await createLink(plain);
      const withLink = await sendMessage(plain, PLAIN_ID, link.id);
      const without = await sendMessage(plain, PLAIN_ID);
      const got = (await call(plain, 'GET', `/v1/messages/${withLink}`)).json as Record<string, unknown>;
      assert.equal(got.status, 'delivered');
      assert.deepEqual(got.short_link, {
        id: link.id,
        type: 'booking',
        name: `Booking link ${link.id}`,
        status: 'active',
      });
      assert.deepEqual((got as { patient: unknown }).patient, { id: PLAIN_ID });
      const bare = (await call(plain, 'GET', `/v1/messages/${without}`)).json as Record<string, unknown>;
      assert.equal(bare.short_link, null);
      assert.equal(bare.status, 'delivered');
    } finally {
      await plain.close();
    }
  });

  void it('steps along the configured sequence one read at a time and stays on the last; each message on its own', async () => {
    const first = await sendMessage(sb, PLAIN_ID);
    assert.equal(await status(first), 'queued');
    assert.equal(await status(first), 'sent');
    const second = await sendMessage(sb, PLAIN_ID);
    assert.equal(await status(first), 'delivered');
    assert.equal(await status(first), 'delivered');
    assert.equal(await status(second), 'queued');
    assert.deepEqual(
      sb.messages().map((m) => [m.id, m.status]),
      [
        [first, 'delivered'],
        [second, 'queued'],
      ],
    );
    const client = new HeroClient({ baseUrl: sb.url, apiKey: sb.apiKey, practiceGroupId: '1', timeoutMs: 5000 });
    assert.deepEqual(await client.getMessage(second), { id: second, status: 'sent' });
  });

  void it('setMessageStatus and POST /__sandbox/message-status override the sequence; reset restores it', async () => {
    const id = await sendMessage(sb, PLAIN_ID);
    sb.setMessageStatus(id, 'failed');
    assert.equal(await status(id), 'failed');
    assert.equal(
      (await admin(sb, 'POST', '/message-status', { messageId: id, status: 'weird-new-value' })).status,
      200,
    );
    assert.equal(await status(id), 'weird-new-value');
    assert.equal((await admin(sb, 'POST', '/message-status', { messageId: '9999', status: 'x' })).status, 404);
    assert.equal((await admin(sb, 'POST', '/message-status', { messageId: id, status: '' })).status, 400);
    assert.throws(() => sb.setMessageStatus('9999', 'failed'), SandboxNotFoundError);

    assert.equal((await admin(sb, 'POST', '/message-status-sequence', { sequence: ['accepted'] })).status, 200);
    assert.equal(await status(await sendMessage(sb, PLAIN_ID)), 'accepted');
    assert.equal((await admin(sb, 'POST', '/message-status-sequence', { sequence: [] })).status, 400);

    sb.reset();
    assert.equal(await status(await sendMessage(sb, PLAIN_ID)), 'queued');
  });

  void it('lists a patient sent messages oldest first, paged, with the total count and each short_link', async () => {
    const link = await createLink(sb);
    const a = await sendMessage(sb, PLAIN_ID, link.id);
    const b = await sendMessage(sb, PLAIN_ID);
    await sendMessage(sb, OTHER_ID, link.id);
    const c = await sendMessage(sb, PLAIN_ID, link.id);

    const page0 = await call(sb, 'GET', `/v1/messages?patient_id=${PLAIN_ID}&page_index=0&page_size=2`);
    assert.equal(page0.status, 200);
    const body0 = page0.json as { data: Array<{ id: string; short_link: { id: string } | null }>; count: number };
    assert.equal(body0.count, 3);
    assert.deepEqual(
      body0.data.map((m) => [m.id, m.short_link?.id ?? null]),
      [
        [a, link.id],
        [b, null],
      ],
    );
    const page1 = (await call(sb, 'GET', `/v1/messages?patient_id=${PLAIN_ID}&page_index=1&page_size=2`)).json as {
      data: Array<{ id: string; status: string }>;
    };
    assert.deepEqual(
      page1.data.map((m) => m.id),
      [c],
    );
    assert.equal(page1.data[0]?.status, 'queued', 'listing reports the status without advancing it');
    assert.equal(await status(c), 'queued');

    assert.deepEqual(issuePaths(await call(sb, 'GET', '/v1/messages?page_size=0')), ['page_size']);
    assert.deepEqual(issuePaths(await call(sb, 'GET', '/v1/messages?page_index=-1&patient_id=x')), [
      'patient_id',
      'page_index',
    ]);
    assert.equal((await call(sb, 'GET', '/v1/messages', undefined, {})).status, 401);

    const client = new HeroClient({ baseUrl: sb.url, apiKey: sb.apiKey, practiceGroupId: '1', timeoutMs: 5000 });
    assert.deepEqual(await client.sentMessagesWithLink(PLAIN_ID, link.id), {
      known: true,
      count: 2,
      messageIds: [a, c],
    });
    assert.ok(sb.requests({ endpoint: 'list_sent_messages' }).length >= 4);
  });

  void it('answers 404 when the sentMessagesList option is off, so a client cannot tell; the setter and reset switch it', async () => {
    const off = await startSandbox({ sentMessagesList: false });
    try {
      const res = await call(off, 'GET', `/v1/messages?patient_id=${PLAIN_ID}`);
      assert.equal(res.status, 404);
      assert.deepEqual(res.json, { error: true, statusCode: 404, message: 'Not Found' });
      assert.equal((await call(off, 'GET', '/v1/messages', undefined, {})).status, 401);
      const client = new HeroClient({ baseUrl: off.url, apiKey: off.apiKey, practiceGroupId: '1', timeoutMs: 5000 });
      assert.equal((await client.sentMessagesWithLink(PLAIN_ID, '5001')).known, false);

      assert.equal((await admin(off, 'POST', '/sent-messages-list', { enabled: true })).status, 200);
      assert.equal((await call(off, 'GET', '/v1/messages')).status, 200);
      assert.equal((await admin(off, 'POST', '/sent-messages-list', { enabled: 'yes' })).status, 400);
      off.reset();
      assert.equal((await call(off, 'GET', '/v1/messages')).status, 404);
      off.setSentMessagesList(true);
      assert.equal((await call(off, 'GET', '/v1/messages')).status, 200);
    } finally {
      await off.close();
    }
  });
});

void describe('sandbox booking: webhook subscriptions', () => {
  let sb: Sandbox;
  useSandboxAndReceiver({}, (s) => (sb = s));

  void it('creates subscriptions with the §5 response and lists them by event_type', async () => {
    const res = await call(sb, 'POST', '/v1/webhooks', {
      event_type: 'appointment.confirmed',
      url: 'http://127.0.0.1:8787/hero/webhooks',
      signing_key: KEY,
      headers: { 'X-Partner': 'p1' },
      description: 'hero-flow',
    });
    assert.equal(res.status, 200);
    const created = res.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(created).sort(), [
      'created_at',
      'event_type',
      'headers',
      'id',
      'signing_key',
      'updated_at',
      'url',
    ]);
    assert.equal(created.id, '3001');
    assert.equal(created.signing_key, KEY);
    assert.deepEqual(created.headers, { 'X-Partner': 'p1' });
    assert.ok(!Number.isNaN(Date.parse(String(created.created_at))));

    const client = new HeroClient({ baseUrl: sb.url, apiKey: sb.apiKey, practiceGroupId: '1', timeoutMs: 5000 });
    const second = await client.createWebhook({
      eventType: 'appointment.cancelled',
      url: 'http://127.0.0.1:8787/hero/webhooks',
      signingKey: KEY,
    });
    assert.equal(second.id, '3002');

    const confirmed = await call(sb, 'GET', '/v1/webhooks?event_type=appointment.confirmed');
    assert.deepEqual(confirmed.json, { data: [created], count: 1 });
    assert.deepEqual(
      (await client.listWebhooks('appointment.cancelled')).map((w) => [w.id, w.eventType]),
      [['3002', 'appointment.cancelled']],
    );
    assert.deepEqual(await client.listWebhooks('appointment.rescheduled'), []);
    assert.equal(((await call(sb, 'GET', '/v1/webhooks')).json as { count: number }).count, 2);
    assert.deepEqual(
      sb.webhooks().map((w) => [w.id, w.eventType, w.hasSigningKey, w.headers]),
      [
        ['3001', 'appointment.confirmed', true, { 'X-Partner': 'p1' }],
        ['3002', 'appointment.cancelled', true, {}],
      ],
    );
    assert.deepEqual(
      sb.requests().map((r) => r.endpoint),
      ['create_webhook', 'create_webhook', 'list_webhooks', 'list_webhooks', 'list_webhooks', 'list_webhooks'],
    );
  });

  void it("refuses bad subscriptions with Hero's 400 body and creates nothing", async () => {
    const ok = { event_type: 'appointment.confirmed', url: 'https://example.test/hook' };
    const cases: Array<[unknown, string[]]> = [
      [{ ...ok, event_type: 'appointment.created' }, ['event_type']],
      [{ event_type: ok.event_type }, ['url']],
      [{ ...ok, url: 'ftp://example.test/hook' }, ['url']],
      [{ ...ok, secret: 'x' }, ['']],
      [{ ...ok, signing_key: '' }, ['signing_key']],
      [{ ...ok, headers: { 'X-Herohealth-Signature': 'x' } }, ['headers.X-Herohealth-Signature']],
      [{ ...ok, headers: { 'X-Ok': 1 } }, ['headers.X-Ok']],
      [{ ...ok, headers: { 'bad name': 'x' } }, ['headers.bad name']],
    ];
    for (const [body, paths] of cases) {
      assert.deepEqual(issuePaths(await call(sb, 'POST', '/v1/webhooks', body)), paths, JSON.stringify(body));
    }
    assert.deepEqual(issuePaths(await call(sb, 'POST', '/v1/webhooks', 'not json')), ['']);
    assert.deepEqual(issuePaths(await call(sb, 'GET', '/v1/webhooks?event_type=nope')), ['event_type']);
    assert.equal((await call(sb, 'POST', '/v1/webhooks', ok, {})).status, 401);
    assert.deepEqual(sb.webhooks(), []);
  });
});

void describe('sandbox booking: webhook faults and retries', () => {
  let sb: Sandbox;
  let rx: Receiver;
  useSandboxAndReceiver({ webhookDelivery: { backoffMs: 50, maxHoldMs: 300 } }, (s, r) => ((sb = s), (rx = r)));

  const faultsOf = (records: WebhookDeliveryRecord[]) => records.map((r) => [r.event, r.attempt, r.status, r.fault]);

  void it('lost: the delivery is never made nor retried, and is recorded and counted', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    sb.injectWebhookFault('lost');
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.deepEqual(rx.received, []);
    assert.deepEqual(faultsOf(sb.webhookDeliveries()), [['appointment.confirmed', 0, 0, 'lost']]);
    assert.deepEqual(sb.faultCounts(), { lost: 1 });
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 1, 'the fault was used up');
  });

  void it('duplicated: the same event arrives twice, both copies validly signed', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    sb.injectWebhookFault('duplicated');
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 2);
    for (const d of rx.received) {
      assert.equal(d.raw, payload(sb, '7001', 'appointment.confirmed'));
      assert.ok(signatureValid(d, KEY, 'hex'));
    }
    assert.deepEqual(faultsOf(sb.webhookDeliveries()), [
      ['appointment.confirmed', 1, 200, undefined],
      ['appointment.confirmed', 1, 200, 'duplicated'],
    ]);
    assert.deepEqual(sb.faultCounts(), { duplicated: 1 });
  });

  void it("reordered: the delivery is held until the next event's delivery, or at most maxHoldMs", async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    await subscribe(sb, 'appointment.cancelled', rx.url);
    sb.injectWebhookFault('reordered');
    const { id } = sb.book(link.id);
    sb.cancelAppointment(id);
    await sb.settleWebhooks();
    assert.deepEqual(rx.received.map(eventOf), ['appointment.cancelled', 'appointment.confirmed']);
    assert.ok(rx.received.every((d) => signatureValid(d, KEY, 'hex')));
    assert.deepEqual(faultsOf(sb.webhookDeliveries()), [
      ['appointment.cancelled', 1, 200, undefined],
      ['appointment.confirmed', 1, 200, 'reordered'],
    ]);

    // No event follows: the hold ends after maxHoldMs (300 ms here).
    sb.injectWebhookFault('reordered');
    const started = Date.now();
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 3);
    const held = sb.webhookDeliveries().at(-1) as WebhookDeliveryRecord;
    assert.equal(held.fault, 'reordered');
    assert.ok(held.at - started >= 290 && held.at - started < 2000, `held ${held.at - started} ms`);
    assert.deepEqual(sb.faultCounts(), { reordered: 2 });
  });

  void it('forged: an extra copy signed with a wrong key arrives before the real one', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    rx.answerWith((r) => (signatureValid(r, KEY, 'hex') ? 200 : 401));
    sb.injectWebhookFault('forged');
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 2);
    const [forged, real] = rx.received as [Received, Received];
    assert.equal(forged.raw, real.raw);
    assert.equal(signatureValid(forged, KEY, 'hex'), false);
    assert.equal(signatureValid(real, KEY, 'hex'), true);
    assert.deepEqual(faultsOf(sb.webhookDeliveries()), [
      ['appointment.confirmed', 1, 401, 'forged'],
      ['appointment.confirmed', 1, 200, undefined],
    ]);
    assert.deepEqual(sb.faultCounts(), { forged: 1 });
  });

  void it('retries after a 500 with a doubling backoff until a 2xx, and gives up after the last attempt', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    rx.answerWith((_r, n) => (n <= 2 ? 500 : 200));
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 3);
    assert.ok(
      rx.received.every((d) => signatureValid(d, KEY, 'hex')),
      'each attempt is signed',
    );
    const tries = sb.webhookDeliveries();
    assert.deepEqual(
      tries.map((r) => [r.attempt, r.status]),
      [
        [1, 500],
        [2, 500],
        [3, 200],
      ],
    );
    const [t1, t2, t3] = tries.map((r) => r.at) as [number, number, number];
    assert.ok(t2 - t1 >= 45 && t3 - t2 >= 95, `gaps ${t2 - t1} and ${t3 - t2} ms for a 50 ms backoff`);

    rx.clear();
    rx.answerWith(() => 503);
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 4, 'the default is 4 attempts');
  });

  void it('records status 0 and retries when the receiver cannot be reached', async () => {
    const link = await createLink(sb);
    const gone = await startReceiver();
    await gone.close();
    await subscribe(sb, 'appointment.confirmed', gone.url);
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.deepEqual(
      sb.webhookDeliveries().map((r) => [r.attempt, r.status]),
      [
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 0],
      ],
    );
  });

  void it('draws webhook faults at seeded random rates: the same seed gives the same faults, and each is counted', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    rx.answerWith((r) => (signatureValid(r, KEY, 'hex') ? 200 : 401));
    const rates = { lost: 0.2, duplicated: 0.2, reordered: 0.2, forged: 0.2 };
    const run = async (seed: number) => {
      const faults = new Map<number, string>();
      sb.setWebhookFaultRates({ seed, rates });
      for (let i = 0; i < 20; i++) sb.book(link.id);
      await sb.settleWebhooks();
      for (const r of sb.webhookDeliveries()) if (r.fault) faults.set(r.eventSeq, r.fault);
      const counts = sb.faultCounts();
      sb.reset();
      rx.clear();
      rx.answerWith((r) => (signatureValid(r, KEY, 'hex') ? 200 : 401));
      await createLink(sb);
      await subscribe(sb, 'appointment.confirmed', rx.url);
      return { faults: [...faults].sort((x, y) => x[0] - y[0]), counts };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    assert.deepEqual(a.faults, b.faults);
    assert.notDeepEqual(a.faults, c.faults);
    const tally: Record<string, number> = {};
    for (const [, kind] of a.faults) tally[kind] = (tally[kind] ?? 0) + 1;
    assert.deepEqual(a.counts, tally);
    assert.ok(Object.keys(tally).length >= 3, JSON.stringify(tally));

    assert.equal((await admin(sb, 'POST', '/webhook-fault-rates', { rates: { lost: 0.6, forged: 0.6 } })).status, 400);
    assert.equal((await admin(sb, 'POST', '/webhook-fault-rates', { rates: { late: 0.1 } })).status, 400);
    assert.equal((await admin(sb, 'POST', '/webhook-fault-rates', { seed: 1, rates: { lost: 1 } })).status, 200);
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.deepEqual(rx.received, []);
    assert.equal((await admin(sb, 'POST', '/webhook-fault-rates', null)).status, 200);
    sb.book(link.id);
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 1);
  });
});

void describe('sandbox booking: admin HTTP and reset', () => {
  let sb: Sandbox;
  let rx: Receiver;
  const options: SandboxOptions = {
    messageStatus: { sequence: ['queued', 'delivered'] },
    sentMessagesList: false,
    webhookSigning: { encoding: 'base64', timestamp: 'iso' },
    webhookFaultRates: { seed: 3, rates: { duplicated: 1 } },
  };
  useSandboxAndReceiver(options, (s, r) => ((sb = s), (rx = r)));

  void it('drives booking, deliveries and webhook faults over /__sandbox, validating bodies', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    assert.equal((await admin(sb, 'POST', '/webhook-fault-rates', null)).status, 200);
    assert.equal((await admin(sb, 'POST', '/webhook-signing', { encoding: 'hex' })).status, 200);
    assert.equal((await admin(sb, 'POST', '/webhook-faults', { fault: 'lost', times: 1 })).status, 200);
    assert.equal((await admin(sb, 'POST', '/webhook-faults', { fault: 'late' })).status, 400);
    assert.equal((await admin(sb, 'POST', '/webhook-signing', { encoding: 'base32' })).status, 400);
    assert.equal((await admin(sb, 'POST', '/book', { linkId: link.id, startTime: 'tomorrow' })).status, 400);
    assert.equal((await admin(sb, 'POST', '/book', { linkId: link.id, extra: 1 })).status, 400);

    const first = await admin(sb, 'POST', '/book', { linkId: link.id, startTime: '2031-01-02T09:00:00+01:00' });
    assert.equal(first.status, 200);
    assert.deepEqual((first.json as { appointment: unknown }).appointment, {
      id: '7001',
      linkId: link.id,
      patientId: PLAIN_ID,
      startTime: '2031-01-02T08:00:00.000Z',
      status: 'confirmed',
      bookingConfirmedAt: (first.json as { appointment: { bookingConfirmedAt: number } }).appointment
        .bookingConfirmedAt,
    });
    assert.equal((await admin(sb, 'POST', '/book', { linkId: link.id })).status, 200);
    assert.equal((await admin(sb, 'POST', '/settle-webhooks')).status, 200);

    const deliveries = (await admin(sb, 'GET', '/webhook-deliveries')).json as {
      deliveries: WebhookDeliveryRecord[];
    };
    assert.deepEqual(
      deliveries.deliveries.map((r) => [r.appointmentId, r.status, r.fault]),
      [
        ['7001', 0, 'lost'],
        ['7002', 200, undefined],
      ],
    );
    assert.ok(signatureValid(rx.received[0] as Received, KEY, 'hex'));
    const appointments = (await admin(sb, 'GET', '/appointments')).json as { appointments: Array<{ id: string }> };
    assert.deepEqual(
      appointments.appointments.map((a) => a.id),
      ['7001', '7002'],
    );
    const hooks = (await admin(sb, 'GET', '/webhooks')).json as { webhooks: Array<{ id: string }> };
    assert.deepEqual(
      hooks.webhooks.map((w) => w.id),
      ['3001'],
    );
    const state = (await admin(sb, 'GET', '/state')).json as Record<string, Array<{ id: string }>>;
    assert.deepEqual(
      state.appointments?.map((a) => a.id),
      ['7001', '7002'],
    );
    assert.deepEqual(
      state.webhooks?.map((w) => w.id),
      ['3001'],
    );
  });

  void it('reset() clears appointments, webhooks, deliveries and pending faults, drops deliveries in flight, and restores the options', async () => {
    const link = await createLink(sb);
    await subscribe(sb, 'appointment.confirmed', rx.url);
    sb.setWebhookFaultRates(undefined);
    sb.setWebhookSigning({ encoding: 'hex', timestamp: 'unix-ms' });
    sb.setMessageStatusSequence(['sent']);
    sb.setSentMessagesList(true);
    const release = rx.hold();
    sb.book(link.id);
    await rx.arrived(1);
    sb.injectWebhookFault('lost', 5);

    const settled = sb.settleWebhooks();
    assert.equal((await admin(sb, 'POST', '/reset')).status, 200);
    await settled;
    release();
    assert.deepEqual(sb.webhookDeliveries(), [], 'the delivery in flight was dropped unrecorded');
    assert.deepEqual(sb.appointments(), []);
    assert.deepEqual(sb.webhooks(), []);
    assert.deepEqual(sb.faultCounts(), {});

    // Ids restart, no scripted fault is left, and every option is back.
    rx.clear();
    const again = await createLink(sb);
    assert.equal((await subscribe(sb, 'appointment.confirmed', rx.url)).id, '3001');
    assert.equal(sb.book(again.id).id, '7001');
    await sb.settleWebhooks();
    assert.equal(rx.received.length, 2, 'the duplicated rate of the options is back; no lost fault is left');
    const d = rx.received[0] as Received;
    assert.ok(signatureValid(d, KEY, 'base64'));
    assert.match(header(d, 'x-herohealth-timestamp'), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(sb.faultCounts(), { duplicated: 1 });
    assert.equal((await call(sb, 'GET', '/v1/messages')).status, 404);
    const id = await sendMessage(sb, PLAIN_ID);
    assert.equal(((await call(sb, 'GET', `/v1/messages/${id}`)).json as { status: string }).status, 'queued');
  });
});
