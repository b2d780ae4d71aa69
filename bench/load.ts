/**
 * `npm run bench:load`: one patient's invite against two practices' campaigns, at Hero's rate limit, with
 * Temporal's task-queue priority and fairness switched on and, in the same invocation, off (issue 20).
 *
 * For each topology (the dev server as `npm run dev` has it, and the production-shaped server of
 * `npm run test:production`: Temporal 1.29.1 on PostgreSQL, mTLS) and each side (priority and fairness on,
 * then off: a fresh server each, the same client and worker code), it starts the sandbox with three
 * practice groups (A, B, C, each with its own key) sharing one token bucket of R requests/s, and one
 * hero-flow worker serving the three with HERO_RATE_LIMIT_PER_SECOND=R. Then:
 *   - a campaign of A records for practice A (sending hours off, so it runs now);
 *   - a campaign of B records for practice B, handed over a minute later (the minute scaled with the size);
 *   - single invites for practice C (HeroFlowClient.start), one a second from A's hand-off until both
 *     campaigns have sent their last first message.
 * Every run sends one message and reads its delivery status once (a bookkeeping read), then completes.
 * "Priority and fairness off" is a server started without matching.useNewMatcher / matching.enableFairness:
 * tasks are served first in, first out; the client still sets every key.
 *
 *   BENCH_LOAD_SCALE     the sizes' scale: A = 10,000 × scale, B = 2,000 × scale, B's delay 60 s × scale
 *                        (default 1)
 *   BENCH_LOAD_TOPOLOGY  dev, production, or both (default: both, dev first)
 *   BENCH_LOAD_SIDES     on,off (default), or one of them
 *   BENCH_LOAD_WEIGHTS   fairness weights of A and B, e.g. "2,1" (default 1,1); given to the bench's client
 *                        and the worker as HERO_FAIRNESS_WEIGHTS
 *   BENCH_RATE           R, Hero's limit in requests/s (default 20)
 *   BENCH_LATENCY_MS     sandbox latency per /v1 call (default 50)
 *   PRODUCTION_HISTORY_SHARDS  the production-shaped server's history shards (default 512, as test:production)
 *   HERO_MAX_CACHED_WORKFLOWS  the worker's workflow cache (default: hero-flow's, as a deployment has it)
 *
 * Prints the figures side by side with their goals, writes bench/results/load-<topology>.json. Exits 1
 * only if a run is lost (a record or single invite without its first message) or a patient gets a second
 * message: timings and shares are reported against their goals, never gated (they measure the machine's
 * load as much as hero-flow).
 */
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { HeroFlowClient } from '../src/client';
import { keyFingerprintsWithRing } from '../src/client/fingerprint';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import { practiceGroupKeyVariable } from '../src/hero/config';
import { cpuSeconds, freePort, peakRssMiB, ROOT } from '../tools/processes';
import { devServerTuningArgs, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../tools/provision';
import { type MessageSummary, type RecordedRequest, type SandboxPatient, startSandbox } from '../tools/sandbox';
import { runScript, sandboxWorkerEnv, TemporalDevServer, WorkerProcess } from '../test/reliability/processes';
import { outreachRequest } from '../test/support/fixtures';
import { externalTemporalServer } from '../test/production/external';
import { ProductionStack } from '../test/production/stack';
import { treeCpuSeconds } from './cpu';
import {
  BENCH_RECORDED_REQUESTS,
  heroCallsOf,
  machine,
  positiveEnv,
  quantile,
  syntheticDob,
  syntheticNhsNumbers,
  WORKER_CACHE,
} from './shared';
import type { TopologyKey } from './topology';

const SCALE = positiveEnv('BENCH_LOAD_SCALE', 1);
const RATE = positiveEnv('BENCH_RATE', 20);
const LATENCY_MS = positiveEnv('BENCH_LATENCY_MS', 50);
const HISTORY_SHARDS = positiveEnv('PRODUCTION_HISTORY_SHARDS', 512);
const RECORDS = { a: Math.max(1, Math.round(10_000 * SCALE)), b: Math.max(1, Math.round(2_000 * SCALE)) };
const B_DELAY_MS = 60_000 * SCALE;
const SINGLE_EVERY_MS = 1000;
/** How long without progress before a wait is given up (the side then reports what it reached). */
const STALL_MS = 3 * 60_000;
/** The share of calls is counted per minute at full size; per scaled minute (at least 10 s) below it. */
const BUCKET_MS = Math.max(10_000, Math.min(60_000, 60_000 * SCALE));
const TOPOLOGIES = choose<TopologyKey>('BENCH_LOAD_TOPOLOGY', process.env.BENCH_LOAD_TOPOLOGY || 'both', {
  both: ['dev', 'production'],
  dev: ['dev'],
  production: ['production'],
});
const SIDES = (process.env.BENCH_LOAD_SIDES || 'on,off').split(',').map((s) => {
  const v = s.trim();
  if (v !== 'on' && v !== 'off') throw new Error(`BENCH_LOAD_SIDES: "${v}" is not on or off`);
  return v === 'on';
});
const WEIGHTS = weights(process.env.BENCH_LOAD_WEIGHTS);
const GROUPS = { a: 'load-a', b: 'load-b', c: 'load-c' } as const;
type Practice = keyof typeof GROUPS;
/** The calls that move a patient to the first message; the others (delivery reads) are bookkeeping. */
const MOVING_ENDPOINTS = new Set(['register_pds', 'create_booking_link', 'send_message']);
const MOVING_CALLS_PER_RECORD = 3;
/** The goals of issue 20, printed beside the figures. */
const GOALS = {
  singlesP95Seconds: 5,
  shareTolerance: 0.1,
  firstMessagesRatio: 1.05,
  workerRssMiB: 1024,
  rateLimitedShare: 0.01,
};

function choose<T>(name: string, value: string, options: Record<string, T[]>): T[] {
  const picked = options[value];
  if (!picked) throw new Error(`${name}: "${value}" is not one of ${Object.keys(options).join(', ')}`);
  return picked;
}

function weights(value: string | undefined): { a: number; b: number } {
  if (!value) return { a: 1, b: 1 };
  const [a, b, ...rest] = value.split(',').map((v) => Number(v.trim()));
  if (!(a! > 0) || !(b! > 0) || rest.length) throw new Error(`BENCH_LOAD_WEIGHTS: "${value}" is not two weights`);
  return { a: a!, b: b! };
}

/** HERO_FAIRNESS_WEIGHTS for the weights given (none when both are the default 1). */
const fairnessWeightsEnv = (): NodeJS.ProcessEnv =>
  WEIGHTS.a === 1 && WEIGHTS.b === 1
    ? {}
    : { HERO_FAIRNESS_WEIGHTS: `${GROUPS.a}=${WEIGHTS.a},${GROUPS.b}=${WEIGHTS.b}` };

/**
 * The dev server's flags: SQLite WAL and one task-queue partition as `npm run bench`, and Temporal's
 * priority and fairness matcher switched on or off (first in, first out).
 */
const devServerArgs = (priorityFairness: boolean) =>
  devServerTuningArgs({ wal: true, onePartition: true, priorityFairness });

const t0 = Date.now();
/** In IDs: base 36, so no digit run can look like an NHS number (IDs holding one are refused). */
const RUN_ID = t0.toString(36);
const say = (line: string) => process.stdout.write(`[bench:load ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

interface Spec extends SandboxPatient {
  practice: Practice;
  index: number;
  recordId: string;
}

/** Synthetic patients, unique across the three practices (the sandbox's patients are shared by its groups). */
class Patients {
  readonly #nhsNumbers = syntheticNhsNumbers(300_000);
  #id = 100_000;
  next(practice: Practice, index: number): Spec {
    return {
      practice,
      index,
      recordId: `rec-${index.toString(36)}`,
      nhsNumber: this.#nhsNumbers.next().value,
      dob: syntheticDob(index),
      patientId: String(this.#id++),
      needsVerification: false,
    };
  }
}

const sandboxPatient = ({ practice: _p, index: _i, recordId: _r, ...p }: Spec): SandboxPatient => p;

/** The request's shared part: a campaign's template; a single invite adds the patient and its group. */
const TEMPLATE = (() => {
  const { nhsNumber: _n, dob: _d, ...rest } = outreachRequest({ nhsNumber: '0', dob: '2000-01-01' });
  return rest;
})();

/** A Temporal server started for one side, and what the bench reads of it. */
interface LoadServer {
  topology: string;
  address: string;
  connectOptions: Parameters<typeof Connection.connect>[0];
  /** Temporal client variables for the worker (address, TLS). */
  workerEnv: NodeJS.ProcessEnv;
  cpu(): { server: number; database?: number };
  stop(): Promise<void>;
}

async function devServer(priorityFairness: boolean, dir: string, log: WriteStream): Promise<LoadServer> {
  const cli = await resolveTemporalCli();
  const file = join(dir, `load-${priorityFairness ? 'on' : 'off'}.sqlite`);
  const server = new TemporalDevServer(
    cli,
    await freePort(),
    await freePort(),
    file,
    log,
    devServerArgs(priorityFairness),
  );
  await server.start();
  return {
    topology: `dev server (temporal ${TEMPORAL_CLI_VERSION} server start-dev, SQLite WAL, one partition)`,
    address: server.address,
    connectOptions: { address: server.address },
    workerEnv: {},
    cpu: () => ({ server: treeCpuSeconds(server.pid) ?? 0 }),
    stop: () => server.stop(),
  };
}

async function productionServer(priorityFairness: boolean, artifacts: string): Promise<LoadServer> {
  const stack = await ProductionStack.start({
    say: (l) => say(`production: ${l}`),
    artifacts,
    historyShards: HISTORY_SHARDS,
    priorityFairness,
  });
  const external = externalTemporalServer({
    ...process.env,
    ...stack.clientEnv(),
    HERO_TEST_TEMPORAL_ADDRESS: stack.address,
  });
  return {
    topology: `Temporal ${stack.install.version} on PostgreSQL ${stack.postgres.major}, mTLS (${HISTORY_SHARDS} history shards)`,
    address: stack.address,
    connectOptions: external!.connectOptions,
    workerEnv: stack.clientEnv(),
    cpu: () => {
      const c = stack.cpuSeconds();
      return { server: c.server, database: c.postgres };
    },
    stop: () => stack.teardown(),
  };
}

interface CampaignFigures {
  records: number;
  /** Seconds the hand-off took (the list read, validated and held by Temporal). */
  handOffSeconds: number;
  /** Records whose patient got their first message. */
  messaged: number;
  /** Seconds from the side's start (A's hand-off) to this campaign's first Hero call. */
  firstCallAtSeconds: number;
  /** Seconds from the hand-off's return (the list held by Temporal) to the campaign's first Hero call. */
  heldToFirstCallSeconds: number;
  /** From the campaign's first Hero call to its last first message. */
  firstMessagesSeconds: number;
  /** The campaign's own needed calls (trace, link, first message per record) ÷ R. */
  ownNeededSeconds: number;
  /** Moving calls (trace, link, first message) answered in that span, of every practice. */
  movingCalls: number;
  /** firstMessagesSeconds ÷ (movingCalls ÷ R): how much of R went to moving patients meanwhile. */
  movingRatio: number;
}

interface ShareBucket {
  /** Seconds from the window's start. */
  from: number;
  seconds: number;
  calls: Record<Practice, number>;
}

interface SideFigures {
  priorityFairness: boolean;
  /** What the worker said at start of the server's task-queue priority (honoured, NOT honoured, …). */
  serverPriority?: string;
  topology: string;
  at: string;
  records: { a: number; b: number };
  singles: {
    started: number;
    startFailed: number;
    messaged: number;
    p50Seconds: number;
    p95Seconds: number;
    maxSeconds: number;
  };
  shares: {
    bucketSeconds: number;
    /** While both campaigns run: from B's first Hero call to the first of the two last first messages. */
    windowSeconds: [number, number];
    weighted: { a: number; b: number };
    buckets: ShareBucket[];
    /** Over the buckets: A's and B's share of A's and B's answered calls (mean, min, max). */
    a: { mean: number; min: number; max: number };
    b: { mean: number; min: number; max: number };
    /** The singles' share of all answered calls in the window. */
    c: number;
    /** The largest |share − weighted| ÷ weighted of any bucket, A or B. */
    worstDeviation: number;
    bucketsWithin: number;
  };
  campaigns: { a: CampaignFigures; b: CampaignFigures };
  heroCalls: number;
  rateLimited: number;
  rateLimitedShare: number;
  lost: number;
  duplicates: number;
  runs: { total: number; closed: number; completed: number };
  /** From A's first Hero call to the last run's close: the bookkeeping reads done too. */
  allClosedSeconds: number;
  workerPeakRssMiB?: number;
  workerCpuSeconds: number;
  serverCpuSeconds: number;
  databaseCpuSeconds?: number;
  loadAverage: [number, number];
  wallSeconds: number;
  firstError?: string;
}

async function runSide(
  topology: TopologyKey,
  priorityFairness: boolean,
  serverLog: WriteStream,
  tmp: string,
): Promise<SideFigures> {
  const label = `${topology} ${priorityFairness ? 'on' : 'off'}`;
  const keySpec = generateKeySpec();
  const ring = parseKeyRing(keySpec);
  const patients = new Patients();
  const specs = {
    a: Array.from({ length: RECORDS.a }, (_, i) => patients.next('a', i)),
    b: Array.from({ length: RECORDS.b }, (_, i) => patients.next('b', i)),
  };
  const keys = { b: `load-key-b-${randomBytes(8).toString('hex')}`, c: `load-key-c-${randomBytes(8).toString('hex')}` };
  const server =
    topology === 'dev'
      ? await devServer(priorityFairness, tmp, serverLog)
      : await productionServer(priorityFairness, join(ROOT, 'bench', 'results'));
  const sandbox = await startSandbox({
    patients: [...specs.a, ...specs.b].map(sandboxPatient),
    practiceGroupId: GROUPS.a,
    apiKey: `load-key-a-${randomBytes(8).toString('hex')}`,
    practiceGroups: { [GROUPS.b]: keys.b, [GROUPS.c]: keys.c },
    // One bucket for every key: Hero's limit is taken to be per partner (the stricter reading).
    rateLimit: { capacity: RATE, refillPerSecond: RATE, retryAfter: 'seconds' },
    latencyMs: LATENCY_MS,
    maxRecordedRequests: BENCH_RECORDED_REQUESTS,
  });
  const taskQueue = `bench-load-${priorityFairness ? 'on' : 'off'}-${process.pid}`;
  // A log per side: its worker says at start whether the server honours task-queue priority.
  const workerLogFile = join(
    ROOT,
    'bench',
    'results',
    `load-worker-${topology}-${priorityFairness ? 'on' : 'off'}.log`,
  );
  const workerLog = createWriteStream(workerLogFile);
  const worker = new WorkerProcess(
    sandboxWorkerEnv({
      address: server.address,
      sandbox,
      keys: keySpec,
      taskQueue,
      extra: {
        ...server.workerEnv,
        HERO_RATE_LIMIT_PER_SECOND: String(RATE),
        HERO_PRACTICE_GROUP_IDS: Object.values(GROUPS).join(','),
        [practiceGroupKeyVariable(GROUPS.b)]: keys.b,
        [practiceGroupKeyVariable(GROUPS.c)]: keys.c,
        ...fairnessWeightsEnv(),
      },
    }),
    workerLog,
  );
  let connection: Connection | undefined;
  try {
    await worker.start();
    connection = await Connection.connect(server.connectOptions);
    const client = new Client({ connection, dataConverter: heroDataConverter(ring) });
    // As HeroFlowClient.connect does: campaigns key their patients with a key derived from the payload keys.
    keyFingerprintsWithRing(client, ring);
    const hf = new HeroFlowClient(client, taskQueue, undefined, {
      fairnessWeights: { [GROUPS.a]: WEIGHTS.a, [GROUPS.b]: WEIGHTS.b },
    });
    say(`${label}: ${server.topology} on ${server.address}; sandbox ${sandbox.url}; worker on ${taskQueue}`);
    const side = await drive({ hf, sandbox, worker, server, specs, patients, label, priorityFairness, tmp });
    const serverPriority = priorityReported(workerLogFile);
    if (priorityFairness !== (serverPriority === 'honoured')) {
      say(
        `${label}: WARNING: the worker says task-queue priority is "${serverPriority}": this side is not what it claims`,
      );
    }
    return { ...side, serverPriority };
  } finally {
    await connection?.close().catch(() => undefined);
    await worker.stop();
    await new Promise<void>((resolve) => workerLog.end(resolve));
    await sandbox.close();
    await server.stop();
  }
}

async function drive(o: {
  hf: HeroFlowClient;
  sandbox: Awaited<ReturnType<typeof startSandbox>>;
  worker: WorkerProcess;
  server: LoadServer;
  specs: { a: Spec[]; b: Spec[] };
  patients: Patients;
  label: string;
  priorityFairness: boolean;
  tmp: string;
}): Promise<SideFigures> {
  const { hf, sandbox, specs, label } = o;
  const moving = MOVING_CALLS_PER_RECORD * (specs.a.length + specs.b.length);
  // Generous: every call at R four times over (a FIFO side's singles wait the whole list), plus 5 minutes.
  const deadline = Date.now() + 5 * 60_000 + (4 * 2 * moving * 1000) / RATE;
  const cpu0 = { worker: cpuSeconds(o.worker.pid) ?? 0, server: o.server.cpu() };
  const load0 = loadavg()[0]!;
  const startedAt = Date.now();
  let firstError: string | undefined;
  const note = (what: string, err: unknown) => {
    const text = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    firstError ??= text;
    say(`${label}: ${text}`);
  };

  // The campaigns: A now, B a (scaled) minute later.
  const handOff = async (practice: 'a' | 'b'): Promise<{ seconds: number; heldAt: number }> => {
    const list = specs[practice];
    const file = join(o.tmp, `${label.replace(' ', '-')}-${practice}.jsonl`);
    writeFileSync(
      file,
      list
        .map((s) => JSON.stringify({ recordId: s.recordId, request: { nhsNumber: s.nhsNumber, dob: s.dob } }))
        .join('\n') + '\n',
    );
    const began = performance.now();
    const r = await hf.campaigns().start({
      campaignId: `load-${RUN_ID}-${practice}`,
      practiceGroupId: GROUPS[practice],
      list: createReadStream(file),
      template: TEMPLATE,
      sendWindow: null,
    });
    const seconds = (performance.now() - began) / 1000;
    if (r.records !== list.length)
      throw new Error(`campaign ${practice}: the hand-off took ${r.records} of ${list.length}`);
    say(
      `${label}: campaign ${practice.toUpperCase()} (${list.length} records, group ${GROUPS[practice]}) held in ${seconds.toFixed(1)} s`,
    );
    return { seconds, heldAt: Date.now() };
  };
  const failed = { seconds: NaN, heldAt: NaN };
  const handOffs = {
    a: handOff('a').catch((err: unknown) => (note('campaign A', err), failed)),
    b: sleep(B_DELAY_MS).then(() => handOff('b').catch((err: unknown) => (note('campaign B', err), failed))),
  };

  // The single invites: one a second, each started on its own, until both campaigns sent every first message.
  interface Single {
    spec: Spec;
    startedAt: number;
    failed?: boolean;
  }
  const singles: Single[] = [];
  const singleStarts: Promise<void>[] = [];
  let campaignsMessaged = false;
  const singlesLoop = (async () => {
    let next = Date.now();
    while (!campaignsMessaged && Date.now() < deadline) {
      const spec = o.patients.next('c', singles.length);
      sandbox.addPatient(sandboxPatient(spec));
      const single: Single = { spec, startedAt: Date.now() };
      singles.push(single);
      singleStarts.push(
        hf
          .start(outreachRequest(spec, { practiceGroupId: GROUPS.c }), {
            workflowId: `load-${RUN_ID}-c-${spec.index.toString(36)}`,
          })
          .then(
            () => undefined,
            (err: unknown) => {
              single.failed = true;
              note('a single invite did not start', err);
            },
          ),
      );
      next += SINGLE_EVERY_MS;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();

  // Waits for every first message (the sandbox's record), then for every run to close (visibility).
  const practiceOf = new Map<string, Practice>();
  for (const s of [...specs.a, ...specs.b]) practiceOf.set(s.patientId, s.practice);
  const messagedOf = (messages: MessageSummary[]) => {
    const seen = { a: new Set<string>(), b: new Set<string>(), c: new Set<string>() };
    for (const m of messages) seen[practiceOf.get(m.patientId) ?? 'c'].add(m.patientId);
    return seen;
  };
  const progress = setInterval(() => {
    const seen = messagedOf(sandbox.messages());
    say(
      `${label}: first messages A ${seen.a.size}/${specs.a.length}, B ${seen.b.size}/${specs.b.length}, ` +
        `singles ${seen.c.size}/${singles.length}`,
    );
  }, 15_000);
  try {
    // A worker that cannot keep up (workflow tasks timing out) can stall the campaigns: 3 minutes without a
    // campaign's first message ends the wait, and the records left count as lost.
    let campaignMessages = -1;
    let progressAt = Date.now();
    while (Date.now() < deadline) {
      const seen = messagedOf(sandbox.messages());
      campaignsMessaged = seen.a.size >= specs.a.length && seen.b.size >= specs.b.length;
      if (campaignsMessaged) break;
      if (seen.a.size + seen.b.size !== campaignMessages) {
        campaignMessages = seen.a.size + seen.b.size;
        progressAt = Date.now();
      } else if (Date.now() - progressAt > STALL_MS) {
        note('stalled', `no campaign record got its first message for ${STALL_MS / 1000} s; giving up the wait`);
        break;
      }
      await sleep(1000);
    }
    await singlesLoop;
    await Promise.all(singleStarts);
    for (const s of singles) if (!s.failed) practiceOf.set(s.spec.patientId, 'c');
    const singlesWanted = new Set(singles.filter((s) => !s.failed).map((s) => s.spec.patientId));
    const singlesBy = Math.min(deadline, Date.now() + STALL_MS);
    while (Date.now() < singlesBy) {
      const seen = messagedOf(sandbox.messages());
      if ([...singlesWanted].every((id) => seen.c.has(id))) break;
      await sleep(1000);
    }
    say(
      `${label}: first messages done (${((Date.now() - startedAt) / 1000).toFixed(1)} s); waiting for the runs to close`,
    );
  } finally {
    campaignsMessaged = true;
    clearInterval(progress);
  }
  const held = { a: await handOffs.a, b: await handOffs.b };

  const total = specs.a.length + specs.b.length + singles.filter((s) => !s.failed).length;
  const query = `TaskQueue = "${hf.taskQueue}" AND WorkflowType = "patientOutreachWorkflow"`;
  const closeDeadline = Math.max(deadline, Date.now() + 120_000 + (3 * total * 1000) / RATE);
  let closed = 0;
  let lastClosedAt = Date.now();
  let allClosedAt = NaN;
  while (Date.now() < closeDeadline) {
    const now = (await hf.client.workflow.count(`${query} AND ExecutionStatus != "Running"`)).count;
    if (now !== closed) lastClosedAt = Date.now();
    closed = now;
    if (closed >= total) {
      allClosedAt = Date.now();
      break;
    }
    if (Date.now() - lastClosedAt > STALL_MS) {
      say(`${label}: no run closed for ${STALL_MS / 1000} s; giving up the wait (${closed}/${total} closed)`);
      break;
    }
    await sleep(2000);
  }
  const completed = (await hf.client.workflow.count(`${query} AND ExecutionStatus = "Completed"`)).count;
  const cpu1 = { worker: cpuSeconds(o.worker.pid) ?? 0, server: o.server.cpu() };
  const load1 = loadavg()[0]!;

  const figured = figures({
    calls: heroCallsOf(sandbox),
    messages: sandbox.messages(),
    specs,
    singles,
    startedAt,
    handOffSeconds: { a: held.a.seconds, b: held.b.seconds },
    heldAt: { a: held.a.heldAt, b: held.b.heldAt },
  });
  return {
    ...figured,
    // Polled every 2 s: to within 2 s.
    allClosedSeconds: (allClosedAt - startedAt) / 1000 - figured.campaigns.a.firstCallAtSeconds,
    priorityFairness: o.priorityFairness,
    topology: o.server.topology,
    at: new Date(startedAt).toISOString(),
    runs: { total, closed, completed },
    workerPeakRssMiB: peakRssMiB(o.worker.pid),
    workerCpuSeconds: cpu1.worker - cpu0.worker,
    serverCpuSeconds: cpu1.server.server - cpu0.server.server,
    ...(cpu1.server.database !== undefined && {
      databaseCpuSeconds: cpu1.server.database - (cpu0.server.database ?? 0),
    }),
    loadAverage: [load0, load1],
    wallSeconds: (Date.now() - startedAt) / 1000,
    ...(firstError && { firstError }),
  };
}

/** The worker's own words on task-queue priority (its start-up probe), from its log. */
function priorityReported(logFile: string): string {
  const line = /Temporal task-queue priority: ([^(,;\n]*)/.exec(readFileSync(logFile, 'utf8'))?.[1];
  return line?.trim() || 'not reported';
}

/** The side's figures from the sandbox's record of calls and messages. */
function figures(o: {
  calls: RecordedRequest[];
  messages: MessageSummary[];
  specs: { a: Spec[]; b: Spec[] };
  singles: Array<{ spec: Spec; startedAt: number; failed?: boolean }>;
  startedAt: number;
  handOffSeconds: { a: number; b: number };
  /** When each hand-off returned: its runs are being started from then on. */
  heldAt: { a: number; b: number };
}): Omit<
  SideFigures,
  | 'priorityFairness'
  | 'topology'
  | 'at'
  | 'runs'
  | 'workerPeakRssMiB'
  | 'workerCpuSeconds'
  | 'serverCpuSeconds'
  | 'databaseCpuSeconds'
  | 'loadAverage'
  | 'wallSeconds'
  | 'firstError'
  | 'allClosedSeconds'
  | 'serverPriority'
> {
  const { calls, specs } = o;
  const practiceOfGroup = new Map(Object.entries(GROUPS).map(([p, g]) => [g as string, p as Practice]));
  const firstMessageAt = new Map<string, number>();
  const messageCount = new Map<string, number>();
  for (const m of o.messages) {
    messageCount.set(m.patientId, (messageCount.get(m.patientId) ?? 0) + 1);
    firstMessageAt.set(m.patientId, Math.min(firstMessageAt.get(m.patientId) ?? Infinity, m.createdAt));
  }
  const duplicates = [...messageCount.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  const answered = calls.filter((r) => r.status === 200);
  const rateLimited = calls.filter((r) => r.status === 429).length;
  const firstCall = (p: Practice) =>
    Math.min(...calls.filter((r) => r.practiceGroupId === GROUPS[p]).map((r) => r.at), Infinity);
  const lastFirstMessage = (list: Spec[]) =>
    Math.max(...list.map((s) => firstMessageAt.get(s.patientId) ?? -Infinity), -Infinity);
  const movingBetween = (from: number, to: number) =>
    answered.filter((r) => MOVING_ENDPOINTS.has(r.endpoint) && r.at >= from && r.at <= to).length;

  const campaign = (p: 'a' | 'b'): CampaignFigures => {
    const list = specs[p];
    const first = firstCall(p);
    const last = lastFirstMessage(list);
    const seconds = (last - first) / 1000;
    const movingCalls = movingBetween(first, last);
    return {
      records: list.length,
      handOffSeconds: o.handOffSeconds[p],
      messaged: list.filter((s) => firstMessageAt.has(s.patientId)).length,
      firstCallAtSeconds: (first - o.startedAt) / 1000,
      heldToFirstCallSeconds: (first - o.heldAt[p]) / 1000,
      firstMessagesSeconds: seconds,
      ownNeededSeconds: (MOVING_CALLS_PER_RECORD * list.length) / RATE,
      movingCalls,
      movingRatio: seconds / (movingCalls / RATE),
    };
  };

  // Shares while both campaigns run, per bucket; only whole buckets, unless the window is shorter than one.
  // From B's first Hero call: the seconds between its hand-off and that call are given on their own.
  const windowFrom = firstCall('b');
  const windowTo = Math.min(lastFirstMessage(specs.a), lastFirstMessage(specs.b));
  const span = Math.max(0, windowTo - windowFrom);
  const count = Math.max(1, Math.floor(span / BUCKET_MS));
  const bucketMs = span < BUCKET_MS ? span : BUCKET_MS;
  const buckets: ShareBucket[] = Array.from({ length: count }, (_, i) => ({
    from: (i * bucketMs) / 1000,
    seconds: bucketMs / 1000,
    calls: { a: 0, b: 0, c: 0 },
  }));
  for (const r of answered) {
    const i = Math.floor((r.at - windowFrom) / Math.max(1, bucketMs));
    const p = practiceOfGroup.get(r.practiceGroupId ?? '');
    if (i >= 0 && i < count && p) buckets[i]!.calls[p] += 1;
  }
  const weighted = { a: WEIGHTS.a / (WEIGHTS.a + WEIGHTS.b), b: WEIGHTS.b / (WEIGHTS.a + WEIGHTS.b) };
  const shareOf = (p: 'a' | 'b') => buckets.map((k) => k.calls[p] / Math.max(1, k.calls.a + k.calls.b));
  const stats = (v: number[]) => ({
    mean: v.reduce((s, x) => s + x, 0) / Math.max(1, v.length),
    min: Math.min(...v),
    max: Math.max(...v),
  });
  const deviations = buckets.map((_, i) =>
    Math.max(
      Math.abs(shareOf('a')[i]! - weighted.a) / weighted.a,
      Math.abs(shareOf('b')[i]! - weighted.b) / weighted.b,
    ),
  );
  const windowCalls = buckets.reduce((n, k) => n + k.calls.a + k.calls.b + k.calls.c, 0);

  const started = o.singles.filter((s) => !s.failed);
  const singleSeconds = started.flatMap((s) => {
    const at = firstMessageAt.get(s.spec.patientId);
    return at === undefined ? [] : [(at - s.startedAt) / 1000];
  });
  const records = [...specs.a, ...specs.b, ...started.map((s) => s.spec)];
  return {
    records: { a: specs.a.length, b: specs.b.length },
    singles: {
      started: started.length,
      startFailed: o.singles.length - started.length,
      messaged: singleSeconds.length,
      p50Seconds: quantile(singleSeconds, 0.5),
      p95Seconds: quantile(singleSeconds, 0.95),
      maxSeconds: singleSeconds.length ? Math.max(...singleSeconds) : NaN,
    },
    shares: {
      bucketSeconds: bucketMs / 1000,
      windowSeconds: [(windowFrom - o.startedAt) / 1000, (windowTo - o.startedAt) / 1000],
      weighted,
      buckets,
      a: stats(shareOf('a')),
      b: stats(shareOf('b')),
      c: buckets.reduce((n, k) => n + k.calls.c, 0) / Math.max(1, windowCalls),
      worstDeviation: Math.max(...deviations),
      bucketsWithin: deviations.filter((d) => d <= GOALS.shareTolerance).length,
    },
    campaigns: { a: campaign('a'), b: campaign('b') },
    heroCalls: calls.length,
    rateLimited,
    rateLimitedShare: rateLimited / Math.max(1, calls.length),
    lost: records.filter((s) => !firstMessageAt.has(s.patientId)).length + (o.singles.length - started.length),
    duplicates,
  };
}

const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const f3 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(3));
const pct = (n: number) => (Number.isFinite(n) ? `${(100 * n).toFixed(1)}%` : '–');
const mark = (met: boolean) => (met ? '✓' : '✗');

/** The figure rows: label, goal, and one cell per side. */
function rows(sides: SideFigures[]): string[][] {
  const row = (label: string, goal: string, cell: (s: SideFigures) => string) => [label, goal, ...sides.map(cell)];
  const share = (p: 'a' | 'b') => (s: SideFigures) => {
    const v = s.shares[p];
    const within = Math.max(Math.abs(v.min - s.shares.weighted[p]), Math.abs(v.max - s.shares.weighted[p]));
    return `${pct(v.mean)} (${pct(v.min)}–${pct(v.max)}) vs ${pct(s.shares.weighted[p])} ${mark(within <= GOALS.shareTolerance * s.shares.weighted[p])}`;
  };
  const campaign = (p: 'a' | 'b') => (s: SideFigures) => {
    const c = s.campaigns[p];
    return (
      `${f1(c.firstMessagesSeconds)} s = ${f3(c.movingRatio)}× moving calls ÷ R ${mark(c.movingRatio <= GOALS.firstMessagesRatio)}; ` +
      `${f3(c.firstMessagesSeconds / c.ownNeededSeconds)}× its own ${f1(c.ownNeededSeconds)} s`
    );
  };
  return [
    [
      '',
      'goal',
      ...sides.map((s) => (s.priorityFairness ? 'priority + fairness ON' : 'priority + fairness OFF (FIFO)')),
    ],
    row('the worker says task-queue priority is', 'honoured when ON', (s) => s.serverPriority ?? '–'),
    row('records A / B; single invites started', '', (s) => `${s.records.a} / ${s.records.b}; ${s.singles.started}`),
    row(
      'single invites, start → message p50 / p95 / max (s)',
      `p95 ≤ ${GOALS.singlesP95Seconds} s`,
      (s) =>
        `${f1(s.singles.p50Seconds)} / ${f1(s.singles.p95Seconds)} / ${f1(s.singles.maxSeconds)} ${mark(s.singles.p95Seconds <= GOALS.singlesP95Seconds)}`,
    ),
    row(
      `A's share of A+B calls per ${BUCKET_MS / 1000} s, mean (min–max)`,
      `±${100 * GOALS.shareTolerance}% of weighted`,
      share('a'),
    ),
    row("B's share, the same", `±${100 * GOALS.shareTolerance}% of weighted`, share('b')),
    row(
      'buckets within 10% / window (s from start)',
      '',
      (s) =>
        `${s.shares.bucketsWithin}/${s.shares.buckets.length}; ${f1(s.shares.windowSeconds[0])}–${f1(s.shares.windowSeconds[1])}`,
    ),
    row("singles' share of all calls in the window", '', (s) => pct(s.shares.c)),
    row('campaign A: first call → last first message', `≤ ${GOALS.firstMessagesRatio}×`, campaign('a')),
    row('campaign B: the same', `≤ ${GOALS.firstMessagesRatio}×`, campaign('b')),
    row(
      'A / B: hand-off (s); its end → first Hero call (s)',
      '',
      (s) =>
        `${f1(s.campaigns.a.handOffSeconds)} / ${f1(s.campaigns.b.handOffSeconds)}; ` +
        `${f1(s.campaigns.a.heldToFirstCallSeconds)} / ${f1(s.campaigns.b.heldToFirstCallSeconds)}`,
    ),
    row("A's first call → last run closed (s)", '', (s) => f1(s.allClosedSeconds)),
    row(
      '429 responses',
      `< ${100 * GOALS.rateLimitedShare}%`,
      (s) =>
        `${s.rateLimited} of ${s.heroCalls} (${(100 * s.rateLimitedShare).toFixed(2)}%) ${mark(s.rateLimitedShare < GOALS.rateLimitedShare)}`,
    ),
    row(
      'lost / duplicate messages',
      '0 / 0',
      (s) => `${s.lost} / ${s.duplicates} ${mark(s.lost === 0 && s.duplicates === 0)}`,
    ),
    row('runs closed / completed / total', '', (s) => `${s.runs.closed} / ${s.runs.completed} / ${s.runs.total}`),
    row(
      'worker peak RSS (MiB) / CPU (s)',
      `RSS ≤ ${GOALS.workerRssMiB}`,
      (s) =>
        `${s.workerPeakRssMiB ?? '–'} ${mark((s.workerPeakRssMiB ?? Infinity) <= GOALS.workerRssMiB)} / ${f1(s.workerCpuSeconds)}`,
    ),
    row(
      'server CPU (s) / database CPU (s)',
      '',
      (s) =>
        `${f1(s.serverCpuSeconds)} / ${s.databaseCpuSeconds === undefined ? 'in the server (SQLite)' : f1(s.databaseCpuSeconds)}`,
    ),
    row(
      'load average (1 min) start / end; wall (s)',
      '',
      (s) => `${f1(s.loadAverage[0])} / ${f1(s.loadAverage[1])}; ${f1(s.wallSeconds)}`,
    ),
  ];
}

