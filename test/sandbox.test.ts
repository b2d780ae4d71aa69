import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { isValidNhsNumber } from '../src/shared/nhs-number';
import { DEFAULT_PATIENTS, startSandbox, type Sandbox } from '../tools/sandbox';
import { untilSandboxHolds } from './support/fixtures';
import { admin, call, type SandboxResponse } from './support/sandbox-http';

/** Synthetic test patients (DEFAULT_PATIENTS): not real people. */
const PLAIN = { nhs: '9434765919', dob: '1992-01-01', id: '1001' };
const NEEDS_VERIFY = { nhs: '9990000018', dob: '1985-06-15', id: '1002' };
const ALREADY_VERIFIED = { nhs: '9990000026', dob: '1970-12-31', id: '1003' };
/** Valid Modulus 11 numbers that are not seeded. */
const UNSEEDED = ['9990000034', '9990000042', '9990000050'] as const;

const registerPds = (sb: Sandbox, nhs_number: unknown, dob: unknown) =>
  call(sb, 'POST', '/v1/patients/register_pds', { nhs_number, dob });

function issues(res: SandboxResponse): Array<{ code: string; expected: string; path: unknown[] }> {
  const body = res.json as {
    error: unknown;
    statusCode: unknown;
    message: Array<{ code: string; expected: string; path: unknown[] }>;
  };
  assert.equal(res.status, 400);
  assert.equal(body.error, true);
  assert.equal(body.statusCode, 400);
  assert.ok(Array.isArray(body.message) && body.message.length > 0);
  for (const i of body.message) {
    assert.deepEqual(Object.keys(i).sort(), ['code', 'expected', 'path']);
    assert.equal(typeof i.code, 'string');
    assert.equal(typeof i.expected, 'string');
    assert.ok(Array.isArray(i.path));
  }
  return body.message;
}

/** One default sandbox per suite: started in `before`, reset before each test, closed in `after`. */
function useSandbox(onStart: (sb: Sandbox) => void): void {
  let sb: Sandbox | undefined;
  before(async () => {
    sb = await startSandbox();
    onStart(sb);
  });
  after(async () => {
    await sb?.close();
  });
  beforeEach(() => sb?.reset());
}

void describe('sandbox: defaults', () => {
  void it('seeds valid synthetic patients, one plain and one that must verify', () => {
    for (const p of DEFAULT_PATIENTS) assert.ok(isValidNhsNumber(p.nhsNumber), p.nhsNumber);
    assert.ok(DEFAULT_PATIENTS.some((p) => p.nhsNumber === PLAIN.nhs && p.dob === PLAIN.dob && !p.needsVerification));
    assert.ok(DEFAULT_PATIENTS.some((p) => p.needsVerification && !p.verified));
  });
});

void describe('sandbox: auth and recording', () => {
  let sb: Sandbox;
  useSandbox((started) => (sb = started));

  void it('exposes a loopback URL without a trailing slash and the default credentials', () => {
    assert.match(sb.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(sb.apiKey, 'sandbox-key');
    assert.equal(sb.practiceGroupId, '1');
  });

  void it('answers 401 with the Hero body for a missing or wrong key', async () => {
    for (const headers of [
      { 'x-practice-group-id': '1' },
      { 'x-api-key': 'nope', 'x-practice-group-id': '1' },
    ] as Record<string, string>[]) {
      const res = await call(
        sb,
        'POST',
        '/v1/patients/register_pds',
        { nhs_number: PLAIN.nhs, dob: PLAIN.dob },
        headers,
      );
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, { error: true, statusCode: 401, message: 'Unauthorised' });
    }
  });

  void it('answers 403 for the right key with a missing or different practice group', async () => {
    for (const headers of [
      { 'x-api-key': sb.apiKey },
      { 'x-api-key': sb.apiKey, 'x-practice-group-id': '2' },
    ] as Record<string, string>[]) {
      const res = await call(sb, 'POST', '/v1/messages/send', {}, headers);
      assert.equal(res.status, 403);
      assert.deepEqual(res.json, { error: true, statusCode: 403, message: 'Forbidden' });
    }
  });

  void it('authenticates unknown /v1 paths before answering 404', async () => {
    assert.equal((await call(sb, 'GET', '/v1/nothing', undefined, {})).status, 401);
    assert.equal((await call(sb, 'GET', '/v1/nothing')).status, 404);
  });

  void it('records every request in order, with endpoint, status and parsed body', async () => {
    await call(sb, 'POST', '/v1/patients/register_pds', { nhs_number: PLAIN.nhs }, {});
    await registerPds(sb, PLAIN.nhs, PLAIN.dob);
    await call(sb, 'GET', '/v1/booking_links/123');
    await call(sb, 'POST', '/v1/messages/send', 'not json');
    const log = sb.requests();
    assert.deepEqual(
      log.map((r) => [r.seq, r.method, r.path, r.endpoint, r.status]),
      [
        [1, 'POST', '/v1/patients/register_pds', 'register_pds', 401],
        [2, 'POST', '/v1/patients/register_pds', 'register_pds', 200],
        [3, 'GET', '/v1/booking_links/123', 'get_booking_link', 404],
        [4, 'POST', '/v1/messages/send', 'send_message', 400],
      ],
    );
    assert.deepEqual(log[1]?.body, { nhs_number: PLAIN.nhs, dob: PLAIN.dob });
    assert.equal(log[3]?.body, undefined);
    assert.ok(log.every((r) => typeof r.at === 'number' && r.fault === undefined));
    assert.deepEqual(
      sb.requests({ endpoint: 'register_pds' }).map((r) => r.seq),
      [1, 2],
    );
  });

  void it('returns copies of the log, and reset() empties it', async () => {
    await registerPds(sb, PLAIN.nhs, PLAIN.dob);
    const copy = sb.requests();
    copy.length = 0;
    assert.equal(sb.requests().length, 1);
    sb.reset();
    assert.deepEqual(sb.requests(), []);
  });

  void it('keeps its maxRecordedRequests latest requests, and counts those it dropped until reset()', async () => {
    const small = await startSandbox({ maxRecordedRequests: 3 });
    try {
      for (let i = 0; i < 5; i++) await registerPds(small, PLAIN.nhs, PLAIN.dob);
      assert.deepEqual(
        small.requests().map((r) => r.seq),
        [3, 4, 5],
      );
      assert.equal(small.requestsDropped, 2);
      small.reset();
      assert.equal(small.requestsDropped, 0);
    } finally {
      await small.close();
    }
    assert.equal(sb.requestsDropped, 0, 'the default keeps 10,000');
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      await assert.rejects(
        startSandbox({ maxRecordedRequests: bad }),
        /maxRecordedRequests must be a positive whole number/,
      );
  });

  void it('never writes the request log or patient data to stdout', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return original(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      await registerPds(sb, PLAIN.nhs, PLAIN.dob);
      await registerPds(sb, '1234567890', PLAIN.dob);
      await call(sb, 'POST', '/v1/messages/send', {}, {});
      await admin(sb, 'GET', '/requests');
    } finally {
      process.stdout.write = original;
    }
    assert.ok(!written.join('').includes(PLAIN.nhs));
    assert.ok(!written.join('').includes('register_pds'));
  });
});

