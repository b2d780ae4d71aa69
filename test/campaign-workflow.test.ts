import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { parseKeyRing, workerDataConverter } from '../src/codec';
import type { Sandbox } from '../tools/sandbox';
import { campaignPageWorkflowId, campaignRunWorkflowId, campaignWorkflowId } from '../src/shared/campaign-ids';
import { HERO_CAMPAIGN_ID, HERO_RECORD_ID } from '../src/shared/search-attributes';
import { sendWindowSchema, type SendWindowInput, spreadSlot } from '../src/shared/send-window';
import { campaignWorkflow } from '../src/workflows/campaign';
import { campaignPageWorkflow } from '../src/workflows/campaign-page';
import {
  campaignGateQuery,
  campaignStateQuery,
  cancelCampaignUpdate,
  completeListUpdate,
  pageRecordsQuery,
  pauseCampaignSignal,
  registerListUpdate,
  resumeCampaignUpdate,
} from '../src/workflows/campaign-definitions';
import type { CampaignInput, PageInput, PageRecord } from '../src/workflows/campaign-schemas';
import { eventually, newPatient, outreachRequest, uniqueId, within } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

/**
 * The campaign workflow and its page workflows on the time-skipping test server, with the real workflow
 * bundle and the real outreach activities against the Hero sandbox over HTTP: each page starts its records'
 * runs once, the campaign holds the lists and passes pause, resume and cancel to its pages.
 */
const { EventType } = temporal.api.enums.v1;
const HOUR = 3600_000;

/**
 * Two suites, each with its own server: the second lets time skip far, which on a server shared with the
 * first suite's workflows stalled (a page's spread timer never fired).
 */
