import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HeroFlowClient, OutreachIdConflictError } from '../src/client';
import { canonicalJson, REQUEST_FINGERPRINT_MEMO_KEY } from '../src/client/fingerprint';
import { generateKeySpec, parseKeyRing } from '../src/codec';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';

/** What anyone can compute from a guessed request: the fingerprint under the public key hero-flow used until now. */
const publicKeyFingerprint = (request: unknown) =>
  createHmac('sha256', 'hero-flow request fingerprint v1')
    .update(canonicalJson(HeroFlowClient.validate(request)))
    .digest('hex');

/**
 * Bug: without HERO_WORKFLOW_ID_SECRET, the request fingerprint in the memo was an HMAC under a public key
 * over the whole request; the memo is decrypted in every worker (and went into spans), so with a patient's
 * NHS number and the practice's message the date of birth fell out in some 26,000 guesses. It is now keyed
 * by the secret, else by the payload keys, else not stored. Against a real Temporal dev server; no worker.
 */
describe('request fingerprints need a secret', () => {
  const keys = generateKeySpec('fp-a');
  let stack: TestStack;
  let taskQueue: string;
  const clients: HeroFlowClient[] = [];

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring: parseKeyRing(keys) });
    taskQueue = uniqueId('tq-fp');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stopTestStack(stack);
  });

  const connect = async (env: NodeJS.ProcessEnv, opts: { insecureNoEncryption?: boolean } = {}) => {
    const client = await HeroFlowClient.connect(
      { TEMPORAL_ADDRESS: stack.env.address, TEMPORAL_NAMESPACE: 'default', HERO_TASK_QUEUE: taskQueue, ...env },
      { ...opts, warn: () => undefined },
    );
    clients.push(client);
    return client;
  };
  /** The memo as the worker sees it (decrypted). */
  const memoOf = async (workflowId: string) =>
    (await stack.env.client.workflow.getHandle(workflowId).describe()).memo?.[REQUEST_FINGERPRINT_MEMO_KEY];

  it('stores, without HERO_WORKFLOW_ID_SECRET, a fingerprint keyed by the payload keys: not one computable from the request alone', async () => {
    const client = await connect({ HERO_CODEC_KEYS: keys });
    const request = outreachRequest(newPatient());
    const { workflowId } = await client.start(request, { workflowId: uniqueId('fp-ring') });
    const stored = await memoOf(workflowId);
    assert.equal(typeof stored, 'string', 'a fingerprint is stored');
    assert.notEqual(stored, publicKeyFingerprint(request), 'the fingerprint is computable without a secret');
    // Still what recognises the same request, and refuses another.
    assert.equal((await client.startOrFind(request, { workflowId })).alreadyRunning, true);
    await assert.rejects(client.start(outreachRequest(newPatient()), { workflowId }), OutreachIdConflictError);
  });

  it('recognises a run started before a key rotation while the old key is in the ring', async () => {
    const request = outreachRequest(newPatient());
    const before = await connect({ HERO_CODEC_KEYS: keys });
    const started = await before.start(request, { workflowId: uniqueId('fp-rotate') });
    const after = await connect({ HERO_CODEC_KEYS: `${generateKeySpec('fp-b')},${keys}` });
    assert.deepEqual(await after.startOrFind(request, { workflowId: started.workflowId }), {
      ...started,
      alreadyRunning: true,
    });
  });

  it('recognises a run started with a public-key fingerprint (an earlier hero-flow) as the same request, and refuses another', async () => {
    const request = outreachRequest(newPatient());
    const workflowId = uniqueId('fp-legacy');
    const legacy = await stack.env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue,
      workflowId,
      args: [request],
      memo: { [REQUEST_FINGERPRINT_MEMO_KEY]: publicKeyFingerprint(request) },
    });
    for (const client of [
      await connect({ HERO_CODEC_KEYS: keys }),
      await connect({ HERO_CODEC_KEYS: keys, HERO_WORKFLOW_ID_SECRET: randomBytes(16).toString('hex') }),
    ]) {
      assert.deepEqual(await client.startOrFind(request, { workflowId }), {
        workflowId,
        runId: legacy.firstExecutionRunId,
        alreadyRunning: true,
      });
      await assert.rejects(client.start(outreachRequest(newPatient()), { workflowId }), OutreachIdConflictError);
    }
  });

  it('stores none with neither a secret nor payload keys (the memo is then plaintext), and compares the input instead', async () => {
    const client = await connect({}, { insecureNoEncryption: true });
    const request = outreachRequest(newPatient());
    const { workflowId, runId } = await client.start(request, { workflowId: uniqueId('fp-none') });
    const raw = await stack.env.connection.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId },
    });
    assert.equal(raw.workflowExecutionInfo?.memo?.fields?.[REQUEST_FINGERPRINT_MEMO_KEY], undefined, 'no fingerprint');
    assert.deepEqual(await client.startOrFind(request, { workflowId }), { workflowId, runId, alreadyRunning: true });
    await assert.rejects(client.start(outreachRequest(newPatient()), { workflowId }), OutreachIdConflictError);
  });
});
