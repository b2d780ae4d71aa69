import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { HeroClients } from '../src/activities';
import { HeroFlowClient } from '../src/client';
import { heroDataConverter, parseKeyRing, workerDataConverter } from '../src/codec';
import { loadFairnessWeights } from '../src/config/priority';
import { HeroClient } from '../src/hero/client';
import { noopWorkflowSinks } from '../src/observability/tracing';
import { campaignWorkflowId } from '../src/shared/campaign-ids';
import { ConfigError } from '../src/shared/errors';
import { checkRunPriority, PRIORITY } from '../src/shared/priority';
import { createHeroWorker, type HeroWorkerOptions } from '../src/worker/create-worker';
import { describePriorityProbe, probeTaskQueuePriority } from '../src/worker/priority-probe';
import { ensureSearchAttributes } from '../src/worker/search-attributes';
import { devServerExecutable, devServerTuningArgs } from '../tools/provision';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId, within } from './support/fixtures';
import { TcpProxy } from './reliability/tcp-proxy';
import { bundleWorkflows, quietRuntime } from './support/temporal';

const KEY_A = 'sandbox-key-of-practice-a';
const KEY_B = 'sandbox-key-of-practice-b';

/**
 * Task-queue priority and fairness, on real dev servers (the time-skipping server has no task queues
 * to order). Each scenario queues runs on a fresh task queue with no worker polling, then starts one
 * worker with a single workflow-task slot and a single activity slot, and reads the order in which Hero
 * (the sandbox, over HTTP) saw the calls. The same scenario on a server with priority and fairness off
 * (first in, first out) shows what the test would see without them.
 */
