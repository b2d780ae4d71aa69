import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { HeroFlowClient } from '../src/client';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import type { OutreachResult } from '../src/workflows/schemas';
import { freePort, KEEP_TAIL, type Proc, ROOT, startTemporalDevServer, startWorker } from '../tools/processes';
import { devServerTuningArgs, resolveTemporalCli } from '../tools/provision';
import { DEFAULT_PATIENTS, type Sandbox, type SandboxEndpoint, startSandbox } from '../tools/sandbox';
import { mulberry32 } from '../tools/sandbox/faults';
import { sandboxWorkerEnv } from './reliability/processes';
import { eventually, outreachRequest, syntheticNhsNumber, uniqueId } from './support/fixtures';
import { writeTestLog } from './support/test-log';

const { PendingActivityState, TaskQueueKind, TaskQueueType, TimeoutType } = temporal.api.enums.v1;

const RUNS = 100;
const SWAPS = 5;
/** Runs are started in one batch per swap, just before it, so every SIGTERM lands on runs mid-call. */
const BATCH = RUNS / SWAPS;
const SEED = Number(process.env.ROLLING_DEPLOY_SEED || Math.floor(Math.random() * 1_000_000));
/**
 * Every Hero answer: the sandbox's fixed latency, plus a seeded delay of 0 to 5 s drawn per request. At most
 * 8 s, so 2 s under the default HTTP timeout: with 9 s, a send on a loaded machine once got its answer after
 * the timeout, and went (correctly) to the sent-messages check, not through the graceful stop this tests.
 */
const BASE_LATENCY_MS = 3_000;
const EXTRA_DELAY_MS = 5_000;
/** The worker defaults (src/config/worker.ts): HERO_HTTP_TIMEOUT_MS 10 s, so a shutdown grace of 15 s. */
const SHUTDOWN_GRACE_MS = 15_000;
/** Bounds the wait for the runs after the last swap; the slowest plain run takes 4 calls of 8 s. */
const SETTLE_MS = 120_000;
/** The endpoints a plain run calls, and the sent-messages list a cut-off send would be reconciled with. */
const HERO_ENDPOINTS: SandboxEndpoint[] = [
  'register_pds',
  'create_booking_link',
  'send_message',
  'get_message',
  'list_sent_messages',
];
/** The states a run that nothing disturbed goes through, as its HeroFlowState search attribute records them. */
const UNDISTURBED = ['tracing', 'creating_booking_link', 'sending_message', 'completed'];

interface WorkerRecord {
  n: number;
  proc: Proc;
  identity: string;
  startedAt: number;
  /** When the server first listed it as a poller of both the workflow and the activity task queue. */
  pollingAt?: number;
}

interface Swap {
  old: WorkerRecord;
  next: WorkerRecord;
  sigtermAt: number;
  /** Runs started and not yet closed at the SIGTERM (the client's view). */
  openRuns: number;
  /** The old worker's activities, by type, when the test last looked just before the SIGTERM (the server's view). */
  oldWorkerActivitiesRunning: Record<string, number>;
  /** The sandbox's answered requests at the SIGTERM: a request that arrived before and is not here was in flight. */
  answeredAtSigterm: Set<number>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

interface ActivityRecord {
  type: string;
  attempt: number;
  scheduledAt: number;
  startedBy: string;
  startedAt: number;
  completedBy?: string;
  completedAt?: number;
}

interface RunRecord {
  workflowId: string;
  patient: { nhsNumber: string; dob: string; patientId: string };
  result?: OutreachResult;
  error?: string;
  states: string[];
  activities: ActivityRecord[];
  /** Events that say a call was cut off or a task lost: activity failures, timeouts, cancellations. */
  troubles: string[];
  /**
   * Workflow tasks that timed out, by kind: SCHEDULE_TO_START when the task waited on the sticky queue of a
   * worker that had stopped polling, START_TO_CLOSE when a worker did not finish it in 10 s. Each delays its
   * run (by up to 10 s) but changes nothing it does.
   */
  workflowTaskTimeouts: string[];
}

/** The output of a child process, into the test log (the reporter names it on failure). */
const toTestLog = (stream: string) =>
  new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      writeTestLog(stream, String(chunk));
      done();
    },
  });

