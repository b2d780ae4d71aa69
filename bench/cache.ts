/**
 * `npm run bench:cache`: the worker's workflow cache (HERO_MAX_CACHED_WORKFLOWS) against its memory and the
 * replay work of waking runs it evicted, with N runs open (issue 20: 10,000 open runs in 1 GiB by default).
 *
 * Starts a real Temporal dev server (SQLite, WAL, one task-queue partition, as `npm run bench`) and the
 * sandbox with no rate limit, then:
 *   1. start: N runs that wait for the booking (a 14-day window, reminders due after 3 and 7 days, the link
 *      re-checked daily: nothing is due while the bench runs), started with `startMany` on a worker at the
 *      default cache (HERO_MAX_CACHED_WORKFLOWS unset, or BENCH_CACHE_START), until every run is in
 *      `awaiting_booking` and its first message's delivery status is read, at most BENCH_CACHE_START_IN_FLIGHT
 *      on their way at once. The worker's peak RSS meanwhile is the figure of issue 20's goal.
 *   2. for each cache size: a fresh worker process with that HERO_MAX_CACHED_WORKFLOWS wakes every run once
 *      with its status query, BENCH_CACHE_WAKE_CONCURRENCY at a time. A fresh worker holds no run, so each
 *      wake-up is a replay of the run's history (what a run evicted from the cache costs when its timer, a
 *      reminder or a booking wakes it), and the cache keeps up to its size of them resident afterwards.
 *      Recorded: the worker's peak RSS (VmHWM, the whole process), its RSS once idle before the pass, worker
 *      CPU-ms per wake-up, the pass's wall time and the queries' latency.
 *
 *   BENCH_CACHE_RUNS              N (default 10000)
 *   BENCH_CACHE_SIZES             comma list of cache sizes: numbers, "default" (HERO_MAX_CACHED_WORKFLOWS
 *                                 unset: hero-flow's default), "sdk-default" (the SDK's own default for the
 *                                 worker's heap limit, set explicitly) (default 0,100,250,500,1000,sdk-default)
 *   BENCH_CACHE_START             the start phase's cache size, the same forms (default "default")
 *   BENCH_CACHE_START_IN_FLIGHT   runs started but not yet waiting for the booking, at most (default 200)
 *   BENCH_CACHE_WAKES             how many of the N runs each cache size wakes (default N): a wake-up replays
 *                                 a run (tens of CPU-ms), so a smaller number keeps a 10,000-run bench short
 *   BENCH_CACHE_WAKE_CONCURRENCY  status queries in flight at once (default 20)
 *   BENCH_LATENCY_MS              sandbox latency per /v1 call (default 10)
 *   BENCH_CACHE_WORKER_NODE_OPTIONS  NODE_OPTIONS of the worker processes only (e.g. --max-old-space-size=512)
 *   BENCH_CACHE_BUNDLES           comma list of workflow bundles each cache size is woken with (default
 *                                 "shared,per-run"): "shared" is the package as built (the schemas loaded
 *                                 once per worker thread); "per-run" a copy of it whose bundle has each run
 *                                 load its own schemas, as before they were shared (bench/results/per-run-package)
 *
 * Prints the table and writes bench/results/cache.json. Exits 1 if a run is not in `awaiting_booking` at a
 * wake-up or a query fails: figures from runs that did not wait as intended would measure something else.
 */
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import { concurrencyLimit, HeroFlowClient } from '../src/client';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import { cpuSeconds, freePort, peakRssMiB, ROOT } from '../tools/processes';
import { devServerTuningArgs, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../tools/provision';
import { type SandboxPatient, startSandbox } from '../tools/sandbox';
import { runScript, sandboxWorkerEnv, TemporalDevServer, WorkerProcess } from '../test/reliability/processes';
import { buildWorkflowBundle } from '../tools/build-workflow-bundle';
import { outreachRequest } from '../test/support/fixtures';
import { quantile, syntheticPatients } from './shared';

const RUNS = positive('BENCH_CACHE_RUNS', 10_000);
const WAKE_CONCURRENCY = positive('BENCH_CACHE_WAKE_CONCURRENCY', 20);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS || 10);
const SIZES = (process.env.BENCH_CACHE_SIZES || '0,100,250,500,1000,sdk-default').split(',').map((v) => size(v));
const START_SIZE = size(process.env.BENCH_CACHE_START || 'default');
const START_IN_FLIGHT = positive('BENCH_CACHE_START_IN_FLIGHT', 200);
const WAKES = Math.min(RUNS, positive('BENCH_CACHE_WAKES', RUNS));
const BUNDLES = (process.env.BENCH_CACHE_BUNDLES || 'shared,per-run').split(',').map((v) => bundleKind(v));
/** NODE_OPTIONS of the worker processes only, e.g. --max-old-space-size=512 (unset: as this process has them). */
const WORKER_NODE_OPTIONS = process.env.BENCH_CACHE_WORKER_NODE_OPTIONS;
/** Nothing comes due while the bench runs: a run only waits (its timer set a day ahead), as most open runs do. */
const AWAIT_BOOKING = {
  window: '14 days',
  recheckEvery: '1 day',
  reminders: [
    { after: '3 days', text: 'Reminder: you can still book: {booking_link}' },
    { after: '7 days', text: 'Last reminder, book here: {booking_link}' },
  ],
};