describe('task-queue priority and fairness (dev servers with them on and off)', () => {
  let on: TestWorkflowEnvironment;
  let off: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    quietRuntime();
    const executable = await devServerExecutable();
    const server = (priorityFairness: boolean) =>
      TestWorkflowEnvironment.createLocal({
        server: { executable, extraArgs: devServerTuningArgs({ wal: false, priorityFairness }) },
        client: { dataConverter: heroDataConverter(ring) },
      });
    [on, off, sandbox, bundle] = await Promise.all([
      server(true),
      server(false),
      startSandbox({ practiceGroups: { 'pg-a': KEY_A, 'pg-b': KEY_B } }),
      bundleWorkflows(),
    ]);
    for (const env of [on, off]) await ensureSearchAttributes(env.nativeConnection, 'default');
  });
  after(async () => {
    await sandbox?.close();
    await on?.teardown();
    await off?.teardown();
  });
  beforeEach(() => sandbox.reset());

  const heroClients = () =>
    new HeroClients(
      [
        [sandbox.practiceGroupId, sandbox.apiKey],
        ['pg-a', KEY_A],
        ['pg-b', KEY_B],
      ].map(
        ([group, apiKey]) =>
          new HeroClient({ apiKey: apiKey!, practiceGroupId: group!, baseUrl: sandbox.url, timeoutMs: 2_000 }),
      ),
      { defaultPracticeGroupId: sandbox.practiceGroupId },
    );

  /** Tasks waiting in a task queue of `env`, all priority keys together. */
  async function backlogOf(env: TestWorkflowEnvironment, taskQueue: string, type: 'workflow' | 'activity') {
    const { statsByPriorityKey } = await env.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: 1 },
      taskQueueType: type === 'workflow' ? 1 : 2,
      reportStats: true,
    });
    return Object.values(statsByPriorityKey ?? {}).reduce((n, x) => n + Number(x.approximateBacklogCount ?? 0), 0);
  }

  /** A hero-flow worker on `env`'s `taskQueue` with no sticky cache: every workflow task goes through the matcher. */
  const heroWorker = (env: TestWorkflowEnvironment, taskQueue: string, slots: Partial<HeroWorkerOptions> = {}) =>
    createHeroWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      dataConverter: workerDataConverter(ring),
      hero: heroClients(),
      maxCachedWorkflows: 0,
      ...slots,
    });

  interface Queued {
    label: string;
    group?: string;
    priority?: number;
  }

  /**
   * Starts `runs` in order on a fresh task queue of `env`, waits until the server holds all their first
   * workflow tasks, then lets a one-slot worker serve them until every run has sent its message.
   * @returns the labels in the order Hero saw each run's trace, and every Hero call in order.
   */
  async function serve(
    env: TestWorkflowEnvironment,
    runs: Queued[],
    opts: { weights?: Record<string, number> } = {},
  ): Promise<{ traces: string[]; calls: { endpoint: string; label: string | undefined }[] }> {
    sandbox.reset(); // Hero's record of calls: this scenario's alone
    const taskQueue = uniqueId('tq-priority');
    const client = new HeroFlowClient(env.client, taskQueue, 'id-secret', { fairnessWeights: opts.weights });
    const labelOf = new Map<string, string>();
    const handles = [];
    for (const run of runs) {
      const p = newPatient();
      sandbox.addPatient(p);
      labelOf.set(p.nhsNumber, run.label);
      const started = await client.start(
        outreachRequest(p, run.group === undefined ? {} : { practiceGroupId: run.group }),
        run.priority === undefined ? {} : { priority: run.priority as 1 },
      );
      handles.push(env.client.workflow.getHandle(started.workflowId));
    }
    // Until every first workflow task is in the backlog: a task that arrives while the worker polls is
    // matched at once, whatever its priority.
    await eventually(
      async () => (await backlogOf(env, taskQueue, 'workflow')) >= runs.length,
      15_000,
      'the first workflow tasks in the backlog',
    );
    const worker = await heroWorker(env, taskQueue, {
      maxConcurrentWorkflowTaskExecutions: 1,
      maxConcurrentActivityTaskExecutions: 1,
    });
    try {
      await worker.runUntil(
        eventually(async () => sandbox.messages().length >= runs.length, 90_000, 'every run to send its message'),
      );
    } finally {
      for (const h of handles) await h.terminate('test over').catch(() => undefined);
    }
    const calls = sandbox.requests().map((r) => ({
      endpoint: r.endpoint,
      label: labelOf.get(String((r.body as { nhs_number?: string } | undefined)?.nhs_number ?? '').replace(/\s/g, '')),
    }));
    const traces = calls.filter((c) => c.endpoint === 'register_pds').map((c) => c.label!);
    return { traces, calls };
  }

  const positions = (order: string[], label: string) => order.flatMap((l, i) => (l === label ? [i + 1] : []));

  it('serves a single run started behind a campaign backlog first; first in, first out it waits behind it', async () => {
    const runs: Queued[] = [
      ...Array.from({ length: 10 }, (_, i) => ({ label: `campaign-${i}`, priority: PRIORITY.campaign })),
      { label: 'single' }, // the client's default: PRIORITY.single
    ];
    const withPriority = await serve(on, runs);
    const fifo = await serve(off, runs);
    assert.equal(withPriority.traces.length, 11);
    assert.deepEqual(positions(withPriority.traces, 'single'), [1], `traced ${withPriority.traces.join(', ')}`);
    assert.ok(positions(fifo.traces, 'single')[0]! > 5, `FIFO traced it at ${positions(fifo.traces, 'single')}`);
  });

  it('shares the service between practice groups: a small list is not held behind a big one', async () => {
    const runs: Queued[] = [
      ...Array.from({ length: 10 }, () => ({ label: 'A', group: 'pg-a', priority: PRIORITY.campaign })),
      ...Array.from({ length: 4 }, () => ({ label: 'B', group: 'pg-b', priority: PRIORITY.campaign })),
    ];
    const fair = await serve(on, runs);
    const fifo = await serve(off, runs);
    // Round robin between the two groups: B's four among the first nine, not after A's ten.
    assert.ok(Math.max(...positions(fair.traces, 'B')) <= 9, `B traced at ${positions(fair.traces, 'B')}`);
    assert.ok(Math.min(...positions(fifo.traces, 'B')) > 6, `FIFO traced B at ${positions(fifo.traces, 'B')}`);
  });

  it('gives each practice group its HERO_FAIRNESS_WEIGHTS share: 3 to 1 while both have work', async () => {
    const runs: Queued[] = [
      ...Array.from({ length: 8 }, () => ({ label: 'A', group: 'pg-a', priority: PRIORITY.campaign })),
      ...Array.from({ length: 8 }, () => ({ label: 'B', group: 'pg-b', priority: PRIORITY.campaign })),
    ];
    const { traces } = await serve(on, runs, { weights: { 'pg-b': 3 } });
    const firstEight = traces.slice(0, 8);
    assert.ok(firstEight.filter((l) => l === 'B').length >= 5, `first eight traces: ${firstEight.join(', ')}`);
  });

  /**
   * Delivery reads queued first (runs 1-4 sent a message whose status is not final; a workflow-only worker
   * schedules their second read), then 8 new runs' traces behind them, then one activity slot serves the
   * queue. How many of the 4 reads does Hero see before the eighth new trace?
   */
  async function readsBeforeTraces(env: TestWorkflowEnvironment): Promise<number> {
    sandbox.reset();
    sandbox.setMessageStatusSequence(['queued']); // not final: each run reads again at 10 s, 30 s...
    const taskQueue = uniqueId('tq-bookkeeping');
    const client = new HeroFlowClient(env.client, taskQueue, 'id-secret');
    const start = async (n: number) => {
      const ids = [];
      for (let i = 0; i < n; i++) {
        const p = newPatient();
        sandbox.addPatient(p);
        ids.push((await client.start(outreachRequest(p), { priority: PRIORITY.campaign })).workflowId);
      }
      return ids;
    };
    const early = await start(4);
    await (
      await heroWorker(env, taskQueue)
    ).runUntil(
      eventually(async () => sandbox.requests({ endpoint: 'get_message' }).length >= 4, 30_000, 'first reads'),
    );
    // Runs workflow tasks only: what they schedule waits in the activity queue.
    const workflowsOnly = await Worker.create({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      dataConverter: workerDataConverter(ring),
      sinks: noopWorkflowSinks() as WorkerOptions['sinks'],
      maxCachedWorkflows: 0,
    });
    const late: string[] = [];
    try {
      await workflowsOnly.runUntil(async () => {
        await eventually(
          async () => (await backlogOf(env, taskQueue, 'activity')) >= 4,
          30_000,
          'the second reads queued',
        );
        late.push(...(await start(8)));
        await eventually(
          async () => (await backlogOf(env, taskQueue, 'activity')) >= 12,
          30_000,
          'the new traces queued',
        );
      });
      await (
        await heroWorker(env, taskQueue, { maxConcurrentActivityTaskExecutions: 1 })
      ).runUntil(eventually(async () => sandbox.requests({ endpoint: 'register_pds' }).length >= 12, 60_000, 'traces'));
    } finally {
      for (const id of [...early, ...late]) {
        await env.client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
    const calls = sandbox.requests();
    const eighth = calls.filter((c) => c.endpoint === 'register_pds')[11]!.seq;
    const firstReads = calls.filter((c) => c.endpoint === 'get_message').slice(0, 4);
    return calls.filter((c) => c.endpoint === 'get_message' && c.seq < eighth && !firstReads.includes(c)).length;
  }

  it('serves bookkeeping reads (delivery status) after outcome calls queued behind them', async () => {
    const withPriority = await readsBeforeTraces(on);
    const fifo = await readsBeforeTraces(off);
    assert.ok(withPriority <= 1, `reads before the new runs' traces: ${withPriority} (FIFO: ${fifo})`);
    assert.ok(fifo >= 3, `FIFO served ${fifo} of the 4 queued reads first`);
  });

  it("a campaign's runs carry its priority, and its own workflow and pages 1, with the practice group (the fairness key) and its weight", async () => {
    // The campaign's pages are started with them; each run, a page's child, gets the campaign's key (4 here,
    // not the default) with the page's fairness key and weight.
    const taskQueue = uniqueId('tq-priority');
    const client = new HeroFlowClient(on.client, taskQueue, 'campaign-secret', { fairnessWeights: { 'pg-a': 2 } });
    const patients = [newPatient(), newPatient()];
    for (const p of patients) sandbox.addPatient(p);
    const list = patients.map((p, i) => JSON.stringify({ recordId: `r${i}`, request: outreachRequest(p) })).join('\n');
    const worker = await createHeroWorker({
      connection: on.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      dataConverter: workerDataConverter(ring),
      hero: heroClients(),
    });
    const campaignId = uniqueId('c');
    await worker.runUntil(async () => {
      await within(
        client.campaigns().start({
          campaignId,
          practiceGroupId: 'pg-a',
          sendWindow: null,
          priority: PRIORITY.lowest,
          list: (async function* () {
            yield Buffer.from(list);
          })(),
        }),
        60_000,
        'the hand-off',
      );
      await eventually(async () => sandbox.messages().length >= 2, 60_000, 'both messages sent');
    });
    const runs = [];
    for await (const r of on.client.workflow.list({ query: `HeroCampaignId = "${campaignId}"` })) runs.push(r);
    const described = await Promise.all(runs.map((r) => on.client.workflow.getHandle(r.workflowId).describe()));
    const priorities = described.map((d) => ({ type: d.type, ...d.priority }));
    assert.deepEqual([...new Set(priorities.map((p) => p.type))].sort(), [
      'campaignPageWorkflow',
      'campaignWorkflow',
      'patientOutreachWorkflow',
    ]);
    for (const p of priorities) {
      assert.deepEqual(
        { priorityKey: p.priorityKey, fairnessKey: p.fairnessKey, fairnessWeight: p.fairnessWeight },
        {
          // The campaign's own workflow answers the hand-off and pause, its pages start the runs: ahead of every run.
          priorityKey: p.type === 'patientOutreachWorkflow' ? PRIORITY.lowest : PRIORITY.campaignControl,
          fairnessKey: 'pg-a',
          fairnessWeight: 2,
        },
        p.type,
      );
    }
    for (const r of runs)
      await on.client.workflow
        .getHandle(r.workflowId)
        .terminate('test over')
        .catch(() => undefined);
  });

  it("starts a campaign's runs while runs queued before it wait: its pages are not held behind that backlog", async () => {
    // Ten runs at the campaign's key queued with no worker polling, then a one-slot worker and a campaign
    // of three: how many of the ten has Hero traced by the time the campaign's last run has started?
    sandbox.reset();
    const taskQueue = uniqueId('tq-pages');
    const client = new HeroFlowClient(on.client, taskQueue, 'pages-secret');
    const backlog = [];
    const queued = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const p = newPatient();
      sandbox.addPatient(p);
      queued.add(p.nhsNumber);
      backlog.push((await client.start(outreachRequest(p), { priority: PRIORITY.campaign })).workflowId);
    }
    await eventually(async () => (await backlogOf(on, taskQueue, 'workflow')) >= 10, 15_000, 'the backlog queued');
    const listed = Array.from({ length: 3 }, (_, i) => {
      const p = newPatient();
      sandbox.addPatient(p);
      return JSON.stringify({ recordId: `r${i}`, request: outreachRequest(p) });
    });
    const campaignId = uniqueId('c-pages');
    const runsOf = async () => {
      const runs = [];
      const query = `HeroCampaignId = "${campaignId}" AND WorkflowType = "patientOutreachWorkflow"`;
      for await (const r of on.client.workflow.list({ query })) runs.push(r);
      return runs;
    };
    const worker = await heroWorker(on, taskQueue, {
      maxConcurrentWorkflowTaskExecutions: 1,
      maxConcurrentActivityTaskExecutions: 1,
    });
    let started: Awaited<ReturnType<typeof runsOf>> = [];
    try {
      await worker.runUntil(async () => {
        await within(
          client.campaigns().start({
            campaignId,
            sendWindow: null,
            list: (async function* () {
              yield Buffer.from(listed.join('\n'));
            })(),
          }),
          60_000,
          'the hand-off',
        );
        await eventually(async () => (started = await runsOf()).length >= 3, 60_000, "the campaign's runs started");
      });
    } finally {
      for (const id of [...backlog, ...started.map((r) => r.workflowId)])
        await on.client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
    }
    // From the campaign's start (the one-slot worker served the queue meanwhile) to its last run's start.
    const campaignStart = (await on.client.workflow.getHandle(campaignWorkflowId(campaignId)).describe()).startTime;
    const lastStart = Math.max(...started.map((r) => r.startTime.getTime()));
    const backlogTraces = sandbox
      .requests({ endpoint: 'register_pds' })
      .filter(
        (r) =>
          r.at >= campaignStart.getTime() &&
          r.at < lastStart &&
          queued.has(String((r.body as { nhs_number?: string }).nhs_number).replace(/\s/g, '')),
      ).length;
    assert.ok(
      backlogTraces <= 5,
      `${backlogTraces} of the 10 queued runs traced between the campaign's start and its last run's`,
    );
  });

  it('answers within its time limit when the server accepts its calls but never answers them', async () => {
    const proxy = await TcpProxy.start(on.address);
    const connection = await NativeConnection.connect({ address: proxy.address });
    try {
      const stalled = proxy.stall(5_000);
      const began = Date.now();
      const result = await probeTaskQueuePriority(connection, 'default', uniqueId('tq'), { timeoutMs: 1_000 });
      const took = Date.now() - began;
      assert.equal(result.priority, 'unknown', JSON.stringify(result));
      // Its deadline, plus the termination's own, not the 5 s the server stays silent.
      assert.ok(took < 4_000, `the probe answered after ${took} ms`);
      await stalled;
    } finally {
      await connection.close();
      await proxy.close();
    }
  });

  it('tells at start whether the server honours priority: honoured here, first in, first out there', async () => {
    assert.deepEqual(await probeTaskQueuePriority(on.nativeConnection, 'default', uniqueId('tq')), {
      priority: 'honoured',
    });
    assert.deepEqual(await probeTaskQueuePriority(off.nativeConnection, 'default', uniqueId('tq')), {
      priority: 'fifo',
    });
  });
});

