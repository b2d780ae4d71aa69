import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeFromPayloadsAtIndex, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import {
  HeroFlowClient,
  OutreachAlreadyFinishedError,
  OutreachIdConflictError,
  type OutreachRequest,
} from '../src/client';
import { REQUEST_FINGERPRINT_MEMO_KEY, requestFingerprint } from '../src/client/fingerprint';
import { heroDataConverter, parseKeyRing } from '../src/codec';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { outreachInputSchema } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack, type TestStack } from './support/temporal';

/**
 * Bug: the same workflow ID given to two patients started one run and reported both as started; the
 * second patient was never contacted. A running ID is now returned only for the same request.
 * Against a real Temporal dev server; no worker runs unless a test needs a run to finish.
 */
describe('starting a workflow ID that is already running', () => {
  const ring = parseKeyRing(`conflict:${randomBytes(32).toString('base64')}`);
  const converter = loadDataConverter(heroDataConverter(ring));
  let stack: TestStack;
  let client: HeroFlowClient;

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring });
    client = new HeroFlowClient(stack.env.client, uniqueId('tq'));
  });
  after(() => stopTestStack(stack));

  /** Every run ever started under `workflowId`, from the server's list (it catches up within moments). */
  async function runsOf(workflowId: string): Promise<string[]> {
    return eventually(
      async () => {
        const runs: string[] = [];
        for await (const wf of stack.env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
          runs.push(wf.runId);
        return runs.length > 0 && runs;
      },
      10_000,
      `the run of ${workflowId} to be listed`,
    );
  }

  /** The request the run was started with, decrypted from its history. */
  async function inputOf(workflowId: string): Promise<OutreachRequest> {
    const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    return decodeFromPayloadsAtIndex<OutreachRequest>(converter, 0, started.input?.payloads);
  }

  it('refuses a second patient under a running workflow ID, naming the ID, and leaves the first run alone', async () => {
    const [a, b] = [newPatient(), newPatient()];
    const workflowId = uniqueId('conflict');
    const first = await client.start(outreachRequest(a), { workflowId });
    const err = await client.start(outreachRequest(b), { workflowId }).then(
      () => assert.fail('the second patient was reported as started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OutreachIdConflictError, String(err));
    assert.equal(err.workflowId, workflowId);
    assert.match(err.message, new RegExp(`Workflow ID ${workflowId} is already running for another request`));
    for (const value of [b.nhsNumber, b.nhsNumber.slice(0, 3), b.dob]) assert.ok(!err.message.includes(value));

    assert.deepEqual(await runsOf(workflowId), [first.runId], 'one run only');
    // The run holds the request as parsed (the NHS number without its spaces): what was checked is what runs.
    assert.equal(
      (await inputOf(workflowId)).nhsNumber,
      HeroFlowClient.validate(outreachRequest(a)).nhsNumber,
      "it is the first patient's",
    );
  });

  it('parses a request once per start: a prepared request is started as it is, and the run gets the parsed form', async () => {
    let parses = 0;
    const safeParse = outreachInputSchema.safeParse.bind(outreachInputSchema);
    outreachInputSchema.safeParse = ((value: unknown) => {
      parses += 1;
      return safeParse(value);
    }) as typeof outreachInputSchema.safeParse;
    try {
      const request = outreachRequest(newPatient());
      const prepared = client.prepare(request, { workflowId: uniqueId('parse-once') });
      assert.equal(parses, 1, 'prepare parses once');
      assert.ok(Object.isFrozen(prepared.input), 'what was checked cannot change before it is sent');
      const started = await client.start(prepared);
      assert.equal(started.workflowId, prepared.workflowId);
      assert.equal(parses, 1, 'start parsed the prepared request again');
      // A plain request is parsed once by start itself.
      await client.start(outreachRequest(newPatient()), { workflowId: uniqueId('parse-once') });
      assert.equal(parses, 2);
      assert.deepEqual(await inputOf(started.workflowId), prepared.input);
    } finally {
      outreachInputSchema.safeParse = safeParse;
    }
  });

  it('refuses another request for the same patient too (other settings are another request)', async () => {
    const a = newPatient();
    const workflowId = uniqueId('conflict-settings');
    await client.start(outreachRequest(a), { workflowId });
    await assert.rejects(
      client.start(
        { ...outreachRequest(a), message: { type: 'sms', text: 'Another text {booking_link}' } },
        { workflowId },
      ),
      OutreachIdConflictError,
    );
  });

  it('returns the running run for the same request again, however it is spelled', async () => {
    const a = newPatient();
    const workflowId = uniqueId('same');
    const request = outreachRequest(a, { verification: { timeout: '7 days' } });
    const first = await client.start(request, { workflowId });
    assert.deepEqual(await client.start(request, { workflowId }), first);
    // The same request after validation: digits only, keys in another order, the duration in ms.
    const { booking, message, ...rest } = request;
    const respelled = {
      message,
      booking,
      ...rest,
      nhsNumber: a.nhsNumber,
      verification: { timeout: 7 * 24 * 3600_000 },
    };
    const again = await client.startOrFind(respelled, { workflowId });
    assert.deepEqual(again, { ...first, alreadyRunning: true });
    assert.deepEqual(await runsOf(workflowId), [first.runId]);
  });

  it('startMany reports the second patient under a taken ID as that item\u2019s error, and starts the rest', async () => {
    const [a, b] = [newPatient(), newPatient()];
    const workflowId = uniqueId('batch-conflict');
    const results = await client.startMany(
      [
        { request: outreachRequest(a), workflowId },
        { request: outreachRequest(b), workflowId },
        { request: outreachRequest(a), workflowId },
        { request: outreachRequest(b), workflowId: uniqueId('batch-own') },
      ],
      { concurrency: 1 },
    );
    const [r0, r1, r2, r3] = results;
    assert.ok(r0 && 'started' in r0);
    assert.ok(r1 && 'error' in r1 && r1.error instanceof OutreachIdConflictError, String(r1));
    assert.ok(r2 && 'started' in r2);
    assert.equal(r2.started.runId, r0.started.runId, 'the same request again is the same run');
    assert.ok(r3 && 'started' in r3);
  });

  it('compares a run started without a fingerprint (an older hero-flow) by its input: same request returned, another refused', async () => {
    const [a, b] = [newPatient(), newPatient()];
    const workflowId = uniqueId('no-fingerprint');
    const started = await stack.env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue: client.taskQueue,
      workflowId,
      args: [outreachRequest(a)],
    });
    assert.equal((await started.describe()).memo?.[REQUEST_FINGERPRINT_MEMO_KEY], undefined, 'no fingerprint');
    assert.deepEqual(await client.start(outreachRequest(a), { workflowId }), {
      workflowId,
      runId: started.firstExecutionRunId,
    });
    await assert.rejects(client.start(outreachRequest(b), { workflowId }), OutreachIdConflictError);
    assert.deepEqual(await runsOf(workflowId), [started.firstExecutionRunId]);
  });

  it('keeps the fingerprint in the memo, encrypted by the payload codec, keyed by HERO_WORKFLOW_ID_SECRET', async () => {
    const a = newPatient();
    const request = outreachRequest(a);
    const workflowId = uniqueId('memo');
    const keyed = new HeroFlowClient(stack.env.client, client.taskQueue, 'id-secret');
    await keyed.start(request, { workflowId });

    const fingerprint = requestFingerprint(HeroFlowClient.validate(request), 'id-secret');
    assert.notEqual(fingerprint, requestFingerprint(HeroFlowClient.validate(request)), 'the secret keys it');
    const described = await stack.env.client.workflow.getHandle(workflowId).describe();
    assert.equal(described.memo?.[REQUEST_FINGERPRINT_MEMO_KEY], fingerprint, 'the key holder reads it');

    // As stored, with no key: the describe response and the history's start event.
    const raw = await stack.env.connection.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId },
    });
    const { history } = await stack.env.connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const startedMemo = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.memo;
    for (const [where, memo] of [
      ['describe', raw.workflowExecutionInfo?.memo],
      ['history', startedMemo],
    ] as const) {
      const payload = memo?.fields?.[REQUEST_FINGERPRINT_MEMO_KEY];
      assert.ok(payload, `${where}: the memo holds the fingerprint`);
      assert.equal(Buffer.from(payload.metadata!.encoding!).toString(), 'binary/encrypted', where);
      const data = Buffer.from(payload.data!);
      assert.ok(!data.toString('latin1').includes(fingerprint), `${where}: the fingerprint is not in clear`);
      assert.ok(!data.toString('latin1').includes(a.nhsNumber), `${where}: no NHS number`);
    }

    // A client keyed otherwise cannot tell it is the same request, so it does not take the run over.
    await assert.rejects(client.start(request, { workflowId }), OutreachIdConflictError);
    assert.equal((await keyed.start(request, { workflowId })).runId, described.runId);
  });

  it('still refuses a finished run, for the same request or another', async () => {
    const [a, b] = [newPatient(), newPatient()];
    stack.sandbox.addPatient(a);
    const { worker, taskQueue } = await sandboxWorker({
      connection: stack.env.nativeConnection,
      sandbox: stack.sandbox,
      bundle: stack.bundle,
      ring,
    });
    const finishing = new HeroFlowClient(stack.env.client, taskQueue);
    const workflowId = uniqueId('finished');
    await worker.runUntil(async () => {
      await finishing.start(outreachRequest(a), { workflowId });
      assert.equal((await finishing.result(workflowId)).outcome, 'completed');
    });
    for (const request of [outreachRequest(a), outreachRequest(b)]) {
      await assert.rejects(finishing.start(request, { workflowId }), OutreachAlreadyFinishedError);
    }
  });
});
