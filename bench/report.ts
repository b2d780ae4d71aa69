import { format, resolveConfig } from 'prettier';

export interface SideReport {
  /** ms since epoch. */
  startedAt: number;
  completed: number;
  /** Threw, failed, or never finished. */
  lost: number;
  outcomes: Record<string, number>;
  /** 429 answers among the Hero calls (sandbox log). */
  rateLimited: number;
  /** Hero /v1 calls in the sandbox's request log. */
  heroCalls: number;
  wallSeconds: number;
  /** Wall time ÷ (calls the whole job needs ÷ R). */
  idealRatio: number;
  p50Seconds: number;
  p95Seconds: number;
  startsPerSecond?: number;
  peakRssMiB?: number;
  duplicateMessages: number;
  /** The first error a run's result() rejected with, if any. */
  firstError?: string;
  /** CPU seconds of the worker process during the side. */
  workerCpuSeconds?: number;
  /** CPU seconds of the Temporal server process(es) during the side (the dev server includes SQLite). */
  serverCpuSeconds?: number;
  /** CPU seconds of the server's database during the side, when it is a process of its own (PostgreSQL). */
  databaseCpuSeconds?: number;
  /** HERO_MAX_CACHED_WORKFLOWS of the worker, when capped. */
  cache?: number;
}

export interface ScalingRow {
  runs: number;
  workers: number;
  /** The dev server's persistence (bench/run.ts BENCH_SQLITE). */
  storage: string;
  completed: number;
  outcomes: Record<string, number>;
  wallSeconds: number;
  runsPerSecond: number;
  startsPerSecond?: number;
  p50Seconds: number;
  p95Seconds: number;
  workerCpuSeconds: number;
  serverCpuSeconds: number;
  benchCpuSeconds: number;
  workerPeakRssMiB: number;
  /** Second messages to a patient in the row (sandbox records). */
  duplicateMessages?: number;
}

export interface BenchReport {
  at: string;
  machine: { nproc: number; memoryGiB: number; cpu: string; node: string; platform: string };
  settings: {
    runs: number;
    ratePerSecond: number;
    latencyMs: number;
    storage: string;
    /** Read/write partitions per task queue on the dev server. */
    partitions: number;
    /** HeroFlowClient.startMany's concurrency: start requests in flight at once. */
    startConcurrency: number;
    verificationShare: number;
    verifyAfterMs: number;
    recheckEvery: string;
    naiveRetries: number;
    idealSeconds: number;
    neededCalls: number;
    /** The worker's concurrency settings (taken from this process's env, passed through). */
    worker?: Record<string, string>;
  };
  heroFlow: SideReport;
  naive: SideReport;
  overhead: { runs: number; medianRunMs: number; p95RunMs: number; heroLatencyMs: number; temporalOverheadMs: number };
  /**
   * `gate`: missing it fails `npm run bench` (lost runs, duplicate messages); the other figures are
   * reported against a target, never gated. Reports from before gates existed have no `gate`.
   */
  goals: { goal: string; met: boolean; value: string; gate?: boolean }[];
  /** The hero-flow side again, with the worker's workflow cache capped. */
  cappedCache: SideReport[];
  scaling: ScalingRow[];
  series: Record<string, number[]>;
}

const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
const outcomes = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

function mainRows(r: BenchReport): string[][] {
  const h = r.heroFlow;
  const n = r.naive;
  return [
    ['', 'hero-flow', 'naive (guide helper)'],
    ['completed', `${h.completed}/${r.settings.runs}`, `${n.completed}/${r.settings.runs}`],
    ['lost (threw / never finished)', String(h.lost), String(n.lost)],
    ['outcomes', outcomes(h.outcomes), outcomes(n.outcomes)],
    [
      '429 responses',
      `${h.rateLimited} (${pct(h.rateLimited, h.heroCalls)})`,
      `${n.rateLimited} (${pct(n.rateLimited, n.heroCalls)})`,
    ],
    ['Hero calls made', String(h.heroCalls), String(n.heroCalls)],
    ['wall time (s)', f1(h.wallSeconds), f1(n.wallSeconds)],
    [`wall ÷ ideal (${f1(r.settings.idealSeconds)} s)`, h.idealRatio.toFixed(3), n.idealRatio.toFixed(3)],
    [
      'time to outcome p50 / p95 (s)',
      `${f1(h.p50Seconds)} / ${f1(h.p95Seconds)}`,
      `${f1(n.p50Seconds)} / ${f1(n.p95Seconds)}`,
    ],
    ['peak RSS (MiB)', `${h.peakRssMiB ?? '–'} (worker)`, `${n.peakRssMiB ?? '–'} (bench process, upper bound)`],
    ['duplicate messages', String(h.duplicateMessages), String(n.duplicateMessages)],
    ['workflows started per second', f1(h.startsPerSecond), '–'],
  ];
}

