import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  type LoadedDataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { HeroFlowClient } from '../src/client';
import {
  EncryptionCodec,
  FAILURE_CONVERTER_PATH,
  heroDataConverter,
  parseKeyRing,
  UNENCRYPTED_MARKER_KEY,
  workerDataConverter,
} from '../src/codec';
import { failureConverter } from '../src/codec/failure-converter';
import { HeroClient } from '../src/hero/client';
import { devServerExecutable } from '../tools/provision';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { createHeroWorker } from '../src/worker/create-worker';
import { ensureSearchAttributes } from '../src/worker/search-attributes';
import * as definitions from '../src/workflows/definitions';
import { statusQuery, unencryptedPayloadMessage } from '../src/workflows/definitions';
import { eventually, newPatient, outreachRequest, signalHandled, uniqueId } from './support/fixtures';
import { bundleWorkflows, sandboxWorker } from './support/temporal';
import { noopWorkflowSinks } from '../src/observability/tracing';

/**
 * Item 5 of issue 11: while the worker has keys, patient data that reaches it unencrypted (a run
 * started, signalled or updated without the payload codec, e.g. by another language's SDK) is refused,
 * not processed. Against a real dev server and the Hero sandbox; the worker's whole log (the SDK's and
 * Temporal core's, unredacted) is captured to show that none of the refused payloads reaches it.
 */
