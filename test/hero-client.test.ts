import { createServer } from 'node:http';
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ZodError } from 'zod';
import {
  HERO_STAGING_URL,
  HeroApiError,
  HeroClient,
  HeroForbiddenError,
  HeroInvalidRequestError,
  HeroNetworkError,
  HeroNotFoundError,
  HeroRateLimitedError,
  HeroServerError,
  HeroTimeoutError,
  HeroUnauthorizedError,
  HeroUnexpectedResponseError,
  HeroUnexpectedStatusError,
  loadHeroConfig,
  parseRetryAfter,
} from '../src/hero';
import { ConfigError } from '../src/shared/errors';
import { startSandbox, type Sandbox } from '../tools/sandbox';
import { untilSandboxHolds } from './support/fixtures';

/** Synthetic test patients seeded by the sandbox (not real people). */
const PLAIN = { nhsNumber: '9434765919', dob: '1992-01-01', id: '1001' };
const NEEDS_VERIFY = { nhsNumber: '9990000018', dob: '1985-06-15', id: '1002' };
const UNSEEDED_NHS = '9990000034';

/** A distinctive key, so a leak into any error text is easy to spot. */
const API_KEY = 'sk-test-SECRET-7f3a9c1e';
const TIMEOUT_MS = 300;

const trace = { nhsNumber: PLAIN.nhsNumber, dob: PLAIN.dob };
const link = { appointmentTypeId: '1', locationId: '5', patientId: PLAIN.id };
const message = { patientId: PLAIN.id, messageType: 'sms' as const, text: 'Please book' };

