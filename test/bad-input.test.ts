import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { HeroFlowClient, InvalidOutreachRequestError } from '../src/client';
import { MAX_REQUEST_BYTES, prepareOutreachRequest } from '../src/client/prepare';
import { parseKeyRing } from '../src/codec';
import type { Sandbox } from '../tools/sandbox';
import { describeProblems } from '../src/shared/problems';
import { confirmVerificationUpdate, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { DURATION_BOUNDS, type OutreachRequest, outreachInputSchema } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, signalHandled, uniqueId } from './support/fixtures';
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

  /** Requests with a field the issue found misspelt, and the problem each must be refused with. */
  const misspelt = (patient: { nhsNumber: string; dob: string }) => {
    const valid = outreachRequest(patient);
    const { expiryDate, maximumUseCount, ...booking } = valid.booking;
    return [
      {
        input: '`booking.expiryDte` (for `expiryDate`)',
        request: { ...valid, booking: { ...booking, maximumUseCount, expiryDte: expiryDate } },
        problem: 'booking.expiryDte: unknown field; did you mean "expiryDate"?',
      },
      {
        input: '`booking.maximumUseCont` (for `maximumUseCount`)',
        request: { ...valid, booking: { ...booking, expiryDate, maximumUseCont: maximumUseCount } },
        problem: 'booking.maximumUseCont: unknown field; did you mean "maximumUseCount"?',
      },
      {
        input: '`verifcation` (for `verification`)',
        request: { ...valid, verifcation: { timeout: '1 day' } },
        problem: 'verifcation: unknown field; did you mean "verification"?',
      },
      {
        input: 'fields the workflow does not know: `patientName`, `address`',
        request: { ...valid, patientName: 'Jane Doe', address: '1 High Street' },
        problem: 'patientName: unknown field\naddress: unknown field',
      },
    ];
  };

  /** Nested arrays, `depth` deep: JSON.stringify and any recursive walk overflow the stack on 200,000. */
  const nestedArrays = (depth: number) => {
    let value: unknown = [];
    for (let i = 1; i < depth; i++) value = [value];
    return value;
  };

  async function assertNoRun(workflowId: string) {
    await assert.rejects(env.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
  }

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
    await cliCase('`status` without an ID', ['status'], /missing required argument 'workflow-id'/);
    await cliCase('unknown command', ['sned'], /unknown command 'sned'/);
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

  it('library: refuses unknown and misspelt fields, naming the nearest known one, and starts no run', async () => {
    const client = new HeroFlowClient(env.client, uniqueId('tq'), 'secret');
    for (const row of misspelt(newPatient())) {
      const workflowId = uniqueId('typo');
      const err = await client.start(row.request as never, { workflowId }).then(
        () => assert.fail(`expected ${row.input} to be refused`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InvalidOutreachRequestError);
      assert.deepEqual(err.problems, row.problem.split('\n'));
      assert.doesNotMatch(err.message, /Jane|High Street|2026-12-31/, 'no value is echoed');
      await assertNoRun(workflowId);
      rows.push({ where: 'library', input: row.input, saw: `InvalidOutreachRequestError: ${oneLine(err.message)}` });
    }
  });

  /** Durations past what the product supports, and the problem each is refused with (issue 18, item 2). */
  const outOfBounds = (p: { nhsNumber: string; dob: string }) => [
    {
      input: '`awaitBooking.window` 3650 days, `recheckEvery` 10 s',
      request: outreachRequest(p, { awaitBooking: { window: '3650 days', recheckEvery: '10 s' } }),
      problem: 'awaitBooking.window: must be at most 90 days',
    },
    {
      input: '`awaitBooking.window` 1e16',
      request: outreachRequest(p, { awaitBooking: { window: 1e16 } }),
      problem: 'awaitBooking.window: must be at most 90 days',
    },
    {
      input: '`review.deadline` 1e16',
      request: outreachRequest(p, { review: { deadline: 1e16 } }),
      problem: 'review.deadline: must be at most 30 days',
    },
    {
      input: '`verification.timeout` 31 days',
      request: outreachRequest(p, { verification: { timeout: '31 days', recheckEvery: '1 day' } }),
      problem: 'verification.timeout: must be at most 30 days',
    },
    {
      input: '`awaitBooking` 90 days re-checked every hour',
      request: outreachRequest(p, { awaitBooking: { window: '90 days', recheckEvery: '1 hour' } }),
      problem:
        'awaitBooking.recheckEvery: must be at least 8.64 hours for a booking window of 90 days ' +
        '(at most 250 re-checks: booking window / 250)',
    },
    {
      // Runs from before this bound took it as 00:30 the next day (replayed: test/histories/send-window-late-end-v7.json).
      input: '`sendWindow.between` ending at 24:30',
      request: outreachRequest(p, { sendWindow: { between: '08:00-24:30' } }),
      problem:
        'sendWindow.between: must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"',
    },
  ];

  it('library and workflow: durations past their bounds are refused, naming the bound', async () => {
    const client = new HeroFlowClient(env.client, uniqueId('tq'), 'secret');
    const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
    const tracesBefore = sandbox.requests({ endpoint: 'register_pds' }).length;
    await worker.runUntil(async () => {
      for (const row of outOfBounds(newPatient())) {
        const err = await client.start(row.request).then(
          () => assert.fail(`expected ${row.input} to be refused`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof InvalidOutreachRequestError, String(err));
        assert.deepEqual(err.problems, [row.problem]);
        rows.push({ where: 'library', input: row.input, saw: `InvalidOutreachRequestError: ${oneLine(err.message)}` });

        // Another language's client skips the library's check: the run refuses it before any Hero call.
        const run = await env.client.workflow.start(patientOutreachWorkflow, {
          taskQueue,
          workflowId: uniqueId('bad-bound'),
          args: [row.request],
        });
        const failed = await run.result().then(
          () => assert.fail(`expected ${row.input} to fail the run`),
          (e: unknown) => e,
        );
        assert.ok(failed instanceof WorkflowFailedError && failed.cause instanceof ApplicationFailure, String(failed));
        assert.equal(failed.cause.type, 'InvalidWorkflowInput');
        assert.equal(failed.cause.message, `Invalid outreach input: ${row.problem}`);
        rows.push({
          where: 'workflow input (started without the library)',
          input: row.input,
          saw: `run fails (InvalidWorkflowInput), no Hero call: ${oneLine(failed.cause.message)}`,
        });
      }
    });
    assert.equal(sandbox.requests({ endpoint: 'register_pds' }).length, tracesBefore, 'no trace was sent');
  });

  it('library: refuses a request over the size cap or nested too deep, naming the cap, and starts no run', async () => {
    const client = new HeroFlowClient(env.client, uniqueId('tq'), 'secret');
    const valid = outreachRequest(newPatient());
    const cases = [
      {
        input: '3 MB `message.text`',
        request: { ...valid, message: { type: 'sms', text: 'x'.repeat(3_000_000) } },
        problem: '(request): larger than 16 KiB as JSON (16384 bytes), the most an outreach request may be',
      },
      {
        input: '200,000 nested arrays in `booking.practitionerId`',
        request: { ...valid, booking: { ...valid.booking, practitionerId: nestedArrays(200_000) } },
        problem: '(request): nested deeper than 8 levels of objects or arrays (a valid request has 2)',
      },
    ];
    for (const { input, request, problem } of cases) {
      const workflowId = uniqueId('big');
      const err = await client.start(request as never, { workflowId }).then(
        () => assert.fail(`expected ${input} to be refused`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InvalidOutreachRequestError, String(err));
      assert.deepEqual(err.problems, [problem]);
      await assertNoRun(workflowId);
      rows.push({ where: 'library', input, saw: `InvalidOutreachRequestError: ${oneLine(err.message)}` });
    }
  });

  it('library: the size cap never refuses a schema-valid request, even the largest', () => {
    // Every field at its longest, and the text in the characters JSON escapes most (\u0001: 6 bytes).
    const largest = {
      nhsNumber: '943\v\v\v\v\v\v\v\v\v\v\v476\v\v\v\v\v\v\v\v\v\v\v5919',
      dob: '1992-01-01',
      booking: {
        appointmentTypeId: '9'.repeat(20),
        locationId: '9'.repeat(20),
        practitionerId: '9'.repeat(20),
        fromDate: '2026-01-01',
        toDate: '2026-12-31',
        expiryDate: '2026-12-31',
        maximumUseCount: Number.MAX_SAFE_INTEGER,
      },
      message: { type: 'nhs_app', text: `{booking_link}${'\u0001'.repeat(1986)}` },
      verification: {
        timeout: DURATION_BOUNDS.verificationTimeout,
        recheckEvery: DURATION_BOUNDS.verificationTimeout,
      },
    };
    assert.equal(largest.nhsNumber.length, 32);
    const bytes = Buffer.byteLength(JSON.stringify(largest));
    assert.ok(bytes > 12_000 && bytes <= MAX_REQUEST_BYTES, `largest valid request: ${bytes} bytes`);
    assert.doesNotThrow(() => prepareOutreachRequest(largest));
  });

  it('problems name unknown fields without echoing values or keys that may hold patient data', () => {
    const parsed = outreachInputSchema.safeParse({
      ...outreachRequest(newPatient()),
      note: '943 476 5919',
      '9434765919': 'x',
      dob_1992_01_01: 'x',
      ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`extra${i}`, i])),
    });
    assert.ok(!parsed.success);
    const problems = describeProblems(parsed.error, '(request)', outreachInputSchema);
    assert.deepEqual(problems, [
      'note: unknown field',
      'extra0: unknown field',
      'extra1: unknown field',
      'extra2: unknown field',
      'extra3: unknown field',
      '(request): 26 more unknown fields',
      '(request): 2 unknown fields whose names are not shown (they do not look like field names and may hold patient data)',
    ]);
    assert.doesNotMatch(problems.join('\n'), /943|1992/);
  });

  it('CLI: `start` and `start-batch` refuse unknown and misspelt fields, too large or too deep requests; no run starts', async () => {
    const env2 = { ...cliEnv, TEMPORAL_ADDRESS: env.address, HERO_TASK_QUEUE: uniqueId('tq') };
    const typos = misspelt(newPatient());
    for (const row of typos) {
      const workflowId = uniqueId('typo');
      const run = await cli(['start', '--input', file(row.request), '--workflow-id', workflowId], env2);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      for (const problem of row.problem.split('\n')) assert.ok(run.stderr.includes(`  - ${problem}\n`), run.stderr);
      assert.doesNotMatch(run.stderr, /Jane|High Street/);
      await assertNoRun(workflowId);
      rows.push({ where: 'CLI `start`', input: row.input, saw: `exit ${run.code}: ${oneLine(run.stderr)}` });
    }

    // Files small enough for the CLI's own file cap, so that the request's cap and depth check answer.
    const valid = outreachRequest(newPatient());
    const big = { workflowId: uniqueId('big'), body: JSON.stringify({ ...valid, notes: 'x'.repeat(20_000) }) };
    const deep = {
      workflowId: uniqueId('deep'),
      body: JSON.stringify(valid).replace(/}$/, `,"notes":${'['.repeat(20_000)}${']'.repeat(20_000)}}`),
    };
    for (const [input, { workflowId, body }, expect] of [
      ['20 KB unknown field `notes`', big, /\(request\): larger than 16 KiB as JSON/],
      ['20,000 nested arrays in an unknown field `notes`', deep, /\(request\): nested deeper than 8 levels/],
    ] as const) {
      const run = await cli(['start', '--input', file(body), '--workflow-id', workflowId], env2);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, expect);
      await assertNoRun(workflowId);
      rows.push({ where: 'CLI `start`', input, saw: `exit ${run.code}: ${oneLine(run.stderr)}` });
    }

    const ids = typos.map(() => uniqueId('typo-batch'));
    const batch = typos.map((row, i) => JSON.stringify({ workflowId: ids[i], request: row.request })).join('\n');
    const run = await cli(['start-batch', '--input', file(batch)], env2);
    assert.equal(run.code, 1, run.stderr);
    const results = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { index: number; error?: string });
    for (const [i, row] of typos.entries()) {
      const result = results.find((r) => r.index === i);
      for (const problem of row.problem.split('\n')) assert.ok(result?.error?.includes(problem), run.stdout);
      await assertNoRun(ids[i]!);
    }
    rows.push({
      where: 'CLI `start-batch`',
      input: 'one line per misspelt or unknown field above',
      saw: `exit ${run.code}, a line per item: ${oneLine(JSON.stringify(results[0]))}`,
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
        // Deliberately invalid, as another language's client could send it: the workflow still validates.
        args: [{ nhsNumber: 'abc', dob: '1990-01-01' } as unknown as OutreachRequest],
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

      for (const row of misspelt(newPatient())) {
        const run = await env.client.workflow.start(patientOutreachWorkflow, {
          taskQueue,
          workflowId: uniqueId('bad-raw'),
          args: [row.request as never],
        });
        const err = await run.result().then(
          () => assert.fail(`expected ${row.input} to fail the run`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
        assert.equal(err.cause.type, 'InvalidWorkflowInput');
        assert.equal(err.cause.message, `Invalid outreach input: ${row.problem.split('\n').join('; ')}`);
        rows.push({
          where: 'workflow input (started without the library)',
          input: row.input,
          saw: `run fails (InvalidWorkflowInput), no Hero call: ${oneLine(err.cause.message)}`,
        });
      }

      const handle = await env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('bad-signal'),
        args: [outreachRequest(patient)],
      });
      await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');
      for (const [input, payload] of [
        ['payload `42`', 42],
        [
          'payload with an unknown field `{ "source": "portal", "patientName": … }`',
          { source: 'portal', patientName: 'Jane' },
        ],
      ] as const) {
        await handle.signal('verificationCompleted', payload);
        await signalHandled(handle);
        // A signal the run accepted would have made it trace again at once.
        assert.deepEqual(
          { ...(await handle.query(statusQuery)), updatedAt: undefined, loginUrl: undefined },
          { state: 'awaiting_verification', attempts: 1, updatedAt: undefined, loginUrl: undefined },
        );
        rows.push({
          where: 'signal `verificationCompleted`',
          input,
          saw: 'ignored with a worker warning "Ignored a malformed verificationCompleted signal" naming the problem fields (no values); run keeps waiting, no trace',
        });
      }

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

      const misspeltUpdate = await handle
        .executeUpdate(confirmVerificationUpdate, { args: [{ sorce: 'portal' } as never] })
        .then(
          () => assert.fail('expected rejection'),
          (e: unknown) => e,
        );
      assert.ok(misspeltUpdate instanceof WorkflowUpdateFailedError);
      assert.equal(
        misspeltUpdate.cause?.message,
        'malformed verification payload (expected nothing or { "source": string }): sorce: unknown field; did you mean "source"?',
      );
      const { events } = await handle.fetchHistory();
      assert.ok(!events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes), 'no update reached history');
      assert.equal((await handle.query(statusQuery)).attempts, 1);
      rows.push({
        where: 'update `confirmVerification`',
        input: '`{ "sorce": "portal" }`',
        saw: `rejected by the validator, nothing written to history: ${oneLine(String(misspeltUpdate.cause?.message))}`,
      });

      // The same run still accepts a well-formed signal, so the two above were refused for their payload.
      await handle.signal('verificationCompleted', { source: 'portal' });
      await eventually(async () => (await handle.query(statusQuery)).attempts === 2, 10_000, 'a second trace');

      await handle.cancel();
      assert.deepEqual(await handle.result(), { outcome: 'cancelled' });
      const late = await handle.executeUpdate(confirmVerificationUpdate, { args: [{}] }).then(
        () => assert.fail('expected rejection'),
        (e: unknown) => e,
      );
      assert.ok(late instanceof Error);
      // Refused by the server, since the run is closed: the validator never sees it (e2e covers the same).
      assert.match(late.message, /workflow execution already completed|update .* not found/);
      rows.push({
        where: 'update `confirmVerification`',
        input: 'sent after the run ended',
        saw: `rejected: ${oneLine(late.message)}`,
      });
    });
    const traces = sandbox.requests({ endpoint: 'register_pds' }).length - tracesBefore;
    assert.equal(traces, 2, 'only the valid run called Hero: its first trace and the one after the valid signal');
  });
});
