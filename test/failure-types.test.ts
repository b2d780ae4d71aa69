import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { toApplicationFailure } from '../src/activities/failures';
import * as hero from '../src/hero';
import {
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
  type TraceRequest,
} from '../src/hero';
import { type Fault, type Sandbox, type SandboxEndpoint, startSandbox } from '../tools/sandbox';
import { newPatient } from './support/fixtures';

/**
 * The `ApplicationFailure.type` strings are a contract: the workflow's retry policies, other services
 * and recorded histories match on them. They are written out here, not taken from FailureType, so
 * that renaming one fails this file.
 */
const TIMEOUT_MS = 1_500; // a loopback call under a loaded CI machine has taken over 300 ms

type HeroErrorClass = abstract new (...args: never[]) => HeroApiError;

/** Every Hero error class, the answer from Hero that produces it, and the failure type it must become. */
const TABLE: { cls: HeroErrorClass; answer: string; fault?: Fault; type: string }[] = [
  { cls: HeroInvalidRequestError, answer: '400', fault: { kind: 'status', status: 400 }, type: 'HeroInvalidRequest' },
  { cls: HeroUnauthorizedError, answer: '401', fault: { kind: 'status', status: 401 }, type: 'HeroUnauthorized' },
  { cls: HeroForbiddenError, answer: '403', fault: { kind: 'status', status: 403 }, type: 'HeroForbidden' },
  { cls: HeroNotFoundError, answer: '404', fault: { kind: 'status', status: 404 }, type: 'HeroPatientNotFound' },
  { cls: HeroRateLimitedError, answer: '429', fault: { kind: 'rate_limit', retryAfter: '1' }, type: 'HeroRateLimited' },
  { cls: HeroServerError, answer: '503', fault: { kind: 'status', status: 503 }, type: 'HeroServerError' },
  {
    cls: HeroUnexpectedStatusError,
    answer: '418',
    fault: { kind: 'status', status: 418 },
    type: 'HeroUnexpectedStatus',
  },
  {
    cls: HeroUnexpectedResponseError,
    answer: 'a 200 that is not JSON',
    fault: { kind: 'malformed_json' },
    type: 'HeroUnexpectedResponse',
  },
  {
    cls: HeroTimeoutError,
    answer: 'no answer in time',
    fault: { kind: 'delay', ms: TIMEOUT_MS + 700 },
    type: 'HeroTimeout',
  },
  { cls: HeroNetworkError, answer: 'a reset connection', fault: { kind: 'reset_before' }, type: 'HeroNetworkError' },
];

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
}

