/**
 * `npm run test:production`: hero-flow on the kind of Temporal a deployment runs. Provisions (cached in
 * .temporal/) and starts Temporal server 1.29.1 on a PostgreSQL cluster made for the run (persistence
 * and SQL advanced visibility), with frontend mTLS, one task-queue partition from a dynamic config file,
 * and the namespace and search attributes created with the `temporal operator` commands of docs/deploy.md
 * (stack.ts). Then, against that server:
 *
 *   1. e2e          the suites of this folder: provisioning (provision.test.ts) and end to end
 *                   (e2e.test.ts), a worker and the CLI over mTLS
 *   2. reliability  `npm run test:reliability` (RELIABILITY_RUNS, default 200): worker kills, one restart
 *                   of this server (through the control endpoint, control.ts), Hero faults
 *   3. bench        `npm run bench` at N = 1,000, R = 20, its worker caching 1,000 runs: the production
 *                   column of BENCHMARKS.md's "Topologies"
 *
 * The suites find the server in HERO_TEST_TEMPORAL_* (external.ts) and Temporal's standard TLS
 * variables. Everything is torn down at the end: on success, on failure, on Ctrl-C or SIGTERM.
 *
 *   PRODUCTION_PHASES          comma list of the phases to run (default: e2e,reliability,bench)
 *   PRODUCTION_HISTORY_SHARDS  persistence.numHistoryShards (default 512)
 *   RELIABILITY_RUNS, BENCH_RUNS, BENCH_RATE  passed on (defaults 200, 1000, 20)
 *
 * Prints each phase's result and a summary (wall time, server and PostgreSQL CPU per phase), writes
 * test-artifacts/production.json and the server's and PostgreSQL's logs next to it; exits 1 if a phase fails.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { KEEP_TAIL, peakRssMiB, Proc, ROOT } from '../../tools/processes';
import type { ReliabilityReport } from '../reliability/report';
import { ServerControl } from './control';
import { externalTemporalServer } from './external';
import { NAMESPACE, ProductionStack, secondsSince } from './stack';

const PHASES = ['e2e', 'reliability', 'bench'] as const;
type Phase = (typeof PHASES)[number];
const selected = (process.env.PRODUCTION_PHASES || PHASES.join(','))
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);
for (const p of selected) {
  if (!(PHASES as readonly string[]).includes(p))
    throw new Error(`PRODUCTION_PHASES: "${p}" is not one of ${PHASES.join(', ')}`);
}
const HISTORY_SHARDS = Number(process.env.PRODUCTION_HISTORY_SHARDS || 512);
const RELIABILITY_RUNS = Number(process.env.RELIABILITY_RUNS || 200);
const BENCH_RUNS = Number(process.env.BENCH_RUNS || 1000);
const BENCH_RATE = Number(process.env.BENCH_RATE || 20);
/**
 * The bench's worker caches every run in flight, as the dev server's column of "Topologies" was measured:
 * the column compares servers, not replays. At hero-flow's default (25) the 1,000 runs in flight cost the
 * worker 272.9 CPU-ms a run against 121.3 (CI, 2026-12-07 21:15), and the phase 390 s against 297 s
 * (the cache's trade-off is `npm run bench:cache`'s subject). HERO_MAX_CACHED_WORKFLOWS overrides it.
 */
const BENCH_WORKER_CACHE = '1000';

