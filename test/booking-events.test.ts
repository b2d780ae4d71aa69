import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseKeyRing } from '../src/codec';
import { HERO_BOOKING_LINK_ID } from '../src/shared/search-attributes';
import { bookingEventWorkflow } from '../src/workflows/booking-event';
import { BOOKING_EVENT_WORKFLOW_TYPE, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import type { BookingEventInput, BookingEventResult } from '../src/workflows/schemas';
import type { Sandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

/**
 * The booking-event workflow (one per webhook delivery) on a real dev server, whose visibility store
 * finds the run by its HeroBookingLinkId search attribute, against the sandbox over HTTP.
 */
describe('bookingEventWorkflow: from an appointment event to the run that sent the link', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'dev', ring }));
  });
  after(() => stopTestStack({ env, sandbox }));
  beforeEach(() => sandbox.reset());

  async function withWorker<T>(body: (taskQueue: string) => Promise<T>): Promise<T> {
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    return worker.runUntil(() => body(taskQueue));
  }

  const startEvent = (taskQueue: string, input: BookingEventInput) =>
    env.client.workflow.start(bookingEventWorkflow, {
      taskQueue,
      // Not bookingEventWorkflowId(): the sandbox's appointment ids restart after each reset, and this server
      // keeps every suite's runs. De-duplication by that ID is the receiver's (test/webhook-receiver.test.ts).
      workflowId: uniqueId('ev'),
      args: [input],
    });

  async function waitingRun(taskQueue: string): Promise<{ run: WorkflowHandle; linkId: string }> {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const run = await env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue,
      workflowId: uniqueId('wf'),
      args: [outreachRequest(patient, { awaitBooking: { window: '1 hour' } })],
    });
    await eventually(async () => (await run.query(statusQuery)).state === 'awaiting_booking', 20_000);
    const linkId = (await run.describe()).typedSearchAttributes.get(HERO_BOOKING_LINK_ID)!;
    assert.ok(linkId, 'the run is indexed by its booking link');
    return { run, linkId };
  }

  it('signals the run that created the link: it is booked, with the appointment Hero returns', async () => {
    await withWorker(async (taskQueue) => {
      const { run, linkId } = await waitingRun(taskQueue);
      try {
        const appointment = sandbox.book(linkId, { notify: false });
        const handle = await startEvent(taskQueue, { event: 'appointment.confirmed', appointmentId: appointment.id });
        const result: BookingEventResult = await handle.result();
        assert.deepEqual(result, { outcome: 'signalled', bookingLinkId: linkId, workflowId: run.workflowId });
        await eventually(async () => (await run.query(statusQuery)).state === 'booked', 10_000);
        assert.equal((await run.query(statusQuery)).appointment?.id, appointment.id);
        assert.equal(sandbox.requests({ endpoint: 'get_appointment' }).length, 1);
      } finally {
        // Left open, the run would answer a later test's lookup of the same (reset) link id.
        await run.terminate('test over');
      }
    });
  });

  it('has no effect when Hero does not know the appointment', async () => {
    await withWorker(async (taskQueue) => {
      const result = await (
        await startEvent(taskQueue, { event: 'appointment.cancelled', appointmentId: '424242' })
      ).result();
      assert.deepEqual(result, { outcome: 'no_link', bookingLinkId: null });
    });
  });

  it('reports a run that has ended as run_closed, without signalling it', async () => {
    await withWorker(async (taskQueue) => {
      const { run, linkId } = await waitingRun(taskQueue);
      const appointment = sandbox.book(linkId, { notify: false });
      await run.cancel();
      await run.result();
      // Visibility is eventually consistent: wait until it lists the run as closed.
      await eventually(async () => {
        for await (const w of env.client.workflow.list({ query: `WorkflowId = '${run.workflowId}'` })) {
          return w.status.name !== 'RUNNING';
        }
        return false;
      });
      const event = await startEvent(taskQueue, { event: 'appointment.confirmed', appointmentId: appointment.id });
      const result = await event.result();
      assert.equal(result.outcome, 'run_closed');
      assert.equal(result.workflowId, run.workflowId);
      // Known closed from the lookup: no signal was tried (a failed one would also end run_closed).
      const events = (await event.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes).length, 0);
    });
  });

  it('refuses malformed input naming the problem', async () => {
    await withWorker(async (taskQueue) => {
      const handle = await env.client.workflow.start(BOOKING_EVENT_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: uniqueId('ev'),
        args: [{ event: 'appointment.created', appointmentId: '1' }],
      });
      await assert.rejects(handle.result(), (err: Error) =>
        /Invalid booking event: .*event.*appointment\.confirmed/.test(
          String((err.cause as Error | undefined)?.message),
        ),
      );
    });
  });
});
