import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type CodecServer, ENCRYPTED_ENCODING, parseKeyRing, startCodecServer } from '../src/codec';
import type { OutreachResult, OutreachStatus, VerificationAccepted } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { type CodecEndpoint, TemporalCli } from './support/temporal-cli';

/** A proto3 JSON payload as the Temporal CLI prints it when it does not decode it: base64 fields. */
interface RawPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromBase64 = (value: string | undefined): string => Buffer.from(value ?? '', 'base64').toString('utf8');

type Patient = ReturnType<typeof newPatient>;

/**
 * Every form in which a patient's NHS number or date of birth could sit in the CLI's JSON: each written
 * form (digits, spaced, hyphenated), plain or base64 at each of the 3 byte alignments (a payload's data
 * is base64 there, and the value may start at any byte of it).
 */
function patientDataForms(patient: Patient): string[] {
  const nhs = patient.nhsNumber;
  const written = [
    nhs,
    `${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`,
    `${nhs.slice(0, 3)}-${nhs.slice(3, 6)}-${nhs.slice(6)}`,
    patient.dob,
  ];
  const forms = new Set(written);
  for (const value of written) {
    for (let pad = 0; pad < 3; pad++) {
      const b64 = Buffer.concat([Buffer.alloc(pad), Buffer.from(value)]).toString('base64');
      // The first and last groups may also encode the neighbouring bytes.
      forms.add(b64.slice(4, -4));
    }
  }
  return [...forms].filter((form) => form.length >= 6);
}

function assertNoPatientData(text: string, patient: Patient, where: string): void {
  for (const form of patientDataForms(patient)) {
    assert.ok(!text.includes(form), `${where} holds patient data (in the form '${form}')`);
  }
}

/**
 * The cross-language contract (docs/codec-wire-format.md, docs/schemas/) driven by a client that is
 * not hero-flow's library: the Temporal CLI, encoding and decoding through the codec server with a
 * bearer token, against a Temporal dev server that a hero-flow worker polls.
 */