const t0 = Date.now();
const say = (line: string) => process.stdout.write(`[production ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

interface PhaseResult {
  phase: Phase;
  ok: boolean;
  wallSeconds: number;
  /** CPU seconds during the phase: the Temporal server (across restarts) and PostgreSQL. */
  serverCpuSeconds: number;
  postgresCpuSeconds: number;
  /** The server process's peak resident set (VmHWM) since it last started, at the phase's end. */
  serverPeakRssMiB?: number;
  /** PostgreSQL's memory (PSS of all its processes) at the phase's end. */
  postgresPssMiB?: number;
  detail: string;
  figures?: Record<string, unknown>;
}

let stack: ProductionStack | undefined;
let control: ServerControl | undefined;
let current: Proc | undefined;
let stopping = false;

/** Runs one phase's command as a child process, its output shown as it comes. */
async function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  name: string,
  command = process.execPath,
): Promise<number | null> {
  const proc = Proc.start(command, args, env, {
    name,
    echo: { stdout: process.stdout, stderr: process.stderr },
    keep: KEEP_TAIL,
  });
  current = proc;
  const code = await proc.closed;
  current = undefined;
  if (proc.spawnError) throw proc.spawnError;
  return code;
}

async function phase(
  name: Phase,
  body: () => Promise<{ ok: boolean; detail: string; figures?: Record<string, unknown> }>,
): Promise<PhaseResult> {
  const started = Date.now();
  const cpu0 = stack!.cpuSeconds();
  say(`── ${name} ──`);
  let result: { ok: boolean; detail: string; figures?: Record<string, unknown> };
  try {
    result = await body();
  } catch (err) {
    result = { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  const cpu1 = stack!.cpuSeconds();
  const out: PhaseResult = {
    phase: name,
    ...result,
    wallSeconds: (Date.now() - started) / 1000,
    serverCpuSeconds: cpu1.server - cpu0.server,
    postgresCpuSeconds: cpu1.postgres - cpu0.postgres,
    serverPeakRssMiB: peakRssMiB(stack!.serverPid),
    postgresPssMiB: stack!.postgresPssMiB(),
  };
  say(`${name}: ${out.ok ? 'passed' : 'FAILED'} in ${secondsSince(started)}: ${out.detail}`);
  return out;
}

/** Workflow executions whose ID starts with `prefix` (all, for '') that visibility holds on the production server. */
async function countRuns(prefix: string): Promise<number> {
  const connection = await Connection.connect(externalTemporalServer(suiteEnv())!.connectOptions);
  try {
    const client = new Client({ connection, namespace: NAMESPACE });
    const { count } = await client.workflow.count(prefix ? `WorkflowId STARTS_WITH "${prefix}"` : undefined);
    return count;
  } finally {
    await connection.close();
  }
}

/** What the suites get: the server (external.ts), Temporal's TLS variables, the stranger's certificate. */
function suiteEnv(): NodeJS.ProcessEnv {
  const s = stack!;
  // Nothing of the caller's Temporal setup may pick another server or identity.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_') && !k.startsWith('HERO_TEST_TEMPORAL_')),
  );
  return {
    ...base,
    ...s.clientEnv(),
    HERO_TEST_TEMPORAL_ADDRESS: s.address,
    HERO_TEST_TEMPORAL_CONTROL: control!.url,
    HERO_TEST_TEMPORAL_TOPOLOGY: `Temporal ${s.install.version} on PostgreSQL ${s.postgres.major}, mTLS (${HISTORY_SHARDS} history shards)`,
    HERO_TEST_STRANGER_CERT_PATH: s.pki.strangerClient.certPath,
    HERO_TEST_STRANGER_KEY_PATH: s.pki.strangerClient.keyPath,
    HERO_PRODUCTION_TMP: s.suitesDir,
  };
}

async function e2e() {
  const log = join(ROOT, 'test-artifacts', 'production-test-output.log');
  const code = await runChild(
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=./test/support/reporter.mjs',
      '--test-reporter-destination=stdout',
      'test/production/provision.test.ts',
      'test/production/e2e.test.ts',
    ],
    { ...suiteEnv(), HERO_TEST_LOG: log },
    'the production end-to-end suite',
  );
  return { ok: code === 0, detail: `exit ${code}; log: test-artifacts/production-test-output.log` };
}

async function reliability() {
  const requestsBefore = control!.requests.length;
  const code = await runChild(
    ['--import', 'tsx', 'test/reliability/run.ts'],
    { ...suiteEnv(), RELIABILITY_RUNS: String(RELIABILITY_RUNS), RELIABILITY_ARTIFACTS: 'production-reliability' },
    'the reliability suite',
  );
  // It must have run here: its runs in this server's visibility, its restart through the control endpoint.
  if (!stack!.serverRunning) await stack!.startServer(); // the suite stops "its" server when it ends
  const runs = await countRuns('rel-');
  // A start of a stopped server; the suite's first start (of a server already serving) is no restart.
  const restarts = control!.requests.slice(requestsBefore).filter((r) => r.action === 'start' && r.changed).length;
  const reportFile = join(ROOT, 'test-artifacts', 'production-reliability.json');
  const report = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Record<string, unknown>)
    : {};
  const ranHere = runs >= RELIABILITY_RUNS && restarts >= 1;
  const why = code === 0 ? '' : `; ${reliabilityFailures(report as Partial<ReliabilityReport>)}`;
  const detail = ranHere
    ? `exit ${code}; ${runs} runs on this server, ${restarts} restart(s) of it; report: test-artifacts/production-reliability.json${why}`
    : `exit ${code}${why}, but the suite did not run against this server (${runs} of ${RELIABILITY_RUNS} runs in its ` +
      `visibility, ${restarts} restarts through its control endpoint): test/reliability/run.ts must take the server ` +
      'from HERO_TEST_TEMPORAL_ADDRESS (test/production/external.ts)';
  const pick = (k: string) => report[k];
  return {
    ok: code === 0 && ranHere,
    detail,
    figures: {
      runs: pick('runs'),
      outcomes: pick('outcomes'),
      workerKills: pick('workerKills'),
      serverRestarts: pick('serverRestarts'),
      lostRuns: (pick('lostRuns') as unknown[] | undefined)?.length,
      duplicates: (pick('duplicates') as unknown[] | undefined)?.length,
      reviews: (pick('reviews') as { list?: unknown[] } | undefined)?.list?.length,
      passed: pick('passed'),
      failed: pick('failed'),
      wallTimeSeconds: pick('wallTimeSeconds'),
    },
  };
}

/** What failed, from the suite's report: kept short, for the summary that ends the output (all CI keeps). */
function reliabilityFailures(report: Partial<ReliabilityReport>): string {
  const { lostRuns: lost = [], globalFailures: global = [], lastToClose: last = [] } = report;
  const parts = [
    `${report.failed ?? '?'} of ${report.runs ?? '?'} runs failed`,
    ...lost.slice(0, 5).map((l) => `lost ${l.workflowId}: expected ${l.expected}, got ${l.got}`),
    ...(lost.length > 5 ? [`${lost.length - 5} more lost`] : []),
    ...global.slice(0, 5),
    ...(last.length ? [`last to close: ${last.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

async function bench() {
  const code = await runChild(
    ['--import', 'tsx', 'bench/run.ts'],
    {
      ...suiteEnv(),
      BENCH_RUNS: String(BENCH_RUNS),
      BENCH_RATE: String(BENCH_RATE),
      HERO_MAX_CACHED_WORKFLOWS: process.env.HERO_MAX_CACHED_WORKFLOWS?.trim() || BENCH_WORKER_CACHE,
    },
    'the bench',
  );
  const file = join(ROOT, 'bench', 'results', 'topology-production.json');
  const figures = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
  return {
    ok: code === 0,
    detail: `exit ${code}; BENCHMARKS.md "Topologies" (production column), bench/results/topology-production.json`,
    figures,
  };
}

async function teardown(): Promise<void> {
  await control?.close().catch(() => undefined);
  await stack?.teardown();
}

async function main(): Promise<number> {
  const artifacts = join(ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    say('dist/ is missing (the CLI and the worker run from it): npm run build');
    const code = await runChild(['run', 'build'], process.env, 'npm run build', 'npm');
    if (code !== 0) throw new Error('npm run build failed: run it, mend what it says, and try again');
  }
  stack = await ProductionStack.start({ say, artifacts, historyShards: HISTORY_SHARDS });
  control = await ServerControl.start(stack);
  const setupSeconds = (Date.now() - t0) / 1000;
  say(
    `stack ready in ${setupSeconds.toFixed(1)} s (PostgreSQL ${stack.postgres.major}, ${HISTORY_SHARDS} history shards)`,
  );

  const results: PhaseResult[] = [];
  const bodies: Record<Phase, () => ReturnType<typeof e2e>> = { e2e, reliability, bench };
  for (const name of PHASES) {
    if (!selected.includes(name) || stopping) continue;
    if (!stack.serverRunning) await stack.startServer();
    results.push(await phase(name, bodies[name]));
  }

  // What the runs left in PostgreSQL (over the empty schema): bytes per workflow execution, for sizing.
  let storage: Record<string, number> | undefined;
  try {
    const now = await stack.databaseBytes();
    const bytes = {
      temporal: now.temporal - stack.emptyDatabaseBytes.temporal,
      visibility: now.visibility - stack.emptyDatabaseBytes.visibility,
    };
    if (!stack.serverRunning) await stack.startServer();
    const executions = await countRuns('');
    const each = Math.round((bytes.temporal + bytes.visibility) / Math.max(1, executions));
    storage = { ...bytes, executions, bytesPerExecution: each };
    say(
      `PostgreSQL grew by ${(bytes.temporal / 2 ** 20).toFixed(1)} MiB (temporal) + ${(bytes.visibility / 2 ** 20).toFixed(1)} MiB ` +
        `(visibility) for ${executions} workflow executions: ${(each / 1024).toFixed(1)} KiB each`,
    );
  } catch (err) {
    say(`could not read the database sizes: ${String(err)}`);
  }

  const summary = {
    at: new Date(t0).toISOString(),
    storage,
    topology: suiteEnv().HERO_TEST_TEMPORAL_TOPOLOGY,
    setupSeconds,
    serverStartSeconds: stack.serverStarts,
    wallSeconds: (Date.now() - t0) / 1000,
    phases: results,
  };
  writeFileSync(join(artifacts, 'production.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write('\n');
  for (const r of results) {
    process.stdout.write(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.phase.padEnd(11)} ${r.wallSeconds.toFixed(0).padStart(5)} s   ` +
        `CPU: server ${r.serverCpuSeconds.toFixed(1)} s, PostgreSQL ${r.postgresCpuSeconds.toFixed(1)} s; ` +
        `memory: server peak RSS ${r.serverPeakRssMiB ?? '–'} MiB, PostgreSQL ${r.postgresPssMiB ?? '–'} MiB\n`,
    );
    // Why, under the line: CI keeps only the end of the output.
    if (!r.ok) process.stdout.write(`      ${r.detail}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(
    `${results.length - failed} passed, ${failed} failed (test:production, ${summary.wallSeconds.toFixed(0)} s; ` +
      'test-artifacts/production.json)\n',
  );
  return failed === 0 && results.length > 0 ? 0 : 1;
}

// Whatever happens, nothing is left behind: the phase's process, the server, the cluster, the folders.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n[production] ${signal}: stopping the running phase, the server and the cluster\n`);
    const child = current;
    void (async () => {
      await child?.stop(signal, 15_000);
      await teardown();
      process.exit(130);
    })();
  });
}
process.on('exit', () => {
  current?.child.kill('SIGKILL');
  stack?.killNow();
});

main()
  .then(async (code) => {
    await teardown();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`[production] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await teardown().catch(() => undefined);
    process.exit(1);
  });
