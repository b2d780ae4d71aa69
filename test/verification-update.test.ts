import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { parseKeyRing } from '../src/codec';
import { confirmVerificationUpdate, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import type { OutreachRequest, VerificationAccepted } from '../src/workflows/schemas';
import {
  delayFaultsTaken,
  eventually,
  newPatient,
  outreachRequest,
  uniqueId,
  untilSandboxHolds,
} from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack, type TestStack } from './support/temporal';

/**
 * The confirmVerification update answers once the run has asked Hero again, with what Hero said,
 * on the time-skipping test server against the Hero sandbox over HTTP.
 */
describe('confirmVerification answers what the re-trace found', () => {
  let stack: TestStack;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    stack = await startTestStack({ server: 'time-skipping', ring });
  });

  after(() => stopTestStack(stack));

  beforeEach(() => stack.sandbox.reset());

  const traces = () => stack.sandbox.requests({ endpoint: 'register_pds' });

  /** Runs `body` with a worker; the run it starts is closed afterwards if the test left it open. */
  async function withRun<T>(
    request: OutreachRequest,
    body: (handle: WorkflowHandle<typeof patientOutreachWorkflow>) => Promise<T>,
  ): Promise<T> {
    const { worker, taskQueue } = await sandboxWorker({
      connection: stack.env.nativeConnection,
      sandbox: stack.sandbox,
      bundle: stack.bundle,
      ring,
    });
    return worker.runUntil(async () => {
      const handle = await stack.env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('verify'),
        args: [request],
      });
      try {
        return await body(handle);
      } finally {
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') {
          await handle.terminate('test over').catch((err: unknown) => {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          });
        }
      }
    });
  }

  const awaitingVerification = (handle: WorkflowHandle) =>
    eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');

  const confirm = (handle: WorkflowHandle): Promise<VerificationAccepted> =>
    handle.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'test' }] });

  it('answers verification_required, still waiting, when the patient has not verified', async () => {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    await withRun(outreachRequest(patient), async (handle) => {
      await awaitingVerification(handle);
      assert.equal(traces().length, 1);

      const answer = await confirm(handle);

      assert.deepEqual(answer, {
        accepted: true,
        state: 'awaiting_verification',
        retraced: true,
        found: 'verification_required',
      });
      assert.equal(traces().length, 2, 'the answer came from a second trace');
      const status = await handle.query(statusQuery);
      assert.equal(status.state, 'awaiting_verification');
      assert.equal(status.attempts, 2);
    });
  });

  it('answers patient once the sandbox has marked the patient verified, and the run goes on', async () => {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    const result = await withRun(outreachRequest(patient), async (handle) => {
      await awaitingVerification(handle);
      stack.sandbox.markVerified(patient.nhsNumber);

      const answer = await confirm(handle);

      assert.deepEqual(answer, { accepted: true, state: 'creating_booking_link', retraced: true, found: 'patient' });
      assert.equal(traces().at(-1)?.status, 200);
      return handle.result();
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(traces().length, 2);
  });

  it('answers patient_not_found when PDS no longer finds the patient, and the run ends so', async () => {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    const result = await withRun(outreachRequest(patient), async (handle) => {
      await awaitingVerification(handle);
      // PDS's record changed since the first trace: the request's date of birth no longer matches.
      stack.sandbox.addPatient({ ...patient, dob: '1940-02-29' });

      const answer = await confirm(handle);

      assert.deepEqual(answer, {
        accepted: true,
        state: 'patient_not_found',
        retraced: true,
        found: 'patient_not_found',
      });
      return handle.result();
    });
    assert.deepEqual(result, { outcome: 'patient_not_found' });
    assert.deepEqual(
      traces().map((r) => r.status),
      [200, 404],
    );
  });

  it('answers failed, before the run fails, when the re-trace fails for good', async () => {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    await withRun(outreachRequest(patient), async (handle) => {
      await awaitingVerification(handle);
      stack.sandbox.injectFault('register_pds', { kind: 'status', status: 418 }); // not retried

      const answer = await confirm(handle);

      assert.deepEqual(answer, { accepted: true, state: 'failed', retraced: true, found: 'failed' });
      await assert.rejects(handle.result());
    });
  });

  it('answers cancelled when the run is cancelled while the re-trace is under way', async () => {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    await withRun(outreachRequest(patient), async (handle) => {
      await awaitingVerification(handle);
      const baseline = await delayFaultsTaken(stack.sandbox);
      stack.sandbox.injectFault('register_pds', { kind: 'delay', ms: 60_000 });

      const answer = confirm(handle);
      await untilSandboxHolds(stack.sandbox, 1, baseline); // the re-trace is at Hero
      await handle.cancel();

      assert.deepEqual(await answer, { accepted: true, state: 'cancelled', retraced: true, found: 'cancelled' });
      assert.deepEqual(await handle.result(), { outcome: 'cancelled' });
    });
  });
});