describe('plaintext refusal: a worker with keys refuses patient data sent without the codec', () => {
  const ring = parseKeyRing(`refusal:${randomBytes(32).toString('base64')}`);
  const log: string[] = [];
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  /** A client as another service without the codec has one: payloads go out, and come back, as they are. */
  let raw: Client;
  /** The library, encrypting with the ring. */
  let codecClient: Client;
  /**
   * Sends plaintext like `raw`, but decrypts what comes back: only so that the test can read the
   * explanation in a failure, which the worker encrypts like every failure message.
   */
  let plaintextSender: Client;

  before(async () => {
    // Installed before anything else creates the runtime, so every line the worker logs lands here.
    Runtime.install({
      logger: new DefaultLogger('TRACE', (e) => log.push(`${e.level} ${e.message} ${inspect(e.meta, { depth: 8 })}`)),
      telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'DEBUG' }) } },
    });
    const executable = await devServerExecutable();
    [env, sandbox, bundle] = await Promise.all([
      TestWorkflowEnvironment.createLocal({ server: { executable } }),
      startSandbox(),
      bundleWorkflows(),
    ]);
    await ensureSearchAttributes(env.nativeConnection, 'default');
    raw = new Client({ connection: env.connection });
    codecClient = new Client({ connection: env.connection, dataConverter: heroDataConverter(ring) });
    const decryptOnly: PayloadCodec = {
      encode: async (payloads: Payload[]) => payloads,
      decode: (payloads: Payload[]) => new EncryptionCodec(ring).decode(payloads),
    };
    const sendsPlaintext: LoadedDataConverter = {
      payloadConverter: defaultPayloadConverter,
      payloadCodecs: [decryptOnly],
      failureConverter,
    };
    plaintextSender = new Client({ connection: env.connection, dataConverter: sendsPlaintext });
  });

  after(async () => {
    await sandbox?.close();
    await env?.teardown();
  });

  /** The values of a request that must never show in a log: NHS number in both forms, date of birth, text. */
  const secretsOf = (request: ReturnType<typeof outreachRequest>) => [
    request.nhsNumber,
    request.nhsNumber.replace(/\s/g, ''),
    request.dob,
    request.message.text.replace(' {booking_link}', ''),
  ];

  const heroCallsFor = (nhsNumber: string) =>
    sandbox.requests().filter((r) => JSON.stringify(r.body ?? '').includes(nhsNumber)).length;

  it('refuses a run started without the codec: fails non-retryable, calls no Hero, logs none of the input', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const request = outreachRequest(patient, {
      message: { type: 'sms', text: `Canary-${uniqueId('text')} {booking_link}` },
    });
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const workflowId = uniqueId('plain-start');
    const logFrom = log.length;
    await worker.runUntil(async () => {
      await raw.workflow.start('patientOutreachWorkflow', { taskQueue, workflowId, args: [request] });
      const err = await codecClient.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => assert.fail('expected the run to fail'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.type, 'HeroUnencryptedPayload');
      assert.equal(err.cause.nonRetryable, true);
      assert.equal(err.cause.message, unencryptedPayloadMessage('input'));
      assert.match(err.cause.message, /^The workflow input was not encrypted\./);
      assert.match(err.cause.message, /HeroFlowClient/);
      assert.match(err.cause.message, /temporal workflow start --codec-endpoint/);
      assert.match(err.cause.message, /docs\/codec-wire-format\.md/);

      // What the service that started it sees without the codec: the failure type, in plaintext.
      const events = (await raw.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const failed = events.find(
        (e) => e.workflowExecutionFailedEventAttributes,
      )?.workflowExecutionFailedEventAttributes;
      assert.equal(failed?.failure?.applicationFailureInfo?.type, 'HeroUnencryptedPayload');
      assert.equal(failed?.failure?.applicationFailureInfo?.nonRetryable, true);
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no activity was scheduled');
      // The SDK logs a failed run at WARN: the capture works, and the run's lines are in it.
      await eventually(async () => log.slice(logFrom).some((l) => l.includes('Workflow failed')), 10_000, 'the log');
    });
    assert.equal(heroCallsFor(patient.nhsNumber), 0, 'the sandbox received no request for the patient');
    const lines = log.slice(logFrom);
    const failedLine = lines.find((l) => l.includes('Workflow failed') && l.includes(workflowId));
    assert.match(failedLine ?? '', /The workflow input was not encrypted/);
    for (const secret of secretsOf(request)) {
      assert.ok(!lines.some((l) => l.includes(secret)), `the log shows "${secret}"`);
    }
  });

  it('ignores a plaintext signal and rejects a plaintext update with the explanation; the run keeps waiting', async () => {
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const heroFlow = new HeroFlowClient(codecClient, taskQueue);
    const workflowId = uniqueId('plain-signal');
    const canary = `Canary-${uniqueId('source')}`;
    const logFrom = log.length;
    await worker.runUntil(async () => {
      await heroFlow.start(outreachRequest(patient), { workflowId });
      await eventually(async () => (await heroFlow.status(workflowId)).state === 'awaiting_verification');
      const handle = raw.workflow.getHandle(workflowId);

      await handle.signal('verificationCompleted', { source: canary });
      await signalHandled(handle);
      // A signal the run accepted would have made it trace again at once.
      const waiting = await heroFlow.status(workflowId);
      assert.deepEqual([waiting.state, waiting.attempts], ['awaiting_verification', 1]);
      await eventually(
        async () => log.slice(logFrom).some((l) => l.includes('Ignored a verificationCompleted signal')),
        10_000,
        'the warning',
      );
      const warning = log.slice(logFrom).find((l) => l.includes('Ignored a verificationCompleted signal'))!;
      assert.match(warning, /^WARN .*was not encrypted/);

      const rejected = await plaintextSender.workflow
        .getHandle(workflowId)
        .executeUpdate('confirmVerification', { args: [{ source: canary }] })
        .then(
          () => assert.fail('expected the update to be rejected'),
          (e: unknown) => e,
        );
      assert.ok(rejected instanceof WorkflowUpdateFailedError && rejected.cause instanceof ApplicationFailure);
      assert.equal(rejected.cause.type, 'HeroUnencryptedPayload');
      assert.equal(rejected.cause.message, unencryptedPayloadMessage('confirmVerification'));
      assert.match(
        rejected.cause.message,
        /^The confirmVerification update payload was not encrypted\..*--codec-endpoint/,
      );
      // resolveReview is named as itself, not as confirmVerification.
      const review = await plaintextSender.workflow
        .getHandle(workflowId)
        .executeUpdate('resolveReview', { args: [{ action: 'abandon', note: canary }] })
        .then(
          () => assert.fail('expected the update to be rejected'),
          (e: unknown) => e,
        );
      assert.ok(review instanceof WorkflowUpdateFailedError && review.cause instanceof ApplicationFailure);
      assert.equal(review.cause.type, 'HeroUnencryptedPayload');
      assert.equal(review.cause.message, unencryptedPayloadMessage('resolveReview'));
      assert.match(review.cause.message, /^The resolveReview update payload was not encrypted\..*update was rejected/);
      // Without the codec at all, the caller is refused too; it cannot read why (the failure is encrypted).
      await assert.rejects(handle.executeUpdate('confirmVerification', { args: [{ source: canary }] }));

      const events = (await handle.fetchHistory()).events ?? [];
      assert.ok(!events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes), 'no update reached history');
      assert.equal((await heroFlow.status(workflowId)).attempts, 1);

      // The same run takes an encrypted signal at once: the others were refused for being plaintext.
      await heroFlow.signalVerification(workflowId);
      await eventually(async () => (await heroFlow.status(workflowId)).attempts === 2, 10_000, 'a second trace');
      await heroFlow.cancel(workflowId);
      assert.deepEqual(await heroFlow.result(workflowId), { outcome: 'cancelled' });
    });
    const lines = log.slice(logFrom);
    assert.ok(!lines.some((l) => l.includes(canary)), 'the log shows the plaintext payloads');
  });

  it('without keys (--insecure-no-encryption), the same plaintext start completes as before', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle });
    await worker.runUntil(async () => {
      const handle = await raw.workflow.start('patientOutreachWorkflow', {
        taskQueue,
        workflowId: uniqueId('insecure'),
        args: [outreachRequest(patient)],
      });
      assert.equal(((await handle.result()) as { outcome: string }).outcome, 'completed');
    });
    assert.ok(heroCallsFor(patient.nhsNumber) > 0);
  });

  it('with keys, a run started through the library still completes', async () => {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const heroFlow = new HeroFlowClient(codecClient, taskQueue);
    await worker.runUntil(async () => {
      const { workflowId } = await heroFlow.start(outreachRequest(patient), { workflowId: uniqueId('encrypted') });
      const result = await heroFlow.result(workflowId);
      assert.equal(result.outcome, 'completed');
    });
  });

  it('replays a run started and signalled in plaintext before the refusal, as it ran then', async () => {
    // A worker with keys but the codec as it was (plaintext decoded silently): the runs it wrote may still be open.
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const taskQueue = uniqueId('tq');
    const oldWorker = await createHeroWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      dataConverter: { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH },
      hero: new HeroClient({
        apiKey: sandbox.apiKey,
        practiceGroupId: sandbox.practiceGroupId,
        baseUrl: sandbox.url,
        timeoutMs: 2_000,
      }),
    });
    const workflowId = uniqueId('legacy');
    await oldWorker.runUntil(async () => {
      await raw.workflow.start('patientOutreachWorkflow', { taskQueue, workflowId, args: [outreachRequest(patient)] });
      const handle = raw.workflow.getHandle(workflowId);
      await eventually(
        async () =>
          (await codecClient.workflow.getHandle(workflowId).query(statusQuery)).state === 'awaiting_verification',
      );
      sandbox.markVerified(patient.nhsNumber);
      await handle.signal('verificationCompleted', { source: 'portal' });
      const result = await codecClient.workflow.getHandle(workflowId).result();
      assert.equal((result as { outcome: string }).outcome, 'completed');
    });
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: bundle, dataConverter: workerDataConverter(ring), sinks: noopWorkflowSinks() },
      history,
    );
  });

  it('replays a refused run with the worker that refused it', async () => {
    const patient = newPatient();
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const workflowId = uniqueId('refused');
    await worker.runUntil(async () => {
      await raw.workflow.start('patientOutreachWorkflow', { taskQueue, workflowId, args: [outreachRequest(patient)] });
      await assert.rejects(
        codecClient.workflow.getHandle(workflowId).result(),
        (e: unknown) =>
          e instanceof WorkflowFailedError && (e.cause as ApplicationFailure).type === 'HeroUnencryptedPayload',
      );
    });
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: bundle, dataConverter: workerDataConverter(ring), sinks: noopWorkflowSinks() },
      history,
    );
  });
});