/** The HeroFlowState values a run's history upserted, in order (search attributes are stored unencrypted). */
function statesOf(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const payload =
      e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[HERO_FLOW_STATE.name];
    return payload?.data ? [JSON.parse(Buffer.from(payload.data).toString('utf8')) as string] : [];
  });
}

function activitiesOf(events: temporal.api.history.v1.IHistoryEvent[]): ActivityRecord[] {
  const scheduled = new Map<string, { type: string; at: number }>();
  const byScheduled = new Map<string, ActivityRecord>();
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id, {
        type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        at: tsToMs(e.eventTime),
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const from = scheduled.get(String(started.scheduledEventId));
      byScheduled.set(String(started.scheduledEventId), {
        type: from?.type ?? '?',
        attempt: started.attempt ?? 0,
        scheduledAt: from?.at ?? 0,
        startedBy: started.identity ?? '',
        startedAt: tsToMs(e.eventTime),
      });
    }
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) {
      const record = byScheduled.get(String(completed.scheduledEventId));
      if (record) {
        record.completedBy = completed.identity ?? '';
        record.completedAt = tsToMs(e.eventTime);
      }
    }
  }
  return [...byScheduled.values()];
}

function troublesOf(events: temporal.api.history.v1.IHistoryEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.activityTaskFailedEventAttributes) return ['activity failed'];
    if (e.activityTaskTimedOutEventAttributes) return ['activity timed out'];
    if (e.activityTaskCancelRequestedEventAttributes) return ['activity cancel requested'];
    if (e.workflowTaskFailedEventAttributes) return ['workflow task failed'];
    return [];
  });
}

const count = <T>(items: T[]) =>
  Object.fromEntries(
    [...items.reduce((m, x) => m.set(String(x), (m.get(String(x)) ?? 0) + 1), new Map<string, number>())].sort(),
  );

/**
 * A rolling deploy (docs/deploy.md, rolling deploys), with real worker processes, since the point is their SIGTERM: while
 * 100 outreach runs are open and Hero takes 3 to 8 s to answer each call, five times a new `hero-flow worker`
 * process starts, and once the Temporal server sees it poll, the old one gets SIGTERM. The old worker's
 * shutdown grace (15 s by default) exceeds the Hero HTTP timeout (10 s), so every call it has in flight
 * finishes there: no run is cut off, retried, reconciled or put in review, and no patient is messaged twice.
 * Figures (per swap: open runs, calls in flight, the old worker's exit) go to test-artifacts/rolling-deploy.json.
 */