describe("the worker's start line on what the probe found", () => {
  it('warns on a first-in-first-out server, naming the keys to set, and says runs work either way', () => {
    const fifo = describePriorityProbe({ priority: 'fifo' });
    assert.equal(fifo.level, 'warn');
    assert.match(fifo.message, /NOT honoured .*first in, first out.*runs work as before/);
    assert.match(fifo.message, /matching\.useNewMatcher and matching\.enableFairness/);
    assert.equal(describePriorityProbe({ priority: 'honoured' }).level, 'info');
    const unknown = describePriorityProbe({ priority: 'unknown', reason: 'could not describe the probe queue: x' });
    assert.equal(unknown.level, 'warn');
    assert.match(unknown.message, /could not be checked \(could not describe the probe queue: x\)/);
  });
});

describe('run priority and fairness weights: what a caller may set', () => {
  it('takes a priority from 1 to 4, and the default otherwise; refuses others saying what is allowed', () => {
    assert.equal(checkRunPriority(undefined, PRIORITY.single), 2);
    assert.equal(checkRunPriority(1, PRIORITY.single), 1);
    assert.equal(checkRunPriority(4, PRIORITY.campaign), 4);
    for (const bad of [0, 5, 2.5, -1, Number.NaN, 'first']) {
      assert.throws(() => checkRunPriority(bad, PRIORITY.single), /^RangeError: priority: must be/, String(bad));
    }
    assert.throws(() => checkRunPriority(5, PRIORITY.single), /kept for bookkeeping/);
  });

  it('reads HERO_FAIRNESS_WEIGHTS as group=weight pairs; refuses a bad one naming the variable and the pair', () => {
    assert.deepEqual(loadFairnessWeights({}), {});
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: 'pg-a=2, pg-b=0.5,' }), { 'pg-a': 2, 'pg-b': 0.5 });
    const problems = (value: string) => {
      try {
        loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: value });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems;
      }
      return assert.fail('expected a ConfigError');
    };
    assert.deepEqual(problems('pg-a'), [
      'HERO_FAIRNESS_WEIGHTS: pair 1: expected group=weight (e.g. practice-a=2,practice-b=1)',
    ]);
    assert.match(problems('pg-a=0')[0]!, /pair 1: the weight must be at least 0.001/);
    assert.match(problems('pg-a=2,pg b=1')[0]!, /pair 2: the group must be 1-64 letters/);
    assert.match(problems('pg-a=2,pg-a=3')[0]!, /pair 2: pg-a is given twice/);
    assert.match(problems('pg-a=lots')[0]!, /pair 1: the weight must be a number/);
  });
});