function asFailure(err: unknown, idempotent: boolean): ApplicationFailure {
  const failure = toApplicationFailure(err, { idempotent });
  assert.ok(failure instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(failure)}`);
  return failure;
}

describe('Hero failures become ApplicationFailures of one stable type per error class', () => {
  let sb: Sandbox;
  let client: HeroClient;
  const patient = newPatient();
  const trace = { nhsNumber: patient.nhsNumber, dob: patient.dob };
  const link = { appointmentTypeId: '1', locationId: '5', patientId: patient.patientId };
  const message = { patientId: patient.patientId, messageType: 'sms' as const, text: 'Please book' };

  /** A real Hero error from the client over HTTP, after the sandbox answers `fault` once on `endpoint`. */
  async function heroError(endpoint: SandboxEndpoint, fault: Fault | undefined, call: () => Promise<unknown>) {
    if (fault) sb.injectFault(endpoint, fault);
    const err = await rejection(call());
    assert.ok(err instanceof HeroApiError, `expected a HeroApiError, got ${String(err)}`);
    return err;
  }

  before(async () => {
    sb = await startSandbox();
    client = new HeroClient({
      apiKey: sb.apiKey,
      practiceGroupId: sb.practiceGroupId,
      baseUrl: sb.url,
      timeoutMs: TIMEOUT_MS,
    });
  });
  after(() => sb.close());
  beforeEach(() => {
    sb.reset();
    sb.addPatient(patient);
  });

  it('has a row for every Hero error class the library exports', () => {
    const exported = (Object.values(hero) as unknown[])
      .filter((v): v is HeroErrorClass => typeof v === 'function' && v.prototype instanceof HeroApiError)
      .map((c) => c.name)
      .sort();
    assert.deepEqual([...new Set(TABLE.map((row) => row.cls.name))].sort(), exported);
  });

  for (const { cls, answer, fault, type } of TABLE) {
    it(`turns ${answer} on register_pds into ${cls.name}, failure type ${type}`, async () => {
      const err = await heroError('register_pds', fault, () => client.registerPds(trace));
      assert.ok(err instanceof cls, `expected ${cls.name}, got ${err.name}`);
      assert.equal(err.failureType, type);
      const failure = asFailure(err, true);
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, false, 'the retry decision is the policy’s, by type');
      assert.deepEqual(failure.details, [{ endpoint: 'register_pds', status: err.status ?? null }]);
    });
  }

  describe('404', () => {
    it('is HeroPatientNotFound on register_pds: PDS has no such patient', async () => {
      const unknown = newPatient(); // never added to the sandbox: a real 404, not an injected one
      const err = await heroError('register_pds', undefined, () =>
        client.registerPds({ nhsNumber: unknown.nhsNumber, dob: unknown.dob }),
      );
      assert.equal(asFailure(err, true).type, 'HeroPatientNotFound');
    });

    it('is HeroNotFound on create_booking_link and send_message: an id we sent is unknown', async () => {
      const stranger = '123456';
      const a = await heroError('create_booking_link', undefined, () =>
        client.createBookingLink({ ...link, patientId: stranger }),
      );
      const b = await heroError('send_message', undefined, () =>
        client.sendMessage({ ...message, patientId: stranger }),
      );
      for (const err of [a, b]) {
        assert.ok(err instanceof HeroNotFoundError);
        assert.equal(err.status, 404);
        // Refused before sending, so the non-idempotent calls keep their own type too.
        assert.equal(asFailure(err, false).type, 'HeroNotFound');
        assert.equal(asFailure(err, true).type, 'HeroNotFound');
      }
    });
  });

  describe('calls that are not idempotent', () => {
    const maybeProcessed: { answer: string; fault: Fault; cause: string }[] = [
      { answer: '500', fault: { kind: 'status', status: 500 }, cause: 'HeroServerError' },
      { answer: '418', fault: { kind: 'status', status: 418 }, cause: 'HeroUnexpectedStatus' },
      { answer: 'a 200 that is not JSON', fault: { kind: 'malformed_json' }, cause: 'HeroUnexpectedResponse' },
      { answer: 'no answer in time', fault: { kind: 'delay', ms: TIMEOUT_MS + 700 }, cause: 'HeroTimeout' },
      {
        answer: 'a connection reset after Hero processed it',
        fault: { kind: 'reset_after' },
        cause: 'HeroNetworkError',
      },
    ];
    for (const { answer, fault, cause } of maybeProcessed) {
      it(`turns ${answer} on send_message into HeroOutcomeUncertain, naming ${cause} as its cause`, async () => {
        const err = await heroError('send_message', fault, () => client.sendMessage(message));
        assert.notEqual(err.processed, 'no');
        const failure = asFailure(err, false);
        assert.equal(failure.type, 'HeroOutcomeUncertain');
        assert.match(failure.message, /Hero may have acted on the request, so it is not repeated$/);
        assert.deepEqual(failure.details, [{ endpoint: 'send_message', status: err.status ?? null, cause }]);
        assert.equal(asFailure(err, true).type, cause, 'an idempotent call keeps the error’s own type');
      });
    }

    const notProcessed: { answer: string; fault: Fault; type: string }[] = [
      { answer: '400', fault: { kind: 'status', status: 400 }, type: 'HeroInvalidRequest' },
      { answer: '401', fault: { kind: 'status', status: 401 }, type: 'HeroUnauthorized' },
      { answer: '403', fault: { kind: 'status', status: 403 }, type: 'HeroForbidden' },
      { answer: '429', fault: { kind: 'rate_limit' }, type: 'HeroRateLimited' },
    ];
    for (const { answer, fault, type } of notProcessed) {
      it(`keeps ${type} for ${answer} on create_booking_link: Hero did not act on it`, async () => {
        const err = await heroError('create_booking_link', fault, () => client.createBookingLink(link));
        assert.equal(err.processed, 'no');
        assert.equal(asFailure(err, false).type, type);
        assert.equal(sb.bookingLinks().length, 0);
      });
    }

    it('keeps HeroNetworkError for a refused connection: the request never left', async () => {
      const dead = await startSandbox();
      const url = dead.url;
      await dead.close();
      const offline = new HeroClient({ apiKey: 'k', practiceGroupId: '1', baseUrl: url, timeoutMs: TIMEOUT_MS });
      const err = await rejection(offline.sendMessage(message));
      assert.ok(err instanceof HeroNetworkError, String(err));
      assert.equal(err.processed, 'no');
      assert.equal(asFailure(err, false).type, 'HeroNetworkError');
    });
  });

  describe('Retry-After', () => {
    it('becomes nextRetryDelay, on an idempotent call and on one that is not', async () => {
      const pds = await heroError('register_pds', { kind: 'rate_limit', retryAfter: '7' }, () =>
        client.registerPds(trace),
      );
      assert.equal(asFailure(pds, true).nextRetryDelay, 7_000);
      const send = await heroError('send_message', { kind: 'rate_limit', retryAfter: '42' }, () =>
        client.sendMessage(message),
      );
      const failure = asFailure(send, false);
      assert.equal(failure.type, 'HeroRateLimited');
      assert.equal(failure.nextRetryDelay, 42_000);
    });

    it('becomes nextRetryDelay from an HTTP-date, counted from now', async () => {
      const at = new Date(Date.now() + 30_000).toUTCString();
      const err = await heroError('register_pds', { kind: 'rate_limit', retryAfter: at }, () =>
        client.registerPds(trace),
      );
      const ms = Number(asFailure(err, true).nextRetryDelay);
      assert.ok(ms > 28_000 && ms <= 30_000, `delay ${ms}`);
    });

    it('leaves nextRetryDelay unset without Retry-After, so the policy backs off', async () => {
      const err = await heroError('register_pds', { kind: 'rate_limit' }, () => client.registerPds(trace));
      assert.equal(asFailure(err, true).nextRetryDelay, undefined);
    });
  });

  describe('input refused before calling Hero', () => {
    async function refused(input: unknown): Promise<ApplicationFailure> {
      const err = await rejection(client.registerPds(input as TraceRequest));
      assert.ok(err instanceof ZodError, String(err));
      assert.deepEqual(sb.requests(), [], 'no request reached Hero');
      const failure = asFailure(err, true);
      assert.equal(failure.type, 'HeroInvalidRequest');
      assert.equal(failure.nonRetryable, true);
      return failure;
    }

    it('lists each problem by field, without echoing values', async () => {
      const failure = await refused({ nhsNumber: '9434765918', dob: patient.dob, dobb: patient.dob });
      assert.match(failure.message, /^input rejected before calling Hero: /);
      assert.match(failure.message, /nhsNumber: [^;]+; dobb: unknown field/);
      assert.ok(!failure.message.includes('9434765918') && !failure.message.includes(patient.dob), failure.message);
    });

    it('does not name an unknown field whose name could be patient data', async () => {
      const failure = await refused({ ...trace, [patient.nhsNumber]: true });
      assert.match(failure.message, /\(input\): an unknown field whose name is not shown/);
      assert.ok(!failure.message.includes(patient.nhsNumber), failure.message);
    });
  });
});