void describe('sandbox: register_pds and identity verification', () => {
  let sb: Sandbox;
  useSandbox((started) => (sb = started));

  void it('returns the patient id, accepting an NHS number written with spaces', async () => {
    const res = await registerPds(sb, '943 476 5919', PLAIN.dob);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { patient_id: PLAIN.id });
  });

  void it('accepts a null dob (documented as string or null) and matches on the NHS number', async () => {
    assert.deepEqual((await registerPds(sb, PLAIN.nhs, null)).json, { patient_id: PLAIN.id });
  });

  void it('400s missing fields with invalid_type issues in the docs/hero-api.md §6.4 shape', async () => {
    const res = await call(sb, 'POST', '/v1/patients/register_pds', {});
    const list = issues(res);
    assert.deepEqual(
      list.map((i) => [i.code, i.path]),
      [
        ['invalid_type', ['nhs_number']],
        ['invalid_type', ['dob']],
      ],
    );
    assert.equal(list[0]?.expected, 'string');
  });

  void it('400s a bad check digit as custom, a short number as invalid_format, an impossible dob as custom', async () => {
    assert.deepEqual(
      issues(await registerPds(sb, '9434765918', PLAIN.dob)).map((i) => [i.code, i.path]),
      [['custom', ['nhs_number']]],
    );
    assert.deepEqual(
      issues(await registerPds(sb, '943476591', PLAIN.dob)).map((i) => [i.code, i.path]),
      [['invalid_format', ['nhs_number']]],
    );
    assert.deepEqual(
      issues(await registerPds(sb, PLAIN.nhs, '2023-02-30')).map((i) => [i.code, i.path]),
      [['custom', ['dob']]],
    );
  });

  void it('400s hyphens (only spaces appear in Hero examples) and a body that is not JSON', async () => {
    assert.equal((await registerPds(sb, '943-476-5919', PLAIN.dob)).status, 400);
    const res = await call(sb, 'POST', '/v1/patients/register_pds', '{"nhs_number":');
    assert.deepEqual(
      issues(res).map((i) => i.code),
      ['invalid_json'],
    );
  });

  void it('404s an unknown NHS number and a dob that does not match', async () => {
    const unknown = await registerPds(sb, UNSEEDED[0], PLAIN.dob);
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.json, { error: true, statusCode: 404, message: 'No patient found' });
    assert.equal((await registerPds(sb, PLAIN.nhs, '1992-01-02')).status, 404);
  });

  void it('returns message and login_url (no patient_id) until the patient verifies through the page', async () => {
    const first = await registerPds(sb, NEEDS_VERIFY.nhs, NEEDS_VERIFY.dob);
    assert.equal(first.status, 200);
    const body = first.json as { message: string; login_url: string; patient_id?: string };
    assert.equal(body.message, 'Patient must verify their identity before proceeding');
    assert.equal(body.patient_id, undefined);
    assert.ok(body.login_url.startsWith(`${sb.url}/verify/`));
    const token = body.login_url.slice(`${sb.url}/verify/`.length);
    assert.match(token, /^[0-9a-f]{16,}$/);
    assert.ok(!token.includes(NEEDS_VERIFY.nhs));

    const again = (await registerPds(sb, NEEDS_VERIFY.nhs, NEEDS_VERIFY.dob)).json as { login_url: string };
    assert.equal(again.login_url, body.login_url, 'the token is stable per patient');

    const page = await fetch(body.login_url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const htmlText = await page.text();
    assert.ok(!htmlText.includes(NEEDS_VERIFY.nhs), 'the page shows no patient data');
    const form = /<form method="post" action="([^"]+)">/.exec(htmlText);
    assert.ok(form?.[1], 'the page has a POST form');
    assert.match(htmlText, /<button type="submit">I have verified my identity<\/button>/);

    const submit = await fetch(new URL(form[1], sb.url), { method: 'POST' });
    assert.equal(submit.status, 200);
    assert.match(await submit.text(), /Identity verified/);

    assert.deepEqual((await registerPds(sb, NEEDS_VERIFY.nhs, NEEDS_VERIFY.dob)).json, { patient_id: NEEDS_VERIFY.id });
    assert.deepEqual(
      sb.requests().map((r) => [r.endpoint, r.status]),
      [
        ['register_pds', 200],
        ['register_pds', 200],
        ['verify_page', 200],
        ['verify_submit', 200],
        ['register_pds', 200],
      ],
    );
  });

  void it('404s an unknown verification token on GET and POST', async () => {
    const get = await fetch(`${sb.url}/verify/deadbeef`);
    assert.equal(get.status, 404);
    assert.match(await get.text(), /not valid/);
    assert.equal((await fetch(`${sb.url}/verify/deadbeef`, { method: 'POST' })).status, 404);
  });

  void it('treats a patient marked verified as needing no verification', async () => {
    assert.deepEqual((await registerPds(sb, ALREADY_VERIFIED.nhs, ALREADY_VERIFIED.dob)).json, {
      patient_id: ALREADY_VERIFIED.id,
    });
  });

  void it('addPatient and markVerified change answers; reset() restores the initial patients', async () => {
    sb.addPatient({ nhsNumber: UNSEEDED[1], dob: '2001-02-03', patientId: '2001', needsVerification: true });
    assert.ok('login_url' in (((await registerPds(sb, UNSEEDED[1], '2001-02-03')).json ?? {}) as object));
    sb.markVerified(UNSEEDED[1]);
    assert.deepEqual((await registerPds(sb, UNSEEDED[1], '2001-02-03')).json, { patient_id: '2001' });
    sb.markVerified(NEEDS_VERIFY.nhs);
    sb.reset();
    assert.equal((await registerPds(sb, UNSEEDED[1], '2001-02-03')).status, 404);
    assert.ok('login_url' in (((await registerPds(sb, NEEDS_VERIFY.nhs, NEEDS_VERIFY.dob)).json ?? {}) as object));
  });

  void it('rejects invalid patients and unknown NHS numbers programmatically', () => {
    assert.throws(() => sb.addPatient({ nhsNumber: '9434765918', dob: '2000-01-01', patientId: '5' }));
    assert.throws(() => sb.addPatient({ nhsNumber: UNSEEDED[2], dob: '2000-02-30', patientId: '5' }));
    assert.throws(() => sb.addPatient({ nhsNumber: UNSEEDED[2], dob: '2000-01-01', patientId: PLAIN.id }), /already/);
    assert.throws(() => sb.markVerified(UNSEEDED[2]));
  });
});

