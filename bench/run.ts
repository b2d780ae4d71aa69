/**
 * `npm run bench`: hero-flow against the naive client of Hero's guide, at Hero's rate limit.
 *
 * Starts a real Temporal dev server (SQLite in a temp dir), the sandbox with a token bucket of R
 * requests/s and a fixed latency, and a hero-flow worker as a child process with
 * HERO_RATE_LIMIT_PER_SECOND=R. Measures Temporal's overhead at low load, then starts N outreach
 * runs as one batch; then resets the sandbox and runs the naive client over the same N patients.
 *
 *   BENCH_RUNS        N (default 1000)
 *   BENCH_RATE        R, Hero's limit in requests/s (default 20)
 *   BENCH_LATENCY_MS  sandbox latency per /v1 call (default 50)
 *   BENCH_SQLITE      the dev server's storage: wal (default; journal_mode=WAL, synchronous=NORMAL),
 *                     file (SQLite's default rollback journal, as plain `start-dev --db-filename`)
 *                     or memory (no file)
 *   BENCH_START_CONCURRENCY  start requests in flight at once (default: the library's, 50)
 *   BENCH_CACHE_CAPS  workflow-cache sizes to run the hero-flow side again with (default 100; ""
 *                     for none), to weigh the worker's memory against replaying evicted runs
 *   BENCH_PARTITIONS  1 (default, as `npm run dev`) or 4 (the server's default): read and write
 *                     partitions per task queue; the rate limit is split evenly across them
 *   BENCH_SCALING=1   also: R raised to 100000, N = 100, 1000 (and BENCH_SCALING_MAX, default 5000)
 *                     on one and on two worker processes, plus 1,000 runs on one worker with each
 *                     other storage (BENCH_SQLITE); each setup on a fresh dev server
 *   BENCH_SCALING=only  the scaling rows alone (printed and written to bench/results/scaling.json;
 *                     BENCHMARKS.md is left alone)
 *   BENCH_SCALING_SIZES / _WORKERS / _STORAGE  comma lists overriding the scaling grid
 *   BENCH_WORKER_NODE_OPTIONS  NODE_OPTIONS of the hero-flow worker processes only, e.g.
 *                     --max-old-space-size=512 (unset: as this process has them)
 *   BENCH_SIDES=hero-flow  only the low-load overhead and the hero-flow side (no naive side, no capped
 *                     cache, no scaling): the dev server's column of BENCHMARKS.md's "Topologies"
 *   HERO_TEST_TEMPORAL_ADDRESS (+ _CONTROL, _TOPOLOGY; test/production/external.ts)  run against that
 *                     server instead of a dev server, with Temporal's standard TLS variables, as
 *                     `npm run test:production` does: the hero-flow side only, written to the
 *                     production column of "Topologies" (and bench/results/topology-production.json)
 *
 * Prints the table, writes bench/results/latest.json, bench/results/calls-per-second.svg (copied to
 * docs/bench-calls-per-second.svg) and BENCHMARKS.md. Exits 1 only if a hero-flow run is lost (any
 * side: the main one, a capped cache, a scaling row) or a patient gets a second message. Wall time
 * against the ideal and the share of 429s are reported, never gated: they measure the machine and its
 * load as much as hero-flow, and a timed pass/fail is a flaky test.
 */
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../src/config/worker';
import {
  copyFileSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  type WriteStream,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { concurrencyLimit, DEFAULT_START_CONCURRENCY, HeroFlowClient } from '../src/client';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import { existsSync, readFileSync } from 'node:fs';
import { cpuSeconds, freePort, peakRssMiB, ROOT } from '../tools/processes';
import { devServerTuningArgs, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../tools/provision';
import { type RecordedRequest, type Sandbox, type SandboxPatient, startSandbox } from '../tools/sandbox';
import { runScript, sandboxWorkerEnv, TemporalDevServer, WorkerProcess } from '../test/reliability/processes';
import { outreachRequest } from '../test/support/fixtures';
import { BENCH_RECORDED_REQUESTS, heroCallsOf, machine, quantile, syntheticPatients, WORKER_CACHE } from './shared';
import { naiveOutreach } from './naive';
import {
  formatMarkdown,
  formatScaling,
  formatTable,
  type BenchReport,
  type ScalingRow,
  type SideReport,
} from './report';
import { callsPerSecondSvg } from './svg';
import { treeCpuSeconds } from './cpu';
import { type ExternalTemporalServer, externalTemporalServer } from '../test/production/external';
import { benchmarksFile, type TopologyRow, writeTopology } from './topology';

const RUNS = Number(process.env.BENCH_RUNS || 1000);
const RATE = Number(process.env.BENCH_RATE || 20);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS || 50);
const STORAGES = ['file', 'wal', 'memory'] as const;
type Storage = (typeof STORAGES)[number];
const STORAGE = storage(process.env.BENCH_SQLITE || 'wal');
/** Start requests in flight at once (HeroFlowClient.startMany); the library's default unless set. */
const START_CONCURRENCY = Number(process.env.BENCH_START_CONCURRENCY || DEFAULT_START_CONCURRENCY);
/** Workflow-cache caps to re-run the hero-flow side with (BENCH_CACHE_CAPS, comma list; "" for none). */
const CACHE_CAPS = list(process.env.BENCH_CACHE_CAPS ?? '100', [], Number);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS || 1);
/** NODE_OPTIONS of the worker processes only (unset: as this process has them). */
const WORKER_NODE_OPTIONS = process.env.BENCH_WORKER_NODE_OPTIONS;
if (PARTITIONS !== 1 && PARTITIONS !== 4) throw new Error(`BENCH_PARTITIONS: "${PARTITIONS}" is not 1 or 4`);
const SCALING = process.env.BENCH_SCALING === '1' || process.env.BENCH_SCALING === 'only';
const SCALING_ONLY = process.env.BENCH_SCALING === 'only';
const SCALING_MAX = Number(process.env.BENCH_SCALING_MAX || 5000);
const SCALING_GRID = gridOf(
  list(process.env.BENCH_SCALING_STORAGE, [STORAGE], storage),
  list(process.env.BENCH_SCALING_WORKERS, [1, 2], Number),
  list(
    process.env.BENCH_SCALING_SIZES,
    [100, 1000, 5000].filter((n) => n <= SCALING_MAX),
    Number,
  ),
  // Unless the grid is given, one row per other storage shows what the persistence costs.
  process.env.BENCH_SCALING_STORAGE ? [] : STORAGES.filter((m) => m !== STORAGE),
);
/** The server the bench runs against, when it did not start it (test/production/external.ts). */
const EXTERNAL = externalTemporalServer();
/** Only the overhead and the hero-flow side: a topology's column of BENCHMARKS.md. */
const TOPOLOGY_ONLY = !!EXTERNAL || process.env.BENCH_SIDES === 'hero-flow';
if (process.env.BENCH_SIDES && !['hero-flow', 'all'].includes(process.env.BENCH_SIDES)) {
  throw new Error(`BENCH_SIDES: "${process.env.BENCH_SIDES}" is not hero-flow or all`);
}
if (EXTERNAL && SCALING)
  throw new Error('BENCH_SCALING starts dev servers of its own: not with HERO_TEST_TEMPORAL_ADDRESS');