function scalingRows(rows: ScalingRow[]): string[][] {
  return [
    [
      'runs',
      'workers',
      'storage',
      'completed',
      'wall (s)',
      'runs/s',
      'starts/s',
      'p50 / p95 (s)',
      'CPU s: workers / server / bench',
      'worker RSS (MiB)',
    ],
    ...rows.map((s) => [
      String(s.runs),
      String(s.workers),
      s.storage,
      s.completed === s.runs
        ? String(s.completed)
        : `${s.completed} (${outcomes(Object.fromEntries(Object.entries(s.outcomes ?? {}).filter(([k]) => k !== 'completed')))})`,
      f1(s.wallSeconds),
      f1(s.runsPerSecond),
      f1(s.startsPerSecond),
      `${f1(s.p50Seconds)} / ${f1(s.p95Seconds)}`,
      `${f1(s.workerCpuSeconds)} / ${f1(s.serverCpuSeconds)} / ${f1(s.benchCpuSeconds)}`,
      String(s.workerPeakRssMiB),
    ]),
  ];
}

function cacheRows(r: BenchReport): string[][] {
  return [
    ['workflow cache', 'completed', 'wall (s)', 'wall ÷ ideal', '429s', 'worker peak RSS (MiB)', 'worker CPU s'],
    ...[r.heroFlow, ...(r.cappedCache ?? [])].map((s) => [
      s.cache === undefined ? (r.settings.worker?.HERO_MAX_CACHED_WORKFLOWS ?? 'SDK default') : String(s.cache),
      `${s.completed}/${r.settings.runs}`,
      f1(s.wallSeconds),
      s.idealRatio.toFixed(3),
      String(s.rateLimited),
      String(s.peakRssMiB ?? '–'),
      f1(s.workerCpuSeconds),
    ]),
  ];
}

export function formatScaling(rows: ScalingRow[]): string {
  return plain(scalingRows(rows));
}