/** Rejects with an error of `cls`, returned for further checks. */
async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${cls.name}, but the call succeeded`);
}

function assertNoSecrets(err: unknown, ...secrets: string[]): void {
  const texts = [(err as Error).message, String(err), JSON.stringify(err), (err as Error).stack ?? ''];
  for (const secret of secrets) {
    for (const text of texts) assert.ok(!text.includes(secret), `error text leaks ${secret.slice(0, 4)}…: ${text}`);
  }
}

void describe('HeroClient against the sandbox', () => {
  let sb: Sandbox;
  let client: HeroClient;
  const clientWith = (over: Partial<{ apiKey: string; practiceGroupId: string; timeoutMs: number }> = {}) =>
    new HeroClient({
      apiKey: API_KEY,
      practiceGroupId: sb.practiceGroupId,
      baseUrl: sb.url,
      timeoutMs: TIMEOUT_MS,
      ...over,
    });

  before(async () => {
    sb = await startSandbox({ apiKey: API_KEY });
    client = clientWith();
  });
  after(async () => {
    await sb.close();
  });
  beforeEach(() => sb.reset());

  void describe('successful calls', () => {
    void it('registerPds returns the patient id and sends both auth headers to the right path', async () => {
      assert.deepEqual(await client.registerPds(trace), { kind: 'patient', patientId: PLAIN.id });
      const [req] = sb.requests();
      assert.equal(req?.method, 'POST');
      assert.equal(req?.path, '/v1/patients/register_pds');
      assert.equal(req?.status, 200);
    });

    void it('registerPds reports verification_required with the login URL, then the id once verified', async () => {
      const first = await client.registerPds({ nhsNumber: NEEDS_VERIFY.nhsNumber, dob: NEEDS_VERIFY.dob });
      assert.equal(first.kind, 'verification_required');
      assert.ok(first.kind === 'verification_required' && first.loginUrl.startsWith(`${sb.url}/verify/`));
      sb.markVerified(NEEDS_VERIFY.nhsNumber);
      assert.deepEqual(await client.registerPds({ nhsNumber: NEEDS_VERIFY.nhsNumber, dob: NEEDS_VERIFY.dob }), {
        kind: 'patient',
        patientId: NEEDS_VERIFY.id,
      });
    });

    void it('createBookingLink and sendMessage map fields both ways', async () => {
      const created = await client.createBookingLink({ ...link, expiryDate: '2099-01-31', maximumUseCount: 1 });
      assert.equal(created.id, '5001');
      assert.equal(created.url, sb.bookingLinks()[0]?.url);
      assert.deepEqual(sb.requests()[0]?.body, {
        appointment_type_id: '1',
        location_id: '5',
        patient_id: PLAIN.id,
        expiry_date: '2099-01-31',
        maximum_use_count: 1,
      });
      const sent = await client.sendMessage({ ...message, text: `Book: ${created.url}`, shortLinkId: created.id });
      assert.deepEqual(sent, { messageId: '9001' });
      assert.deepEqual(
        sb.messages().map((m) => [m.patientId, m.messageType, m.text, m.shortLinkId]),
        [[PLAIN.id, 'sms', `Book: ${created.url}`, '5001']],
      );
    });
  });

  void describe('status table', () => {
    void it('400 from real sandbox validation → HeroInvalidRequestError with the issue paths', async () => {
      const err = await rejection(client.sendMessage({ ...message, shortLinkId: '4242' }), HeroInvalidRequestError);
      assert.deepEqual(err.issues, [{ path: 'short_link_id', code: 'custom' }]);
      assert.equal(err.status, 400);
      assert.equal(err.transient, false);
      assert.equal(err.endpoint, 'send_message');
    });

    void it('400 with several issues keeps every path; a 400 without the documented body has none', async () => {
      sb.injectFault('register_pds', {
        kind: 'status',
        status: 400,
        body: {
          error: true,
          statusCode: 400,
          message: [
            { code: 'invalid_type', expected: 'string', path: ['nhs_number'] },
            { code: 'custom', expected: 'date', path: ['dob'] },
          ],
        },
      });
      sb.injectFault('register_pds', { kind: 'status', status: 400, body: 'Bad Request' });
      const err = await rejection(client.registerPds(trace), HeroInvalidRequestError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ['nhs_number', 'dob'],
      );
      assert.deepEqual((await rejection(client.registerPds(trace), HeroInvalidRequestError)).issues, []);
    });

    void it('401 → HeroUnauthorizedError (wrong key)', async () => {
      const err = await rejection(clientWith({ apiKey: 'sk-test-WRONG' }).registerPds(trace), HeroUnauthorizedError);
      assert.equal(err.status, 401);
      assert.equal(sb.requests()[0]?.status, 401);
    });

    void it('403 → HeroForbiddenError (another practice group)', async () => {
      const err = await rejection(clientWith({ practiceGroupId: '999' }).createBookingLink(link), HeroForbiddenError);
      assert.equal(err.status, 403);
      assert.equal(err.endpoint, 'create_booking_link');
    });

    void it('404 → HeroNotFoundError for an unknown NHS number and an unknown patient id', async () => {
      const a = await rejection(client.registerPds({ nhsNumber: UNSEEDED_NHS, dob: '2000-01-01' }), HeroNotFoundError);
      assert.equal(a.endpoint, 'register_pds');
      const b = await rejection(client.sendMessage({ ...message, patientId: '123456' }), HeroNotFoundError);
      assert.equal(b.endpoint, 'send_message');
      await rejection(client.createBookingLink({ ...link, patientId: '123456' }), HeroNotFoundError);
    });

    void it('429 → HeroRateLimitedError, retryAfterMs from delta-seconds', async () => {
      sb.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '7' });
      const err = await rejection(client.registerPds(trace), HeroRateLimitedError);
      assert.equal(err.retryAfterMs, 7000);
      assert.equal(err.transient, true);
    });

    void it('429 → HeroRateLimitedError, retryAfterMs from an HTTP-date', async () => {
      sb.injectFault('register_pds', { kind: 'rate_limit', retryAfter: new Date(Date.now() + 120_000).toUTCString() });
      const err = await rejection(client.registerPds(trace), HeroRateLimitedError);
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 115_000 && err.retryAfterMs <= 120_000);
    });

    void it('429 → HeroRateLimitedError with retryAfterMs undefined when Retry-After is absent', async () => {
      sb.injectFault('register_pds', { kind: 'rate_limit' });
      const err = await rejection(client.registerPds(trace), HeroRateLimitedError);
      assert.equal(err.retryAfterMs, undefined);
    });

    void it("429 from the sandbox's own token bucket", async () => {
      sb.setRateLimit({ capacity: 1, refillPerSecond: 0.2 });
      await client.registerPds(trace);
      const err = await rejection(client.registerPds(trace), HeroRateLimitedError);
      assert.equal(err.retryAfterMs, 5000);
    });

    void it('500 and 503 → HeroServerError (transient)', async () => {
      for (const status of [500, 503]) {
        sb.injectFault('send_message', { kind: 'status', status });
        const err = await rejection(client.sendMessage(message), HeroServerError);
        assert.equal(err.status, status);
        assert.equal(err.transient, true);
      }
    });

    void it('418 → HeroUnexpectedStatusError', async () => {
      sb.injectFault('register_pds', { kind: 'status', status: 418 });
      const err = await rejection(client.registerPds(trace), HeroUnexpectedStatusError);
      assert.equal(err.status, 418);
      assert.match(err.message, /418/);
    });
  });

  void describe('bad responses and transport failures', () => {
    void it('a 200 that is not JSON → HeroUnexpectedResponseError naming the endpoint', async () => {
      sb.injectFault('register_pds', { kind: 'malformed_json' });
      const err = await rejection(client.registerPds(trace), HeroUnexpectedResponseError);
      assert.equal(err.endpoint, 'register_pds');
      assert.match(err.message, /register_pds/);
      assert.match(err.problem, /not JSON/);
    });

    void it('a 200 that breaks the schema → HeroUnexpectedResponseError naming the endpoint', async () => {
      for (const [endpoint, call] of [
        ['register_pds', () => client.registerPds(trace)],
        ['create_booking_link', () => client.createBookingLink(link)],
        ['send_message', () => client.sendMessage(message)],
      ] as const) {
        sb.injectFault(endpoint, { kind: 'schema_violation' });
        const err = await rejection(call(), HeroUnexpectedResponseError);
        assert.equal(err.endpoint, endpoint);
        assert.ok(err.message.includes(endpoint));
        assert.equal(err.status, 200);
      }
    });

    void it('no answer within timeoutMs → HeroTimeoutError', async () => {
      sb.injectFault('register_pds', { kind: 'delay', ms: 3_000 });
      const start = performance.now();
      const err = await rejection(client.registerPds(trace), HeroTimeoutError);
      const elapsed = performance.now() - start;
      assert.ok(
        elapsed >= TIMEOUT_MS - 5 && elapsed < 2_000,
        `gave up at the timeout, not at the answer (${elapsed} ms)`,
      );
      assert.equal(err.timeoutMs, TIMEOUT_MS);
      assert.equal(err.transient, true);
    });

    void it('socket reset before processing → HeroNetworkError, nothing sent', async () => {
      sb.injectFault('send_message', { kind: 'reset_before' });
      const err = await rejection(client.sendMessage(message), HeroNetworkError);
      assert.equal(err.transient, true);
      assert.deepEqual(sb.messages(), []);
    });

    void it('socket reset after processing → HeroNetworkError, although the message was sent', async () => {
      sb.injectFault('send_message', { kind: 'reset_after' });
      await rejection(client.sendMessage(message), HeroNetworkError);
      assert.equal(sb.messages().length, 1);
      assert.deepEqual(
        sb.requests().map((r) => [r.status, r.fault]),
        [[0, 'reset_after']],
      );
    });

    void it('nothing listening → HeroNetworkError', async () => {
      const dead = await startSandbox();
      const url = dead.url;
      await dead.close();
      const c = new HeroClient({ apiKey: API_KEY, practiceGroupId: '1', baseUrl: url, timeoutMs: TIMEOUT_MS });
      await rejection(c.registerPds(trace), HeroNetworkError);
    });

    void it("the caller's AbortSignal aborts the call with its reason, not a HeroTimeoutError", async () => {
      // This client would wait for the held answer (5 s < its 20 s timeout): only the abort ends it sooner.
      sb.injectFault('register_pds', { kind: 'delay', ms: 5_000 });
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      const call = clientWith({ timeoutMs: 20_000 }).registerPds(trace, { signal: controller.signal });
      await untilSandboxHolds(sb);
      controller.abort(reason);
      await assert.rejects(call, (err) => err === reason);
      assert.deepEqual(sb.requests(), [], 'aborted while the sandbox still held the request, unanswered');
    });

    void it('an already-aborted signal rejects with its reason', async () => {
      const reason = new Error('already cancelled');
      await assert.rejects(client.sendMessage(message, { signal: AbortSignal.abort(reason) }), (err) => err === reason);
      assert.deepEqual(sb.messages(), []);
    });
  });

  void describe('input validation', () => {
    void it('accepts NHS numbers with spaces or hyphens and sends them normalised', async () => {
      await client.registerPds({ nhsNumber: '943 476 5919', dob: PLAIN.dob });
      await client.registerPds({ nhsNumber: '943-476-5919', dob: PLAIN.dob });
      assert.deepEqual(
        sb.requests().map((r) => r.body),
        [
          { nhs_number: PLAIN.nhsNumber, dob: PLAIN.dob },
          { nhs_number: PLAIN.nhsNumber, dob: PLAIN.dob },
        ],
      );
    });

    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const badTraces: Array<[string, { nhsNumber: string; dob: string }]> = [
      ['bad check digit', { nhsNumber: '9434765918', dob: PLAIN.dob }],
      ['9 digits', { nhsNumber: '943476591', dob: PLAIN.dob }],
      ['letters', { nhsNumber: '94347659AB', dob: PLAIN.dob }],
      ['impossible dob', { nhsNumber: PLAIN.nhsNumber, dob: '2023-02-30' }],
      ['dob not ISO', { nhsNumber: PLAIN.nhsNumber, dob: '01/01/1992' }],
      ['future dob', { nhsNumber: PLAIN.nhsNumber, dob: future }],
    ];
    for (const [what, input] of badTraces) {
      void it(`rejects ${what} with a ZodError before any request, without echoing the NHS number`, async () => {
        const err = await rejection(client.registerPds(input), ZodError);
        assert.deepEqual(sb.requests(), []);
        assertNoSecrets(err, input.nhsNumber, API_KEY);
      });
    }

    void it('rejects bad booking link and message inputs before any request', async () => {
      await rejection(client.createBookingLink({ ...link, locationId: 'five' }), ZodError);
      await rejection(client.createBookingLink({ ...link, expiryDate: '2099-02-30' }), ZodError);
      await rejection(client.createBookingLink({ ...link, maximumUseCount: 0 }), ZodError);
      await rejection(client.sendMessage({ ...message, text: '' }), ZodError);
      await rejection(client.sendMessage({ ...message, messageType: 'pigeon' as 'sms' }), ZodError);
      assert.deepEqual(sb.requests(), []);
    });
  });

  void describe('secrets stay out of errors', () => {
    void it('neither the API key nor the NHS number appears in any Hero error', async () => {
      const errors: unknown[] = [];
      const collect = (p: Promise<unknown>) =>
        p.then(
          () => assert.fail('expected a rejection'),
          (e: unknown) => errors.push(e),
        );
      await collect(client.registerPds({ nhsNumber: UNSEEDED_NHS, dob: '2000-01-01' })); // 404
      await collect(clientWith({ apiKey: `${API_KEY}-old` }).registerPds(trace)); // 401
      await collect(clientWith({ practiceGroupId: '2' }).registerPds(trace)); // 403
      for (const fault of [
        { kind: 'status', status: 400 },
        { kind: 'status', status: 500 },
        { kind: 'status', status: 418 },
        { kind: 'rate_limit', retryAfter: '3' },
        { kind: 'malformed_json' },
        { kind: 'schema_violation' },
        { kind: 'reset_before' },
        { kind: 'delay', ms: TIMEOUT_MS + 200 },
      ] as const) {
        sb.injectFault('register_pds', fault);
        await collect(client.registerPds(trace));
      }
      assert.equal(errors.length, 11);
      for (const err of errors) {
        assert.ok(err instanceof HeroApiError, String(err));
        assertNoSecrets(err, API_KEY, PLAIN.nhsNumber, UNSEEDED_NHS, PLAIN.dob);
      }
    });

    void it('refuses an API key that is not a valid header value, without echoing it', () => {
      assert.throws(
        () => clientWith({ apiKey: `${API_KEY}\nX` }),
        (err: Error) => {
          assert.ok(err instanceof TypeError);
          assertNoSecrets(err, API_KEY);
          return true;
        },
      );
    });

    void it('does not follow redirects, so the API key is never re-sent elsewhere', async () => {
      let leaked = 0;
      const elsewhere = createServer((_req, res) => {
        leaked++;
        res.end('{"patient_id":"666"}');
      });
      await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
      const target = `http://127.0.0.1:${(elsewhere.address() as { port: number }).port}/steal`;
      const redirector = createServer((_req, res) => res.writeHead(307, { location: target }).end());
      await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
      try {
        const client = new HeroClient({
          apiKey: API_KEY,
          practiceGroupId: '1',
          baseUrl: `http://127.0.0.1:${(redirector.address() as { port: number }).port}`,
          timeoutMs: TIMEOUT_MS,
        });
        const err = await rejection(client.registerPds(trace), HeroUnexpectedStatusError);
        assert.equal(err.status, 307);
        assert.equal(leaked, 0);
      } finally {
        redirector.close();
        elsewhere.close();
      }
    });
  });
});