const VERIFY_SHARE = 0.1;
const VERIFY_AFTER_MS = 5_000;
const OVERHEAD_RUNS = 20;

function storage(value: string): Storage {
  if ((STORAGES as readonly string[]).includes(value)) return value as Storage;
  throw new Error(`BENCH_SQLITE / BENCH_SCALING_STORAGE: "${value}" is not one of ${STORAGES.join(', ')}`);
}

function list<T>(value: string | undefined, fallback: T[], parse: (s: string) => T): T[] {
  if (!value) return fallback;
  return value.split(',').map((v) => {
    const parsed = parse(v.trim());
    if (typeof parsed === 'number' && !(parsed > 0)) throw new Error(`bench: "${v}" is not a positive number`);
    return parsed;
  });
}

interface ScalingSetup {
  storage: Storage;
  workers: number;
  runs: number;
}

function gridOf(storages: Storage[], workers: number[], sizes: number[], compare: Storage[]): ScalingSetup[] {
  const grid = storages.flatMap((s) => workers.flatMap((w) => sizes.map((runs) => ({ storage: s, workers: w, runs }))));
  // Storage is compared at the largest size up to 1,000 (a row of its own for each other mode).
  const runs = sizes.filter((n) => n <= 1000).pop() ?? sizes[0]!;
  return [...grid, ...compare.map((s) => ({ storage: s, workers: 1, runs }))];
}

const STORAGE_LABEL: Record<Storage, string> = { wal: 'WAL', file: 'rollback journal', memory: 'in memory' };

/** A Temporal server the bench runs on: a dev server it starts, or an external one. */
interface Target {
  address: string;
  connectOptions: ExternalTemporalServer['connectOptions'];
  start(): Promise<void>;
  /** CPU seconds so far of the server and of its database (undefined: inside the server, as SQLite is). */
  cpu(): Promise<{ server: number; database?: number }>;
}

function devTarget(server: TemporalDevServer): Target {
  return {
    address: server.address,
    connectOptions: { address: server.address },
    start: () => server.start(),
    cpu: async () => ({ server: treeCpuSeconds(server.pid) ?? 0 }),
  };
}

function externalTarget(server: ExternalTemporalServer): Target {
  return {
    address: server.address,
    connectOptions: server.connectOptions,
    start: async () => undefined, // already serving; its owner starts and stops it
    cpu: () => server.cpu(),
  };
}