void describe('sandbox: booking links and messages', () => {
  let sb: Sandbox;
  useSandbox((started) => (sb = started));

  const linkBody = { appointment_type_id: '1', location_id: '5', patient_id: PLAIN.id };

  void it('creates booking links with counter ids and the §2.3 fields, and serves them by id', async () => {
    const res = await call(sb, 'POST', '/v1/booking_links', {
      ...linkBody,
      expiry_date: '2099-05-29',
      maximum_use_count: 1,
    });
    assert.equal(res.status, 200);
    const link = res.json as Record<string, unknown>;
    assert.equal(link.id, '5001');
    assert.match(String(link.short_link), new RegExp(`^${sb.url}/s/[\\w-]+$`));
    assert.equal(link.active, true);
    assert.equal(link.expiry_date, '2099-05-29T23:59:59.999Z');
    assert.equal(link.maximum_uses, 1);
    assert.equal(link.number_of_uses, 0);
    assert.equal(link.open_count, 0);
    assert.equal(link.unlimited_use, false);
    assert.deepEqual((link.meta as Record<string, unknown>).appointment_type_id, ['1']);

    const second = (await call(sb, 'POST', '/v1/booking_links', { appointment_type_id: '2', location_id: '6' })).json;
    assert.equal((second as { id: string; unlimited_use: boolean }).id, '5002');
    assert.equal((second as { unlimited_use: boolean }).unlimited_use, true);

    const got = await call(sb, 'GET', '/v1/booking_links/5001');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, link);
    assert.equal((await call(sb, 'GET', '/v1/booking_links/4999')).status, 404);
    assert.deepEqual(
      sb.bookingLinks().map((l) => [l.id, l.patientId, l.url]),
      [
        ['5001', PLAIN.id, link.short_link],
        ['5002', undefined, (second as { short_link: string }).short_link],
      ],
    );
  });

  void it('counts opens of the short link', async () => {
    const link = (await call(sb, 'POST', '/v1/booking_links', linkBody)).json as { short_link: string };
    assert.equal((await fetch(link.short_link)).status, 200);
    const got = (await call(sb, 'GET', '/v1/booking_links/5001')).json as { open_count: number };
    assert.equal(got.open_count, 1);
  });

  void it('validates booking link bodies and 404s an unknown patient', async () => {
    const res = await call(sb, 'POST', '/v1/booking_links', {
      location_id: 'five',
      expiry_date: '2023-13-01',
      maximum_use_count: 1.5,
    });
    assert.deepEqual(
      issues(res)
        .map((i) => i.path.join('.'))
        .sort(),
      ['appointment_type_id', 'expiry_date', 'location_id', 'maximum_use_count'],
    );
    assert.equal((await call(sb, 'POST', '/v1/booking_links', { ...linkBody, patient_id: '777' })).status, 404);
    assert.deepEqual(sb.bookingLinks(), []);
  });

  void it('sends messages with counter ids and the §3.1 response, and serves them by id', async () => {
    await call(sb, 'POST', '/v1/booking_links', linkBody);
    const res = await call(sb, 'POST', '/v1/messages/send', {
      patient_id: PLAIN.id,
      message_type: 'sms',
      message_string: 'Book here',
      short_link_id: '5001',
    });
    assert.equal(res.status, 200);
    const sent = res.json as Record<string, unknown>;
    assert.equal(sent.message_id, '9001');
    assert.equal(sent.content, 'Book here');
    assert.ok(!Number.isNaN(Date.parse(String(sent.created_at))));
    for (const k of ['snomed_code', 'auth_token', 'confirm_write_to_record_url', 'submitted_by', 'send_at']) {
      assert.equal(sent[k], null, k);
    }
    assert.equal(sent.write_to_record, false);

    const got = await call(sb, 'GET', '/v1/messages/9001');
    assert.equal(got.status, 200);
    assert.deepEqual((got.json as { id: string; patient: unknown }).id, '9001');
    assert.deepEqual((got.json as { patient: unknown }).patient, { id: PLAIN.id });
    assert.equal((await call(sb, 'GET', '/v1/messages/9002')).status, 404);
    assert.deepEqual(
      sb.messages().map((m) => [m.id, m.patientId, m.messageType, m.text, m.shortLinkId]),
      [['9001', PLAIN.id, 'sms', 'Book here', '5001']],
    );
  });

  void it('validates message bodies, 404s an unknown patient, 400s an unknown short_link_id', async () => {
    const bad = await call(sb, 'POST', '/v1/messages/send', {
      patient_id: PLAIN.id,
      message_type: 'pigeon',
      message_string: '',
    });
    assert.deepEqual(
      issues(bad).map((i) => [i.code, i.path.join('.')]),
      [
        ['invalid_value', 'message_type'],
        ['too_small', 'message_string'],
      ],
    );
    const ok = { patient_id: PLAIN.id, message_type: 'hero', message_string: 'hi' };
    assert.equal((await call(sb, 'POST', '/v1/messages/send', { ...ok, patient_id: '777' })).status, 404);
    const link = await call(sb, 'POST', '/v1/messages/send', { ...ok, short_link_id: '5999' });
    assert.deepEqual(
      issues(link).map((i) => i.path),
      [['short_link_id']],
    );
    assert.deepEqual(sb.messages(), []);
  });
});

