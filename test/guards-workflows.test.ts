import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseKeyRing } from '../src/codec';
import { bookingEventWorkflow } from '../src/workflows/booking-event';
import { bookingEventSignal, resolveReviewUpdate, statusQuery } from '../src/workflows/definitions';
import type { OutreachStatus } from '../src/workflows/schemas';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId, within } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';
import { type StartOutreach, withOutreachWorker } from './support/workers';

/**
 * Guards for behaviours whose deliberate breaking no other test noticed (issue 18, item 11): each test
 * here fails with the bug its name denies. On a dev server in real time (the time-skipping test server's JVM
 * did not start within the SDK's 5 s on a busy machine), with the shortest windows the schema allows, against
 * the sandbox over HTTP.
 */
// Every test has its own task queue, workflow IDs and patients, and the two that wait out a 1-minute window
// set the file's length: all four run side by side.
describe('guards: cancelled bookings, a decision made twice, an unknown appointment', { concurrency: true }, () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  /** A sandbox whose sent-messages list answers 404: an uncertain send goes to review. */
  let opaque: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'dev', ring }));
    opaque = await startSandbox({ sentMessagesList: false });
  });

  after(async () => {
    await opaque?.close();
    await stopTestStack({ env, sandbox });
  });

  async function terminateRuns(started: WorkflowHandle[]): Promise<void> {
    for (const h of started) {
      await h.terminate('test over').catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test(String(err))) throw err;
      });
    }
  }
  const withWorker = <T>(hero: Sandbox, body: (start: StartOutreach) => Promise<T>): Promise<T> =>
    withOutreachWorker(env, { sandbox: hero, bundle, ring }, terminateRuns, body);

  const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<OutreachStatus>;
  const inState = (h: WorkflowHandle, state: string) =>
    eventually(async () => (await status(h)).state === state, 10_000, `state ${state}`).catch(async (e: unknown) => {
      throw new Error(`${String(e)}; status ${JSON.stringify(await status(h))}`);
    });
  const event = (h: WorkflowHandle, e: 'appointment.confirmed' | 'appointment.cancelled', id: string, link: string) =>
    h.signal(bookingEventSignal, { event: e, appointmentId: id, bookingLinkId: link });
  const waitingRequest = (p: { nhsNumber: string; dob: string }) =>
    outreachRequest(p, { awaitBooking: { window: '1 minute', recheckEvery: '10 seconds' } });
  const linkReads = (link: string) =>
    sandbox.requests({ endpoint: 'get_booking_link' }).filter((r) => r.path.endsWith(`/${link}`)).length;

  describe('a cancelled booking', { concurrency: true }, () => {
    it('does not count link uses that come only from cancelled appointments as a booking: the run ends not_booked', async () => {
      await withWorker(sandbox, async (start) => {
        const p = newPatient();
        sandbox.addPatient(p);
        const handle = await start(waitingRequest(p));
        await inState(handle, 'awaiting_booking');
        const link = (await status(handle)).bookingLinkId!;
        // Booked through the link (its use count is 1 from now on), then cancelled: Hero keeps the count.
        const appointment = sandbox.book(link, { notify: false });
        await event(handle, 'appointment.confirmed', appointment.id, link);
        await inState(handle, 'booked');
        sandbox.cancelAppointment(appointment.id, { notify: false });
        await event(handle, 'appointment.cancelled', appointment.id, link);
        await inState(handle, 'awaiting_booking');
        const result = await within(handle.result(), 90_000, 'the run to end');
        assert.equal(result.outcome, 'not_booked', JSON.stringify(result));
        assert.ok(linkReads(link) >= 3, `re-checks and the last read saw the use (${linkReads(link)} reads)`);
      });
    });

    it('un-books a run that learnt of its booking from the link (no appointment id) when the appointment is cancelled', async () => {
      const result = await withWorker(sandbox, async (start) => {
        const p = newPatient();
        sandbox.addPatient(p);
        const handle = await start(waitingRequest(p));
        await inState(handle, 'awaiting_booking');
        const link = (await status(handle)).bookingLinkId!;
        // Booked with no webhook: the next re-check of the link's use count (10 s) tells the run.
        const appointment = sandbox.book(link, { notify: false });
        await eventually(async () => (await status(handle)).state === 'booked', 30_000, 'the booking from the link');
        assert.equal((await status(handle)).appointment?.id, null, 'learnt from the link');
        // The webhook of the cancellation names the appointment, which the run never knew by id.
        sandbox.cancelAppointment(appointment.id, { notify: false });
        await event(handle, 'appointment.cancelled', appointment.id, link);
        await inState(handle, 'awaiting_booking');
        return within(handle.result(), 90_000, 'the run to end');
      });
      assert.equal(result.outcome, 'not_booked', JSON.stringify(result));
    });
  });

  it('reads an appointment Hero does not know (404) once, without retrying, and has no effect', async () => {
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(bookingEventWorkflow, {
        taskQueue,
        workflowId: uniqueId('ev'),
        args: [{ event: 'appointment.cancelled', appointmentId: '424242' }],
      });
      return within(handle.result(), 60_000, 'the booking-event run to end');
    });
    assert.deepEqual(result, { outcome: 'no_link', bookingLinkId: null });
    assert.deepEqual(
      sandbox
        .requests({ endpoint: 'get_appointment' })
        .filter((r) => r.path.endsWith('/424242'))
        .map((r) => r.status),
      [404],
      'one read, answered 404, not retried',
    );
  });

  it('answers the first of two decisions made at once and refuses the second while the first is applied', async () => {
    // One worker takes the run to review and stops; both decisions then wait for the next worker, which gets
    // them in one workflow task: the second is validated while the first is being applied.
    const taskQueue = uniqueId('tq');
    const workerOn = () =>
      sandboxWorker({
        connection: env.nativeConnection,
        sandbox: opaque,
        bundle,
        ring,
        taskQueue,
        maxCachedWorkflows: 0,
      });
    const p = newPatient();
    opaque.addPatient(p);
    opaque.injectFault('send_message', { kind: 'status', status: 500 });
    const first = await workerOn();
    const firstRunning = first.worker.run();
    let handle: WorkflowHandle | undefined;
    try {
      handle = await env.client.workflow.start('patientOutreachWorkflow', {
        taskQueue,
        workflowId: uniqueId('wf'),
        args: [outreachRequest(p, { review: { reconcileAfter: '10 seconds' } })],
      });
      await eventually(async () => (await status(handle!)).state === 'needs_review', 30_000, 'the review');
      first.worker.shutdown();
      await within(firstRunning, 30_000, 'the first worker to stop');

      const decide = (action: 'mark_sent' | 'abandon', updateId: string) =>
        handle!.executeUpdate(resolveReviewUpdate, { args: [{ action, note: updateId }], updateId });
      const marked = decide('mark_sent', 'first');
      await delay(500);
      const abandoned = decide('abandon', 'second');
      await delay(1_000);
      const second = await workerOn();
      const answers = await second.worker.runUntil(() =>
        within(Promise.allSettled([marked, abandoned]), 20_000, 'the answers to both decisions'),
      );
      assert.deepEqual(answers[0], {
        status: 'fulfilled',
        value: { accepted: true, action: 'mark_sent', state: 'completed' },
      });
      assert.equal(answers[1].status, 'rejected');
      const refusal = (answers[1] as PromiseRejectedResult).reason as unknown;
      assert.ok(refusal instanceof WorkflowUpdateFailedError, String(refusal));
      assert.match(String(refusal.cause?.message), /this review already has a decision, being applied/);
      const result = await within(handle.result(), 30_000, 'the run to end');
      assert.equal(result.outcome, 'completed');
      assert.ok(result.outcome === 'completed');
      assert.deepEqual(result.review, { action: 'mark_sent', note: 'first' });
    } finally {
      if (first.worker.getState() === 'RUNNING') first.worker.shutdown();
      await firstRunning.catch(() => {});
      if (handle) await terminateRuns([handle]);
    }
  });
});
