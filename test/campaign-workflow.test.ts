import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseKeyRing } from '../src/codec';
import type { Sandbox } from '../tools/sandbox';
import { campaignPageWorkflowId, campaignRunWorkflowId, campaignWorkflowId } from '../src/shared/campaign-ids';
import { HERO_CAMPAIGN_ID, HERO_RECORD_ID } from '../src/shared/search-attributes';
import { campaignWorkflow } from '../src/workflows/campaign';
import { campaignPageWorkflow } from '../src/workflows/campaign-page';
import {
  campaignGateQuery,
  campaignStateQuery,
  completeListUpdate,
  pageRecordsQuery,
  registerListUpdate,
} from '../src/workflows/campaign-definitions';
import type { CampaignInput, PageInput, PageRecord } from '../src/workflows/campaign-schemas';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { sandboxWorker, startTestStack, stopTestStack } from './support/temporal';

/**
 * The campaign workflow and its page workflows on the time-skipping test server, with the real workflow
 * bundle and the real outreach activities against the Hero sandbox over HTTP: each page starts its records'
 * runs once, the campaign holds the lists and passes pause, resume and cancel to its pages.
 */
describe('campaignWorkflow and campaignPageWorkflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
  });
  after(() => stopTestStack({ env, sandbox }));
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
});