void describe('sandbox: rate limit (injected clock)', () => {
  const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
  let clock = T0;
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({ now: () => clock, rateLimit: { capacity: 2, refillPerSecond: 0.5 } });
  });
  after(async () => {
    await sb.close();
  });
  beforeEach(() => {
    clock = T0;
    sb.reset();
  });

  const ping = () => registerPds(sb, PLAIN.nhs, PLAIN.dob);

  void it('allows a burst of `capacity`, then 429s with delta-seconds until a token refills', async () => {
    assert.equal((await ping()).status, 200);
    assert.equal((await ping()).status, 200);
    const limited = await ping();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '2');
    assert.deepEqual(limited.json, { error: true, statusCode: 429, message: 'Too Many Requests' });
    clock += 1000;
    assert.equal((await ping()).headers.get('retry-after'), '1');
    clock += 1000;
    assert.equal((await ping()).status, 200);
    assert.deepEqual(
      sb.requests().map((r) => r.status),
      [200, 200, 429, 429, 200],
    );
  });

  void it('writes Retry-After as an HTTP-date when configured', async () => {
    sb.setRateLimit({ capacity: 1, refillPerSecond: 0.25, retryAfter: 'http-date' });
    assert.equal((await ping()).status, 200);
    const limited = await ping();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), 'Tue, 01 Jan 2030 12:00:04 GMT');
  });

  void it('rounds a fractional wait up to whole seconds, and omits Retry-After when configured', async () => {
    sb.setRateLimit({ capacity: 1, refillPerSecond: 3 });
    await ping();
    assert.equal((await ping()).headers.get('retry-after'), '1');
    sb.setRateLimit({ capacity: 1, refillPerSecond: 1, retryAfter: 'none' });
    await ping();
    const limited = await ping();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), null);
  });

  void it('authenticates before rate limiting: rejected calls spend no token', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await call(sb, 'POST', '/v1/patients/register_pds', {}, {})).status, 401);
    }
    assert.equal((await ping()).status, 200);
    assert.equal((await ping()).status, 200);
    assert.equal((await ping()).status, 429);
  });

  void it('does not limit the verification page or the admin endpoints', async () => {
    sb.setRateLimit({ capacity: 1, refillPerSecond: 0.001 });
    await ping();
    assert.equal((await ping()).status, 429);
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetch(`${sb.url}/verify/unknown`)).status, 404);
      assert.equal((await admin(sb, 'GET', '/state')).status, 200);
    }
  });

  void it('setRateLimit(undefined) lifts the limit; reset() restores the initial one', async () => {
    sb.setRateLimit(undefined);
    for (let i = 0; i < 5; i++) assert.equal((await ping()).status, 200);
    sb.reset();
    await ping();
    await ping();
    assert.equal((await ping()).status, 429);
  });

  void it('marks a booking link inactive once its expiry date has passed', async () => {
    sb.setRateLimit(undefined);
    await call(sb, 'POST', '/v1/booking_links', {
      appointment_type_id: '1',
      location_id: '2',
      expiry_date: '2030-01-02',
    });
    assert.equal(((await call(sb, 'GET', '/v1/booking_links/5001')).json as { active: boolean }).active, true);
    clock = Date.UTC(2030, 0, 3);
    assert.equal(((await call(sb, 'GET', '/v1/booking_links/5001')).json as { active: boolean }).active, false);
    assert.equal(sb.requests()[0]?.at, T0);
  });
});