/** A cache size as given: a number, hero-flow's default (variable unset) or the SDK's own default. */
type CacheSize = number | 'default' | 'sdk-default';

function size(v: string): CacheSize {
  const s = v.trim();
  if (s === 'default' || s === 'sdk-default') return s;
  const n = Number(s);
  if (s === '' || !Number.isInteger(n) || n < 0) {
    throw new Error(`BENCH_CACHE_SIZES / BENCH_CACHE_START: "${v}" is not a whole number, default or sdk-default`);
  }
  return n;
}

/** The workflow bundle a worker runs: the package as built, or a copy whose runs each load the schemas. */
type BundleKind = 'shared' | 'per-run';

function bundleKind(v: string): BundleKind {
  const s = v.trim();
  if (s === 'shared' || s === 'per-run') return s;
  throw new Error(`BENCH_CACHE_BUNDLES: "${v}" is not shared or per-run`);
}

/**
 * A copy of the built package (dist, bin, package.json) under bench/results, with a workflow bundle whose
 * runs each load their own schemas: what the comparison's "per-run" side runs. Node finds the project's
 * node_modules from there.
 */
async function perRunPackage(): Promise<string> {
  const root = join(ROOT, 'bench', 'results', 'per-run-package');
  rmSync(root, { recursive: true, force: true });
  for (const part of ['dist', 'bin', 'package.json']) cpSync(join(ROOT, part), join(root, part), { recursive: true });
  await buildWorkflowBundle(join(root, 'dist'), { sharedSchemas: false });
  return root;
}