describe('a rolling deploy: five worker processes replaced by SIGTERM under 100 open runs', () => {
  const keySpec = generateKeySpec('rolling');
  const taskQueue = uniqueId('rolling-deploy');
  const idPrefix = uniqueId('rolling');
  const workers: WorkerRecord[] = [];
  const swaps: Swap[] = [];
  const runs: RunRecord[] = [];
  let server: Proc | undefined;
  let address = '';
  let sandbox: Sandbox;
  let heroFlow: HeroFlowClient | undefined;
  let wallMs = 0;
  let injectedDelays = 0;
  /** Runs started, and the waits for their results. */
  const started = new Set<string>();
  const closed: Promise<void>[] = [];

  const startWorkerProcess = async (): Promise<WorkerRecord> => {
    const n = workers.length;
    const proc = startWorker({
      env: sandboxWorkerEnv({
        address,
        sandbox,
        keys: keySpec,
        taskQueue,
        // The defaults under test (HTTP timeout 10 s, grace 15 s), whatever this process's environment says;
        // no health port, which the workers would share.
        extra: { HERO_HTTP_TIMEOUT_MS: '', HERO_SHUTDOWN_GRACE_SECONDS: '', HERO_HEALTH_PORT: '' },
      }),
      echo: toTestLog(`worker ${n}`),
      keep: KEEP_TAIL,
      timeoutMs: 90_000,
      // Killed with the test process even if it dies before `after` runs.
      exitWithParent: true,
    });
    // The SDK's default worker identity, which the server lists among the pollers and history records.
    const record: WorkerRecord = { n, proc, identity: `${proc.pid}@${hostname()}`, startedAt: Date.now() };
    workers.push(record);
    await proc.ready;
    // "polling" is logged just before the worker starts its pollers: wait until the server has seen them.
    const hf = heroFlow!;
    const pollers = async (type: temporal.api.enums.v1.TaskQueueType) =>
      (
        await hf.client.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: type,
        })
      ).pollers?.map((p) => p.identity) ?? [];
    await eventually(
      async () =>
        (await pollers(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)).includes(record.identity) &&
        (await pollers(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)).includes(record.identity),
      30_000,
      `worker ${n} to poll the workflow and activity task queues`,
    );
    record.pollingAt = Date.now();
    return record;
  };

  before(async () => {
    const random = mulberry32(SEED);
    const [cli, port, uiPort] = await Promise.all([resolveTemporalCli(() => {}), freePort(), freePort()]);
    // State in memory: nothing here outlives the server. One partition, as production is told to set.
    server = startTemporalDevServer({
      cli,
      port,
      uiPort,
      extraArgs: devServerTuningArgs({ wal: false }),
      echo: toTestLog('Temporal dev server'),
      keep: KEEP_TAIL,
    });
    address = `127.0.0.1:${port}`;
    // Hero's list of sent messages answers, as the runs reconcile with it in production. A worker that stops
    // can lose an activity task in transit to its last poll (Temporal cancels the poll on shutdown); the
    // retry of a lost send cannot tell whether it went out and asks the list. That costs a 15 s reconcile,
    // not a review or a second message. A call cut off mid-flight is what must never happen (checked below).
    sandbox = await startSandbox({ latencyMs: BASE_LATENCY_MS });
    // Each endpoint's requests take the next of these delays in turn (FIFO): a seeded 0-6 s on top of the
    // base latency. Twice what the runs need, so that a retry would find one too.
    for (const endpoint of HERO_ENDPOINTS) {
      for (let i = 0; i < 2 * RUNS; i++) {
        sandbox.injectFault(endpoint, { kind: 'delay', ms: Math.floor(random() * EXTRA_DELAY_MS) });
        injectedDelays++;
      }
    }
    const taken = new Set(DEFAULT_PATIENTS.map((p) => p.nhsNumber));
    let seed = 300_000 + (SEED % 1_000) * 10_000;
    for (let i = 0; i < RUNS; i++) {
      let nhsNumber: string;
      do nhsNumber = syntheticNhsNumber((seed += 17));
      while (taken.has(nhsNumber));
      taken.add(nhsNumber);
      const patient = { nhsNumber, dob: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 9}`, patientId: String(70_000 + i) };
      sandbox.addPatient(patient);
      runs.push({
        workflowId: `${idPrefix}-r${i}`,
        patient,
        states: [],
        activities: [],
        troubles: [],
        workflowTaskTimeouts: [],
      });
    }
    await server.ready;
    const connection = await Connection.connect({ address });
    heroFlow = new HeroFlowClient(
      new Client({ connection, dataConverter: heroDataConverter(parseKeyRing(keySpec)) }),
      taskQueue,
    );
    await startWorkerProcess();
  });

  after(async () => {
    for (const w of workers) await w.proc.stop('SIGKILL');
    // A run left open (in review, after a failure) is terminated, so that no wait for its result outlives the
    // connection.
    await Promise.all(
      runs
        .filter((r) => started.has(r.workflowId) && !r.result && !r.error)
        .map((r) =>
          heroFlow?.client.workflow
            .getHandle(r.workflowId)
            .terminate('test over')
            .catch(() => undefined),
        ),
    );
    await Promise.all(closed);
    await heroFlow?.close();
    await server?.stop('SIGTERM', 15_000);
    await sandbox?.close();
  });

  it('runs 100 outreaches while five new workers replace the old ones, each old one by SIGTERM once the new one polls', async (t) => {
    const hf = heroFlow!;
    const t0 = Date.now();
    let open = 0;
    for (let s = 0; s < SWAPS; s++) {
      await Promise.all(
        runs.slice(s * BATCH, (s + 1) * BATCH).map(async (run) => {
          // A plain patient. A send in doubt would be reconciled after 15 s rather than 2 minutes, so that a
          // deploy that cut one off shows as a review within this test's time.
          await hf.start(outreachRequest(run.patient, { review: { reconcileAfter: 15_000 } }), {
            workflowId: run.workflowId,
          });
          started.add(run.workflowId);
          open++;
          closed.push(
            hf
              .result(run.workflowId)
              .then(
                (result) => void (run.result = result),
                (err: unknown) => void (run.error = err instanceof Error ? err.message : String(err)),
              )
              .finally(() => open--),
          );
        }),
      );
      const old = workers[workers.length - 1]!;
      const next = await startWorkerProcess();
      // A swap proves something only if the old worker has Hero calls to finish, a message among them (the
      // call that must not be cut off): wait until the server shows it running one. It polls as much as the new
      // one, and the runs keep scheduling calls.
      const oldWorkerActivitiesRunning = await eventually(
        async () => {
          const pending = await Promise.all(
            runs
              .filter((r) => started.has(r.workflowId) && !r.result && !r.error)
              .map((r) =>
                hf.client.workflowService.describeWorkflowExecution({
                  namespace: 'default',
                  execution: { workflowId: r.workflowId },
                }),
              ),
          );
          const running = pending
            .flatMap((d) => d.pendingActivities ?? [])
            .filter(
              (a) =>
                a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
                a.lastWorkerIdentity === old.identity,
            )
            .map((a) => a.activityType?.name ?? '?');
          return running.includes('sendMessage') && count(running);
        },
        60_000,
        `worker ${old.n} to be sending a message`,
      );
      const answeredAtSigterm = new Set(sandbox.requests().map((r) => r.seq));
      const sigtermAt = Date.now();
      const exit = old.proc.stop('SIGTERM', 60_000).then((code) => ({
        code,
        signal: old.proc.child.signalCode,
        ms: Date.now() - sigtermAt,
      }));
      swaps.push({ old, next, sigtermAt, openRuns: open, oldWorkerActivitiesRunning, answeredAtSigterm, exit });
    }

    // Every run closes, or the bound passes (a run in review never closes by itself): checked below.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)))]);
    clearTimeout(timer);
    await Promise.all(swaps.map((s) => s.exit));
    wallMs = Date.now() - t0;
    // Each run's history, closed or not: the states it went through, its activities (attempt, which worker ran
    // them, when), and what went wrong on the way.
    await Promise.all(
      runs.map(async (run) => {
        const events = (await hf.client.workflow.getHandle(run.workflowId).fetchHistory()).events ?? [];
        run.states = statesOf(events);
        run.activities = activitiesOf(events);
        run.troubles = troublesOf(events);
        run.workflowTaskTimeouts = events.flatMap((e) => {
          const timeout = e.workflowTaskTimedOutEventAttributes;
          return timeout ? [TimeoutType[timeout.timeoutType ?? 0]?.replace('TIMEOUT_TYPE_', '') ?? '?'] : [];
        });
      }),
    );
    const figures = await summary();
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'test-artifacts', 'rolling-deploy.json'), `${JSON.stringify(figures, null, 2)}\n`);
    t.diagnostic(JSON.stringify(figures));
    const unfinished = runs.filter((r) => !r.result && !r.error);
    assert.equal(
      unfinished.length,
      0,
      `runs still open ${SETTLE_MS / 1000} s after the last swap, by state: ` +
        `${JSON.stringify(count(unfinished.map((r) => r.states.at(-1))))} (seed ${SEED})`,
    );
    assert.equal(swaps.length, SWAPS);
    for (const s of swaps) {
      assert.ok(s.next.pollingAt! <= s.sigtermAt, `worker ${s.next.n} polled before worker ${s.old.n} got SIGTERM`);
    }
  });

  it('completes every run, with no review in any result', () => {
    const outcomes = count(runs.map((r) => r.result?.outcome ?? `error: ${r.error}`));
    assert.deepEqual(outcomes, { completed: RUNS }, `seed ${SEED}`);
    const reviewed = runs.filter((r) => r.result && 'review' in r.result);
    assert.equal(reviewed.length, 0, 'results that carry a review decision');
  });

  it('never cut a call off: every Hero call that was made was answered to an attempt that completed', () => {
    // Per endpoint, the calls Hero received and the activities that completed with them. A call cut off by a
    // stopping worker reached Hero and left its activity unfinished: the first count would be higher. A task
    // lost in transit to a stopping worker's poll never reached Hero, and its retry is counted once.
    const activityOf: Record<string, string> = {
      register_pds: 'tracePatient',
      create_booking_link: 'createBookingLink',
      send_message: 'sendMessage',
      get_message: 'checkMessageStatus',
      list_sent_messages: 'findSentMessages',
    };
    const calls = count(
      sandbox.requests({}).flatMap((r) => (r.endpoint ? [activityOf[r.endpoint] ?? r.endpoint] : [])),
    );
    const completed = count(runs.flatMap((r) => r.activities.filter((a) => a.completedAt).map((a) => a.type)));
    assert.deepEqual(calls, completed, `Hero calls by activity vs activities completed (seed ${SEED})`);
    const reviewed = runs.filter((r) => r.states.includes('needs_review'));
    assert.deepEqual(
      reviewed.map((r) => r.workflowId),
      [],
      `runs that went through needs_review (seed ${SEED}): ${JSON.stringify(count(runs.map((r) => r.states.join(' > '))))}`,
    );
    // Every run made its four calls, once each: trace, link, message, delivery status.
    for (const r of runs) {
      const done = r.activities.filter((a) => a.completedAt).map((a) => a.type);
      for (const type of ['tracePatient', 'createBookingLink', 'sendMessage', 'checkMessageStatus'])
        assert.equal(done.filter((t) => t === type).length, 1, `${r.workflowId}: ${type} completed ${done.join(', ')}`);
    }
  });

  it('messages every patient exactly once', () => {
    const messages = sandbox.messages();
    const perPatient = count(runs.map((r) => messages.filter((m) => m.patientId === r.patient.patientId).length));
    assert.deepEqual(perPatient, { 1: RUNS }, 'patients by the number of messages the sandbox holds for them');
    assert.equal(messages.length, RUNS);
    assert.equal(sandbox.requests({ endpoint: 'send_message' }).length, RUNS, 'send requests Hero received');
    for (const r of runs) {
      const message = messages.find((m) => m.patientId === r.patient.patientId);
      assert.equal(message?.id, r.result?.outcome === 'completed' ? r.result.messageId : undefined, r.workflowId);
    }
  });

  it('made Hero take 3 to 8 s over every call', () => {
    const calls = sandbox.requests().filter((r) => r.path.startsWith('/v1/'));
    assert.ok(calls.length >= 4 * RUNS, `${calls.length} Hero calls`);
    assert.deepEqual(count(calls.map((r) => r.fault ?? 'none')), { delay: calls.length }, 'each took a seeded delay');
    assert.ok(sandbox.faultCounts().delay! < injectedDelays, 'the seeded delays did not run out');
  });

  it('SIGTERMed each old worker while it was sending messages, and those sends finished on it', async () => {
    for (const s of swaps) {
      const f = await swapFigures(s);
      assert.ok(f.openRuns > 0, `runs open at the SIGTERM of worker ${s.old.n}`);
      assert.ok(f.sandboxInFlight > 0, `Hero requests in flight at the SIGTERM of worker ${s.old.n}`);
      assert.ok(
        (f.oldWorkerActivitiesFinishedAfterSigterm.sendMessage ?? 0) > 0,
        `sends worker ${s.old.n} started before its SIGTERM and completed after it: ` +
          JSON.stringify(f.oldWorkerActivitiesFinishedAfterSigterm),
      );
    }
  });

  it('had each old worker exit 0 after SIGTERM, within its shutdown grace', async () => {
    for (const s of swaps) {
      const exit = await s.exit;
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `worker ${s.old.n}`);
      assert.ok(exit.ms < SHUTDOWN_GRACE_MS, `worker ${s.old.n} exited ${exit.ms} ms after SIGTERM`);
    }
    const last = workers[workers.length - 1]!;
    assert.ok(last.proc.running, 'the last new worker still runs');
  });

  /** What each swap found: open runs, Hero requests in flight, the old worker's activities that straddled it. */
  async function swapFigures(s: Swap) {
    const inFlight = sandbox.requests().filter((r) => r.at <= s.sigtermAt && !s.answeredAtSigterm.has(r.seq));
    const straddling = runs
      .flatMap((r) => r.activities)
      .filter(
        (a) =>
          a.startedBy === s.old.identity &&
          a.completedBy === s.old.identity &&
          a.startedAt < s.sigtermAt &&
          (a.completedAt ?? 0) > s.sigtermAt,
      );
    const exit = await s.exit;
    return {
      oldWorker: s.old.n,
      newWorker: s.next.n,
      atSeconds: Math.round((s.sigtermAt - workers[0]!.startedAt) / 100) / 10,
      newWorkerStartToPollMs: s.next.pollingAt! - s.next.startedAt,
      openRuns: s.openRuns,
      oldWorkerActivitiesRunning: s.oldWorkerActivitiesRunning,
      sandboxInFlight: inFlight.length,
      oldWorkerActivitiesFinishedAfterSigterm: count(straddling.map((a) => a.type)),
      oldWorkerExit: exit.code,
      oldWorkerSignal: exit.signal,
      oldWorkerExitMs: exit.ms,
    };
  }

  async function summary() {
    const messages = sandbox.messages();
    return {
      seed: SEED,
      runs: RUNS,
      swaps: swaps.length,
      wallSeconds: Math.round(wallMs / 100) / 10,
      outcomes: count(runs.map((r) => r.result?.outcome ?? 'error')),
      messagesPerPatient: count(runs.map((r) => messages.filter((m) => m.patientId === r.patient.patientId).length)),
      heroCalls: sandbox.requests().filter((r) => r.path.startsWith('/v1/')).length,
      activityAttempts: count(runs.flatMap((r) => r.activities.map((a) => a.attempt))),
      /** Tasks lost in transit to a stopping worker's poll, retried: by activity type. */
      retriedActivities: count(runs.flatMap((r) => r.activities.filter((a) => a.attempt > 1).map((a) => a.type))),
      /** Runs whose state went other than the undisturbed path (a lost send reconciled with Hero's list). */
      detours: count(
        runs.filter((r) => JSON.stringify(r.states) !== JSON.stringify(UNDISTURBED)).map((r) => r.states.join(' > ')),
      ),
      workflowTaskTimeouts: count(runs.flatMap((r) => r.workflowTaskTimeouts)),
      /** The longest an activity waited in the task queue for a worker (a gap in polling would show here). */
      maxActivityScheduleToStartMs: Math.max(
        0,
        ...runs.flatMap((r) => r.activities.filter((a) => a.attempt === 1).map((a) => a.startedAt - a.scheduledAt)),
      ),
      activitiesByWorker: count(
        runs.flatMap((r) => r.activities.map((a) => workers.find((w) => w.identity === a.completedBy)?.n ?? '?')),
      ),
      swapDetails: await Promise.all(swaps.map(swapFigures)),
      stillOpen: runs.filter((r) => !r.result && !r.error).length,
    };
  }
});
