import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { parseKeyRing } from '../src/codec';
import { campaignPageWorkflowId, campaignWorkflowId } from '../src/shared/campaign-ids';
import { CAMPAIGN_DEFAULT_SEND_WINDOW, nextOpening, sendWindowSchema } from '../src/shared/send-window';
import { pageRecordsQuery } from '../src/workflows/campaign-definitions';
import { HERO_RECORD_ID } from '../src/shared/search-attributes';
import { statusQuery } from '../src/workflows/definitions';
import { eventually, syntheticNhsNumber } from './support/fixtures';
import { cli } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { runSuiteWorker, type SuiteWorker } from './support/workers';

/** Letters only, so no random digits look like patient data in IDs. */
const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');

/**
 * `hero-flow campaign …` as a user runs it (bin/hero-flow.js, built), against a real Temporal dev server,
 * a hero-flow worker and the Hero sandbox over HTTP. Campaigns send at any time here (--send-anytime): the
 * default sending hours would hold every message until a weekday morning.
 */
describe('hero-flow campaign (dev server, worker, sandbox)', () => {
  const keys = `camp:${randomBytes(32).toString('base64')}`;
  const ring = parseKeyRing(keys);
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-campaign-'));
  let stack: TestStack;
  let worker: SuiteWorker;
  let env: NodeJS.ProcessEnv;
  let seed = (process.pid % 10_000) * 1_000;
  const patients: { nhsNumber: string; dob: string; patientId: string }[] = [];

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring });
    worker = await runSuiteWorker(stack, ring);
    // No HERO_WORKFLOW_ID_SECRET: patient keys come from the payload keys, as documented.
    const { HERO_WORKFLOW_ID_SECRET: _s, ...base } = process.env;
    env = { ...base, TEMPORAL_ADDRESS: stack.env.address, HERO_CODEC_KEYS: keys, HERO_TASK_QUEUE: worker.taskQueue };
  });
  after(async () => {
    await worker?.stop();
    await stopTestStack(stack);
    rmSync(tmp, { recursive: true, force: true });
  });

  const patient = () => {
    seed += 17;
    const p = {
      nhsNumber: syntheticNhsNumber(seed),
      dob: `19${60 + (seed % 30)}-0${1 + (seed % 9)}-1${seed % 9}`,
      patientId: String(500_000 + seed),
    };
    stack.sandbox.addPatient(p);
    patients.push(p);
    return p;
  };
  const file = (name: string, text: string) => {
    const path = join(tmp, name);
    writeFileSync(path, text);
    return path;
  };
  const line = (recordId: string, p: { nhsNumber: string; dob: string }, extra: object = {}) =>
    JSON.stringify({ recordId, request: { nhsNumber: p.nhsNumber, dob: p.dob, ...extra } });
  const template = (extra: object = {}) =>
    file(
      `template-${letters(6)}.json`,
      JSON.stringify({
        booking: {
          appointmentTypeId: '1',
          locationId: '5',
          practitionerId: '7',
          expiryDate: '2026-12-31',
          maximumUseCount: 1,
        },
        message: { type: 'sms', text: 'Your health check is due: {booking_link}' },
        ...extra,
      }),
    );
  const json = (text: string) => JSON.parse(text) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const runsOf = async (cid: string, extra = '') =>
    (
      await stack.env.client.workflow.count(
        `HeroCampaignId = "${cid}" AND WorkflowType = "patientOutreachWorkflow"${extra}`,
      )
    ).count;
  const messagesTo = (ps: { patientId: string }[]) =>
    stack.sandbox.messages().filter((m) => ps.some((p) => p.patientId === m.patientId)).length;
  /** No NHS number or date of birth of any patient of this suite in `text`. */
  const noPatientData = (text: string) => {
    for (const p of patients) {
      assert.ok(!text.includes(p.nhsNumber), 'an NHS number in the output');
      assert.ok(!text.includes(p.dob), 'a date of birth in the output');
    }
  };

  it(
    'hands a list over: bad lines by number, one message per patient, the same file adds nothing, another list needs --append; status, report, list, watch',
    { timeout: 240_000 },
    async () => {
      const cid = `hc-${letters(8)}`;
      const [a, b, c, d] = [patient(), patient(), patient(), patient()];
      const tpl = template();
      const list = file(
        'list.jsonl',
        [
          line('r1', a),
          line('r2', b),
          line('r3', c),
          line('bad', { nhsNumber: a.nhsNumber, dob: '2001-02-30' }),
          line('r4', a),
          line('r2', d),
        ].join('\n') + '\n',
      );
      const args = [
        'campaign',
        'start',
        '--input',
        list,
        '--template',
        tpl,
        '--campaign-id',
        cid,
        '--send-anytime',
        '--json',
      ];
      const first = await cli(args, env);
      assert.equal(first.code, 1, first.stderr);
      const handOff = json(first.stdout);
      assert.equal(handOff.alreadyHandedOver, false);
      assert.equal(handOff.records, 4);
      assert.equal(handOff.pages, 1);
      assert.deepEqual(handOff.invalid, [
        { line: 4, reason: 'request.dob: must be a real calendar date written YYYY-MM-DD' },
      ]);
      assert.deepEqual(handOff.duplicates, [
        { line: 5, recordId: 'r4', duplicateOf: 'r1', kind: 'patient' },
        { line: 6, recordId: 'r2', duplicateOf: 'r2', kind: 'record' },
      ]);
      noPatientData(first.stdout + first.stderr);

      await eventually(
        async () => (await runsOf(cid, ' AND ExecutionStatus = "Completed"')) === 3,
        90_000,
        '3 runs completed',
      );
      assert.equal(await runsOf(cid), 3, 'three runs: the duplicate patient has none of its own');
      assert.equal(messagesTo([a, b, c]), 3, 'one message per patient');
      assert.equal(messagesTo([d]), 0, 'the repeated recordId is left out');

      const again = await cli(args, env);
      assert.equal(again.code, 1, again.stderr);
      assert.equal(json(again.stdout).alreadyHandedOver, true);

      const otherHours = await cli([...args.slice(0, -2), '--send-between', '09:00-17:00'], env);
      assert.equal(otherHours.code, 2, otherHours.stderr);
      assert.match(otherHours.stderr, new RegExp(`campaign ${cid} already exists with other sending hours`));

      const other = file('other.jsonl', line('r5', d) + '\n');
      const otherArgs = [
        'campaign',
        'start',
        '--input',
        other,
        '--template',
        tpl,
        '--campaign-id',
        cid,
        '--send-anytime',
        '--json',
      ];
      const refused = await cli(otherArgs, env);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`campaign ${cid} already holds a different list; pass --append`));
      const appended = await cli([...otherArgs, '--append'], env);
      assert.equal(appended.code, 0, appended.stderr);
      assert.equal(json(appended.stdout).startIndex, 4);
      await eventually(
        async () => (await runsOf(cid, ' AND ExecutionStatus = "Completed"')) === 4,
        90_000,
        '4 runs completed',
      );
      assert.equal(messagesTo([a, b, c, d]), 4);
      assert.equal(await runsOf(cid), 4, 'the same file again started nothing');

      const t0 = performance.now();
      const status = await cli(['campaign', 'status', cid, '--json'], env);
      const statusMs = performance.now() - t0;
      assert.equal(status.code, 0, status.stderr);
      const s = json(status.stdout);
      assert.equal(s.total, 5);
      assert.equal(s.started, 4);
      assert.equal(s.finished, 4);
      assert.deepEqual(s.byOutcome, { completed: 4 });
      assert.equal(s.paused, false);
      assert.equal(s.sendWindow, null);
      assert.equal(s.sendingNow, true);
      assert.equal(s.pagesDone, 2);
      assert.equal(s.handedOver, true);
      process.stderr.write(`# campaign status (CLI process included): ${statusMs.toFixed(0)} ms\n`);

      const csv = join(tmp, 'report.csv');
      const report = await cli(['campaign', 'report', cid, '--output', csv], env);
      assert.equal(report.code, 0, report.stderr);
      const rows = readFileSync(csv, 'utf8').trimEnd().split('\r\n');
      assert.equal(
        rows[0],
        'recordId,workflowId,state,outcome,bookedAt,remindersSent,deliveryStatus,review,duplicateOf',
      );
      const byRecord = new Map(rows.slice(1).map((r) => [r.split(',')[0]!, r.split(',')]));
      assert.deepEqual([...byRecord.keys()].sort(), ['r1', 'r2', 'r3', 'r4', 'r5']);
      assert.equal(byRecord.get('r1')![2], 'completed');
      assert.equal(byRecord.get('r1')![3], 'completed');
      assert.equal(byRecord.get('r4')![8], 'r1', 'the duplicate names its first record');
      assert.equal(byRecord.get('r4')![2], 'duplicate');
      assert.equal(byRecord.get('r4')![1], byRecord.get('r1')![1], "the duplicate points at the first record's run");
      noPatientData(readFileSync(csv, 'utf8'));
      const jsonl = await cli(['campaign', 'report', cid, '--format', 'jsonl'], env);
      assert.equal(jsonl.code, 0, jsonl.stderr);
      assert.equal(jsonl.stdout.trimEnd().split('\n').length, 5);

      const listed = await cli(['campaign', 'list', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      const mine = listed.stdout
        .trimEnd()
        .split('\n')
        .map(json)
        .find((l) => l.campaignId === cid);
      assert.equal(mine?.total, 5);
      assert.equal(mine?.finished, 4);

      const watched = await cli(['campaign', 'watch', cid, '--interval', '0.5'], env, undefined, { timeoutMs: 30_000 });
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout, /4\/5 started, 4 finished, 0 running, pages 2\/2 · completed 4\n/);
    },
  );

  it(
    'pause answers once paused, resume carries on, cancel ends every unfinished run but a booked one',
    { timeout: 240_000 },
    async () => {
      const cid = `pc-${letters(8)}`;
      const [a, b, c] = [patient(), patient(), patient()];
      const tpl = template({ awaitBooking: { window: '1 hour', recheckEvery: '15 seconds' } });
      const list = file(`waits-${cid}.jsonl`, [line('w1', a), line('w2', b), line('w3', c)].join('\n'));
      const start = await cli(
        ['campaign', 'start', '--input', list, '--template', tpl, '--campaign-id', cid, '--send-anytime'],
        env,
      );
      assert.equal(start.code, 0, start.stderr);
      const waiting = ' AND HeroFlowState = "awaiting_booking"';
      await eventually(async () => (await runsOf(cid, waiting)) === 3, 90_000, 'three runs awaiting booking');

      const paused = await cli(['campaign', 'pause', cid, '--reason', 'appointment book full', '--json'], env);
      assert.equal(paused.code, 0, paused.stderr);
      assert.deepEqual(json(paused.stdout), {
        campaignId: cid,
        paused: true,
        cancelled: false,
        reason: 'appointment book full',
      });
      const whilePaused = json((await cli(['campaign', 'status', cid, '--json'], env)).stdout);
      assert.equal(whilePaused.paused.reason, 'appointment book full');
      assert.equal(whilePaused.paused.by, 'operator');
      const resumed = await cli(['campaign', 'resume', cid, '--json'], env);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(json(resumed.stdout).paused, false);
      assert.equal(json((await cli(['campaign', 'status', cid, '--json'], env)).stdout).paused, false);

      // a books: its run learns it from the link's use count at its next re-check.
      const runs: { workflowId: string; recordId: string }[] = [];
      for await (const wf of stack.env.client.workflow.list({
        query: `HeroCampaignId = "${cid}" AND WorkflowType = "patientOutreachWorkflow"`,
      })) {
        runs.push({
          workflowId: wf.workflowId,
          recordId: String(wf.typedSearchAttributes.get(HERO_RECORD_ID)),
        });
      }
      const aRun = runs.find((r) => r.recordId === 'w1')!;
      const aStatus = await stack.env.client.workflow.getHandle(aRun.workflowId).query(statusQuery);
      stack.sandbox.book(aStatus.bookingLinkId!, { notify: false });
      await eventually(async () => (await runsOf(cid, ' AND HeroFlowState = "booked"')) === 1, 60_000, 'a booked');

      const cancelled = await cli(['campaign', 'cancel', cid, '--reason', 'clinic closed', '--json'], env);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      const answer = json(cancelled.stdout);
      assert.equal(answer.runsCancelled, 2);
      assert.equal(answer.remaining, 0);
      assert.equal(await runsOf(cid, ' AND ExecutionStatus = "Running"'), 1, 'the booked run is left running');
      assert.equal((await stack.env.client.workflow.getHandle(aRun.workflowId).describe()).status.name, 'RUNNING');
      const s = json((await cli(['campaign', 'status', cid, '--json'], env)).stdout);
      assert.equal(s.cancelled.reason, 'clinic closed');
      const report = await cli(['campaign', 'report', cid, '--format', 'jsonl'], env);
      const rows = report.stdout.trimEnd().split('\n').map(json);
      assert.deepEqual(
        rows.map((r) => [r.recordId, r.state, r.outcome]),
        [
          ['w1', 'booked', undefined],
          ['w2', 'cancelled', 'cancelled'],
          ['w3', 'cancelled', 'cancelled'],
        ],
      );
      // Resume of a cancelled campaign is refused, in words.
      const late = await cli(['campaign', 'resume', cid], env);
      assert.equal(late.code, 1);
      assert.match(late.stderr, new RegExp(`campaign ${cid}: (it has ended|.*is cancelled; it cannot be resumed)`));
      await stack.env.client.workflow.getHandle(aRun.workflowId).terminate('test over');
    },
  );

  it(
    'starts a failed page again on the same command again, so its records are not lost',
    { timeout: 180_000 },
    async () => {
      const cid = `fp-${letters(8)}`;
      const [a, b] = [patient(), patient()];
      const list = file(`failed-page-${cid}.jsonl`, [line('f1', a), line('f2', b)].join('\n'));
      // Page 0 failed before: an input its worker refuses (as an older worker refuses a newer client's page),
      // under the ID the hand-off gives that page.
      const refused = await stack.env.client.workflow.start('campaignPageWorkflow', {
        taskQueue: worker.taskQueue,
        workflowId: campaignPageWorkflowId(cid, 0),
        args: [{ campaignId: cid, runPriority: 9 }],
      });
      await assert.rejects(refused.result(), WorkflowFailedError);
      const args = ['campaign', 'start', '--input', list, '--template', template(), '--campaign-id', cid];
      const start = await cli([...args, '--send-anytime'], env);
      assert.equal(start.code, 0, start.stderr);
      await eventually(async () => messagesTo([a, b]) === 2, 90_000, "both records' messages sent");
      const page = await stack.env.client.workflow.getHandle(campaignPageWorkflowId(cid, 0)).describe();
      assert.equal(page.status.name, 'COMPLETED');
      // A page evicted from a busy worker's cache replays for seconds: 60 s per task, not the default 10.
      assert.equal(Number(page.raw.executionConfig?.defaultWorkflowTaskTimeout?.seconds), 60);
    },
  );

  it('holds a record for the default sending hours (08:00-18:00 mon-fri Europe/London) when given none', async (t) => {
    const now = Date.now();
    if (nextOpening(now, sendWindowSchema.parse(CAMPAIGN_DEFAULT_SEND_WINDOW)) < now + 120_000) {
      t.skip('the default sending hours are open now');
      return;
    }
    const cid = `dh-${letters(8)}`;
    const list = file(`hours-${cid}.jsonl`, line('h1', patient()));
    const run = await cli(
      ['campaign', 'start', '--input', list, '--template', template(), '--campaign-id', cid, '--spread-over', '1h'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const status = json((await cli(['campaign', 'status', cid, '--json'], env)).stdout);
    assert.deepEqual(status.sendWindow, CAMPAIGN_DEFAULT_SEND_WINDOW);
    assert.equal(status.sendingNow, false);
    // The page waits for the first opening: no run yet.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const records = await stack.env.client.workflow.getHandle(campaignPageWorkflowId(cid, 0)).query(pageRecordsQuery);
    assert.deepEqual(
      records.map((r) => r.status),
      ['pending'],
    );
    assert.equal(await runsOf(cid), 0);
    assert.equal((await cli(['campaign', 'cancel', cid], env)).code, 0);
  });

  it('refuses bad input with exit 2 and starts nothing', async () => {
    const cid = `bad-${letters(8)}`;
    const a = patient();
    const allBad = file('bad.jsonl', [line('x1', { nhsNumber: '123', dob: a.dob }), 'oops'].join('\n'));
    const tpl = template();
    const run = await cli(
      ['campaign', 'start', '--input', allBad, '--template', tpl, '--campaign-id', cid, '--send-anytime'],
      env,
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /no line of the list is a valid record \(2 invalid, 0 duplicate\), so nothing was started/,
    );
    await assert.rejects(
      stack.env.client.workflow.getHandle(campaignWorkflowId(cid)).describe(),
      WorkflowNotFoundError,
    );
    const good = file('good.jsonl', line('y1', a));
    for (const [extra, pattern] of [
      [['--send-between', '25:00-26:00'], /--send-between: must be two times of day/],
      [['--spread-over', 'later'], /--spread-over: must be a duration/],
      [['--campaign-id', '9434765919'], /--campaign-id: looks like an NHS number/],
      [['--template', join(tmp, 'none.json')], /cannot read --template/],
    ] as const) {
      const r = await cli(
        ['campaign', 'start', '--input', good, '--template', tpl, '--campaign-id', cid, ...extra],
        env,
      );
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
    await assert.rejects(
      stack.env.client.workflow.getHandle(campaignWorkflowId(cid)).describe(),
      WorkflowNotFoundError,
    );
    const missing = await cli(['campaign', 'status', `none-${letters(6)}`], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no campaign of that ID/);
  });
});