describe("the worker's codec marks plaintext; every other reader passes it through", () => {
  const ring = parseKeyRing(`mark:${randomBytes(32).toString('base64')}`);
  const plain = defaultPayloadConverter.toPayload({ nhsNumber: '9434765919' });

  it('marks a plaintext payload in strict mode, keeping its value for replay only', async () => {
    const [marked] = await workerDataConverter(ring).payloadCodecs[0]!.decode([plain]);
    const value = defaultPayloadConverter.fromPayload(marked!);
    assert.deepEqual(value, { [UNENCRYPTED_MARKER_KEY]: true, value: { nhsNumber: '9434765919' } });
    assert.ok(definitions.isUnencryptedMarker(value));
    assert.equal(definitions.UNENCRYPTED_MARKER_KEY, UNENCRYPTED_MARKER_KEY, 'the workflow knows the marker');
    // An absent value (binary/null) is still marked.
    const [nothing] = await workerDataConverter(ring).payloadCodecs[0]!.decode([
      defaultPayloadConverter.toPayload(undefined),
    ]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(nothing!), { [UNENCRYPTED_MARKER_KEY]: true });
  });

  it('decrypts encrypted payloads in strict mode as before', async () => {
    const codec = workerDataConverter(ring).payloadCodecs[0]!;
    const [encrypted] = await codec.encode([plain]);
    assert.deepEqual((await codec.decode([encrypted!]))[0], plain);
  });

  it('passes plaintext through for clients and the codec server (reading older history)', async () => {
    assert.deepEqual(await heroDataConverter(ring).payloadCodecs[0]!.decode([plain]), [plain]);
    assert.deepEqual(await new EncryptionCodec(ring).decode([plain]), [plain]);
  });

  it('refuses an unknown mode rather than falling back to passing plaintext', () => {
    assert.throws(() => new EncryptionCodec(ring, { unencrypted: 'refuse' as never }), /'pass' or 'mark'/);
  });
});