/** The dev server's persistence: the SQLite file as `npm run dev` has it, WAL, or memory only. */
async function devServer(cli: string, dir: string, name: string, mode: Storage, log: WriteStream) {
  const file = mode === 'memory' ? undefined : join(dir, `${name}.sqlite`);
  const tuning = devServerTuningArgs({ wal: mode === 'wal', onePartition: PARTITIONS === 1 });
  return new TemporalDevServer(cli, await freePort(), await freePort(), file, log, tuning);
}

const t0 = Date.now();
/** In workflow IDs: base 36, so no digit run can look like an NHS number (the client refuses those). */
const RUN_ID = t0.toString(36);
const say = (line: string) => process.stdout.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

interface Spec extends SandboxPatient {
  index: number;
}

function buildSpecs(n: number, offset: number, verifyShare: number): Spec[] {
  return syntheticPatients(n, { seed: 300_000 + offset * 10, patientIdBase: 100_000 + offset }).map((p) => ({
    ...p,
    needsVerification: verifyShare > 0 && p.index % Math.round(1 / verifyShare) === 0,
  }));
}

const digits = (s: unknown) => String(s ?? '').replace(/\D/g, '');

function heroCalls(sandbox: Sandbox): RecordedRequest[] {
  return heroCallsOf(sandbox);
}

function perSecond(calls: RecordedRequest[], from: number, pick: (r: RecordedRequest) => boolean): number[] {
  const out: number[] = [];
  for (const r of calls) {
    if (!pick(r)) continue;
    const s = Math.max(0, Math.floor((r.at - from) / 1000));
    while (out.length <= s) out.push(0);
    out[s]! += 1;
  }
  return out;
}

function duplicateMessages(sandbox: Sandbox, specs: Spec[]): number {
  const counts = new Map<string, number>();
  for (const m of sandbox.messages()) counts.set(m.patientId, (counts.get(m.patientId) ?? 0) + 1);
  return specs.reduce((sum, s) => sum + Math.max(0, (counts.get(s.patientId) ?? 0) - 1), 0);
}

/** Counts a side's Hero calls, 429s and duplicate messages from the sandbox's log; returns the calls. */
function tallyHeroCalls(side: SideReport, sandbox: Sandbox, specs: Spec[]): RecordedRequest[] {
  const calls = heroCalls(sandbox);
  side.heroCalls = calls.length;
  side.rateLimited = calls.filter((r) => r.status === 429).length;
  side.duplicateMessages = duplicateMessages(sandbox, specs);
  return calls;
}

/**
 * What fails the bench: a hero-flow run lost (not completed) or a patient messaged twice, on any
 * hero-flow side and any scaling row. The naive side loses runs by design: that is the comparison.
 */
function gatesOf(sides: SideReport[], scaling: ScalingRow[]): BenchReport['goals'] {
  const runs = [
    ...sides.map((s) => ({ lost: s.lost, of: s.completed + s.lost, duplicates: s.duplicateMessages })),
    ...scaling.map((r) => ({ lost: r.runs - r.completed, of: r.runs, duplicates: r.duplicateMessages ?? 0 })),
  ];
  const lost = runs.reduce((n, r) => n + r.lost, 0);
  const total = runs.reduce((n, r) => n + r.of, 0);
  const duplicates = runs.reduce((n, r) => n + r.duplicates, 0);
  return [
    {
      goal: 'hero-flow loses no run (every side and scaling row)',
      gate: true,
      met: lost === 0,
      value: `${lost} of ${total} lost`,
    },
    { goal: 'zero duplicate messages', gate: true, met: duplicates === 0, value: String(duplicates) },
  ];
}

/** The calls the whole job needs at best: 3 per run, plus the re-trace of each verified patient. */
const neededCalls = (specs: Spec[]) => specs.reduce((n, s) => n + (s.needsVerification ? 4 : 3), 0);