void describe('loadHeroConfig', () => {
  const KEY = 'hk_live_DO-NOT-PRINT-4d2c';

  void it('reports every missing variable in one ConfigError', () => {
    const err = (() => {
      try {
        loadHeroConfig({});
      } catch (e) {
        return e;
      }
      assert.fail('expected a ConfigError');
    })();
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 2);
    assert.match(err.message, /HERO_API_KEY: is required/);
    assert.match(err.message, /HERO_PRACTICE_GROUP_ID: is required/);
  });

  void it('treats empty and blank values as missing', () => {
    assert.throws(
      () => loadHeroConfig({ HERO_API_KEY: '', HERO_PRACTICE_GROUP_ID: '   ' }),
      (e) =>
        e instanceof ConfigError &&
        e.problems.length === 2 &&
        /HERO_PRACTICE_GROUP_ID: must not be empty/.test(e.message),
    );
  });

  void it('defaults to the staging URL and a 10 s timeout', () => {
    const c = loadHeroConfig({ HERO_API_KEY: KEY, HERO_PRACTICE_GROUP_ID: '42' });
    assert.deepEqual(c, { apiKey: KEY, practiceGroupId: '42', baseUrl: HERO_STAGING_URL, timeoutMs: 10_000 });
    assert.equal(HERO_STAGING_URL, 'https://api.staging.htech.app');
  });

  void it('accepts an explicit URL (trailing slash dropped) and timeout', () => {
    const c = loadHeroConfig({
      HERO_API_KEY: KEY,
      HERO_PRACTICE_GROUP_ID: '42',
      HERO_API_BASE_URL: 'http://127.0.0.1:4010/',
      HERO_HTTP_TIMEOUT_MS: '2500',
    });
    assert.equal(c.baseUrl, 'http://127.0.0.1:4010');
    assert.equal(c.timeoutMs, 2500);
  });

  void it('reports a bad URL and a bad timeout together, without the key value', () => {
    for (const [url, timeout] of [
      ['not a url', 'soon'],
      ['ftp://example.com', '0'],
      ['https://api.herohealth.net', '1.5'],
      ['https://api.herohealth.net', '-10'],
      ['https://api.herohealth.net', '400000'],
    ]) {
      assert.throws(
        () =>
          loadHeroConfig({
            HERO_API_KEY: KEY,
            HERO_PRACTICE_GROUP_ID: '42',
            HERO_API_BASE_URL: url,
            HERO_HTTP_TIMEOUT_MS: timeout,
          }),
        (e) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /HERO_HTTP_TIMEOUT_MS/);
          if (url !== 'https://api.herohealth.net')
            assert.match(e.message, /HERO_API_BASE_URL: must be an http\(s\) URL/);
          assert.ok(!e.message.includes(KEY) && !JSON.stringify(e).includes(KEY) && !String(e).includes(KEY));
          return true;
        },
        `${url} / ${timeout}`,
      );
    }
  });
});

void describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 0);

  void it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('7'), 7000);
    assert.equal(parseRetryAfter(' 120 '), 120_000);
    assert.equal(parseRetryAfter('0'), 0);
  });

  void it('reads an HTTP-date relative to now, never negative', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:26:00 GMT', now), 0);
  });

  void it('returns undefined for absent or unparseable values', () => {
    for (const v of [null, undefined, '', '  ', 'soon', '-5', '1.5', '21 Oct 2015 07:28:00 GMT', 'Wed, 99 Foo 2015']) {
      assert.equal(parseRetryAfter(v, now), undefined, String(v));
    }
  });
});
