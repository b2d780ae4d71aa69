import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client, ServiceError, type WorkflowClientInterceptor, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailureCategory } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { campaignPausedFailure, createCampaignGate } from '../src/activities/campaign-gate';
import { FAILURE_CONVERTER_PATH } from '../src/codec';
import { CAMPAIGN_GATE_QUERY, campaignWorkflowId } from '../src/shared/campaign-ids';
import { FailureType } from '../src/shared/failure-types';
import { campaignWorkflow } from '../src/workflows/campaign';
import { pauseCampaignSignal } from '../src/workflows/campaign-definitions';
import type { CampaignInput } from '../src/workflows/campaign-schemas';
import { devServerExecutable } from '../tools/provision';
import { signalHandled, uniqueId, within } from './support/fixtures';
import { quietRuntime } from './support/temporal';
import { testLogger } from './support/test-log';

/**
 * The campaign gate's cache (createCampaignGate) against the real campaignWorkflow on a dev server. Its
 * queries are counted by a Client interceptor on a real Client: the gate's own client, unmocked.
 */
describe('campaign gate cache (dev server, real campaign workflow)', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    quietRuntime();
    const executable = await devServerExecutable();
    [env, bundle] = await Promise.all([
      TestWorkflowEnvironment.createLocal({ server: { executable } }),
      bundleWorkflowCode({
        workflowsPath: require.resolve('../src/workflows/campaign'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
        logger: testLogger('workflow bundler'),
      }),
    ]);
  });
  after(async () => {
    await env?.teardown();
  });

  /** A real client whose gate queries are counted; `seen.last` is the last query's promise, `settled` how many answered. */
  function countingClient() {
    const seen = { queries: 0, settled: 0, last: undefined as Promise<unknown> | undefined };
    const counter: WorkflowClientInterceptor = {
      query(input, next) {
        if (input.queryType === CAMPAIGN_GATE_QUERY) seen.queries += 1;
        const p = next(input);
        seen.last = p.finally(() => (seen.settled += 1));
        seen.last.catch(() => undefined);
        return p;
      },
    };
    const client = new Client({ connection: env.connection, interceptors: { workflow: [counter] } });
    return { client, seen };
  }

  /** A campaign workflow served by a worker for the test's body (none when `served` is false). */
  async function withCampaign<T>(
    body: (campaignId: string, campaign: WorkflowHandle) => Promise<T>,
    served = true,
  ): Promise<T> {
    const taskQueue = uniqueId('tq-gate');
    const campaignId = uniqueId('cmp');
    const campaign = await env.client.workflow.start(campaignWorkflow, {
      taskQueue,
      workflowId: campaignWorkflowId(campaignId),
      args: [{ campaignId, createdAt: new Date().toISOString() } satisfies CampaignInput] as [CampaignInput],
    });
    try {
      if (!served) return await body(campaignId, campaign);
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue,
        workflowBundle: bundle,
      });
      return await worker.runUntil(body(campaignId, campaign));
    } finally {
      await campaign.terminate('test over').catch(() => undefined);
    }
  }

  const pause = async (campaign: WorkflowHandle) => {
    await campaign.signal(pauseCampaignSignal, { reason: 'operator hold', by: 'operator' });
    await signalHandled(campaign);
  };
  const OPEN = { paused: false, cancelled: false };
  const PAUSED = { paused: true, cancelled: false, reason: 'operator hold' };
  /** Sleeps until `ms` have passed since `since`. */
  const until = (since: number, ms: number) => sleep(Math.max(0, since + ms - Date.now()));

  it('within cacheMs, repeated and concurrent reads make one query', async () => {
    await withCampaign(async (campaignId) => {
      const { client, seen } = countingClient();
      const gate = createCampaignGate(client, { cacheMs: 5_000, maxStaleMs: 10_000 });
      // Cold reads together share the one query.
      const cold = await within(Promise.all([1, 2, 3].map(() => gate.read(campaignId))), 15_000, 'cold reads');
      assert.deepEqual(cold, [OPEN, OPEN, OPEN]);
      for (let i = 0; i < 5; i++) assert.deepEqual(await gate.read(campaignId), OPEN);
      await Promise.all([1, 2, 3].map(() => gate.read(campaignId)));
      assert.equal(seen.queries, 1);
    });
  });

  it('between cacheMs and maxStaleMs: the cached answer at once, one shared background query, then the new answer', async () => {
    await withCampaign(async (campaignId, campaign) => {
      const { client, seen } = countingClient();
      const cacheMs = 300;
      const gate = createCampaignGate(client, { cacheMs, maxStaleMs: 30_000 });
      assert.deepEqual(await within(gate.read(campaignId), 15_000, 'first read'), OPEN);
      const answeredAt = Date.now();
      await pause(campaign);
      await until(answeredAt, cacheMs + 50);

      // Stale but within maxStaleMs: every read is the cached open gate, before the refresh has answered.
      const reads = await Promise.all([1, 2, 3, 4].map(() => gate.read(campaignId)));
      assert.equal(seen.settled, 1, 'the reads resolved before the background query answered');
      assert.deepEqual(reads, [OPEN, OPEN, OPEN, OPEN]);
      assert.equal(seen.queries, 2, 'one background query for the four stale reads');

      await within(seen.last!, 15_000, 'the background query');
      await sleep(0);
      assert.deepEqual(await gate.read(campaignId), PAUSED);
      assert.equal(seen.queries, 2, 'the refreshed answer is served from the cache');
    });
  });

  it('past maxStaleMs a read waits for a fresh query', async () => {
    await withCampaign(async (campaignId, campaign) => {
      const { client, seen } = countingClient();
      const gate = createCampaignGate(client, { cacheMs: 300, maxStaleMs: 600 });
      assert.deepEqual(await within(gate.read(campaignId), 15_000, 'first read'), OPEN);
      const answeredAt = Date.now();
      await pause(campaign);
      await until(answeredAt, 700);
      assert.deepEqual(await within(gate.read(campaignId), 15_000, 'read past maxStaleMs'), PAUSED);
      assert.equal(seen.queries, 2);
    });
  });

  it('a gate that cannot be read rejects rather than answering open; a missing campaign workflow is open', async () => {
    // The campaign workflow exists, but no worker serves its task queue: the query cannot be answered.
    await withCampaign(async (campaignId) => {
      const { client, seen } = countingClient();
      const gate = createCampaignGate(client, { cacheMs: 300, maxStaleMs: 600 });
      const err = await within(
        gate.read(campaignId).then(
          (g) => assert.fail(`expected a rejection, got ${JSON.stringify(g)}`),
          (e: unknown) => e,
        ),
        30_000,
        'the unreadable gate',
      );
      // What the dev server (1.29) really does: no worker answers, so the gate's 5 s deadline ends the query,
      // as the server's "query timed out before a worker could process it" or the client's own gRPC deadline.
      assert.ok(err instanceof ServiceError, String(err));
      assert.match(String(err.cause), /DEADLINE_EXCEEDED/);
      assert.equal(seen.queries, 1);
    }, false);

    const { client, seen } = countingClient();
    const gate = createCampaignGate(client, { cacheMs: 300, maxStaleMs: 600 });
    assert.deepEqual(await within(gate.read(uniqueId('cmp-none')), 15_000, 'a missing campaign'), OPEN);
    assert.equal(seen.queries, 1);
  });

  it('campaignPausedFailure backs off 5 s doubling to 5 min, as a benign CampaignPaused failure', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => campaignPausedFailure('c1', 'is paused', attempt));
    assert.deepEqual(
      delays.map((f) => f.nextRetryDelay),
      [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000],
    );
    for (const f of delays) {
      assert.equal(f.type, FailureType.CampaignPaused);
      assert.equal(f.category, ApplicationFailureCategory.BENIGN);
      assert.equal(f.nonRetryable, false);
      assert.match(f.message, /campaign c1 is paused; no Hero call was made/);
    }
  });
});