void describe('sandbox: faults', () => {
  let sb: Sandbox;
  useSandbox((started) => (sb = started));

  const ping = () => registerPds(sb, PLAIN.nhs, PLAIN.dob);
  const send = () =>
    call(sb, 'POST', '/v1/messages/send', { patient_id: PLAIN.id, message_type: 'sms', message_string: 'hi' });

  void it('applies injected faults FIFO, `times` each, to the named endpoint only', async () => {
    sb.injectFault('register_pds', { kind: 'status', status: 500 }, 2);
    sb.injectFault('register_pds', { kind: 'status', status: 502, body: { oops: 1 } });
    assert.equal((await send()).status, 200);
    const first = await ping();
    assert.equal(first.status, 500);
    assert.deepEqual(first.json, { error: true, statusCode: 500, message: 'Injected fault' });
    assert.equal((await ping()).status, 500);
    const third = await ping();
    assert.equal(third.status, 502);
    assert.deepEqual(third.json, { oops: 1 });
    assert.equal((await ping()).status, 200);
    assert.deepEqual(
      sb.requests().map((r) => [r.endpoint, r.status, r.fault]),
      [
        ['send_message', 200, undefined],
        ['register_pds', 500, 'status'],
        ['register_pds', 500, 'status'],
        ['register_pds', 502, 'status'],
        ['register_pds', 200, undefined],
      ],
    );
  });

  void it('checks auth first: a 401 does not use up the fault', async () => {
    sb.injectFault('register_pds', { kind: 'status', status: 503 });
    assert.equal((await call(sb, 'POST', '/v1/patients/register_pds', {}, {})).status, 401);
    assert.equal((await ping()).status, 503);
  });

  void it('rate_limit sends 429 with exactly the given Retry-After, or none', async () => {
    sb.injectFault('register_pds', { kind: 'rate_limit', retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' });
    sb.injectFault('register_pds', { kind: 'rate_limit' });
    const a = await ping();
    assert.equal(a.status, 429);
    assert.equal(a.headers.get('retry-after'), 'Wed, 21 Oct 2015 07:28:00 GMT');
    const b = await ping();
    assert.equal(b.status, 429);
    assert.equal(b.headers.get('retry-after'), null);
  });

  void it('malformed_json is a 200 that does not parse; schema_violation is JSON without the documented fields', async () => {
    sb.injectFault('register_pds', { kind: 'malformed_json' });
    sb.injectFault('register_pds', { kind: 'schema_violation' });
    const a = await ping();
    assert.equal(a.status, 200);
    assert.throws(() => JSON.parse(a.text) as unknown, SyntaxError);
    const b = await ping();
    assert.equal(b.status, 200);
    assert.ok(b.json !== undefined && typeof b.json === 'object');
    assert.ok(!('login_url' in (b.json as object)));
    assert.notEqual(typeof (b.json as { patient_id?: unknown }).patient_id, 'string');
  });

  void it('delay answers normally after the given time', async () => {
    sb.injectFault('register_pds', { kind: 'delay', ms: 150 });
    const start = performance.now();
    const res = await ping();
    assert.ok(performance.now() - start >= 140);
    assert.deepEqual(res.json, { patient_id: PLAIN.id });
    assert.deepEqual(
      sb.requests().map((r) => [r.status, r.fault]),
      [[200, 'delay']],
    );
  });

  void it('reset_before drops the connection with no side effect', async () => {
    sb.injectFault('send_message', { kind: 'reset_before' });
    await assert.rejects(send(), TypeError);
    assert.deepEqual(sb.messages(), []);
    assert.deepEqual(
      sb.requests().map((r) => [r.endpoint, r.status, r.fault]),
      [['send_message', 0, 'reset_before']],
    );
  });

  void it('reset_after performs the side effect, then drops the connection', async () => {
    sb.injectFault('send_message', { kind: 'reset_after' });
    await assert.rejects(send(), TypeError);
    assert.deepEqual(
      sb.messages().map((m) => [m.id, m.text]),
      [['9001', 'hi']],
    );
    assert.deepEqual(
      sb.requests().map((r) => [r.endpoint, r.status, r.fault]),
      [['send_message', 0, 'reset_after']],
    );
    assert.equal((await send()).status, 200, 'the next call is normal');
    assert.equal(sb.messages().length, 2);
  });

  void it('reset() drops pending faults and abandons delayed requests unrecorded', async () => {
    sb.injectFault('register_pds', { kind: 'delay', ms: 5_000 });
    sb.injectFault('register_pds', { kind: 'status', status: 500 });
    const pending = ping().then(
      () => 'answered',
      () => 'dropped',
    );
    await untilSandboxHolds(sb); // the request is now inside its delay
    sb.reset();
    assert.equal(await pending, 'dropped');
    assert.equal((await ping()).status, 200);
    assert.deepEqual(
      sb.requests().map((r) => r.status),
      [200],
    );
  });

  void it('rejects invalid faults', () => {
    assert.throws(() => sb.injectFault('register_pds', { kind: 'status', status: 42 }));
    assert.throws(() => sb.injectFault('register_pds', { kind: 'delay', ms: -1 }));
    assert.throws(() => sb.injectFault('register_pds', { kind: 'reset_after' }, 0));
    assert.throws(() => sb.injectFault('nope' as 'admin', { kind: 'reset_after' }));
  });
});

void describe('sandbox: admin endpoints', () => {
  let sb: Sandbox;
  useSandbox((started) => (sb = started));

  void it('POST /__sandbox/patients adds a patient; bad bodies get 400', async () => {
    const patient = { nhsNumber: UNSEEDED[0], dob: '1999-09-09', patientId: '3001' };
    assert.equal((await admin(sb, 'POST', '/patients', patient)).status, 200);
    assert.deepEqual((await registerPds(sb, UNSEEDED[0], '1999-09-09')).json, { patient_id: '3001' });
    assert.equal((await admin(sb, 'POST', '/patients', { ...patient, nhsNumber: '9434765918' })).status, 400);
    assert.equal((await admin(sb, 'POST', '/patients', { ...patient, patientId: 'abc' })).status, 400);
    assert.equal(
      (await admin(sb, 'POST', '/patients', { ...patient, nhsNumber: UNSEEDED[1], patientId: PLAIN.id })).status,
      400,
    );
    assert.equal((await admin(sb, 'POST', '/patients', '{nope')).status, 400);
  });

  void it('POST /__sandbox/verify marks a patient verified; unknown is 404, bad body 400', async () => {
    assert.equal((await admin(sb, 'POST', '/verify', { nhsNumber: NEEDS_VERIFY.nhs })).status, 200);
    assert.deepEqual((await registerPds(sb, NEEDS_VERIFY.nhs, NEEDS_VERIFY.dob)).json, { patient_id: NEEDS_VERIFY.id });
    assert.equal((await admin(sb, 'POST', '/verify', { nhsNumber: UNSEEDED[2] })).status, 404);
    assert.equal((await admin(sb, 'POST', '/verify', {})).status, 400);
  });

  void it('POST /__sandbox/faults injects faults; bad ones get 400', async () => {
    const ok = await admin(sb, 'POST', '/faults', {
      endpoint: 'register_pds',
      fault: { kind: 'status', status: 503 },
      times: 2,
    });
    assert.equal(ok.status, 200);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 503);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 503);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 200);
    for (const bad of [
      { endpoint: 'register_pds', fault: { kind: 'explode' } },
      { endpoint: 'nowhere', fault: { kind: 'reset_after' } },
      { endpoint: 'register_pds', fault: { kind: 'delay' } },
      { endpoint: 'register_pds', fault: { kind: 'reset_after' }, times: 0 },
    ]) {
      assert.equal((await admin(sb, 'POST', '/faults', bad)).status, 400, JSON.stringify(bad));
    }
  });

  void it('POST /__sandbox/rate-limit sets and clears the limit; bad bodies get 400', async () => {
    assert.equal((await admin(sb, 'POST', '/rate-limit', { capacity: 1, refillPerSecond: 0.001 })).status, 200);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 200);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 429);
    assert.equal((await admin(sb, 'POST', '/rate-limit', null)).status, 200);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 200);
    assert.equal((await admin(sb, 'POST', '/rate-limit', { capacity: 0, refillPerSecond: 1 })).status, 400);
    assert.equal(
      (await admin(sb, 'POST', '/rate-limit', { capacity: 1, refillPerSecond: 1, retryAfter: 'x' })).status,
      400,
    );
  });

  void it('GET /__sandbox/requests lists (and filters) the log, including admin calls', async () => {
    await registerPds(sb, PLAIN.nhs, PLAIN.dob);
    await admin(sb, 'GET', '/state');
    const all = (await admin(sb, 'GET', '/requests')).json as { requests: Array<{ endpoint: string; path: string }> };
    assert.deepEqual(
      all.requests.map((r) => [r.endpoint, r.path]),
      [
        ['register_pds', '/v1/patients/register_pds'],
        ['admin', '/__sandbox/state'],
      ],
    );
    const filtered = await admin(sb, 'GET', '/requests?endpoint=register_pds');
    assert.equal((filtered.json as { requests: unknown[] }).requests.length, 1);
    assert.equal((await admin(sb, 'GET', '/requests?endpoint=bogus')).status, 400);
    assert.equal((await admin(sb, 'GET', '/nothing')).status, 404);
  });

  void it('GET /__sandbox/state shows links and messages; POST /__sandbox/reset clears everything', async () => {
    await call(sb, 'POST', '/v1/booking_links', { appointment_type_id: '1', location_id: '2' });
    await call(sb, 'POST', '/v1/messages/send', { patient_id: PLAIN.id, message_type: 'email', message_string: 'x' });
    const state = (await admin(sb, 'GET', '/state')).json as {
      bookingLinks: Array<{ id: string }>;
      messages: Array<{ id: string }>;
    };
    assert.deepEqual(
      state.bookingLinks.map((l) => l.id),
      ['5001'],
    );
    assert.deepEqual(
      state.messages.map((m) => m.id),
      ['9001'],
    );
    assert.equal((await admin(sb, 'POST', '/reset')).status, 200);
    assert.deepEqual(sb.requests(), []);
    assert.deepEqual((await admin(sb, 'GET', '/state')).json, {
      bookingLinks: [],
      messages: [],
      appointments: [],
      webhooks: [],
      faultCounts: {},
    });
  });
});

