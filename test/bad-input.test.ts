import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { HeroFlowClient, InvalidOutreachRequestError } from '../src/client';
import { parseKeyRing } from '../src/codec';
import type { Sandbox } from '../src/sandbox';
import { confirmVerificationUpdate, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { cli, freePort, ROOT } from './support/processes';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

/**
 * Every way bad input can enter hero-flow, tried for real, and what the user sees. Each row asserts
 * the message; the suite also writes the table to test-artifacts/bad-input.md.
 */
describe('bad input: a clear error, and nothing lost', () => {
  const rows: { where: string; input: string; saw: string }[] = [];
  const ring = parseKeyRing(`bad:${randomBytes(32).toString('base64')}`);
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-bad-'));
  const cliEnv = { ...process.env, HERO_CODEC_KEYS: `bad:${randomBytes(32).toString('base64')}` };
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
  });

  after(async () => {
    await stopTestStack({ env, sandbox });
    rmSync(tmp, { recursive: true, force: true });
    const table = [
      '| where | bad input | what the user saw |',
      '| --- | --- | --- |',
      ...rows.map((r) => `| ${r.where} | ${r.input} | ${r.saw.replace(/\|/g, '\\|')} |`),
    ].join('\n');
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test-artifacts', 'bad-input.md'), table + '\n');
    process.stdout.write(`\n${table}\n`);
  });

  const oneLine = (text: string) =>
    text
      .replace(/\s+/g, ' ')
      .replace(/Usage: .*/, '(usage follows)')
      .trim()
      .slice(0, 260);

  async function cliCase(input: string, args: string[], expect: RegExp, stdin?: string) {
    const run = await cli(args, cliEnv, stdin);
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '', 'nothing on stdout on error');
    assert.match(run.stderr, expect);
    rows.push({ where: 'CLI', input, saw: `exit ${run.code}: ${oneLine(run.stderr)}` });
  }

  const file = (body: unknown) => {
    const path = join(tmp, `${uniqueId('req')}.json`);
    writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
    return path;
  };

  it('CLI: unreadable, malformed and invalid requests are refused before connecting', async () => {
    const valid = outreachRequest(newPatient());
    await cliCase('`start` without `--input`', ['start'], /start needs --input FILE/);
    await cliCase(
      '`--input` file missing',
      ['start', '--input', join(tmp, 'none.json'), '--workflow-id', 'x'],
      /ENOENT/,
    );
    await cliCase(
      'request is not JSON',
      ['start', '--input', file('{ "nhsNumber": '), '--workflow-id', 'x'],
      /not valid JSON/,
    );
    await cliCase(
      'NHS number fails Modulus 11, dob 30 Feb, empty message',
      [
        'start',
        '--input',
        file({ ...valid, nhsNumber: '943 476 5918', dob: '2023-02-30', message: { type: 'sms', text: ' ' } }),
        '--workflow-id',
        'x',
      ],
      /nhsNumber: fails the NHS Modulus 11 check digit[\s\S]*dob: must be a real calendar date[\s\S]*message.text: must not be empty/,
    );
    await cliCase(
      'dob in the future, unknown message type, bad duration',
      [
        'start',
        '--input',
        file({
          ...valid,
          dob: '2999-01-01',
          message: { type: 'fax', text: 'hi' },
          verification: { timeout: '7 fortnights' },
        }),
        '--workflow-id',
        'x',
      ],
      /dob: must not be in the future[\s\S]*message.type[\s\S]*verification.timeout: must be a duration/,
    );
    await cliCase(
      'workflow ID containing an NHS number',
      ['start', '--input', file(valid), '--workflow-id', 'patient-9434765919'],
      /looks like it contains an NHS number/,
    );
    await cliCase('`status` without an ID', ['status'], /status needs exactly one workflow ID/);
    await cliCase('unknown command', ['sned'], /unknown command "sned"/);
    await cliCase('`start-batch` without `--input`', ['start-batch'], /start-batch needs --input FILE/);
    await cliCase(
      '`start-batch --concurrency 0`',
      ['start-batch', '--input', file('\n'), '--concurrency', '0'],
      /--concurrency must be a whole number of at least 1/,
    );
    await cliCase(
      '`start-batch` file with no items',
      ['start-batch', '--input', file('\n\n')],
      /the batch has no items/,
    );
  });

  it('library: HeroFlowClient.start rejects a bad request, naming each problem, before Temporal sees it', async () => {
    // A client whose server does not exist: any call that reached the network would fail differently.
    const offline = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}` }) });
    const client = new HeroFlowClient(offline, uniqueId('tq'), 'secret');
    const err = await client
      .start({ ...outreachRequest(newPatient()), booking: { appointmentTypeId: 'one', locationId: '5' } } as never)
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof InvalidOutreachRequestError);
    assert.deepEqual(err.problems, ['booking.appointmentTypeId: must be a numeric id string']);
    rows.push({
      where: 'library',
      input: 'non-numeric `booking.appointmentTypeId`',
      saw: `InvalidOutreachRequestError: ${oneLine(err.message)}`,
    });
  });

  it('library: startMany starts every valid request of a batch and reports each invalid one by position', async () => {
    const patients = [newPatient(), newPatient(), newPatient()];
    for (const p of patients) sandbox.addPatient(p);
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const client = new HeroFlowClient(env.client, taskQueue, 'secret');
    await worker.runUntil(async () => {
      const results = await client.startMany(
        [
          { request: outreachRequest(patients[0]!), workflowId: uniqueId('batch') },
          { request: { ...outreachRequest(patients[1]!), dob: '1990-02-30' } },
          { request: outreachRequest(patients[1]!), workflowId: uniqueId('batch') },
          { request: outreachRequest(patients[2]!) },
        ],
        { concurrency: 2 },
      );
      assert.deepEqual(
        results.map((r) => r.index),
        [0, 1, 2, 3],
      );
      const refused = results[1]!;
      assert.ok('error' in refused && refused.error instanceof InvalidOutreachRequestError);
      assert.deepEqual(refused.error.problems, ['dob: must be a real calendar date written YYYY-MM-DD']);
      const started = results.flatMap((r) => ('started' in r ? [r.started] : []));
      assert.equal(started.length, 3);
      for (const { workflowId } of started) assert.equal((await client.result(workflowId)).outcome, 'completed');
      rows.push({
        where: 'library',
        input: '`startMany` batch with one impossible date of birth',
        saw: `the other 3 started and completed; item 1: ${oneLine(refused.error.message)}`,
      });
    });
  });

  it('workflow input, signal and update: the run validates what reaches it', async () => {
    const tracesBefore = sandbox.requests({ endpoint: 'register_pds' }).length;
    const patient = newPatient({ needsVerification: true });
    sandbox.addPatient(patient);
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    await worker.runUntil(async () => {
      const raw = await env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('bad-raw'),
        args: [{ nhsNumber: 'abc', dob: '1990-01-01' }],
      });
      const failed = await raw.result().then(
        () => assert.fail('expected failure'),
        (e: unknown) => e,
      );
      assert.ok(failed instanceof WorkflowFailedError);
      assert.match(
        String(failed.cause?.message),
        /Invalid outreach input: nhsNumber: must be 10 digits .*; booking: .*; message: /,
      );
      rows.push({
        where: 'workflow input (started without the library)',
        input: 'NHS number "abc", no booking or message',
        saw: `run fails (InvalidWorkflowInput), no Hero call: ${oneLine(String(failed.cause?.message))}`,
      });

      const handle = await env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('bad-signal'),
        args: [outreachRequest(patient)],
      });
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      await handle.signal('verificationCompleted', 42);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await handle.query(statusQuery)).state, 'awaiting_verification');
      rows.push({
        where: 'signal `verificationCompleted`',
        input: 'payload `42`',
        saw: 'ignored with a worker warning "Ignored a malformed verificationCompleted signal"; run keeps waiting',
      });

      const rejected = await handle.executeUpdate(confirmVerificationUpdate, { args: [{ source: 7 } as never] }).then(
        () => assert.fail('expected rejection'),
        (e: unknown) => e,
      );
      assert.ok(rejected instanceof WorkflowUpdateFailedError);
      assert.match(String(rejected.cause?.message), /malformed verification payload/);
      rows.push({
        where: 'update `confirmVerification`',
        input: '`{ "source": 7 }`',
        saw: `rejected at once, nothing written to history: ${oneLine(String(rejected.cause?.message))}`,
      });

      await handle.cancel();
      assert.deepEqual(await handle.result(), { outcome: 'cancelled' });
      const late = await handle.executeUpdate(confirmVerificationUpdate, { args: [{}] }).then(
        () => assert.fail('expected rejection'),
        (e: unknown) => e,
      );
      assert.ok(late instanceof Error);
      rows.push({
        where: 'update `confirmVerification`',
        input: 'sent after the run ended',
        saw: `rejected: ${oneLine(late.message)}`,
      });
    });
    const traces = sandbox.requests({ endpoint: 'register_pds' }).length - tracesBefore;
    assert.equal(traces, 1, 'only the valid run called Hero');
  });
});