function positive(name: string, fallback: number): number {
  const v = process.env[name];
  if (!v) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: "${v}" is not a positive whole number`);
  return n;
}

/**
 * The SDK's default maxCachedWorkflows with reuseV8Context (its default), as @temporalio/worker 1.24 computes
 * it in addDefaultWorkerOptions: max(floor(max(heap limit MiB - 200, 0) × 600 / 1024), 10). The worker is
 * started with the same node and NODE_OPTIONS as this process, so it has the same heap limit.
 */
function sdkDefaultCache(): number {
  const heapMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.max(Math.floor((Math.max(heapMiB - 200, 0) * 600) / 1024), 10);
}

/** The variable's value for a size: undefined leaves it unset, so hero-flow's default applies. */
const cacheEnv = (s: CacheSize): string | undefined =>
  s === 'default' ? undefined : String(s === 'sdk-default' ? sdkDefaultCache() : s);
const label = (s: CacheSize) =>
  s === 'sdk-default' ? `SDK default (${sdkDefaultCache()})` : s === 'default' ? "hero-flow's default" : String(s);

const t0 = Date.now();
/** In IDs: base 36, so no digit run can look like an NHS number (IDs holding one are refused). */
const RUN_ID = t0.toString(36);
const say = (line: string) => process.stdout.write(`[bench:cache ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

interface Spec extends SandboxPatient {
  index: number;
}

function buildSpecs(n: number): Spec[] {
  return syntheticPatients(n, { seed: 7_000_000, patientIdBase: 500_000 }).map((p) => ({
    ...p,
    needsVerification: false,
  }));
}

/** RSS now (VmRSS) of a live process, in MiB. */
function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

interface StartPhase {
  cache: string;
  /** HERO_MAX_CACHED_WORKFLOWS as set, or "unset". */
  setting: string;
  runs: number;
  awaitingBooking: number;
  wallSeconds: number;
  workerCpuSeconds: number;
  workerPeakRssMiB?: number;
  loadAverage: [number, number];
}

interface WakeRow {
  cache: string;
  bundle: BundleKind;
  setting: string;
  wakeUps: number;
  failed: number;
  notAwaiting: number;
  /** RSS of the fresh worker once polling, before the first wake-up. */
  idleRssMiB?: number;
  workerPeakRssMiB?: number;
  /** RSS right after the last wake-up: the cache full (up to its size), garbage not necessarily collected. */
  endRssMiB?: number;
  workerCpuSeconds: number;
  cpuMsPerWakeUp: number;
  wallSeconds: number;
  queryP50Ms: number;
  queryP95Ms: number;
  loadAverage: [number, number];
}

async function main(): Promise<number> {
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-bench-cache-'));
  const serverLog = createWriteStream(join(resultsDir, 'cache-temporal.log'));
  const workerLog = createWriteStream(join(resultsDir, 'cache-worker.log'));
  const keySpec = generateKeySpec();
  const converter = heroDataConverter(parseKeyRing(keySpec));
  const specs = buildSpecs(RUNS);
  const taskQueue = `bench-cache-${process.pid}`;
  const wid = (s: Spec) => `bench-cache-${RUN_ID}-${s.index}`;

  const cli = await resolveTemporalCli();
  const server = new TemporalDevServer(
    cli,
    await freePort(),
    await freePort(),
    join(tmp, 'cache.sqlite'),
    serverLog,
    devServerTuningArgs({ wal: true, onePartition: true }),
  );
  const sandbox = await startSandbox({
    patients: specs.map(({ index: _i, ...p }) => p),
    rateLimit: undefined,
    latencyMs: LATENCY_MS,
  });
  const workers: WorkerProcess[] = [];
  let connection: Connection | undefined;
  const perRunRoot = BUNDLES.includes('per-run') ? await perRunPackage() : undefined;
  const startWorker = async (cache: CacheSize, bundle: BundleKind = 'shared') => {
    const env = sandboxWorkerEnv({
      address: server.address,
      sandbox,
      keys: keySpec,
      taskQueue,
      // No Hero rate limit: the start phase is only the way to N open runs.
      extra: {
        HERO_RATE_LIMIT_PER_SECOND: undefined,
        HERO_MAX_CACHED_WORKFLOWS: cacheEnv(cache),
        ...(WORKER_NODE_OPTIONS !== undefined && { NODE_OPTIONS: WORKER_NODE_OPTIONS }),
      },
    });
    const w = new WorkerProcess(env, workerLog, bundle === 'per-run' ? perRunRoot : undefined);
    workers.push(w);
    await w.start();
    return w;
  };

  try {
    await server.start();
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: converter });
    const hf = new HeroFlowClient(client, taskQueue);
    say(
      `Temporal dev server (temporal ${TEMPORAL_CLI_VERSION}, SQLite WAL) on ${server.address}; sandbox on ` +
        `${sandbox.url} (no rate limit, ${LATENCY_MS} ms); ${RUNS} runs; SDK default cache here ${sdkDefaultCache()}`,
    );

    // 1. N runs started until each waits for its booking.
    const starter = await startWorker(START_SIZE);
    const startLoad = loadavg()[0]!;
    const startCpu0 = cpuSeconds(starter.pid) ?? 0;
    const startedAt = Date.now();
    let startFailures = 0;
    const awaitingQuery = `TaskQueue = "${taskQueue}" AND ${HERO_FLOW_STATE.name} = "awaiting_booking"`;
    let lastSeq = 0;
    // 0.6 s a run: about 5 starts/s on 2 quiet cores, slower when the machine is shared.
    const deadline = startedAt + Math.max(10 * 60_000, RUNS * 600);
    let awaiting = 0;
    let deliveryReads = 0;
    let lastSay = 0;
    let started = 0;
    while (Date.now() < deadline) {
      awaiting = (await client.workflow.count(awaitingQuery)).count;
      // Counted as they come: the sandbox keeps only its last 10,000 requests.
      for (const r of sandbox.requests({ endpoint: 'get_message' })) {
        if (r.seq <= lastSeq) continue;
        lastSeq = r.seq;
        if (r.status === 200) deliveryReads++;
      }
      if (awaiting >= RUNS && deliveryReads >= RUNS) break;
      // Paced: at most START_IN_FLIGHT runs on their way to the booking wait at once, as a rate limit or a
      // campaign's spread has it; all N at once would measure replays of a working set larger than the cache.
      const room = Math.min(RUNS - started, START_IN_FLIGHT - (started - Math.min(awaiting, deliveryReads)));
      if (room > 0) {
        const chunk = specs.slice(started, started + room);
        const results = await hf.startMany(
          chunk.map((s) => ({ request: outreachRequest(s, { awaitBooking: AWAIT_BOOKING }), workflowId: wid(s) })),
          { concurrency: 50 },
        );
        for (const r of results) if (!('started' in r)) startFailures++;
        if (startFailures) throw new Error(`start: ${startFailures} runs did not start`);
        started += chunk.length;
        continue;
      }
      if (Date.now() - lastSay > 15_000) {
        lastSay = Date.now();
        say(
          `start: ${awaiting}/${RUNS} awaiting the booking, ${deliveryReads} delivery statuses read; ` +
            `worker RSS ${rssMiB(starter.pid)} MiB`,
        );
      }
      await sleep(500);
    }
    const start: StartPhase = {
      cache: label(START_SIZE),
      setting: cacheEnv(START_SIZE) ?? 'unset',
      runs: RUNS,
      awaitingBooking: awaiting,
      wallSeconds: (Date.now() - startedAt) / 1000,
      workerCpuSeconds: (cpuSeconds(starter.pid) ?? 0) - startCpu0,
      workerPeakRssMiB: peakRssMiB(starter.pid),
      loadAverage: [startLoad, loadavg()[0]!],
    };
    say(
      `start: ${awaiting}/${RUNS} awaiting the booking in ${start.wallSeconds.toFixed(1)} s; worker peak RSS ` +
        `${start.workerPeakRssMiB} MiB, ${start.workerCpuSeconds.toFixed(1)} CPU-s (cache ${start.cache})`,
    );
    await starter.stop();
    if (awaiting < RUNS) throw new Error(`start: only ${awaiting} of ${RUNS} runs reached awaiting_booking in time`);

    // 2. Each cache size: a fresh worker wakes every run once.
    const rows: WakeRow[] = [];
    for (const cache of SIZES)
      for (const bundle of BUNDLES) {
        const w = await startWorker(cache, bundle);
        // Settled after its start (the bundle loaded, pollers up) before the idle figure.
        await sleep(3000);
        const idleRssMiB = rssMiB(w.pid);
        const load0 = loadavg()[0]!;
        const cpu0 = cpuSeconds(w.pid) ?? 0;
        const began = Date.now();
        const gate = concurrencyLimit(WAKE_CONCURRENCY);
        const latencies: number[] = [];
        let failed = 0;
        let notAwaiting = 0;
        let firstError: string | undefined;
        let done = 0;
        const progress = setInterval(
          () =>
            say(`cache ${label(cache)}, ${bundle} schemas: ${done}/${WAKES} woken, worker RSS ${rssMiB(w.pid)} MiB`),
          15_000,
        );
        try {
          await Promise.all(
            specs.slice(0, WAKES).map((s) =>
              gate(async () => {
                const q0 = Date.now();
                try {
                  const status = await hf.status(wid(s));
                  latencies.push(Date.now() - q0);
                  if (status.state !== 'awaiting_booking') notAwaiting++;
                } catch (err) {
                  failed++;
                  firstError ??= String(err);
                }
                done++;
              }),
            ),
          );
        } finally {
          clearInterval(progress);
        }
        const wallSeconds = (Date.now() - began) / 1000;
        const workerCpuSeconds = (cpuSeconds(w.pid) ?? 0) - cpu0;
        const endRssMiB = rssMiB(w.pid);
        const row: WakeRow = {
          cache: label(cache),
          bundle,
          setting: cacheEnv(cache) ?? 'unset',
          wakeUps: WAKES,
          failed,
          notAwaiting,
          idleRssMiB,
          workerPeakRssMiB: peakRssMiB(w.pid),
          endRssMiB,
          workerCpuSeconds,
          cpuMsPerWakeUp: (1000 * workerCpuSeconds) / WAKES,
          wallSeconds,
          queryP50Ms: quantile(latencies, 0.5),
          queryP95Ms: quantile(latencies, 0.95),
          loadAverage: [load0, loadavg()[0]!],
        };
        rows.push(row);
        say(
          `cache ${row.cache}, ${bundle} schemas: peak RSS ${row.workerPeakRssMiB} MiB (idle ${idleRssMiB}), ` +
            `${row.cpuMsPerWakeUp.toFixed(2)} CPU-ms per wake-up, ${wallSeconds.toFixed(1)} s` +
            (failed ? `; ${failed} queries failed, first: ${firstError}` : '') +
            (notAwaiting ? `; ${notAwaiting} runs not awaiting_booking` : ''),
        );
        await w.stop();
      }

    const report = {
      at: new Date(t0).toISOString(),
      machine: {
        nproc: cpus().length,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        cpu: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
      },
      settings: {
        runs: RUNS,
        wakeUps: WAKES,
        wakeConcurrency: WAKE_CONCURRENCY,
        startInFlight: START_IN_FLIGHT,
        workerNodeOptions: WORKER_NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '',
        bundles: BUNDLES,
        latencyMs: LATENCY_MS,
        awaitBooking: AWAIT_BOOKING,
        server: `temporal ${TEMPORAL_CLI_VERSION} server start-dev, SQLite WAL, 1 task-queue partition`,
        sdkDefaultCache: sdkDefaultCache(),
      },
      start,
      wake: rows,
    };
    writeFileSync(join(resultsDir, 'cache.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\n${formatTable(start, rows)}\nWritten: bench/results/cache.json\n`);
    return rows.every((r) => r.failed === 0 && r.notAwaiting === 0) ? 0 : 1;
  } finally {
    await connection?.close().catch(() => undefined);
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
    await sandbox.close();
    serverLog.end();
    workerLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function formatTable(start: StartPhase, rows: WakeRow[]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  const head = [
    'cache (HERO_MAX_CACHED_WORKFLOWS)',
    'schemas',
    'worker peak RSS (MiB)',
    'RSS idle / after (MiB)',
    'worker CPU-ms per wake-up',
    'wall (s)',
    'query p50 / p95 (ms)',
    'load (1 min) start / end',
  ];
  return [
    `${start.runs} open runs (awaiting the booking, reminders due in 3 and 7 days); ${rows[0]?.wakeUps ?? 0} of them ` +
      'woken once each by their status query on a fresh worker per cache size (so each wake-up replays the run):',
    '',
    line(head),
    line(head.map(() => '---')),
    ...rows.map((r) =>
      line([
        r.cache,
        r.bundle === 'shared' ? 'shared (as built)' : 'per run (before)',
        String(r.workerPeakRssMiB ?? '–'),
        `${r.idleRssMiB ?? '–'} / ${r.endRssMiB ?? '–'}`,
        r.cpuMsPerWakeUp.toFixed(2),
        r.wallSeconds.toFixed(1),
        `${r.queryP50Ms} / ${r.queryP95Ms}`,
        `${r.loadAverage[0].toFixed(1)} / ${r.loadAverage[1].toFixed(1)}`,
      ]),
    ),
    '',
    `Starting the ${start.runs} runs (cache ${start.cache}): worker peak RSS ${start.workerPeakRssMiB ?? '–'} MiB, ` +
      `${start.workerCpuSeconds.toFixed(1)} worker CPU-s, ${start.wallSeconds.toFixed(1)} s to all awaiting the booking ` +
      `(load ${start.loadAverage[0].toFixed(1)} / ${start.loadAverage[1].toFixed(1)}).`,
  ].join('\n');
}

runScript('bench:cache', main);