async function main(): Promise<number> {
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-bench-'));
  const serverLog = createWriteStream(join(resultsDir, 'temporal.log'));
  const workerLog = createWriteStream(join(resultsDir, 'worker.log'));
  const keySpec = generateKeySpec();
  const converter = heroDataConverter(parseKeyRing(keySpec));
  const rateLimit = { capacity: RATE, refillPerSecond: RATE, retryAfter: 'seconds' as const };

  const specs = buildSpecs(RUNS, 0, VERIFY_SHARE);
  const mainNhs = new Set(specs.map((s) => s.nhsNumber));
  const overheadSpecs = buildSpecs(OVERHEAD_RUNS, 900_000, 0).filter((s) => !mainNhs.has(s.nhsNumber));

  const cli = EXTERNAL ? '' : await resolveTemporalCli();
  const server = EXTERNAL ? undefined : await devServer(cli, tmp, 'bench', STORAGE, serverLog);
  const servers: TemporalDevServer[] = server ? [server] : [];
  const target = EXTERNAL ? externalTarget(EXTERNAL) : devTarget(server!);
  const sandbox = await startSandbox({
    patients: [...specs, ...overheadSpecs].map(({ index: _i, ...p }) => p),
    rateLimit,
    latencyMs: LATENCY_MS,
    maxRecordedRequests: BENCH_RECORDED_REQUESTS,
  });
  const workers: WorkerProcess[] = [];
  const connections: Connection[] = [];
  const startWorker = async (on: Target, taskQueue: string, rate: number, extra?: NodeJS.ProcessEnv) => {
    const env = sandboxWorkerEnv({
      address: on.address,
      sandbox,
      keys: keySpec,
      taskQueue,
      extra: {
        HERO_RATE_LIMIT_PER_SECOND: String(rate),
        ...(WORKER_NODE_OPTIONS !== undefined && { NODE_OPTIONS: WORKER_NODE_OPTIONS }),
        ...extra,
      },
    });
    const w = new WorkerProcess(env, workerLog);
    workers.push(w);
    await w.start();
    return w;
  };
  const connect = async (on: Target, taskQueue: string) => {
    const connection = await Connection.connect(on.connectOptions);
    connections.push(connection);
    return new HeroFlowClient(new Client({ connection, dataConverter: converter }), taskQueue);
  };

  try {
    if (SCALING_ONLY) {
      const scaling = await runScalingGrid();
      const report = { at: new Date(t0).toISOString(), machine: machine(), latencyMs: LATENCY_MS, scaling };
      writeFileSync(join(resultsDir, 'scaling.json'), JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`\n${formatScaling(scaling)}\nWritten: bench/results/scaling.json\n`);
      const gates = gatesOf([], scaling);
      for (const g of gates) process.stdout.write(`${g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}\n`);
      return gates.every((g) => g.met) ? 0 : 1;
    }
    await target.start();
    const taskQueue = `bench-${process.pid}`;
    const worker = await startWorker(target, taskQueue, RATE);
    const hf = await connect(target, taskQueue);
    say(
      `${EXTERNAL ? EXTERNAL.topology : `Temporal dev server (${STORAGE})`} on ${target.address}; ` +
        `sandbox on ${sandbox.url} (R=${RATE}/s, ${LATENCY_MS} ms)`,
    );

    // 1. Temporal's overhead at low load: sequential runs, no Hero rate limit.
    sandbox.setRateLimit(undefined);
    const overheadDurations: number[] = [];
    for (const s of overheadSpecs) {
      const began = Date.now();
      const { workflowId } = await hf.start(outreachRequest(s), { workflowId: `bench-warm-${RUN_ID}-${s.index}` });
      await hf.result(workflowId);
      overheadDurations.push(Date.now() - began);
    }
    const medianRun = quantile(overheadDurations, 0.5);
    say(`low load: median run ${medianRun} ms over ${overheadDurations.length} sequential runs`);
    sandbox.reset();

    // 2. hero-flow: N runs started at once.
    say(`hero-flow: starting ${RUNS} runs (${specs.filter((s) => s.needsVerification).length} need verification)`);
    const workerCpu0 = cpuSeconds(worker.pid) ?? 0;
    const serverCpu0 = await target.cpu();
    const load0 = loadavg()[0]!;
    const heroFlow = await runHeroFlow(hf, sandbox, specs, `bench-${RUN_ID}`, 'hero-flow');
    const serverCpu1 = await target.cpu();
    heroFlow.peakRssMiB = peakRssMiB(worker.pid);
    heroFlow.workerCpuSeconds = (cpuSeconds(worker.pid) ?? 0) - workerCpu0;
    heroFlow.serverCpuSeconds = serverCpu1.server - serverCpu0.server;
    if (serverCpu1.database !== undefined) {
      heroFlow.databaseCpuSeconds = serverCpu1.database - (serverCpu0.database ?? 0);
    }
    const heroCallsLog = tallyHeroCalls(heroFlow, sandbox, specs);
    heroFlow.idealRatio = heroFlow.wallSeconds / (neededCalls(specs) / RATE);
    say(`hero-flow: ${heroFlow.completed}/${RUNS} completed in ${heroFlow.wallSeconds.toFixed(1)} s`);
    const topology: TopologyRow = {
      key: EXTERNAL ? 'production' : 'dev',
      topology: EXTERNAL
        ? EXTERNAL.topology
        : `dev server (temporal ${TEMPORAL_CLI_VERSION} server start-dev, SQLite ${STORAGE_LABEL[STORAGE]})`,
      at: new Date(t0).toISOString(),
      runs: RUNS,
      ratePerSecond: RATE,
      completed: heroFlow.completed,
      lost: heroFlow.lost,
      outcomes: heroFlow.outcomes,
      duplicateMessages: heroFlow.duplicateMessages,
      reviews: heroFlow.outcomes.needs_review ?? 0,
      rateLimited: heroFlow.rateLimited,
      heroCalls: heroFlow.heroCalls,
      wallSeconds: heroFlow.wallSeconds,
      idealRatio: heroFlow.idealRatio,
      p50Seconds: heroFlow.p50Seconds,
      p95Seconds: heroFlow.p95Seconds,
      overheadMs: medianRun - 3 * LATENCY_MS,
      serverCpuSeconds: heroFlow.serverCpuSeconds,
      databaseCpuSeconds: heroFlow.databaseCpuSeconds,
      workerCpuSeconds: heroFlow.workerCpuSeconds,
      workerCache: WORKER_CACHE,
      workerPeakRssMiB: heroFlow.peakRssMiB,
      loadAverage: [load0, loadavg()[0]!],
    };
    say(
      `hero-flow: per run ${((1000 * heroFlow.serverCpuSeconds) / RUNS).toFixed(1)} server CPU-ms` +
        `${heroFlow.databaseCpuSeconds === undefined ? '' : `, ${((1000 * heroFlow.databaseCpuSeconds) / RUNS).toFixed(1)} database CPU-ms`}` +
        `, ${((1000 * heroFlow.workerCpuSeconds) / RUNS).toFixed(1)} worker CPU-ms; worker peak RSS ${heroFlow.peakRssMiB} MiB`,
    );
    if (TOPOLOGY_ONLY) {
      const file = join(resultsDir, `topology-${topology.key}.json`);
      const calls = perSecond(heroCallsLog, heroFlow.startedAt, () => true);
      writeFileSync(
        file,
        JSON.stringify({ ...topology, machine: machine(), heroCallsPerSecond: calls }, null, 2) + '\n',
      );
      await writeTopology(ROOT, topology);
      const gates = gatesOf([heroFlow], []);
      for (const g of gates) process.stdout.write(`${g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}\n`);
      process.stdout.write(
        `wall ÷ ideal ${heroFlow.idealRatio.toFixed(3)}; Written: bench/results/topology-${topology.key}.json, ` +
          `BENCHMARKS.md ("Topologies", ${topology.key} column)\n`,
      );
      return gates.every((g) => g.met) ? 0 : 1;
    }

    // 3. The naive client over the same patients, same sandbox settings.
    sandbox.reset();
    say(`naive: ${RUNS} patients at once (Promise.all)`);
    const naive = await runNaive(sandbox, specs);
    const naiveCallsLog = tallyHeroCalls(naive, sandbox, specs);
    say(`naive: ${naive.completed}/${RUNS} completed in ${naive.wallSeconds.toFixed(1)} s`);

    // 3b. hero-flow again on a worker whose workflow cache is capped: memory against replay work.
    const cappedCache: SideReport[] = [];
    for (const cap of CACHE_CAPS) {
      sandbox.reset();
      await worker.stop();
      const queue = `bench-cache${cap}-${process.pid}`;
      const capped = await startWorker(target, queue, RATE, { HERO_MAX_CACHED_WORKFLOWS: String(cap) });
      say(`hero-flow: ${RUNS} runs again, workflow cache capped at ${cap}`);
      const cpu0 = cpuSeconds(capped.pid) ?? 0;
      const side = await runHeroFlow(await connect(target, queue), sandbox, specs, `bench-c${cap}-${RUN_ID}`, 'capped');
      side.peakRssMiB = peakRssMiB(capped.pid);
      side.workerCpuSeconds = (cpuSeconds(capped.pid) ?? 0) - cpu0;
      tallyHeroCalls(side, sandbox, specs);
      side.cache = cap;
      cappedCache.push(side);
      await capped.stop();
    }

    // 4. Optional: cost when Hero is not the bottleneck.
    await Promise.all(workers.map((w) => w.stop()));
    await server!.stop();
    const scaling = SCALING ? await runScalingGrid() : [];

    const ideal = neededCalls(specs) / RATE;
    for (const side of [heroFlow, naive, ...cappedCache]) side.idealRatio = side.wallSeconds / ideal;
    const series = {
      heroFlow: perSecond(heroCallsLog, heroFlow.startedAt, () => true),
      heroFlow429: perSecond(heroCallsLog, heroFlow.startedAt, (r) => r.status === 429),
      naive: perSecond(naiveCallsLog, naive.startedAt, () => true),
      naive429: perSecond(naiveCallsLog, naive.startedAt, (r) => r.status === 429),
    };

    const goals = gatesOf([heroFlow, ...cappedCache], scaling);
    goals.push(
      {
        goal: 'wall time within 1.15× of the ideal (calls ÷ R)',
        gate: false,
        met: heroFlow.idealRatio <= 1.15,
        value: `${heroFlow.idealRatio.toFixed(3)}×`,
      },
      {
        goal: '429s under 1% of Hero calls',
        gate: false,
        met: heroFlow.rateLimited < 0.01 * heroFlow.heroCalls,
        value: `${((100 * heroFlow.rateLimited) / Math.max(1, heroFlow.heroCalls)).toFixed(2)}%`,
      },
    );

    const report: BenchReport = {
      at: new Date(t0).toISOString(),
      machine: machine(),
      settings: {
        runs: RUNS,
        ratePerSecond: RATE,
        latencyMs: LATENCY_MS,
        storage: STORAGE,
        partitions: PARTITIONS,
        startConcurrency: START_CONCURRENCY,
        verificationShare: VERIFY_SHARE,
        verifyAfterMs: VERIFY_AFTER_MS,
        recheckEvery: '10 seconds',
        naiveRetries: 3,
        idealSeconds: ideal,
        neededCalls: neededCalls(specs),
        worker: Object.fromEntries(
          ['HERO_MAX_CONCURRENT_ACTIVITIES', 'HERO_MAX_CONCURRENT_WORKFLOW_TASKS', 'HERO_MAX_CACHED_WORKFLOWS'].map(
            (k) => [
              k,
              process.env[k] ||
                (k === 'HERO_MAX_CACHED_WORKFLOWS'
                  ? `unset: hero-flow's default, ${DEFAULT_MAX_CACHED_WORKFLOWS}`
                  : 'SDK default'),
            ],
          ),
        ),
      },
      heroFlow,
      naive,
      overhead: {
        runs: overheadDurations.length,
        medianRunMs: medianRun,
        p95RunMs: quantile(overheadDurations, 0.95),
        heroLatencyMs: 3 * LATENCY_MS,
        temporalOverheadMs: medianRun - 3 * LATENCY_MS,
      },
      goals,
      cappedCache,
      scaling,
      series,
    };
    writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    const svg = callsPerSecondSvg({
      title: `Hero calls per second: ${RUNS} outreaches at a limit of ${RATE}/s`,
      limit: RATE,
      clipAt: 4 * RATE,
      series: [
        { label: 'hero-flow: all calls', color: '#1f77b4', values: series.heroFlow },
        { label: 'naive: all calls', color: '#ff7f0e', values: series.naive },
        { label: 'naive: 429 answers', color: '#8c564b', values: series.naive429, dashed: true },
        { label: 'hero-flow: 429 answers', color: '#17becf', values: series.heroFlow429, dashed: true },
      ],
    });
    writeFileSync(join(resultsDir, 'calls-per-second.svg'), svg);
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    copyFileSync(join(resultsDir, 'calls-per-second.svg'), join(ROOT, 'docs', 'bench-calls-per-second.svg'));
    // The production column of "Topologies" comes from another run (npm run test:production): kept.
    const previous = existsSync(benchmarksFile(ROOT)) ? readFileSync(benchmarksFile(ROOT), 'utf8') : '';
    writeFileSync(benchmarksFile(ROOT), await formatMarkdown(report));
    await writeTopology(ROOT, topology, previous);
    process.stdout.write(`\n${formatTable(report)}\n`);
    process.stdout.write(
      'Written: bench/results/latest.json, bench/results/calls-per-second.svg, docs/bench-calls-per-second.svg, BENCHMARKS.md\n',
    );
    return goals.every((g) => g.met || !g.gate) ? 0 : 1;
  } finally {
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await sandbox.close();
    serverLog.end();
    workerLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }

  /** Every (storage, workers, runs) setup, each on a fresh dev server so earlier histories cost nothing. */
  async function runScalingGrid(): Promise<ScalingRow[]> {
    const rows: ScalingRow[] = [];
    for (const { storage: mode, workers: workerCount, runs: n } of SCALING_GRID) {
      const fresh = await devServer(cli, tmp, `scale-${mode}-${workerCount}-${n}`, mode, serverLog);
      servers.push(fresh);
      await fresh.start();
      try {
        rows.push(await runScaling(fresh, mode, n, workerCount));
      } finally {
        await fresh.stop();
      }
    }
    return rows;
  }

  async function runScaling(on: TemporalDevServer, mode: Storage, n: number, workerCount: number): Promise<ScalingRow> {
    const queue = `bench-scale-${workerCount}w-${n}-${process.pid}`;
    const scaleSpecs = buildSpecs(n, 2_000_000 + n * 10 + workerCount, 0);
    sandbox.reset();
    for (const { index: _i, ...p } of scaleSpecs) sandbox.addPatient(p);
    sandbox.setRateLimit({ capacity: 100_000, refillPerSecond: 100_000 });
    const ws: WorkerProcess[] = [];
    for (let i = 0; i < workerCount; i++) ws.push(await startWorker(devTarget(on), queue, 100_000));
    const client = await connect(devTarget(on), queue);
    const cpu0 = {
      workers: ws.map((w) => cpuSeconds(w.pid) ?? 0),
      server: cpuSeconds(on.pid) ?? 0,
      bench: process.cpuUsage(),
    };
    say(`scaling: ${n} runs on ${workerCount} worker(s), storage ${mode}, Hero unlimited`);
    const side = await runHeroFlow(client, sandbox, scaleSpecs, `${queue}-${RUN_ID}`, 'scaling');
    const benchCpu = process.cpuUsage(cpu0.bench);
    const duplicates = duplicateMessages(sandbox, scaleSpecs);
    const row: ScalingRow = {
      runs: n,
      workers: workerCount,
      storage: mode,
      completed: side.completed,
      outcomes: side.outcomes,
      wallSeconds: side.wallSeconds,
      runsPerSecond: side.completed / side.wallSeconds,
      startsPerSecond: side.startsPerSecond,
      p50Seconds: side.p50Seconds,
      p95Seconds: side.p95Seconds,
      workerCpuSeconds: ws.reduce((sum, w, i) => sum + ((cpuSeconds(w.pid) ?? 0) - cpu0.workers[i]!), 0),
      serverCpuSeconds: (cpuSeconds(on.pid) ?? 0) - cpu0.server,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
      workerPeakRssMiB: Math.max(...ws.map((w) => peakRssMiB(w.pid) ?? 0)),
      duplicateMessages: duplicates,
    };
    say(
      `scaling: outcomes ${JSON.stringify(side.outcomes)}${side.firstError ? `; first error: ${side.firstError}` : ''}`,
    );
    say(`scaling: ${row.completed}/${n} in ${row.wallSeconds.toFixed(1)} s = ${row.runsPerSecond.toFixed(1)} runs/s`);
    await Promise.all(ws.map((w) => w.stop()));
    return row;
  }
}