function table(rs: string[][]): string {
  const widths = rs[0]!.map((_, i) => Math.max(...rs.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' │ ');
  return [line(rs[0]!), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...rs.slice(1).map(line)].join('\n');
}

async function main(): Promise<number> {
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-bench-load-'));
  const serverLog = createWriteStream(join(resultsDir, 'load-temporal.log'));
  Object.assign(process.env, fairnessWeightsEnv());
  say(
    `scale ${SCALE}: campaign A ${RECORDS.a} records, campaign B ${RECORDS.b} records ${(B_DELAY_MS / 1000).toFixed(1)} s later, ` +
      `a single invite a second; R = ${RATE}/s, latency ${LATENCY_MS} ms; weights A ${WEIGHTS.a}, B ${WEIGHTS.b}; ` +
      `topologies ${TOPOLOGIES.join(', ')}; sides ${SIDES.map((s) => (s ? 'on' : 'off')).join(', ')}; ` +
      `worker cache ${WORKER_CACHE}`,
  );
  let bad = 0;
  try {
    for (const topology of TOPOLOGIES) {
      const sides: SideFigures[] = [];
      for (const on of SIDES) {
        const side = await runSide(topology, on, serverLog, tmp);
        sides.push(side);
        if (side.lost || side.duplicates) bad++;
        say(`${topology} ${on ? 'on' : 'off'}: done in ${f1(side.wallSeconds)} s`);
      }
      const file = join(resultsDir, `load-${topology}.json`);
      const report = {
        at: new Date(t0).toISOString(),
        machine: machine(),
        settings: {
          scale: SCALE,
          records: RECORDS,
          campaignBDelaySeconds: B_DELAY_MS / 1000,
          singleEverySeconds: SINGLE_EVERY_MS / 1000,
          ratePerSecond: RATE,
          latencyMs: LATENCY_MS,
          bucketSeconds: BUCKET_MS / 1000,
          weights: WEIGHTS,
          workerCache: WORKER_CACHE,
          groups: GROUPS,
          goals: GOALS,
          ...(topology === 'production' && { historyShards: HISTORY_SHARDS }),
        },
        sides,
      };
      writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(
        `\nbench:load, ${sides[0]?.topology ?? topology}, scale ${SCALE} (A ${RECORDS.a}, B ${RECORDS.b} records), ` +
          `R = ${RATE}/s, worker cache ${WORKER_CACHE}\n${table(rows(sides))}\nWritten: bench/results/load-${topology}.json\n\n`,
      );
    }
  } finally {
    serverLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }
  return bad ? 1 : 0;
}

runScript('bench:load', main);