function plain(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

function md(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
}

/** The dev server's persistence modes of bench/run.ts (BENCH_SQLITE). */
export const STORAGE_TEXT: Record<string, string> = {
  file: 'SQLite file, default rollback journal (as `temporal server start-dev --db-filename`)',
  wal: 'SQLite file with journal_mode=WAL, synchronous=NORMAL',
  memory: 'in-memory SQLite (nothing on disk)',
};

const settingsLine = (r: BenchReport) =>
  `N = ${r.settings.runs} runs (${r.settings.verificationShare * 100}% need verification, verified ${r.settings.verifyAfterMs / 1000} s ` +
  `after the login URL), Hero limit R = ${r.settings.ratePerSecond}/s (token bucket, capacity R), ` +
  `latency ${r.settings.latencyMs} ms per call; ideal = ${r.settings.neededCalls} calls ÷ R = ${f1(r.settings.idealSeconds)} s; ` +
  `dev server storage: ${STORAGE_TEXT[r.settings.storage] ?? r.settings.storage}, ` +
  `${r.settings.partitions} task-queue partition${r.settings.partitions === 1 ? '' : 's'}; runs started with \`startMany\`, ` +
  `${r.settings.startConcurrency} start requests in flight; ` +
  `one worker with HERO_RATE_LIMIT_PER_SECOND = R` +
  Object.entries(r.settings.worker ?? {})
    .map(([k, v]) => `, ${k} = ${v}`)
    .join('') +
  '.';

export function formatTable(r: BenchReport): string {
  const lines = [settingsLine(r), '', plain(mainRows(r)), ''];
  lines.push(
    `Temporal overhead at low load: median run ${r.overhead.medianRunMs} ms over ${r.overhead.runs} sequential runs ` +
      `− 3 × ${r.settings.latencyMs} ms Hero latency = ${r.overhead.temporalOverheadMs} ms`,
    '',
  );
  if (r.cappedCache?.length) lines.push('Worker memory (the hero-flow side again):', plain(cacheRows(r)), '');
  if (r.scaling.length) lines.push('Scaling (Hero not the bottleneck):', plain(scalingRows(r.scaling)), '');
  for (const g of r.goals) {
    lines.push(`${g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}${g.gate === false ? ' (figure, not gated)' : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Observations computed from the figures, for BENCHMARKS.md. */
function notes(r: BenchReport): string[] {
  const h = r.heroFlow;
  const series = r.series.heroFlow ?? [];
  const firstBusy = series.findIndex((v) => v >= r.settings.ratePerSecond * 0.5);
  const out = [
    `hero-flow's wall time is ${f1(h.wallSeconds - r.settings.idealSeconds)} s over the ideal. Starting ${r.settings.runs} ` +
      `workflows takes ${f1(r.settings.runs / (h.startsPerSecond ?? Infinity))} s at ${f1(h.startsPerSecond)}/s, and the ` +
      `worker must run each run's first workflow task before its first activity is scheduled, so Hero sees ` +
      `half its limit only from second ${firstBusy} on; after that the calls run at the limit until the last runs' ` +
      `sequential steps (${r.overhead.temporalOverheadMs} ms of Temporal overhead per run at low load) and the ` +
      `verification wait (${r.settings.verifyAfterMs / 1000} s) drain.`,
    h.rateLimited === 0
      ? `hero-flow saw no 429s: the server-side task-queue limit (maxTaskQueueActivitiesPerSecond) dispatches ` +
        "activities at R/s, so Hero's token bucket is never drained; a 429 would still be retried after Retry-After."
      : `hero-flow saw ${h.rateLimited} 429s (${pct(h.rateLimited, h.heroCalls)}), each retried after Retry-After: ` +
        `the server's limiter let up to ${Math.max(...series)} calls through in one second (limit ` +
        `${r.settings.ratePerSecond}) while the backlog formed. Setting HERO_RATE_LIMIT_PER_SECOND a little under ` +
        "Hero's limit leaves headroom for such bursts.",
    `The naive helper's ${r.naive.rateLimited} 429s: all ${r.settings.runs} patients call at once, the bucket serves ` +
      `${r.settings.ratePerSecond}/s, Retry-After is 1 s, so 3 retries are spent in about 3 s and ${r.naive.lost} ` +
      "patients are lost (the guide's helper throws); nothing retries them later.",
  ];
  for (const c of r.cappedCache ?? []) {
    out.push(
      `With the workflow cache capped at ${c.cache}, the worker peaked at ${c.peakRssMiB ?? '–'} MiB against ` +
        `${h.peakRssMiB ?? '–'} MiB with the SDK default (large enough here to hold every open run), for ${f1(c.workerCpuSeconds)} ` +
        `worker CPU-s against ${f1(h.workerCpuSeconds)} (replaying evicted runs) and a wall time of ` +
        `${c.idealRatio.toFixed(3)}× the ideal against ${h.idealRatio.toFixed(3)}×.`,
    );
  }
  return out;
}

const workers = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
const key = (row: ScalingRow) => `${row.storage}/${row.workers}/${row.runs}`;
const gain = (a: number, b: number) => `${a >= b ? '+' : '−'}${Math.abs(Math.round((100 * (a - b)) / b))}%`;

/** Where the time goes, computed from the scaling rows: CPU shares, a second worker, the storage modes. */
export function scalingNotes(rows: ScalingRow[], nproc: number): string[] {
  const byKey = new Map(rows.map((row) => [key(row), row]));
  const out = rows.map((row) => {
    const total = row.workerCpuSeconds + row.serverCpuSeconds + row.benchCpuSeconds;
    const available = row.wallSeconds * nproc;
    const share = (x: number) => `${Math.round((100 * x) / Math.max(total, 1e-9))}%`;
    return (
      `${row.runs} runs, ${workers(row.workers)}, ${row.storage}: ${f1(total)} CPU-s used of ${f1(available)} ` +
      `(${Math.round((100 * total) / available)}% of ${nproc} CPUs × wall); Temporal server + SQLite ` +
      `${share(row.serverCpuSeconds)}, ${row.workers === 1 ? 'worker' : 'workers'} ${share(row.workerCpuSeconds)}, client ${share(row.benchCpuSeconds)}; ` +
      `${f1((1000 * row.serverCpuSeconds) / row.runs)} server CPU-ms and ` +
      `${f1((1000 * row.workerCpuSeconds) / row.runs)} worker CPU-ms per run.`
    );
  });
  for (const two of rows.filter((row) => row.workers === 2)) {
    const one = byKey.get(key({ ...two, workers: 1 }));
    if (!one) continue;
    out.push(
      `A second worker at ${two.runs} runs (${two.storage}): ${f1(two.runsPerSecond)} runs/s against ` +
        `${f1(one.runsPerSecond)} with one (${gain(two.runsPerSecond, one.runsPerSecond)}).`,
    );
  }
  const wal = rows.filter((row) => row.storage === 'wal');
  for (const base of wal) {
    for (const mode of ['file', 'memory']) {
      const other = byKey.get(key({ ...base, storage: mode }));
      if (!other) continue;
      out.push(
        `Storage at ${base.runs} runs, ${workers(base.workers)}: ${mode} ${f1(other.runsPerSecond)} runs/s and ` +
          `${f1(other.serverCpuSeconds)} server CPU-s against WAL's ${f1(base.runsPerSecond)} runs/s and ` +
          `${f1(base.serverCpuSeconds)} CPU-s (${mode} ${gain(other.runsPerSecond, base.runsPerSecond)} runs/s).`,
      );
    }
  }
  const busy = wal.map((row) => {
    const used = row.workerCpuSeconds + row.serverCpuSeconds + row.benchCpuSeconds;
    return Math.round((100 * used) / (row.wallSeconds * nproc));
  });
  if (busy.length && Math.min(...busy) >= 85) {
    out.push(
      `In every WAL row ${Math.min(...busy)}–${Math.max(...busy)}% of the ${nproc} CPUs were busy: on this machine ` +
        'the ceiling is CPU, shared by the Temporal server (with SQLite), the worker(s) and the client, so a second ' +
        'worker process on the same host can add only what was left idle. Past it, more throughput needs more cores or a server on ' +
        'its own machines (a production cluster with PostgreSQL or Cassandra), not more workers on the same host.',
    );
  }
  return out;
}

export async function formatMarkdown(r: BenchReport): Promise<string> {
  const m = r.machine;
  const parts = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); raw figures in `bench/results/latest.json` (not committed).',
    'hero-flow runs on a real Temporal dev server (SQLite) with one worker process and',
    "`HERO_RATE_LIMIT_PER_SECOND = R`; the naive side is the retry helper of Hero's guide (on 429 wait `Retry-After`, " +
      'at most 3 retries, then throw), all patients at once with `Promise.all`, against the same sandbox after a reset.',
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.memoryGiB} GiB memory, ${m.cpu}, Node ${m.node}, ${m.platform}; run ${r.at}.`,
    '',
    `Settings: ${settingsLine(r)}`,
    '',
    md(mainRows(r)),
    '',
    `Temporal's start-to-complete overhead at low load: median run ${r.overhead.medianRunMs} ms over ` +
      `${r.overhead.runs} sequential runs with no rate limit, minus 3 × ${r.settings.latencyMs} ms of Hero latency = ` +
      `**${r.overhead.temporalOverheadMs} ms** per run.`,
    '',
    '## Goals',
    '',
    'Only lost runs and duplicate messages fail `npm run bench`; the other targets are figures, reported, not ' +
      'gated: wall time measures the machine and its load as much as hero-flow.',
    '',
    md([
      ['goal', 'measured', 'met', 'fails the bench'],
      ...r.goals.map((g) => [
        g.goal,
        g.value,
        g.met ? 'yes' : 'no',
        g.gate === undefined ? '–' : g.gate ? 'yes' : 'no',
      ]),
    ]),
    '',
    '![Hero calls per second](docs/bench-calls-per-second.svg)',
    '',
    '## What limits the rest',
    '',
    ...notes(r).map((n) => `- ${n}`),
    '',
  ];
  if (r.cappedCache?.length) {
    parts.push(
      '## Worker memory',
      '',
      'The hero-flow side again, same load, on a fresh worker whose workflow cache (HERO_MAX_CACHED_WORKFLOWS) is ' +
        'capped: an evicted run is replayed from its history when its next task comes, which costs worker CPU and ' +
        'server reads instead of memory.',
      '',
      md(cacheRows(r)),
      '',
    );
  }
  if (r.scaling.length) {
    parts.push(
      '## Scaling (Hero not the bottleneck)',
      '',
      'Hero limit raised to 100,000/s, same latency, no verification, each setup on a fresh dev server; CPU ' +
        'seconds of the worker process(es), the Temporal dev server (with its SQLite) and the bench process (the ' +
        'client) during each row. Storage: ' +
        Object.entries(STORAGE_TEXT)
          .map(([k, v]) => `${k} = ${v}`)
          .join('; ') +
        '.',
      '',
      md(scalingRows(r.scaling)),
      '',
      ...scalingNotes(r.scaling, r.machine.nproc).map((n) => `- ${n}`),
      '',
    );
  }
  const options = (await resolveConfig(__filename)) ?? {};
  return format(parts.join('\n'), { ...options, parser: 'markdown' });
}
