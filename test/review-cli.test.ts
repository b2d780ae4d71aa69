import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  HeroFlowClient,
  InvalidReviewResolutionError,
  OutreachRunFinishedError,
  ReviewRejectedError,
} from '../src/client';
import { generateKeySpec, parseKeyRing } from '../src/codec';
import { REVIEW_ACTIONS, REVIEW_NOTE_MAX } from '../src/cli/usage';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import { DEFAULT_REVIEW_DEADLINE_MS, reviewResolutionSchema } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, uniqueId, within } from './support/fixtures';
import { cli, freePort } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { runSuiteWorker, type SuiteWorker } from './support/workers';

/**
 * `hero-flow review list` and `review resolve` against real runs in needs_review, on a Temporal dev
 * server (the list needs its visibility store, which the time-skipping server lacks). A run reaches
 * review only after it has asked Hero about the uncertain send (`review.reconcileAfter`, 10 s here, 2 min
 * by default): the two runs this suite reviews are started first, and the tests that need no review run
 * meanwhile.
 */
/** Every decision, CLI or library, is answered in seconds; one left waiting (a validator that wrongly accepted) fails now. */
const BOUND = 30_000;

describe('hero-flow review: list the runs in review and resolve them', () => {
  const keySpec = generateKeySpec('review-cli');
  const ring = parseKeyRing(keySpec);
  let stack: TestStack;
  let worker: SuiteWorker;
  let client: HeroFlowClient;
  let env: NodeJS.ProcessEnv;
  /** Two runs whose message Hero may or may not have sent, and Hero cannot tell: they end up in review. */
  let inReview: Promise<string[]>;
  const patients: ReturnType<typeof newPatient>[] = [];

  const newPatientIn = () => {
    const p = newPatient();
    stack.sandbox.addPatient(p);
    patients.push(p);
    return p;
  };

  /** Waits until the run's state (its search attribute, as the list reads it) is `state`. */
  const untilState = (workflowId: string, state: string, timeoutMs = 20_000) =>
    eventually(
      async () =>
        (await client.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(HERO_FLOW_STATE) ===
        state,
      timeoutMs,
      `${workflowId} in ${state}`,
    );

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring });
    worker = await runSuiteWorker(stack, ring);
    const { taskQueue } = worker;
    client = new HeroFlowClient(stack.env.client, taskQueue);
    const { HERO_WORKFLOW_ID_SECRET: _s, HERO_DEV_TEMPORAL_PORT: _p, HERO_TEMPORAL_UI_URL: _u, ...base } = process.env;
    env = { ...base, TEMPORAL_ADDRESS: stack.env.address, HERO_CODEC_KEYS: keySpec, HERO_TASK_QUEUE: taskQueue };

    // A 500 on the send: Hero may have acted. Its list of sent messages answers 404: it cannot tell.
    stack.sandbox.setSentMessagesList(false);
    stack.sandbox.injectFault('send_message', { kind: 'status', status: 500 }, 2);
    const ids = await Promise.all(
      [0, 1].map(async () => {
        const { workflowId } = await client.start(
          outreachRequest(newPatientIn(), { review: { reconcileAfter: '10 seconds' } }),
          { workflowId: uniqueId('review') },
        );
        return workflowId;
      }),
    );
    // Both sends have taken the fault before any other run of this suite sends.
    await eventually(async () => stack.sandbox.requests({ endpoint: 'send_message' }).length >= 2, 20_000, 'two sends');
    inReview = Promise.all(ids.map((id) => untilState(id, 'needs_review', 240_000))).then(() => ids);
    inReview.catch(() => undefined);
  });

  after(async () => {
    await worker?.stop();
    await stopTestStack(stack);
  });

  const json = (text: string) => JSON.parse(text) as Record<string, unknown>;
  const lines = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => json(l));

  it('`review resolve` refuses an unknown or missing action and a long note with exit 2, naming the actions, before connecting', async () => {
    assert.deepEqual([...REVIEW_ACTIONS], reviewResolutionSchema.shape.action.options, 'the help names the actions');
    assert.equal(
      reviewResolutionSchema.safeParse({ action: 'abandon', note: 'x'.repeat(REVIEW_NOTE_MAX) }).success &&
        !reviewResolutionSchema.safeParse({ action: 'abandon', note: 'x'.repeat(REVIEW_NOTE_MAX + 1) }).success,
      true,
      'the help states the note limit',
    );
    // Nothing listens there: a command that got as far as connecting would exit 1, "Cannot reach Temporal".
    const nowhere = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
    for (const args of [
      ['--action', 'retry'],
      ['--action', 'RESEND'],
      [],
      ['--action', 'abandon', '--note', 'x'.repeat(REVIEW_NOTE_MAX + 1)],
    ]) {
      const run = await cli(['review', 'resolve', 'referral-1', ...args], nowhere, undefined, { timeoutMs: BOUND });
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^hero-flow: /);
      assert.match(run.stderr, /Usage: hero-flow review resolve <workflow-id> --action resend\|mark_sent\|abandon/);
      if (args[0] === '--action' && args[1] !== 'abandon') {
        assert.match(run.stderr, /--action must be one of resend, mark_sent, abandon/);
        assert.ok(!run.stderr.includes(args[1]!), 'the value was echoed');
      }
    }
    const missingId = await cli(['review', 'resolve', '--action', 'resend'], nowhere, undefined, { timeoutMs: BOUND });
    assert.equal(missingId.code, 2);
    assert.match(missingId.stderr, /missing required argument 'workflow-id'/);
  });

  it('`review resolve` of a workflow ID with no run says there is none, exit 1', async () => {
    const run = await cli(['review', 'resolve', uniqueId('review-none'), '--action', 'abandon'], env, undefined, {
      timeoutMs: BOUND,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /No hero-flow run with that workflow ID/);
    assert.equal(run.stdout, '');
    await assert.rejects(
      within(client.resolveReview(uniqueId('review-none'), { action: 'abandon' }), BOUND, 'the review decision'),
      WorkflowNotFoundError,
    );
  });

  it('`review resolve` of a finished run says it finished, with its outcome, and changes nothing (exit 1)', async () => {
    const { workflowId } = await client.start(outreachRequest(newPatientIn()), { workflowId: uniqueId('review-done') });
    assert.equal((await within(client.result(workflowId), BOUND, 'the run to end')).outcome, 'completed');
    const run = await cli(['review', 'resolve', workflowId, '--action', 'resend'], env, undefined, {
      timeoutMs: BOUND,
    });
    assert.equal(run.code, 1, run.stderr);
    const out = json(run.stdout);
    assert.deepEqual([out.workflowId, out.finished, out.accepted, out.outcome], [workflowId, true, false, 'completed']);
    assert.match(
      run.stderr,
      new RegExp(`${workflowId} already finished at \\S+: completed: .*it has no review to resolve`),
    );
    await assert.rejects(
      within(client.resolveReview(workflowId, { action: 'resend' }), BOUND, 'the review decision'),
      OutreachRunFinishedError,
    );
    assert.equal(stack.sandbox.messages().filter((m) => m.patientId === patients.at(-1)!.patientId).length, 1);

    // Its status, for a person: the message and what Hero says of its delivery.
    const status = await cli(['status', workflowId, '--pretty'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /\n {2}Booking link: \d+\n/);
    assert.match(status.stdout, /\n {2}message \d+, sent \S+: (delivered|no delivery status yet|\w+ \(not final\))\n/);
  });

  it('`review resolve` of a running run that is not in review is refused by the run, exit 1, nothing in its history', async () => {
    const { workflowId } = await client.start(outreachRequest(newPatientIn(), { awaitBooking: { window: '1 hour' } }), {
      workflowId: uniqueId('review-waiting'),
    });
    await untilState(workflowId, 'awaiting_booking');
    const run = await cli(['review', 'resolve', workflowId, '--action', 'mark_sent'], env, undefined, {
      timeoutMs: BOUND,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`^hero-flow: The run ${workflowId} did not accept the review decision: `));
    assert.equal(run.stdout, '');
    await assert.rejects(
      within(client.resolveReview(workflowId, { action: 'mark_sent' }), BOUND, 'the review decision'),
      ReviewRejectedError,
    );
    await assert.rejects(
      within(client.resolveReview(workflowId, { action: 'retry' } as never), BOUND, 'the review decision'),
      (err: unknown) => err instanceof InvalidReviewResolutionError && /resend.*mark_sent.*abandon/.test(err.message),
    );
    const events = (await client.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    assert.ok(!events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes), 'an update reached history');
    // Its status, for a person: when the booking window closes.
    const status = await cli(['status', workflowId, '--pretty'], env);
    assert.match(status.stdout, /awaiting_booking \(waiting for the patient to book through the link\)/);
    assert.match(status.stdout, /\n {2}Waits for the booking until \S+\n/);
    await client.cancel(workflowId);
  });

  it('`review list` prints one JSON line per run in review: its step, reason and deadline, and no patient data', async () => {
    const ids = await inReview;
    // A run that is running but not in review is not listed.
    const { workflowId: waiting } = await client.start(
      outreachRequest(newPatientIn(), { awaitBooking: { window: '1 hour' } }),
      { workflowId: uniqueId('review-not-listed') },
    );
    await untilState(waiting, 'awaiting_booking');
    // Visibility lags the run a little: the list holds both once it has caught up.
    await eventually(async () => (await client.listReviews()).length >= 2, 20_000, 'both runs listed');
    const run = await cli(['review', 'list'], env);
    assert.equal(run.code, 0, run.stderr);
    const listed = lines(run.stdout);
    assert.deepEqual(listed.map((l) => l.workflowId).sort(), [...ids].sort());
    for (const l of listed) {
      assert.deepEqual(Object.keys(l).sort(), ['deadline', 'openedAt', 'reason', 'runId', 'step', 'workflowId']);
      assert.equal(l.step, 'send_message');
      assert.match(String(l.reason), /cannot tell/);
      assert.equal(Date.parse(String(l.deadline)) - Date.parse(String(l.openedAt)), DEFAULT_REVIEW_DEADLINE_MS);
    }
    for (const p of patients) {
      for (const value of [p.nhsNumber, p.dob, p.patientId])
        assert.ok(!run.stdout.includes(value), 'patient data listed');
    }
    const pretty = await cli(['review', 'list', '--pretty'], env);
    assert.equal(pretty.code, 0, pretty.stderr);
    for (const id of ids)
      assert.match(pretty.stdout, new RegExp(`^${id}: send_message since \\S+, decide by \\S+: `, 'm'));
    assert.match(
      pretty.stdout,
      /2 runs in review\. Resolve one: hero-flow review resolve ID --action resend\|mark_sent\|abandon\n$/,
    );

    const status = await cli(['status', ids[0]!, '--pretty'], env);
    assert.match(status.stdout, /needs_review \(needs review: /);
    assert.match(status.stdout, /\n {2}Review: send_message since \S+: .*cannot tell/);
    assert.ok(status.stdout.includes(`hero-flow review resolve ${ids[0]} --action resend|mark_sent|abandon`));
    await client.cancel(waiting);
  });

  it('`review resolve --action mark_sent --note` completes the run with the decision recorded; `abandon` ends the other', async () => {
    const [first, second] = await inReview;
    const marked = await cli(
      ['review', 'resolve', first!, '--action', 'mark_sent', '--note', 'seen in Hero'],
      env,
      undefined,
      { timeoutMs: BOUND },
    );
    assert.equal(marked.code, 0, marked.stderr);
    assert.deepEqual(json(marked.stdout), {
      workflowId: first,
      accepted: true,
      action: 'mark_sent',
      state: 'completed',
    });
    const done = await within(client.result(first!), BOUND, 'the run to end');
    assert.ok(done.outcome === 'completed');
    assert.deepEqual(done.review, { action: 'mark_sent', note: 'seen in Hero' });

    // An operator's note may hold what they saw in Hero: it is never printed back.
    const note = 'called patient on 07700 900123, DOB 01/02/1960, NHS 943 476 5919: refused';
    const abandoned = await cli(
      ['review', 'resolve', second!, '--action', 'abandon', '--note', note, '--pretty'],
      env,
      undefined,
      { timeoutMs: BOUND },
    );
    assert.equal(abandoned.code, 0, abandoned.stderr);
    assert.match(
      abandoned.stdout,
      new RegExp(`^${second} accepted abandon: it ends, abandoned\\.\\n {2}State: abandoned`),
    );
    assert.equal((await within(client.result(second!), BOUND, 'the run to end')).outcome, 'abandoned');

    // No message was sent again by either decision: the 500s are the only sends for their patients.
    for (const p of patients.slice(0, 2)) {
      assert.equal(stack.sandbox.messages().filter((m) => m.patientId === p.patientId).length, 0);
    }
    await eventually(async () => (await client.listReviews()).length === 0, 20_000, 'no runs listed');
    const after = await cli(['review', 'list'], env);
    assert.deepEqual([after.code, after.stdout], [0, '']);
    const again = await cli(['review', 'resolve', first!, '--action', 'resend'], env, undefined, { timeoutMs: BOUND });
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /already finished at \S+: completed/);
    const noteFragments = ['07700', '900123', '1960', '5919', 'refused'];
    for (const args of [
      ['review', 'resolve', second!, '--action', 'resend'],
      ['cancel', second!],
      ['verify', second!],
      ['result', second!, '--pretty'],
    ]) {
      const run = await cli(args, env);
      assert.match(run.stdout + run.stderr, /abandoned/, `${args[0]}: ${run.stderr}`);
      for (const fragment of noteFragments) {
        assert.ok(
          !`${run.stdout}${run.stderr}`.includes(fragment),
          `${args.join(' ')} echoed the note: ${run.stdout}${run.stderr}`,
        );
      }
    }
  });
});