/** Starts the runs as one batch (startMany), verifies the 10% after 5 s, waits for every outcome. */
async function runHeroFlow(
  hf: HeroFlowClient,
  sandbox: Sandbox,
  specs: Spec[],
  prefix: string,
  label: string,
): Promise<SideReport> {
  const startedAt = Date.now();
  const deadline = startedAt + Math.max(10 * 60_000, (3 * neededCalls(specs) * 1000) / RATE);
  const byNhs = new Map(specs.filter((s) => s.needsVerification).map((s) => [s.nhsNumber, s]));
  const wid = (s: Spec) => `${prefix}-${s.index}`;
  const outcomes: Record<string, number> = {};
  let lastStartAck = startedAt;
  let open = specs.length;
  let firstError: string | undefined;
  // The frontend serves at most 1,200 long polls per API at once (dynamic config
  // frontend.namespaceCount): more concurrent result() calls fail with RESOURCE_EXHAUSTED. So
  // results are awaited 500 at a time, and each run's time to outcome comes from its close time.
  const resultGate = concurrencyLimit(500);
  const completedIds: string[] = [];
  const verifications: Promise<void>[] = [];

  // The patient verifies 5 s after Hero handed out the login URL (seen in the sandbox's log), then
  // the partner's backend confirms it to the run; the 10 s re-check would also find it.
  const verify = async (s: Spec, loginAt: number) => {
    let loginUrl: string | undefined;
    while (!loginUrl && Date.now() < deadline) {
      const status = await hf.status(wid(s)).catch(() => undefined);
      loginUrl = status?.state === 'awaiting_verification' ? status.loginUrl : undefined;
      if (!loginUrl) await sleep(500);
    }
    if (!loginUrl) return;
    await sleep(Math.max(0, loginAt + VERIFY_AFTER_MS - Date.now()));
    await fetch(loginUrl, { method: 'POST' }).then((r) => r.body?.cancel());
    await hf.confirmVerification(wid(s)).catch((err: unknown) => {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    });
  };
  let lastSeq = 0;
  const watcher = setInterval(() => {
    for (const r of sandbox.requests({ endpoint: 'register_pds' })) {
      if (r.seq <= lastSeq) continue;
      lastSeq = r.seq;
      if (r.status !== 200) continue;
      const s = byNhs.get(digits((r.body as { nhs_number?: string } | undefined)?.nhs_number));
      if (!s) continue;
      byNhs.delete(s.nhsNumber);
      verifications.push(
        verify(s, r.at).catch((err: unknown) => {
          say(`${label}: verification failed: ${String(err)}`);
        }),
      );
    }
  }, 200);

  const progress = setInterval(() => say(`${label}: ${open} runs open`), 15_000);
  try {
    // The practice list goes in as one batch (HeroFlowClient.startMany, bounded start concurrency);
    // each run's outcome is awaited from the moment it is started. Times count from the batch start.
    const outcomesSettled: Promise<void>[] = [];
    const settle = async (started: boolean, s: Spec) => {
      let outcome = started ? 'never_finished' : 'start_failed';
      if (started) {
        lastStartAck = Math.max(lastStartAck, Date.now());
        const result = await Promise.race([
          resultGate(() => hf.result(wid(s))),
          sleep(Math.max(0, deadline - Date.now())).then(() => undefined),
        ]).catch((err: unknown) => {
          firstError ??= String(err instanceof Error && err.cause ? `${err.message}: ${String(err.cause)}` : err);
          return { outcome: 'failed' };
        });
        if (result) outcome = result.outcome;
      }
      if (outcome === 'completed') completedIds.push(wid(s));
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      open -= 1;
    };
    await hf.startMany(
      specs.map((s) => ({
        request: outreachRequest(s, { verification: { recheckEvery: '10 seconds', timeout: '40 minutes' } }),
        workflowId: wid(s),
      })),
      {
        concurrency: START_CONCURRENCY,
        onResult: (r) => outcomesSettled.push(settle('started' in r, specs[r.index]!)),
      },
    );
    await Promise.all(outcomesSettled);
  } finally {
    clearInterval(watcher);
    clearInterval(progress);
  }
  const wallSeconds = (Date.now() - startedAt) / 1000;
  await Promise.all(verifications);
  // Visibility is written a moment after a run closes: ask again until it has every completed run.
  let closedAt = new Map<string, number>();
  for (let i = 0; i < 20 && !completedIds.every((id) => closedAt.has(id)); i++) {
    if (i) await sleep(500);
    closedAt = await closeTimes(hf, `${prefix}-`);
  }
  const durations = completedIds.flatMap((id) => (closedAt.has(id) ? [closedAt.get(id)! - startedAt] : []));
  if (durations.length < completedIds.length) {
    say(`${label}: visibility lacks the close time of ${completedIds.length - durations.length} completed runs`);
  }
  const completed = outcomes.completed ?? 0;
  return {
    startedAt,
    completed,
    lost: specs.length - completed,
    outcomes,
    rateLimited: 0, // counted from the sandbox log by tallyHeroCalls
    heroCalls: 0,
    wallSeconds,
    idealRatio: NaN,
    p50Seconds: quantile(durations, 0.5) / 1000,
    p95Seconds: quantile(durations, 0.95) / 1000,
    startsPerSecond: specs.length / Math.max(0.001, (lastStartAck - startedAt) / 1000),
    duplicateMessages: 0,
    firstError,
  };
}