void describe('sandbox: options', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({
      apiKey: 'other-key',
      practiceGroupId: '77',
      latencyMs: 100,
      patients: [{ nhsNumber: UNSEEDED[0], dob: '1980-01-01', patientId: '42' }],
    });
  });
  after(async () => {
    await sb.close();
  });

  void it('uses the given credentials, patients and latency', async () => {
    assert.equal(sb.apiKey, 'other-key');
    const start = performance.now();
    assert.deepEqual((await registerPds(sb, UNSEEDED[0], '1980-01-01')).json, { patient_id: '42' });
    assert.ok(performance.now() - start >= 95);
    assert.equal((await registerPds(sb, PLAIN.nhs, PLAIN.dob)).status, 404);
    const wrongGroup = { 'x-api-key': 'other-key', 'x-practice-group-id': '1' };
    assert.equal((await call(sb, 'POST', '/v1/patients/register_pds', {}, wrongGroup)).status, 403);
  });
});

void describe('sandbox: random faults at configured rates', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox();
  });
  after(async () => {
    await sb.close();
  });
  beforeEach(() => {
    sb.reset();
    sb.setFaultRates(undefined);
  });

  /** A request's status, or -1 when the socket was reset. */
  const attempt = async (fn: () => Promise<SandboxResponse>): Promise<SandboxResponse | { status: -1 }> => {
    try {
      return await fn();
    } catch {
      return { status: -1 };
    }
  };
  const ping = () => attempt(() => registerPds(sb, PLAIN.nhs, PLAIN.dob));
  const faultsOf = () => sb.requests().map((r) => r.fault ?? '-');

  const ALL_FAST = {
    server_error: 0.1,
    latency: 0.05,
    timeout: 0.05,
    reset_before: 0.05,
    reset_after: 0.05,
    malformed_json: 0.05,
    schema_violation: 0.05,
    rate_limit_storm: 0.1,
  };

  void it('is deterministic for a seed, and differs for another seed', async () => {
    const sequence = async (seed: number) => {
      sb.reset();
      sb.setFaultRates({ seed, rates: ALL_FAST, latencyMs: 1, timeoutMs: 1 });
      for (let i = 0; i < 150; i++) await ping();
      return { faults: faultsOf(), counts: sb.faultCounts() };
    };
    const a = await sequence(42);
    const b = await sequence(42);
    const c = await sequence(43);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.faults, c.faults);
    assert.ok(a.faults.some((f) => f !== '-'));
  });

  void it('honours the rates over 2,000 requests and counts each kind', async () => {
    sb.setFaultRates({ seed: 7, rates: ALL_FAST, latencyMs: 1, timeoutMs: 1 });
    const seen: Record<string, number> = {};
    const bump = (k: string) => (seen[k] = (seen[k] ?? 0) + 1);
    const N = 2_000;
    for (let i = 0; i < N; i++) {
      const res = await ping();
      if (res.status === -1) bump('reset');
      else if (res.status === 429) {
        assert.equal((res as SandboxResponse).headers.get('retry-after'), '1');
        bump('rate_limit_storm');
      } else if (res.status >= 500) {
        assert.ok([500, 502, 503].includes(res.status));
        bump('server_error');
      } else if (res.status === 200 && (res as SandboxResponse).json === undefined) bump('malformed_json');
      else if (res.status === 200 && (res as SandboxResponse).text === '{"patient_id":null}') bump('schema_violation');
      else assert.deepEqual((res as SandboxResponse).json, { patient_id: PLAIN.id });
    }
    const counts = sb.faultCounts();
    for (const [kind, rate] of Object.entries(ALL_FAST)) {
      const n = counts[kind] ?? 0;
      const expected = rate * N;
      // Over 5 standard deviations away would be a broken PRNG or draw, not bad luck.
      const sd = Math.sqrt(N * rate * (1 - rate));
      assert.ok(Math.abs(n - expected) < 5 * sd, `${kind}: ${n} faults, expected about ${expected}`);
    }
    assert.equal(seen.server_error, counts.server_error);
    assert.equal(seen.rate_limit_storm, counts.rate_limit_storm);
    assert.equal(seen.malformed_json, counts.malformed_json);
    assert.equal(seen.schema_violation, counts.schema_violation);
    assert.equal(seen.reset, (counts.reset_before ?? 0) + (counts.reset_after ?? 0));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.equal(sb.requests().filter((r) => r.fault !== undefined).length, total);
    const state = (await admin(sb, 'GET', '/state')).json as { faultCounts: Record<string, number> };
    assert.deepEqual(state.faultCounts, counts);
  });

  void it('reset_after processes the request; reset_before does not', async () => {
    const send = () =>
      attempt(() =>
        call(sb, 'POST', '/v1/messages/send', { patient_id: PLAIN.id, message_type: 'sms', message_string: 'hi' }),
      );
    sb.setFaultRates({ rates: { reset_after: 1 } });
    assert.equal((await send()).status, -1);
    assert.equal(sb.messages().length, 1);
    sb.setFaultRates({ rates: { reset_before: 1 } });
    assert.equal((await send()).status, -1);
    assert.equal(sb.messages().length, 1);
    assert.deepEqual(sb.faultCounts(), { reset_after: 1, reset_before: 1 });
  });

  void it('timeout holds the response for timeoutMs, latency for latencyMs, then answer normally', async () => {
    sb.setFaultRates({ rates: { timeout: 1 }, timeoutMs: 300 });
    let start = performance.now();
    let res = await ping();
    assert.ok(performance.now() - start >= 290);
    assert.equal(res.status, 200);
    sb.setFaultRates({ rates: { latency: 1 }, latencyMs: 100 });
    start = performance.now();
    res = await ping();
    assert.ok(performance.now() - start >= 95);
    assert.equal(res.status, 200);
    assert.deepEqual(sb.faultCounts(), { timeout: 1, latency: 1 });
  });

  void it('records the random fault each request drew, so its log tells a timeout from a latency', async () => {
    sb.setFaultRates({ rates: { timeout: 1 }, timeoutMs: 1 });
    await ping();
    sb.setFaultRates({ rates: { latency: 1 }, latencyMs: 1 });
    await ping();
    sb.injectFault('register_pds', { kind: 'delay', ms: 1 });
    await ping();
    assert.deepEqual(
      sb.requests().map((r) => [r.fault, r.randomFault]),
      [
        ['delay', 'timeout'],
        ['delay', 'latency'],
        ['delay', undefined],
      ],
    );
  });

  void it('scripted faults come first; only the listed /v1 endpoints draw; admin and verify never do', async () => {
    sb.setFaultRates({ rates: { server_error: 1 }, endpoints: ['register_pds'] });
    sb.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '5' });
    assert.equal((await ping()).status, 429);
    assert.ok([500, 502, 503].includes((await ping()).status));
    const link = await call(sb, 'POST', '/v1/booking_links', { appointment_type_id: '1', location_id: '5' });
    assert.equal(link.status, 200);
    assert.equal((await admin(sb, 'GET', '/state')).status, 200);
    assert.deepEqual(sb.faultCounts(), { rate_limit: 1, server_error: 1 });
  });

  void it('POST /__sandbox/fault-rates sets and clears rates; bad bodies get 400', async () => {
    assert.equal((await admin(sb, 'POST', '/fault-rates', { seed: 1, rates: { server_error: 1 } })).status, 200);
    assert.ok((await ping()).status >= 500);
    assert.equal((await admin(sb, 'POST', '/fault-rates', null)).status, 200);
    assert.equal((await ping()).status, 200);
    const bad = [
      { rates: { server_error: 0.6, timeout: 0.5 } },
      { rates: { lightning: 0.1 } },
      { rates: { server_error: -0.1 } },
      { rates: { server_error: 2 } },
      { rates: {}, endpoints: ['nowhere'] },
      { rates: {}, timeoutMs: -1 },
      { rates: {}, seed: 1.5 },
      {},
      '{nope',
    ];
    for (const body of bad) {
      const res = await admin(sb, 'POST', '/fault-rates', body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((await ping()).status, 200, 'a rejected body leaves rates as they were');
    assert.throws(() => sb.setFaultRates({ rates: { server_error: 1.5 } }));
  });

  void it('starts with the faultRates option, and reset() restores it and clears the counts', async () => {
    const own = await startSandbox({ faultRates: { rates: { malformed_json: 1 } } });
    try {
      const get = () => call(own, 'POST', '/v1/patients/register_pds', { nhs_number: PLAIN.nhs, dob: PLAIN.dob });
      assert.equal((await get()).json, undefined);
      own.setFaultRates(undefined);
      assert.equal((await get()).status, 200);
      assert.deepEqual(own.faultCounts(), { malformed_json: 1 });
      own.reset();
      assert.deepEqual(own.faultCounts(), {});
      assert.equal((await get()).json, undefined);
    } finally {
      await own.close();
    }
  });
});
