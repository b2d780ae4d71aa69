import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { EncryptionCodec, heroDataConverter, type KeyRing, parseKeyRing, PayloadDecryptionError } from '../src/codec';
import type { Sandbox } from '../tools/sandbox';
import { statusQuery, verificationCompletedSignal } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { eventually, outreachRequest, syntheticNhsNumber, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

const keySpec = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

const { History } = temporal.api.history.v1;

/**
 * Every form in which a string could sit in serialized history: plain, JSON-escaped, and base64 at each
 * of the 3 byte alignments (a payload's data is base64 in the JSON, and the string may start at any byte).
 */
function forms(secret: string): string[] {
  const out = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), Buffer.from(secret)]).toString('base64');
    // Drop the first and last groups: they may also encode the neighbouring bytes.
    out.add(b64.slice(4, -4));
  }
  return [...out].filter((f) => f.length >= 6);
}

/** A history's two stored forms: its wire bytes, and the JSON that `temporal workflow show` and exports use. */
function haystacks(history: temporal.api.history.v1.History): [bytes: string, json: string] {
  return [Buffer.from(History.encode(history).finish()).toString('latin1'), historyToJSON(history)];
}

const found = (hay: string, secret: string): boolean => forms(secret).some((form) => hay.includes(form));

/** A plaintext history whose one payload holds `secret` after `pad` bytes, so it sits at each base64 alignment in turn. */
function plaintextHistory(secret: string, pad: number): temporal.api.history.v1.History {
  const payload = defaultPayloadConverter.toPayload({ pad: 'x'.repeat(pad), value: secret });
  return History.create({
    events: [
      {
        eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflowExecutionStartedEventAttributes: { input: { payloads: [payload] } },
      },
    ],
  });
}

/** Replaces every encrypted payload of `node` (a decoded history, in place) by its plaintext. */
async function decryptAll(node: object, codec: EncryptionCodec): Promise<void> {
  const { Payload } = temporal.api.common.v1;
  for (const [key, value] of Object.entries(node)) {
    // @temporalio/proto is reflection-based protobufjs: a decoded message's type is its $type.
    if ((value as { $type?: unknown } | null)?.$type === Payload) {
      const [plain] = await codec.decode([value as temporal.api.common.v1.Payload]);
      (node as Record<string, unknown>)[key] = Payload.create(plain);
    } else if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      await decryptAll(value as object, codec);
    }
  }
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
  async function rawHistory(workflowId: string): Promise<temporal.api.history.v1.History> {
    const { history } = await env.connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    // Through the wire format, so that every payload is a Payload message that decryptAll recognises.
    return History.decode(History.encode(History.create(history!)).finish());
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
    ]);
    // Not the failing patient's: its trace is refused, so Hero never returns it and history never holds it.
    secrets.push(plain.patientId, verifying.patientId);
    secrets.push(loginUrl, loginUrl.split('/verify/')[1]!);
    // Failure messages are encoded too, so the plaintext of Hero's error must not show.
    secrets.push('400 invalid request');

    // The check must see each datum in plaintext, at every base64 alignment, before its silence means anything.
    for (const secret of secrets) {
      for (let pad = 0; pad < 3; pad++) {
        const [bytes, json] = haystacks(plaintextHistory(secret, pad));
        assert.ok(found(bytes, secret), `"${secret}" not found in plaintext history bytes`);
        assert.ok(found(json, secret), `"${secret}" at alignment ${pad} not found in plaintext history JSON (base64)`);
      }
    }

    const stored = await Promise.all(Object.values(ids).map(async (id) => ({ id, history: await rawHistory(id) })));
    // And in these very histories once decrypted with the key, so each datum is really there to be hidden.
    const decrypted: string[] = [];
    for (const { id } of stored) {
      const history = await rawHistory(id);
      await decryptAll(history, new EncryptionCodec(ringA));
      decrypted.push(...haystacks(history));
    }
    const absent = secrets.filter((secret) => !decrypted.some((hay) => found(hay, secret)));
    assert.deepEqual(absent, [], 'data missing from the decrypted histories: their absence below would prove nothing');

    for (const { id, history } of stored) {
      const [bytes, json] = haystacks(history);
      assert.ok(json.includes(Buffer.from('binary/encrypted').toString('base64')), `${id} has encrypted payloads`);
      for (const secret of secrets) {
        for (const hay of [bytes, json]) {
          assert.ok(!found(hay, secret), `${id}: found a form of "${secret}" (a patient datum) in raw history`);
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
    const json = historyToJSON(await rawHistory(newRun));
    assert.ok(json.includes(Buffer.from('key-b').toString('base64')), 'new runs are encrypted with the new first key');

    const onlyB = parseKeyRing(keyB);
    await assert.rejects(clientWith(onlyB).workflow.getHandle(oldRun).result(), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError, `got ${err}`);
      assert.match(err.message, /key-a/);
      return true;
    });
  });
});