for (const part of ['lists, duplicates, cancel, continue-as-new', 'spread over days', 'pause over hours'] as const) {
  describe(`campaignWorkflow and campaignPageWorkflow (time-skipping): ${part}`, () => {
    const first = part === 'lists, duplicates, cancel, continue-as-new';
    let env: TestWorkflowEnvironment;
    let sandbox: Sandbox;
    let bundle: WorkflowBundleWithSourceMap;
    const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

    let sleeperWorker: Worker | undefined;
    let sleeperRunning: Promise<void> | undefined;
    let holding: { started: () => void; release?: () => void } | undefined;

    before(async () => {
      ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
      sleeperWorker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: 'sleeper',
        workflowsPath: require.resolve('./support/sleeper-workflow'),
        activities: {
          hold: () =>
            new Promise<void>((resolve) => {
              holding?.started();
              holding!.release = resolve;
            }),
        },
        dataConverter: workerDataConverter(ring),
      });
      sleeperRunning = sleeperWorker.run();
    });
    after(async () => {
      holding?.release?.();
      if (sleeperWorker?.getState() === 'RUNNING') sleeperWorker.shutdown();
      await sleeperRunning;
      await stopTestStack({ env, sandbox });
    });

    /**
     * Lets exactly `duration` of workflow time pass, then holds time there until release() (see
     * test/support/sleeper-workflow.ts): a paused page has no timer, and the server would skip to the end of time.
     */
    async function skip(duration: string): Promise<{ release: () => Promise<void> }> {
      const held = new Promise<void>((started) => (holding = { started }));
      const handle = await env.client.workflow.start('sleeper', {
        taskQueue: 'sleeper',
        workflowId: uniqueId('sleep'),
        args: [duration],
      });
      const done = handle.result();
      await within(held, 60_000, 'the sleeper holding workflow time');
      const release = holding!.release!;
      return { release: async () => (release(), await within(done, 60_000, 'the sleeper to end')) };
    }
    beforeEach(() => sandbox.reset());

    interface Ctx {
      taskQueue: string;
      campaignId: string;
      started: WorkflowHandle[];
      runIds: string[];
      campaign: WorkflowHandle<typeof campaignWorkflow>;
    }

    /** Runs `body` with a worker on a fresh task queue and a fresh campaign; every workflow it opened is closed after. */
    async function withCampaign<T>(opts: Partial<CampaignInput>, body: (ctx: Ctx) => Promise<T>): Promise<T> {
      const { worker, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, sandbox, bundle, ring });
      const campaignId = uniqueId('cmp');
      return runUntil(worker, async () => {
        const campaign = await env.client.workflow.start(campaignWorkflow, {
          taskQueue,
          workflowId: campaignWorkflowId(campaignId),
          args: [{ campaignId, createdAt: new Date().toISOString(), sendWindow: null, ...opts }],
        });
        const ctx: Ctx = { taskQueue, campaignId, started: [campaign], runIds: [], campaign };
        try {
          return await body(ctx);
        } finally {
          await closeAll(ctx);
        }
      });
    }

    const runUntil = <T>(worker: Worker, fn: () => Promise<T>) => worker.runUntil(fn);

    /** Terminates what the test opened: the campaign, its pages and its runs (the time-skipping server cannot list). */
    async function closeAll(ctx: Ctx): Promise<void> {
      const runs = ctx.runIds.map((id) => env.client.workflow.getHandle(id));
      for (const h of [...ctx.started, ...runs]) await h.terminate('test over').catch(() => undefined);
    }

    /** `n` records of fresh sandbox patients, each with its run's ID. */
    function records(ctx: Ctx, n: number, prefix = 'rec'): (PageRecord & { request: object })[] {
      return Array.from({ length: n }, (_, i) => {
        const p = newPatient();
        sandbox.addPatient(p);
        const workflowId = campaignRunWorkflowId(ctx.campaignId, uniqueId('pk'));
        ctx.runIds.push(workflowId);
        return { recordId: `${prefix}-${String.fromCharCode(97 + i)}`, workflowId, request: outreachRequest(p) };
      });
    }

    const fingerprint = () => randomBytes(16).toString('hex');

    async function startPage(ctx: Ctx, input: Omit<PageInput, 'campaignId'>) {
      const handle = await env.client.workflow.start(campaignPageWorkflow, {
        taskQueue: ctx.taskQueue,
        workflowId: campaignPageWorkflowId(ctx.campaignId, input.page),
        args: [{ campaignId: ctx.campaignId, ...input }],
      });
      ctx.started.push(handle);
      return handle;
    }

    async function history(handle: WorkflowHandle) {
      return (await handle.fetchHistory()).events!;
    }

    /** The pageControl signals a page has received, with their server times. */
    async function controlsReceived(page: WorkflowHandle): Promise<number[]> {
      return (await history(page))
        .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'pageControl')
        .map((e) => tsToMs(e.eventTime));
    }

    const statuses = async (page: WorkflowHandle) => (await page.query(pageRecordsQuery)).map((r) => r.status);

    if (first) {
      it('starts each record of two pages once with the IDs given, none for a duplicate, and hears each page done', async () => {
        await withCampaign({}, async (ctx) => {
          const first = records(ctx, 4);
          const duplicate: PageRecord = {
            recordId: 'rec-dup',
            workflowId: first[0]!.workflowId,
            duplicateOf: first[0]!.recordId,
          };
          const fp = fingerprint();
          const registered = await ctx.campaign.executeUpdate(registerListUpdate, {
            args: [{ fingerprint: fp, records: 5, duplicates: 1, invalid: 2, pages: 2 }],
          });
          assert.deepEqual(registered, { outcome: 'new', firstPage: 0, startIndex: 0 });
          const page0 = await startPage(ctx, { page: 0, startIndex: 0, total: 5, records: first.slice(0, 3) });
          const page1 = await startPage(ctx, { page: 1, startIndex: 3, total: 5, records: [first[3]!, duplicate] });
          assert.deepEqual(await ctx.campaign.executeUpdate(completeListUpdate, { args: [{ fingerprint: fp }] }), {
            fingerprint: fp,
            complete: true,
            firstPage: 0,
            pages: 2,
          });
          assert.deepEqual(await page0.result(), { page: 0, started: 3, existing: 0, duplicate: 0, cancelled: 0 });
          assert.deepEqual(await page1.result(), { page: 1, started: 1, existing: 0, duplicate: 1, cancelled: 0 });

          // Each run under the ID given, found by its campaign and record, each sent one message.
          for (const r of first) {
            const run = env.client.workflow.getHandle(r.workflowId);
            assert.equal(((await run.result()) as { outcome: string }).outcome, 'completed');
            const described = await run.describe();
            assert.equal(described.typedSearchAttributes.get(HERO_CAMPAIGN_ID), ctx.campaignId);
            assert.equal(described.typedSearchAttributes.get(HERO_RECORD_ID), r.recordId);
            assert.equal(await described.staticSummary(), `Campaign ${ctx.campaignId} · record ${r.recordId}`);
          }
          assert.equal(sandbox.messages().length, 4, 'one message per patient, none for the duplicate');
          assert.deepEqual(
            (await page1.query(pageRecordsQuery)).map((r) => r.status),
            ['started', 'duplicate'],
          );

          const state = await eventually(async () => {
            const s = await ctx.campaign.query(campaignStateQuery);
            return s.pagesDone === 2 && s;
          });
          assert.equal(state.records, 5);
          assert.equal(state.duplicates, 1);
          assert.equal(state.invalid, 2);
          assert.equal(state.pages, 2);
          assert.equal(state.handedOver, true);
          assert.deepEqual(await ctx.campaign.query(campaignGateQuery), { paused: false, cancelled: false });
          // The UI's current details (User Metadata tab) show the counts.
          const { currentDetails } = await ctx.campaign.query<{ currentDetails?: string }>(
            '__temporal_workflow_metadata',
          );
          assert.match(currentDetails ?? '', new RegExp(`Campaign ${ctx.campaignId}: \\*\\*Running\\*\\*`));
          assert.match(currentDetails ?? '', /Records 5 · duplicates 1 · invalid 2 · lists 1\n/);
          assert.match(currentDetails ?? '', /Pages done 2 of 2/);
        });
      });

      it('answers the same list "same", refuses another without append, and appends one after the first', async () => {
        await withCampaign({}, async (ctx) => {
          const first = records(ctx, 2, 'one');
          const fp = fingerprint();
          const list = { fingerprint: fp, records: 2, duplicates: 0, invalid: 0, pages: 1 };
          await ctx.campaign.executeUpdate(registerListUpdate, { args: [list] });
          assert.deepEqual(await ctx.campaign.executeUpdate(registerListUpdate, { args: [list] }), {
            outcome: 'same',
            firstPage: 0,
            startIndex: 0,
          });
          await (await startPage(ctx, { page: 0, startIndex: 0, total: 2, records: first })).result();
          await ctx.campaign.executeUpdate(completeListUpdate, { args: [{ fingerprint: fp }] });

          const other = { fingerprint: fingerprint(), records: 3, duplicates: 0, invalid: 0, pages: 1 };
          await assert.rejects(
            ctx.campaign.executeUpdate(registerListUpdate, { args: [other] }),
            (err: unknown) =>
              err instanceof WorkflowUpdateFailedError &&
              (err.cause?.message ?? '').includes(
                `campaign ${ctx.campaignId} already holds a different list; pass --append to add this one, ` +
                  'or choose another --campaign-id',
              ),
          );
          const appended = await ctx.campaign.executeUpdate(registerListUpdate, { args: [{ ...other, append: true }] });
          assert.deepEqual(appended, { outcome: 'new', firstPage: 1, startIndex: 2 });

          // The appended list has the first list's first patient again (same run ID): that run is not started twice.
          const second = [{ ...first[0]!, recordId: 'two-a' }, ...records(ctx, 2, 'two').slice(1)];
          const page = await startPage(ctx, { page: 1, startIndex: 2, total: 5, records: second });
          assert.deepEqual(await page.result(), { page: 1, started: 1, existing: 1, duplicate: 0, cancelled: 0 });
          assert.deepEqual(
            (await page.query(pageRecordsQuery)).map((r) => r.status),
            ['existing', 'started'],
          );
          await ctx.campaign.executeUpdate(completeListUpdate, { args: [{ fingerprint: other.fingerprint }] });
          const state = await eventually(async () => {
            const s = await ctx.campaign.query(campaignStateQuery);
            return s.pagesDone === 2 && s;
          });
          assert.equal(state.records, 5);
          assert.equal(state.lists.length, 2);
          assert.equal(sandbox.messages().length, 3);
        });
      });

      it('starts nothing in a page started while paused, and ends it once cancelled', async () => {
        await withCampaign({}, async (ctx) => {
          // Two pages, one of them never started: the cancelled campaign stays open for it, 120 days at most.
          await ctx.campaign.executeUpdate(registerListUpdate, {
            args: [{ fingerprint: fingerprint(), records: 4, duplicates: 0, invalid: 0, pages: 2 }],
          });
          await ctx.campaign.signal(pauseCampaignSignal, {
            by: 'credentials',
            reason: 'practice group 2: Hero said 403',
          });
          await eventually(async () => (await ctx.campaign.query(campaignGateQuery)).paused);
          const page = await startPage(ctx, { page: 0, startIndex: 0, total: 2, records: records(ctx, 2) });
          await eventually(async () => (await controlsReceived(page)).length === 1, 5_000, "the campaign's answer");
          // A second of real time (no timer to skip to: the time-skipping server would jump to the end of time).
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          assert.deepEqual(await statuses(page), ['pending', 'pending']);
          assert.equal(sandbox.requests().length, 0, 'no Hero call');

          const cancelled = await ctx.campaign.executeUpdate(cancelCampaignUpdate, {
            args: [{ reason: 'list withdrawn' }],
          });
          assert.equal(cancelled.cancelled?.reason, 'list withdrawn');
          assert.deepEqual(await ctx.campaign.query(campaignGateQuery), {
            paused: false,
            cancelled: true,
            reason: 'list withdrawn',
          });
          assert.deepEqual(await page.result(), { page: 0, started: 0, existing: 0, duplicate: 0, cancelled: 2 });
          assert.deepEqual(await statuses(page), ['cancelled', 'cancelled']);
          await assert.rejects(ctx.campaign.executeUpdate(resumeCampaignUpdate), WorkflowUpdateFailedError);
          await eventually(async () => (await ctx.campaign.query(campaignStateQuery)).pagesDone === 1);
          // It closes 120 days after the cancel at most (not awaited: time would skip on past the test's end).
          await eventually(async () =>
            (await history(ctx.campaign)).some(
              (e) =>
                !!e.timerStartedEventAttributes &&
                tsToMs(e.timerStartedEventAttributes.startToFireTimeout) > 119 * 24 * HOUR,
            ),
          );
          assert.equal(sandbox.requests().length, 0);
        });
      });

      it('continues as new with its state once its history passes the threshold', async () => {
        await withCampaign({ continueAsNewAt: 60 }, async (ctx) => {
          const first = (await ctx.campaign.describe()).runId;
          const fp = fingerprint();
          await ctx.campaign.executeUpdate(registerListUpdate, {
            args: [{ fingerprint: fp, records: 7, duplicates: 1, invalid: 1, pages: 1 }],
          });
          // Each pause and resume tells the (not started) page: a dozen events each round.
          for (let i = 0; i < 8; i++) {
            await ctx.campaign.signal(pauseCampaignSignal, { reason: `round ${i}` });
            await ctx.campaign.executeUpdate(resumeCampaignUpdate);
          }
          await ctx.campaign.signal(pauseCampaignSignal, { reason: 'last' });
          const latest = env.client.workflow.getHandle(campaignWorkflowId(ctx.campaignId));
          const state = await eventually(async () => {
            const s = await latest.query(campaignStateQuery);
            return s.continuedAsNew > 0 && s.paused?.reason === 'last' && s;
          });
          assert.notEqual((await latest.describe()).runId, first);
          const firstRun = await history(env.client.workflow.getHandle(campaignWorkflowId(ctx.campaignId), first));
          assert.equal(firstRun.at(-1)!.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
          assert.ok(firstRun.length < 120, `${firstRun.length} events`);
          assert.equal(state.records, 7);
          assert.equal(state.lists.length, 1);
          assert.deepEqual(
            await latest.executeUpdate(registerListUpdate, {
              args: [{ fingerprint: fp, records: 7, duplicates: 1, invalid: 1, pages: 1 }],
            }),
            { outcome: 'same', firstPage: 0, startIndex: 0 },
          );
          assert.deepEqual(await latest.query(campaignGateQuery), { paused: true, cancelled: false, reason: 'last' });
        });
      });
    }
    // The last two let time skip far, each on its own server: after one skip far, the next one on the same
    // server stalled (the pause test hung until the file's timeout), as the earlier suite's did.
    if (part === 'spread over days') {
      it('starts records at their spread slots within the sending hours', async () => {
        const window: SendWindowInput = { between: '09:00-10:00', days: 'mon-sun', timezone: 'UTC' };
        const spreadOver = 2 * 24 * HOUR;
        await withCampaign({ spreadOver, sendWindow: window }, async (ctx) => {
          const list = records(ctx, 4);
          const { spreadStart } = await ctx.campaign.executeUpdate(registerListUpdate, {
            args: [{ fingerprint: fingerprint(), records: 6, duplicates: 0, invalid: 0, pages: 2 }],
          });
          // The second page of a list of 6: indexes 2 to 5.
          const page = await startPage(ctx, {
            page: 1,
            startIndex: 2,
            total: 6,
            sendWindow: window,
            spreadOver,
            spreadStart,
            records: list,
          });
          await page.result();
          const parsed = sendWindowSchema.parse(window);
          for (const [i, r] of list.entries()) {
            const due = spreadSlot(spreadStart!, spreadOver, 2 + i, 6, parsed);
            const started = (await env.client.workflow.getHandle(r.workflowId).describe()).startTime.getTime();
            assert.ok(
              started >= due && started - due < 60_000,
              `record ${i}: started ${started - due} ms after its slot`,
            );
            const hour = new Date(started).getUTCHours();
            assert.equal(hour, 9, 'inside the sending hours');
          }
        });
      });
    }
    if (part === 'pause over hours') {
      it('stops starting runs once paused (the gate says why), carries on when resumed', async () => {
        await withCampaign({ spreadOver: HOUR }, async (ctx) => {
          const list = records(ctx, 4);
          const { spreadStart } = await ctx.campaign.executeUpdate(registerListUpdate, {
            args: [{ fingerprint: fingerprint(), records: 4, duplicates: 0, invalid: 0, pages: 1 }],
          });
          assert.ok(spreadStart !== undefined, 'a spreading campaign says when the spread starts');
          const page = await startPage(ctx, {
            page: 0,
            startIndex: 0,
            total: 4,
            spreadOver: HOUR,
            spreadStart,
            records: list,
          });
          await eventually(async () => (await statuses(page))[0] === 'started', 10_000, 'the first run');

          await ctx.campaign.signal(pauseCampaignSignal, { reason: 'appointment book full', by: 'operator' });
          const pausedAt = Date.now();
          assert.deepEqual(
            await eventually(async () => {
              const gate = await ctx.campaign.query(campaignGateQuery);
              return gate.paused && gate;
            }),
            { paused: true, cancelled: false, reason: 'appointment book full' },
          );
          // The page hears it (the first control is the campaign's answer to the page's start).
          await eventually(async () => (await controlsReceived(page)).length === 2, 5_000, 'the pause at the page');
          assert.ok(Date.now() - pausedAt < 5_000);

          // Two hours of workflow time pass: every record's turn comes, none starts.
          const held = await skip('2 hours');
          assert.ok((await history(page)).some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED));
          assert.deepEqual(await statuses(page), ['started', 'pending', 'pending', 'pending']);
          // None of the held records has a run (its messages are the runs' business, tested with them).
          for (const r of list.slice(1)) {
            await assert.rejects(env.client.workflow.getHandle(r.workflowId).describe(), /not found/i);
          }
          const state = await ctx.campaign.query(campaignStateQuery);
          assert.equal(state.paused?.reason, 'appointment book full');
          assert.equal(state.paused?.by, 'operator');

          const resumed = await ctx.campaign.executeUpdate(resumeCampaignUpdate);
          assert.equal(resumed.paused, undefined);
          assert.deepEqual(await ctx.campaign.query(campaignGateQuery), { paused: false, cancelled: false });
          // Still holding time: the paused page had no timer, and nothing may skip it past the test.
          assert.deepEqual(await within(page.result(), 60_000, 'the resumed page to end'), {
            page: 0,
            started: 4,
            existing: 0,
            duplicate: 0,
            cancelled: 0,
          });
          await held.release();
        });
      });
    }
  });
}
