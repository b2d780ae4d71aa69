import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseKeyRing } from '../src/codec';
import type { HeroConfig } from '../src/hero/config';
import type { Sandbox } from '../tools/sandbox';
import { FailureType } from '../src/shared/failure-types';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import { confirmVerificationUpdate, statusQuery, verificationCompletedSignal } from '../src/workflows/definitions';
import type { OutreachRequest, OutreachResult } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, untilSandboxHolds } from './support/fixtures';
import { startTestStack, stopTestStack } from './support/temporal';
import { type StartOutreach, withOutreachWorker } from './support/workers';

const { EventType } = temporal.api.enums.v1;

describe('patientOutreachWorkflow on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  // Payloads are encrypted as in production, with a key made for this run.
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
  });

  after(() => stopTestStack({ env, sandbox }));

  beforeEach(() => sandbox.reset());

  /**
   * Closes the runs a test left open, failed tests included, while the worker still runs: the
   * time-skipping server stops skipping time while an activity it dispatched has not reported back,
   * so each run is cancelled (its activities abort their requests and report) and awaited, then
   * terminated if it is still open. Already closed or never created: nothing to do.
   */
  async function closeRuns(handles: WorkflowHandle[]): Promise<void> {
    const ignoreClosed = (err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    };
    for (const handle of handles) {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') continue;
      await handle.cancel().catch(ignoreClosed);
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        handle.result().catch(() => undefined),
        new Promise((resolve) => (bound = setTimeout(resolve, 15_000))), // a run that ignores the cancel
      ]);
      clearTimeout(bound);
      await handle.terminate('test over').catch(ignoreClosed);
    }
  }

  /** Runs `body` with a worker on a fresh task queue; the workflow is started by `body`. */
  const withWorker = <T>(body: (start: StartOutreach) => Promise<T>, hero: Partial<HeroConfig> = {}): Promise<T> =>
    withOutreachWorker(env, { sandbox, bundle, ring, hero }, closeRuns, body);

  const traces = () => sandbox.requests({ endpoint: 'register_pds' });

  /** Workflow-clock milliseconds between tracePatient's scheduling and its completion. */
  async function traceActivitySpanMs(handle: WorkflowHandle): Promise<number> {
    const { events } = await handle.fetchHistory();
    const scheduled = events!.find(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'tracePatient',
    )!;
    const completed = events!.find(
      (e) =>
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
        Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
    )!;
    return tsToMs(completed.eventTime) - tsToMs(scheduled.eventTime);
  }

  /** The types of the run's history events, in order. */
  async function eventTypes(handle: WorkflowHandle): Promise<temporal.api.enums.v1.EventType[]> {
    const { events } = await handle.fetchHistory();
    return events!.map((e) => e.eventType!);
  }

  /** Waits until the run has handled its latest signal: a workflow task completed after it in history. */
  async function untilLastSignalHandled(handle: WorkflowHandle): Promise<void> {
    await eventually(async () => {
      const types = await eventTypes(handle);
      const signalled = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
      return signalled >= 0 && types.indexOf(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, signalled) > signalled;
    });
  }

  async function failureOf(handle: WorkflowHandle): Promise<WorkflowFailedError> {
    const err = await handle.result().then(
      () => assert.fail('expected the workflow to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
    return err;
  }

  it('traces, creates a booking link and sends the message with the link in it', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const { result, status } = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      const result = await handle.result();
      return { result, status: await handle.query(statusQuery) };
    });

    assert.equal(result.outcome, 'completed');
    assert.ok(result.outcome === 'completed');
    assert.equal(result.patientId, patient.patientId);
    const [link] = sandbox.bookingLinks();
    assert.deepEqual(result.bookingLink, { id: link!.id, url: link!.url });
    assert.equal(link!.patientId, patient.patientId);
    const [message] = sandbox.messages();
    assert.equal(result.messageId, message!.id);
    assert.equal(message!.text, `Book your appointment: ${link!.url}`);
    assert.equal(message!.shortLinkId, link!.id);
    assert.equal(message!.messageType, 'sms');
    assert.equal(traces().length, 1);
    assert.equal(traces()[0]!.body && (traces()[0]!.body as { nhs_number: string }).nhs_number, patient.nhsNumber);
    assert.equal(status.state, 'completed');
    assert.equal(status.attempts, 1);
    assert.equal(status.loginUrl, undefined);
  });

  it('lets its Hero calls wait in the task queue as long as it takes: no schedule-to-close bound', async () => {
    // Behind a practice list at Hero's limit a call waits hours (150,000 calls at 20/s), and a
    // schedule-to-close timeout counts that wait: the run would fail, or end needs_review, unsent.
    const patient = newPatient();
    sandbox.addPatient(patient);
    const scheduled = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      assert.equal((await handle.result()).outcome, 'completed');
      const { events } = await handle.fetchHistory();
      return events!.flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
      );
    });
    const day = 24 * 3600_000;
    assert.deepEqual(
      scheduled.map((a) => a.activityType?.name),
      ['tracePatient', 'createBookingLink', 'sendMessage', 'checkMessageStatus'],
    );
    for (const a of scheduled) {
      assert.ok(tsToMs(a.scheduleToCloseTimeout) > 365 * day, `${a.activityType?.name}: no queue-wait bound`);
      assert.ok(tsToMs(a.scheduleToStartTimeout) > 365 * day, `${a.activityType?.name}: no queue-wait bound`);
      assert.equal(tsToMs(a.startToCloseTimeout), 30_000, 'each attempt is still bounded');
    }
  });

  it('waits for the verificationCompleted signal when Hero returns a login_url, then completes', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const result = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      const waiting = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.state === 'awaiting_verification' && s;
      });
      assert.match(waiting.loginUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/verify\//);
      assert.equal(waiting.attempts, 1);
      // The patient presses the button on the login page, then the partner's app signals.
      const page = await fetch(waiting.loginUrl!, { method: 'POST' });
      assert.equal(page.status, 200);
      await handle.signal(verificationCompletedSignal);
      return handle.result();
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(traces().length, 2);
    assert.equal(sandbox.messages().length, 1);
  });

  it('finds the verification by re-checking on its own when no signal comes', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const { result, spanMs } = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      sandbox.markVerified(patient.nhsNumber);
      const result = await handle.result(); // time skips to the 6-hour re-check
      const { events } = await handle.fetchHistory();
      const spanMs = tsToMs(events!.at(-1)!.eventTime) - tsToMs(events![0]!.eventTime);
      return { result, spanMs };
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(traces().length, 2);
    assert.ok(spanMs >= 6 * 3600_000, `re-check happened after ${spanMs} ms of workflow time`);
    assert.ok(spanMs < 7 * 3600_000, `re-check took ${spanMs} ms of workflow time`);
  });

  it('ends with verification_expired after the 7-day default, re-checking every 6 hours', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const result: OutreachResult = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    // One trace at the start, then one per 6 hours for 7 days.
    assert.deepEqual(result, { outcome: 'verification_expired', attempts: 1 + 28 });
    assert.equal(traces().length, 29);
    assert.equal(sandbox.bookingLinks().length, 0);
    assert.equal(sandbox.messages().length, 0);
  });

  it('does not lose a verification signal that arrives before the login_url', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const result = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await handle.signal(verificationCompletedSignal); // before the first trace has answered
      // The early signal makes the workflow re-trace at once instead of waiting 6 hours.
      await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.state === 'awaiting_verification' && s.attempts === 2;
      });
      sandbox.markVerified(patient.nhsNumber);
      await handle.signal(verificationCompletedSignal);
      return handle.result();
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(traces().length, 3);
  });

  it('answers confirmVerification once the run has re-traced: what it found, or rejected when malformed', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const result = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      await assert.rejects(
        handle.executeUpdate(confirmVerificationUpdate, { args: ['garbage' as never] }),
        (err: Error) =>
          err instanceof WorkflowUpdateFailedError && /malformed verification payload/.test(String(err.cause?.message)),
      );
      assert.equal(traces().length, 1, 'a rejected update changes nothing');
      sandbox.markVerified(patient.nhsNumber);
      const accepted = await handle.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'test' }] });
      assert.deepEqual(accepted, { accepted: true, state: 'creating_booking_link', retraced: true, found: 'patient' });
      return handle.result();
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(traces().length, 2);
  });

  it('rejects confirmVerification in its validator once the run is past the wait: nothing enters history', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    // The sandbox holds the booking-link request, so the run stays open in creating_booking_link.
    sandbox.injectFault('create_booking_link', { kind: 'delay', ms: 60_000 });
    const { rejected, state, types } = await withWorker(
      async (start) => {
        const handle = await start(outreachRequest(patient));
        await untilSandboxHolds(sandbox);
        const state = (await handle.query(statusQuery)).state;
        const rejected = await handle.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'test' }] }).then(
          () => assert.fail('the update was accepted by a run that is not waiting for verification'),
          (err: unknown) => err,
        );
        return { rejected, state, types: await eventTypes(handle) };
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(state, 'creating_booking_link');
    assert.ok(rejected instanceof WorkflowUpdateFailedError, `got ${String(rejected)}`);
    assert.equal(
      rejected.cause?.message,
      'this run is creating_booking_link; it is no longer waiting for identity verification',
    );
    for (const type of [
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    ]) {
      assert.ok(!types.includes(type), `history has ${EventType[type]}`);
    }
  });

  it('ends with the cancelled outcome when cancelled while awaiting verification', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const { result, state } = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      await handle.cancel();
      const result = await handle.result();
      return { result, state: (await handle.describe()).typedSearchAttributes.get(HERO_FLOW_STATE) };
    });
    assert.deepEqual(result, { outcome: 'cancelled' });
    assert.equal(state, 'cancelled');
    assert.equal(sandbox.bookingLinks().length, 0);
  });

  it('ignores a malformed verification signal without failing the run', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const result = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      await handle.signal('verificationCompleted', 'not an object');
      await untilLastSignalHandled(handle);
      assert.equal((await handle.query(statusQuery)).state, 'awaiting_verification');
      const scheduled = (await eventTypes(handle)).filter((t) => t === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
      assert.equal(scheduled.length, 1, 'a malformed signal must not trigger a re-trace');
      assert.equal(traces().length, 1);
      sandbox.markVerified(patient.nhsNumber);
      await handle.signal(verificationCompletedSignal, { source: 'test' });
      return handle.result();
    });
    assert.equal(result.outcome, 'completed');
  });

  it('honours Retry-After on 429 bursts (delta-seconds and HTTP-date) through the retry policy', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    sandbox.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '30' });
    sandbox.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '30' });
    sandbox.injectFault('register_pds', {
      kind: 'rate_limit',
      retryAfter: new Date(Date.now() + 45_000).toUTCString(),
    });
    const { result, spanMs } = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      return { result: await handle.result(), spanMs: await traceActivitySpanMs(handle) };
    });
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      traces().map((r) => r.status),
      [429, 429, 429, 200],
    );
    // The policy's own backoff would be 1 + 2 + 4 = 7 s; Retry-After asks for 30 + 30 + ~45 s.
    assert.ok(spanMs >= 100_000, `trace retried after only ${spanMs} ms of workflow time`);
    assert.ok(spanMs < 130_000, `trace took ${spanMs} ms of workflow time`);
  });

  it('retries 5xx, timeouts, resets and malformed bodies from Hero until the trace succeeds', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    sandbox.injectFault('register_pds', { kind: 'status', status: 503 });
    sandbox.injectFault('register_pds', { kind: 'delay', ms: 3_000 }); // client timeout is 2 s
    sandbox.injectFault('register_pds', { kind: 'reset_before' });
    sandbox.injectFault('register_pds', { kind: 'malformed_json' });
    sandbox.injectFault('register_pds', { kind: 'schema_violation' });
    const result = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    assert.equal(result.outcome, 'completed');
    // The timed-out request is logged when the sandbox finally answers it, after the client gave up.
    await eventually(async () => traces().length === 6, 5_000, 'six trace requests');
  });

  it('never sends a message twice: a send Hero may have processed is looked up in Hero, not repeated', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    sandbox.injectFault('send_message', { kind: 'reset_after' }); // sent, then the connection drops
    const result = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    assert.equal(result.outcome, 'completed', 'Hero lists the message: it went out');
    assert.ok(result.outcome === 'completed');
    assert.equal(result.messageId, sandbox.messages()[0]!.id);
    assert.equal(sandbox.messages().length, 1, 'exactly one message, the one Hero processed');
    assert.equal(sandbox.requests({ endpoint: 'send_message' }).length, 1);
  });

  it('retries a booking link or message that Hero certainly did not process (429)', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    sandbox.injectFault('create_booking_link', { kind: 'rate_limit', retryAfter: '5' });
    sandbox.injectFault('send_message', { kind: 'rate_limit', retryAfter: '5' });
    const result = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    assert.equal(result.outcome, 'completed');
    assert.equal(sandbox.bookingLinks().length, 1);
    assert.equal(sandbox.messages().length, 1);
    assert.deepEqual(
      sandbox.requests({ endpoint: 'send_message' }).map((r) => r.status),
      [429, 200],
    );
  });

  it('retries a booking link after a 5xx: a link made but never sent reaches nobody', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    sandbox.injectFault('create_booking_link', { kind: 'status', status: 502 });
    const result = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      sandbox.requests({ endpoint: 'create_booking_link' }).map((r) => r.status),
      [502, 200],
    );
    assert.equal(sandbox.messages().length, 1);
  });

  for (const [endpoint, step] of [
    ['create_booking_link', 'creating the booking link'],
    ['send_message', 'sending the message'],
  ] as const) {
    it(`fails with HeroNotFound after one call when Hero answers 404 ${step}, without retrying`, async () => {
      const patient = newPatient();
      sandbox.addPatient(patient);
      sandbox.injectFault(endpoint, { kind: 'status', status: 404 });
      const { err, state } = await withWorker(async (start) => {
        const handle = await start(outreachRequest(patient));
        const err = await failureOf(handle);
        return { err, state: (await handle.describe()).typedSearchAttributes.get(HERO_FLOW_STATE) };
      });
      assert.ok(err.cause instanceof ActivityFailure, `got ${String(err.cause)}`);
      assert.ok(err.cause.cause instanceof ApplicationFailure);
      assert.equal(err.cause.cause.type, FailureType.NotFound);
      assert.equal(state, 'failed');
      assert.deepEqual(
        sandbox.requests({ endpoint }).map((r) => r.status),
        [404],
        `one ${endpoint} call`,
      );
      assert.equal(sandbox.messages().length, 0);
    });
  }

  it('ends with patient_not_found when PDS has no such patient, without retrying', async () => {
    const patient = newPatient(); // never added to the sandbox
    const result = await withWorker(async (start) => (await start(outreachRequest(patient))).result());
    assert.deepEqual(result, { outcome: 'patient_not_found' });
    assert.deepEqual(
      traces().map((r) => r.status),
      [404],
    );
  });

  for (const [name, hero] of [
    ['401 (wrong API key)', { apiKey: 'not-the-key' }],
    ['403 (practice group not allowed)', { practiceGroupId: '999' }],
  ] as const) {
    it(`fails visibly with a configuration error on ${name}, without retrying`, async () => {
      const patient = newPatient();
      sandbox.addPatient(patient);
      const err = await withWorker(async (start) => failureOf(await start(outreachRequest(patient))), hero);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, FailureType.Configuration);
      assert.match(err.cause.message, /HERO_API_KEY and HERO_PRACTICE_GROUP_ID/);
      assert.equal(traces().length, 1);
    });
  }

  for (const [status, type] of [
    [400, FailureType.InvalidRequest],
    [418, FailureType.UnexpectedStatus],
  ] as const) {
    it(`fails with ${type} on a ${status} from Hero, without retrying`, async () => {
      const patient = newPatient();
      sandbox.addPatient(patient);
      sandbox.injectFault('register_pds', {
        kind: 'status',
        status,
        body: {
          error: true,
          statusCode: status,
          message: [{ code: 'invalid_type', expected: 'string', path: ['dob'] }],
        },
      });
      const err = await withWorker(async (start) => failureOf(await start(outreachRequest(patient))));
      assert.ok(err.cause instanceof ActivityFailure);
      assert.ok(err.cause.cause instanceof ApplicationFailure);
      assert.equal(err.cause.cause.type, type);
      assert.equal(traces().length, 1);
    });
  }

  it('rejects invalid input without calling Hero, naming each problem but not the values', async () => {
    const { err, state } = await withWorker(async (start) => {
      // Deliberately invalid, as a client that skips the types could send it.
      const handle = await start({
        nhsNumber: '943 476 5918',
        dob: '2023-02-30',
        booking: { locationId: 'x' },
        message: { type: 'fax' },
      } as unknown as OutreachRequest);
      const err = await failureOf(handle);
      return { err, state: (await handle.describe()).typedSearchAttributes.get(HERO_FLOW_STATE) };
    });
    assert.equal(state, 'failed', 'listed as failed in the UI');
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, FailureType.InvalidWorkflowInput);
    for (const field of [
      'nhsNumber',
      'dob',
      'booking.appointmentTypeId',
      'booking.locationId',
      'message.type',
      'message.text',
    ]) {
      assert.ok(err.cause.message.includes(field), `message should name ${field}: ${err.cause.message}`);
    }
    assert.ok(!err.cause.message.includes('9434765918'));
    assert.ok(!err.cause.message.includes('476 5918'));
    assert.equal(sandbox.requests().length, 0);
  });

  it('indexes its state in the HeroFlowState search attribute', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const attrs = await withWorker(async (start) => {
      const handle = await start(outreachRequest(patient));
      await handle.result();
      return (await handle.describe()).typedSearchAttributes;
    });
    assert.equal(attrs.get(HERO_FLOW_STATE), 'completed');
  });
});
