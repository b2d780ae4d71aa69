import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { heroDataConverter, type KeyRing, parseKeyRing, PayloadDecryptionError } from '../src/codec';
import type { Sandbox } from '../src/sandbox';
import { statusQuery, verificationCompletedSignal } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { eventually, outreachRequest, syntheticNhsNumber, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

const keySpec = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

/** Every form in which a string could sit in serialized history: plain, JSON-escaped, base64 at any alignment. */
function forms(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), Buffer.from(secret)]).toString('base64');
    // Drop the characters that also encode the neighbouring bytes.
    out.add(b64.slice(4, -4));
  }
  return [...out].filter((f) => f.length >= 6);
}

/**
 * Runs the whole flow (a completed run, a verification wait, a failure) on a real Temporal dev
 * server with the payload codec, then reads the raw history with no key, as a reviewer with
 * database access would, and looks for patient data in every byte.
 */
describe('patient data is unreadable in Temporal history without the key', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ringA = parseKeyRing(keySpec('key-a'));

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'dev' }));
  });

  after(() => stopTestStack({ env, sandbox }));

  const clientWith = (ring: KeyRing) =>
    new Client({ connection: env.connection, dataConverter: heroDataConverter(ring) });

  async function withWorker<T>(ring: KeyRing, body: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    return worker.runUntil(body(clientWith(ring), taskQueue));
  }

  /** The history as stored: fetched over gRPC with no data converter at all. */
  async function rawHistory(workflowId: string): Promise<{ bytes: Buffer; json: string }> {
    const { history } = await env.connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const h = temporal.api.history.v1.History.create(history!);
    return { bytes: Buffer.from(temporal.api.history.v1.History.encode(h).finish()), json: historyToJSON(h) };
  }

  it('holds no NHS number, date of birth, patient ID or login URL in any encoding', async () => {
    const plain = { nhsNumber: syntheticNhsNumber(31_415_926), dob: '1961-03-14', patientId: '7351926480' };
    const verifying = {
      nhsNumber: syntheticNhsNumber(27_182_818),
      dob: '1977-08-21',
      patientId: '8642097531',
      needsVerification: true,
    };
    const failing = { nhsNumber: syntheticNhsNumber(14_142_135), dob: '1948-11-30', patientId: '9517534862' };
    for (const p of [plain, verifying, failing]) sandbox.addPatient(p);
    const ids = { completed: uniqueId('priv-done'), verified: uniqueId('priv-verify'), failed: uniqueId('priv-fail') };
    let loginUrl = '';

    await withWorker(ringA, async (client, taskQueue) => {
      const start = (workflowId: string, patient: typeof plain) =>
        client.workflow.start(patientOutreachWorkflow, { taskQueue, workflowId, args: [outreachRequest(patient)] });

      const done = await (await start(ids.completed, plain)).result();
      assert.equal(done.outcome === 'completed' && done.patientId, plain.patientId, 'the key holder reads the result');

      const handle = await start(ids.verified, verifying);
      const waiting = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.state === 'awaiting_verification' && s;
      });
      loginUrl = waiting.loginUrl!;
      await fetch(loginUrl, { method: 'POST' });
      await handle.signal(verificationCompletedSignal);
      assert.equal((await handle.result()).outcome, 'completed');

      sandbox.injectFault('register_pds', { kind: 'status', status: 400 });
      const err = await (await start(ids.failed, failing)).result().then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(
        String((err.cause?.cause as Error | undefined)?.message),
        /400 invalid request/,
        'the key holder reads the failure',
      );
    });

    const secrets = [plain, verifying, failing].flatMap((p) => [
      p.nhsNumber,
      p.nhsNumber.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3'),
      p.dob,
      p.patientId,
    ]);
    secrets.push(loginUrl, loginUrl.split('/verify/')[1]!);
    // Failure messages are encoded too, so the plaintext of Hero's error must not show.
    secrets.push('400 invalid request');

    for (const workflowId of Object.values(ids)) {
      const { bytes, json } = await rawHistory(workflowId);
      assert.ok(
        json.includes(Buffer.from('binary/encrypted').toString('base64')),
        `${workflowId} has encrypted payloads`,
      );
      const haystacks = [bytes.toString('latin1'), json];
      for (const secret of secrets) {
        for (const form of forms(secret)) {
          for (const hay of haystacks) {
            assert.ok(!hay.includes(form), `${workflowId}: found "${form}" (a form of a patient datum) in raw history`);
          }
        }
      }
    }
  });

  it('decodes runs encrypted under an old key after a new key is put first, and names a missing key', async () => {
    const patient = { nhsNumber: syntheticNhsNumber(16_180_339), dob: '1990-05-05', patientId: '4242424242' };
    sandbox.addPatient(patient);
    const oldRun = uniqueId('rot-old');
    await withWorker(ringA, async (client, taskQueue) => {
      await (
        await client.workflow.start(patientOutreachWorkflow, {
          taskQueue,
          workflowId: oldRun,
          args: [outreachRequest(patient)],
        })
      ).result();
    });

    const keyB = keySpec('key-b');
    const rotated = parseKeyRing(`${keyB},key-a:${ringA.keys.get('key-a')!.toString('base64')}`);
    const old = await clientWith(rotated).workflow.getHandle(oldRun).result();
    assert.equal(old.patientId, patient.patientId, 'old runs still decode after rotation');

    const newRun = uniqueId('rot-new');
    await withWorker(rotated, async (client, taskQueue) => {
      await (
        await client.workflow.start(patientOutreachWorkflow, {
          taskQueue,
          workflowId: newRun,
          args: [outreachRequest(patient)],
        })
      ).result();
    });
    const { json } = await rawHistory(newRun);
    assert.ok(json.includes(Buffer.from('key-b').toString('base64')), 'new runs are encrypted with the new first key');

    const onlyB = parseKeyRing(keyB);
    await assert.rejects(clientWith(onlyB).workflow.getHandle(oldRun).result(), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError, `got ${err}`);
      assert.match(err.message, /key-a/);
      return true;
    });
  });
});
