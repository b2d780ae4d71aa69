import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import { HeroClient } from '../src/hero/client';
import { startSandbox, type Sandbox } from '../tools/sandbox';
import { FailureType } from '../src/shared/failure-types';
import { newPatient, untilSandboxHolds } from './support/fixtures';
import { freePort } from './support/processes';

/** The activities against the sandbox over real HTTP, in a mock activity context. */
describe('activities: Hero errors become typed ApplicationFailures', () => {
  let sandbox: Sandbox;
  let activities: ReturnType<typeof createActivities>;
  const patient = newPatient();

  const activitiesWith = (timeoutMs: number) =>
    createActivities(
      new HeroClient({
        apiKey: sandbox.apiKey,
        practiceGroupId: sandbox.practiceGroupId,
        baseUrl: sandbox.url,
        timeoutMs,
      }),
    );

  before(async () => {
    sandbox = await startSandbox();
    activities = activitiesWith(1_000);
  });
  after(() => sandbox.close());
  beforeEach(() => {
    sandbox.reset();
    sandbox.addPatient(patient);
  });

  /** Runs one activity in a mock activity context (heartbeats and cancellation included). */
  const run = <A, R>(fn: (a: A) => Promise<R>, input: A, env = new MockActivityEnvironment()): Promise<R> =>
    env.run(fn, input) as Promise<R>;
  const trace = (env = new MockActivityEnvironment()) =>
    run(activities.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob }, env);

  async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await promise.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    return err;
  }

  it('returns the patient id, or the login URL when verification is needed', async () => {
    assert.deepEqual(await trace(), { kind: 'patient', patientId: patient.patientId });
    const other = newPatient({ needsVerification: true });
    sandbox.addPatient(other);
    const result = await run(activities.tracePatient, { nhsNumber: other.nhsNumber, dob: other.dob });
    assert.equal(result.kind, 'verification_required');
  });

  const cases: [string, () => void, string][] = [
    ['400', () => sandbox.injectFault('register_pds', { kind: 'status', status: 400 }), FailureType.InvalidRequest],
    ['401', () => sandbox.injectFault('register_pds', { kind: 'status', status: 401 }), FailureType.Unauthorized],
    ['403', () => sandbox.injectFault('register_pds', { kind: 'status', status: 403 }), FailureType.Forbidden],
    ['404', () => sandbox.injectFault('register_pds', { kind: 'status', status: 404 }), FailureType.PatientNotFound],
    ['500', () => sandbox.injectFault('register_pds', { kind: 'status', status: 500 }), FailureType.ServerError],
    ['418', () => sandbox.injectFault('register_pds', { kind: 'status', status: 418 }), FailureType.UnexpectedStatus],
    [
      'malformed JSON',
      () => sandbox.injectFault('register_pds', { kind: 'malformed_json' }),
      FailureType.UnexpectedResponse,
    ],
    [
      'schema violation',
      () => sandbox.injectFault('register_pds', { kind: 'schema_violation' }),
      FailureType.UnexpectedResponse,
    ],
    ['timeout', () => sandbox.injectFault('register_pds', { kind: 'delay', ms: 1_500 }), FailureType.Timeout],
    ['connection reset', () => sandbox.injectFault('register_pds', { kind: 'reset_before' }), FailureType.Network],
  ];
  for (const [name, inject, type] of cases) {
    it(`maps ${name} to ${type}, leaving the retry decision to the policy`, async () => {
      inject();
      const f = await failure(trace());
      assert.equal(f.type, type);
      assert.equal(f.nonRetryable, false);
      assert.equal(f.nextRetryDelay, undefined);
      assert.match(f.message, /^Hero register_pds: /);
      assert.ok(!f.message.includes(patient.nhsNumber) && !f.message.includes(sandbox.apiKey));
    });
  }

  it('maps a 404 from another endpoint to HeroNotFound, not patient-not-found', async () => {
    const f = await failure(
      run(activities.createBookingLink, { appointmentTypeId: '1', locationId: '5', patientId: '999999' }),
    );
    assert.equal(f.type, FailureType.NotFound);
  });

  it('sets nextRetryDelay from Retry-After delta-seconds', async () => {
    sandbox.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '7' });
    const f = await failure(trace());
    assert.equal(f.type, FailureType.RateLimited);
    assert.equal(f.nextRetryDelay, 7_000);
  });

  it('sets nextRetryDelay from a Retry-After HTTP-date', async () => {
    sandbox.injectFault('register_pds', {
      kind: 'rate_limit',
      retryAfter: new Date(Date.now() + 20_000).toUTCString(),
    });
    const f = await failure(trace());
    const ms = Number(f.nextRetryDelay);
    assert.ok(ms > 18_000 && ms <= 20_000, `delay ${ms}`);
  });

  it('leaves nextRetryDelay unset on a 429 without Retry-After (the policy backs off)', async () => {
    sandbox.injectFault('register_pds', { kind: 'rate_limit' });
    const f = await failure(trace());
    assert.equal(f.type, FailureType.RateLimited);
    assert.equal(f.nextRetryDelay, undefined);
  });

  it('rejects bad input as non-retryable before any HTTP call', async () => {
    const f = await failure(run(activities.tracePatient, { nhsNumber: '123', dob: '1990-01-01' }));
    assert.equal(f.type, FailureType.InvalidRequest);
    assert.equal(f.nonRetryable, true);
    assert.equal(sandbox.requests().length, 0);
  });

  it('aborts the HTTP request when the activity is cancelled', async () => {
    // Held far longer than the client's timeout: only the abort can end the call while it is held.
    sandbox.injectFault('register_pds', { kind: 'delay', ms: 30_000 });
    const env = new MockActivityEnvironment();
    const running = trace(env);
    await untilSandboxHolds(sandbox);
    env.cancel();
    const err = await running.then(
      () => assert.fail('expected cancellation'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CancelledFailure, `got ${String(err)}`);
    assert.deepEqual(sandbox.requests(), [], 'returned while the sandbox still held the request, unanswered');
  });

  it('heartbeats periodically while a Hero call is in flight', async () => {
    // A client that waits longer than the sandbox holds the request (3 s, three heartbeat intervals).
    const slow = activitiesWith(20_000);
    sandbox.injectFault('register_pds', { kind: 'delay', ms: 3_000 });
    const env = new MockActivityEnvironment();
    let whileHeld = 0;
    env.on('heartbeat', () => {
      // The first heartbeat comes before the request is sent; only later ones can find it held.
      if ((sandbox.faultCounts().delay ?? 0) === 1 && sandbox.requests().length === 0) whileHeld++;
    });
    const result = await run(slow.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob }, env);
    assert.equal(result.kind, 'patient');
    assert.ok(whileHeld >= 1, 'no heartbeat while the sandbox held the request');
  });

  const sendInput = () => ({ patientId: patient.patientId, messageType: 'sms' as const, text: 'Hello' });
  const uncertain: [string, () => void][] = [
    ['a reset after Hero processed it', () => sandbox.injectFault('send_message', { kind: 'reset_after' })],
    ['a 500', () => sandbox.injectFault('send_message', { kind: 'status', status: 500 })],
    ['a timeout', () => sandbox.injectFault('send_message', { kind: 'delay', ms: 1_500 })],
    ['an unreadable 2xx body', () => sandbox.injectFault('send_message', { kind: 'malformed_json' })],
  ];
  for (const [name, inject] of uncertain) {
    it(`marks a message send that failed with ${name} as HeroOutcomeUncertain`, async () => {
      inject();
      const f = await failure(run(activities.sendMessage, sendInput()));
      assert.equal(f.type, FailureType.OutcomeUncertain);
      assert.match(f.message, /^Hero send_message: .*may have acted on the request/);
    });
  }

  it('keeps certain-not-processed send failures retryable by type (429, refused connection)', async () => {
    sandbox.injectFault('send_message', { kind: 'rate_limit', retryAfter: '2' });
    const limited = await failure(run(activities.sendMessage, sendInput()));
    assert.equal(limited.type, FailureType.RateLimited);
    assert.equal(limited.nextRetryDelay, 2_000);
    const closed = createActivities(
      new HeroClient({
        apiKey: 'k',
        practiceGroupId: '1',
        baseUrl: `http://127.0.0.1:${await freePort()}`,
        timeoutMs: 1_000,
      }),
    );
    const refused = await failure(run(closed.sendMessage, sendInput()));
    assert.equal(refused.type, FailureType.Network);
  });

  it('does not repeat a send unless the previous attempt said Hero did not process it', async () => {
    for (const heartbeatDetails of [
      { phase: 'sending', attempt: 1 },
      undefined,
      { phase: 'not_processed', attempt: 0 },
    ]) {
      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails });
      const f = await failure(run(activities.sendMessage, sendInput(), retry));
      assert.equal(f.type, FailureType.OutcomeUncertain, JSON.stringify(heartbeatDetails));
      assert.match(f.message, /previous attempt ended without saying Hero did not get its request/);
    }
    assert.equal(sandbox.requests().length, 0, 'nothing sent again');
  });

  it('repeats a send whose previous attempt Hero certainly did not process', async () => {
    sandbox.injectFault('send_message', { kind: 'rate_limit', retryAfter: '1' });
    const first = new MockActivityEnvironment({ attempt: 1 });
    const details: unknown[] = [];
    first.on('heartbeat', (d: unknown) => details.push(d));
    await failure(run(activities.sendMessage, sendInput(), first));
    assert.deepEqual(details.at(0), { phase: 'sending', attempt: 1 }, 'marks the request as on its way before sending');
    assert.deepEqual(details.at(-1), { phase: 'not_processed', attempt: 1 }, 'and as not processed after a 429');
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: details.at(-1) });
    const sent = await run(activities.sendMessage, sendInput(), retry);
    assert.equal(sent.messageId, sandbox.messages()[0]!.id);
  });

  describe('a reminder (unlessLinkUsedMoreThan): the link read again in the same attempt, just before the send', () => {
    const linkAndReminder = async () => {
      const link = await run(activities.createBookingLink, {
        appointmentTypeId: '1',
        locationId: '5',
        patientId: patient.patientId,
      });
      const reminder = {
        patientId: patient.patientId,
        messageType: 'sms' as const,
        text: `Reminder: ${link.url}`,
        shortLinkId: link.id,
        unlessLinkUsedMoreThan: 0,
      };
      return { link, reminder };
    };

    it('sends nothing once the patient booked through the link: HeroBookingLinkUsed, not retried', async () => {
      const { link, reminder } = await linkAndReminder();
      sandbox.book(link.id, { notify: false });
      const f = await failure(run(activities.sendMessage, reminder));
      assert.equal(f.type, FailureType.LinkUsed);
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /used 1 time\(s\)/);
      assert.equal(sandbox.messages().length, 0, 'no reminder');
    });

    it('sends when every use is one the run knows was cancelled', async () => {
      const { link, reminder } = await linkAndReminder();
      sandbox.cancelAppointment(sandbox.book(link.id, { notify: false }).id, { notify: false });
      const sent = await run(activities.sendMessage, { ...reminder, unlessLinkUsedMoreThan: 1 });
      assert.equal(sent.messageId, sandbox.messages()[0]!.id);
      const f = await failure(run(activities.sendMessage, reminder));
      assert.equal(f.type, FailureType.LinkUsed, 'the same use, not known as cancelled');
      assert.deepEqual(f.details, [{ numberOfUses: 1 }]);
    });

    it('sends while the link is unused, after reading it', async () => {
      const { link, reminder } = await linkAndReminder();
      const sent = await run(activities.sendMessage, reminder);
      assert.equal(sent.messageId, sandbox.messages()[0]!.id);
      assert.deepEqual(
        sandbox.requests({ endpoint: 'get_booking_link' }).map((r) => r.path.endsWith(`/${link.id}`)),
        [true],
      );
    });

    it('records that nothing was sent when the read fails, so the retry may send', async () => {
      const { reminder } = await linkAndReminder();
      sandbox.injectFault('get_booking_link', { kind: 'status', status: 500 });
      const first = new MockActivityEnvironment({ attempt: 1 });
      const details: unknown[] = [];
      first.on('heartbeat', (d: unknown) => details.push(d));
      assert.equal((await failure(run(activities.sendMessage, reminder, first))).type, FailureType.ServerError);
      assert.deepEqual(details.at(-1), { phase: 'not_processed', attempt: 1 });
      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: details.at(-1) });
      const sent = await run(activities.sendMessage, reminder, retry);
      assert.equal(sent.messageId, sandbox.messages()[0]!.id);
    });
  });

  it('creates a booking link and sends a message', async () => {
    const link = await run(activities.createBookingLink, {
      appointmentTypeId: '1',
      locationId: '5',
      patientId: patient.patientId,
    });
    assert.match(link.url, /^http/);
    const sent = await run(activities.sendMessage, {
      patientId: patient.patientId,
      messageType: 'sms' as const,
      text: `Book: ${link.url}`,
      shortLinkId: link.id,
    });
    assert.equal(sent.messageId, sandbox.messages()[0]!.id);
  });
});