/** Close times (ms) of the runs on hf's task queue whose workflow ID starts with `prefix`, from visibility. */
async function closeTimes(hf: HeroFlowClient, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const wf of hf.client.workflow.list({ query: `TaskQueue = "${hf.taskQueue}"` })) {
    if (wf.workflowId.startsWith(prefix) && wf.closeTime) out.set(wf.workflowId, wf.closeTime.getTime());
  }
  return out;
}

/** Hero's guide, all patients at once. */
async function runNaive(sandbox: Sandbox, specs: Spec[]): Promise<SideReport> {
  const startedAt = Date.now();
  const durations: number[] = [];
  const outcomes: Record<string, number> = {};
  const hero = { baseUrl: sandbox.url, apiKey: sandbox.apiKey, practiceGroupId: sandbox.practiceGroupId };
  await Promise.all(
    specs.map(async (s) => {
      try {
        await naiveOutreach(hero, s, {
          verifyAfterMs: VERIFY_AFTER_MS,
          patientVerifies: (url) => fetch(url, { method: 'POST' }).then((r) => r.body?.cancel()),
        });
        durations.push(Date.now() - startedAt);
        outcomes.completed = (outcomes.completed ?? 0) + 1;
      } catch (err) {
        const why = /answered (\d+)/.exec(String(err))?.[1];
        const key = why ? `threw_${why}` : 'threw';
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
    }),
  );
  const wallSeconds = (Date.now() - startedAt) / 1000;
  const completed = outcomes.completed ?? 0;
  return {
    startedAt,
    completed,
    lost: specs.length - completed,
    outcomes,
    rateLimited: 0, // counted from the sandbox log by tallyHeroCalls
    heroCalls: 0,
    wallSeconds,
    idealRatio: NaN,
    p50Seconds: quantile(durations, 0.5) / 1000,
    p95Seconds: quantile(durations, 0.95) / 1000,
    // The bench process itself: it also ran the hero-flow side's client, so this is an upper bound.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    duplicateMessages: 0,
  };
}

runScript('bench', main);