describe('the Temporal CLI, through the codec server, starts, reads and confirms outreach runs', () => {
  const ring = parseKeyRing(`cross-language:${randomBytes(32).toString('base64')}`);
  const token = randomBytes(24).toString('base64url');
  let stack: TestStack;
  let codec: CodecServer;
  let cli: TemporalCli;
  let viaCodec: CodecEndpoint;

  before(async () => {
    // A real Temporal server, as another service would reach it: the CLI speaks gRPC to its address.
    [stack, codec] = await Promise.all([
      startTestStack({ server: 'dev', ring }),
      startCodecServer({ ring, allowedOrigins: [], authToken: token }),
    ]);
    cli = await TemporalCli.create(stack.env.address);
    viaCodec = { url: codec.url, auth: `Bearer ${token}` };
  });

  after(async () => {
    await codec?.close();
    await stopTestStack(stack);
  });

  /** Runs `body` while a hero-flow worker (with the key ring, talking to the sandbox) polls a fresh task queue. */
  async function withWorker<T>(body: (taskQueue: string) => Promise<T>): Promise<T> {
    const { worker, taskQueue } = await sandboxWorker({
      connection: stack.env.nativeConnection,
      sandbox: stack.sandbox,
      bundle: stack.bundle,
      ring,
    });
    return worker.runUntil(body(taskQueue));
  }

  /** `temporal workflow start` of patientOutreachWorkflow with `patient`'s request as its one argument. */
  async function cliStart(taskQueue: string, patient: Patient, codecEndpoint?: CodecEndpoint): Promise<string> {
    const workflowId = uniqueId('cross-language');
    const started = await cli.json<{ workflowId: string; type: string; taskQueue: string }>(
      [
        'workflow',
        'start',
        '--type',
        'patientOutreachWorkflow',
        '--task-queue',
        taskQueue,
        '--workflow-id',
        workflowId,
        '--input',
        JSON.stringify(outreachRequest(patient)),
      ],
      codecEndpoint,
    );
    assert.deepEqual(started, { ...started, workflowId, type: 'patientOutreachWorkflow', taskQueue });
    return workflowId;
  }

  /** `temporal workflow result` through the codec; a run that does not close within 30 s fails the test there. */
  const cliResult = (workflowId: string) =>
    cli.json<{ status: string; result: OutreachResult }>(
      ['workflow', 'result', '--workflow-id', workflowId, '--command-timeout', '30s'],
      viaCodec,
    );

  const tracesOf = (patient: Patient) =>
    stack.sandbox
      .requests({ endpoint: 'register_pds' })
      .filter((r) => (r.body as { nhs_number?: string } | undefined)?.nhs_number === patient.nhsNumber);

  it(
    'starts a run that a hero-flow worker completes, prints its decoded result, and leaves only ciphertext in history',
    { timeout: 60_000 },
    async () => {
      const patient = newPatient();
      stack.sandbox.addPatient(patient);

      const { workflowId, result } = await withWorker(async (taskQueue) => {
        const workflowId = await cliStart(taskQueue, patient, viaCodec);
        return { workflowId, result: await cliResult(workflowId) };
      });

      assert.equal(result.status, 'COMPLETED');
      const link = stack.sandbox.bookingLinks().find((l) => l.patientId === patient.patientId);
      const message = stack.sandbox.messages().find((m) => m.shortLinkId === link?.id);
      const { messages, ...rest } = result.result as { messages?: { messageId?: string; deliveryStatus: string }[] };
      assert.deepEqual(rest, {
        outcome: 'completed',
        patientId: patient.patientId,
        bookingLink: { id: link!.id, url: link!.url },
        messageId: message!.id,
      });
      assert.deepEqual(
        messages?.map((m) => [m.messageId, m.deliveryStatus]),
        [[message!.id, 'delivered']],
      );
      // The worker decrypted what the CLI encrypted through the codec server: Hero got the patient.
      assert.equal(tracesOf(patient).length, 1);

      // History as anyone with access to Temporal sees it: the CLI without the codec.
      const shown = await cli.run(['workflow', 'show', '--workflow-id', workflowId]);
      assert.equal(shown.code, 0, shown.stderr);
      const { events } = JSON.parse(shown.stdout) as {
        events: { workflowExecutionStartedEventAttributes?: { input: { payloads: RawPayload[] } } }[];
      };
      const input = events[0]!.workflowExecutionStartedEventAttributes!.input.payloads;
      assert.equal(input.length, 1);
      assert.equal(fromBase64(input[0]!.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(fromBase64(input[0]!.metadata?.['encryption-key-id']), ring.encryptWith.id);
      assertNoPatientData(shown.stdout, patient, 'the history shown without the codec');
    },
  );

  it(
    'reads a waiting run with `workflow query --name status` and confirms it with `workflow update execute --name confirmVerification`',
    { timeout: 60_000 },
    async () => {
      const patient = newPatient({ needsVerification: true });
      stack.sandbox.addPatient(patient);

      const { waiting, rawQuery, refused, plaintextUpdate, confirmed, result } = await withWorker(async (taskQueue) => {
        const workflowId = await cliStart(taskQueue, patient, viaCodec);
        const query = ['workflow', 'query', '--workflow-id', workflowId, '--name', 'status'];
        const waiting = await eventually(
          async () => {
            const { queryResult } = await cli.json<{ queryResult: OutreachStatus[] }>(query, viaCodec);
            return queryResult[0]?.state === 'awaiting_verification' && queryResult[0];
          },
          20_000,
          'the CLI to see the run awaiting verification',
        );
        const rawQuery = await cli.run(query);
        // The codec server decodes only for callers with its token (the CLI sends --codec-auth as is).
        const refused = await cli.run(query, {
          url: codec.url,
          auth: `Bearer ${randomBytes(24).toString('base64url')}`,
        });

        // The patient presses the button on Hero's login page; then the caller confirms, here from the CLI.
        const page = await fetch(waiting.loginUrl!, { method: 'POST' });
        assert.equal(page.status, 200);
        const confirm = [
          'workflow',
          'update',
          'execute',
          '--workflow-id',
          workflowId,
          '--name',
          'confirmVerification',
          '--input',
          '{"source":"cli"}',
        ];
        const plaintextUpdate = await cli.run(confirm);
        const confirmed = await cli.json<{ name: string; result: VerificationAccepted }>(confirm, viaCodec);
        // The dev server runs in real time: only the update, not the 6-hour re-check, can end this wait.
        return { waiting, rawQuery, refused, plaintextUpdate, confirmed, result: await cliResult(workflowId) };
      });

      assert.match(waiting.loginUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/verify\//);
      assert.equal(waiting.attempts, 1);
      // Without the codec the query's answer is ciphertext: the login URL is patient data.
      assert.equal(rawQuery.code, 0, rawQuery.stderr);
      const [answer] = (JSON.parse(rawQuery.stdout) as { queryResult: { payloads: RawPayload[] } }).queryResult
        .payloads;
      assert.equal(fromBase64(answer!.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.ok(!rawQuery.stdout.includes(new URL(waiting.loginUrl!).pathname), 'login URL in the raw query answer');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /Unauthorized/);
      assert.ok(!refused.stdout.includes(new URL(waiting.loginUrl!).pathname), 'login URL shown without the token');

      // An update sent without the codec is rejected, and the run goes on waiting for one that is encrypted.
      assert.equal(plaintextUpdate.code, 1);
      assert.match(plaintextUpdate.stderr, /type: HeroUnencryptedPayload, retryable: false/);
      assert.deepEqual(confirmed, {
        ...confirmed,
        name: 'confirmVerification',
        result: { accepted: true, state: 'creating_booking_link', retraced: true, found: 'patient' },
      });
      assert.equal(result.status, 'COMPLETED');
      assert.equal(result.result.outcome, 'completed');
      assert.equal(tracesOf(patient).length, 2, 'traced once, then again after the confirmation');
    },
  );

  it(
    'fails a run started without the codec, non-retryable with HeroUnencryptedPayload, before any Hero call',
    { timeout: 60_000 },
    async () => {
      const patient = newPatient();
      stack.sandbox.addPatient(patient);

      const { workflowId, result } = await withWorker(async (taskQueue) => {
        const workflowId = await cliStart(taskQueue, patient);
        // Read WITHOUT the codec, as the caller who forgot it would: this one failure is left readable.
        return { workflowId, result: await cli.run(['workflow', 'result', '--workflow-id', workflowId]) };
      });

      assert.equal(result.code, 1, result.stderr);
      const { status, closeEvent } = JSON.parse(result.stdout) as {
        status: string;
        closeEvent: {
          workflowExecutionFailedEventAttributes: {
            failure: {
              message: string;
              encodedAttributes?: unknown;
              applicationFailureInfo: { type: string; nonRetryable?: boolean };
            };
          };
        };
      };
      assert.equal(status, 'FAILED');
      const { failure } = closeEvent.workflowExecutionFailedEventAttributes;
      assert.deepEqual(failure.applicationFailureInfo, { type: 'HeroUnencryptedPayload', nonRetryable: true });
      assert.equal(failure.encodedAttributes, undefined, 'the refusal is readable without the codec');
      assert.match(failure.message, /^The workflow input was not encrypted\./);
      assert.match(failure.message, /--codec-endpoint/, 'says how to start runs correctly');
      assertNoPatientData(result.stdout + result.stderr, patient, `the failure of ${workflowId}`);
      assert.deepEqual(tracesOf(patient), [], 'no Hero call for a plaintext run');
    },
  );
});
