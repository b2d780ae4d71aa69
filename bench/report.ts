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
}

export interface ScalingRow {
  runs: number;
  workers: number;
  completed: number;
  wallSeconds: number;
  runsPerSecond: number;
  startsPerSecond?: number;
  p50Seconds: number;
  p95Seconds: number;
  workerCpuSeconds: number;
  serverCpuSeconds: number;
  benchCpuSeconds: number;
  workerPeakRssMiB: number;
}

export interface BenchReport {
  at: string;
  machine: { nproc: number; memoryGiB: number; cpu: string; node: string; platform: string };
  settings: {
    runs: number;
    ratePerSecond: number;
    latencyMs: number;
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
  goals: { goal: string; met: boolean; value: string }[];
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

function scalingRows(r: BenchReport): string[][] {
  return [
    [
      'runs',
      'workers',
      'completed',
      'wall (s)',
      'runs/s',
      'starts/s',
      'p50 / p95 (s)',
      'CPU s: workers / server / bench',
      'worker RSS (MiB)',
    ],
    ...r.scaling.map((s) => [
      String(s.runs),
      String(s.workers),
      String(s.completed),
      f1(s.wallSeconds),
      f1(s.runsPerSecond),
      f1(s.startsPerSecond),
      `${f1(s.p50Seconds)} / ${f1(s.p95Seconds)}`,
      `${f1(s.workerCpuSeconds)} / ${f1(s.serverCpuSeconds)} / ${f1(s.benchCpuSeconds)}`,
      String(s.workerPeakRssMiB),
    ]),
  ];
}

function plain(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

function md(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
}

const settingsLine = (r: BenchReport) =>
  `N = ${r.settings.runs} runs (${r.settings.verificationShare * 100}% need verification, verified ${r.settings.verifyAfterMs / 1000} s ` +
  `after the login URL), Hero limit R = ${r.settings.ratePerSecond}/s (token bucket, capacity R), ` +
  `latency ${r.settings.latencyMs} ms per call; ideal = ${r.settings.neededCalls} calls ÷ R = ${f1(r.settings.idealSeconds)} s; ` +
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
  if (r.scaling.length) lines.push('Scaling (Hero not the bottleneck):', plain(scalingRows(r)), '');
  for (const g of r.goals) lines.push(`${g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}`);
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
    `hero-flow saw ${h.rateLimited} 429s: the server-side task-queue limit (maxTaskQueueActivitiesPerSecond) dispatches ` +
      'activities at R/s, so the token bucket is never drained; a 429 would still be retried after Retry-After.',
    `The naive helper's ${r.naive.rateLimited} 429s: all ${r.settings.runs} patients call at once, the bucket serves ` +
      `${r.settings.ratePerSecond}/s, Retry-After is 1 s, so 3 retries are spent in about 3 s and ${r.naive.lost} ` +
      "patients are lost (the guide's helper throws); nothing retries them later.",
  ];
  if (h.peakRssMiB !== undefined && h.peakRssMiB > 1024) {
    out.push(
      `The worker's peak RSS (${h.peakRssMiB} MiB) is the SDK's default workflow cache holding every open run; ` +
        'HERO_MAX_CACHED_WORKFLOWS bounds it at the price of replaying evicted runs (the bench passes its own env to the worker).',
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
    md([['goal', 'measured', 'met'], ...r.goals.map((g) => [g.goal, g.value, g.met ? 'yes' : 'no'])]),
    '',
    '![Hero calls per second](docs/bench-calls-per-second.svg)',
    '',
    '## What limits the rest',
    '',
    ...notes(r).map((n) => `- ${n}`),
    '',
  ];
  if (r.scaling.length) {
    parts.push(
      '## Scaling (Hero not the bottleneck)',
      '',
      'Hero limit raised to 100,000/s, same latency, no verification; CPU seconds of the worker process(es), the ' +
        'Temporal dev server (with its SQLite) and the bench process (the client) during each row.',
      '',
      md(scalingRows(r)),
      '',
      ...r.scaling.map((row) => {
        const total = row.workerCpuSeconds + row.serverCpuSeconds + row.benchCpuSeconds;
        const share = (x: number) => `${Math.round((100 * x) / Math.max(total, 1e-9))}%`;
        return (
          `- ${row.runs} runs, ${row.workers} worker(s): ${f1(total)} CPU-s of ${f1(row.wallSeconds * r.machine.nproc)} ` +
          `available (${r.machine.nproc} CPUs × wall); Temporal server + SQLite ${share(row.serverCpuSeconds)}, ` +
          `worker(s) ${share(row.workerCpuSeconds)}, client ${share(row.benchCpuSeconds)}.`
        );
      }),
      '',
      'A second worker process does not raise throughput when the Temporal dev server is the busiest process: it is ' +
        'one process persisting every history event to one SQLite file, and the worker mostly waits on it (every step ' +
        'of a run is a workflow task and every Hero call an activity task, each a round trip through the server). More throughput needs a production Temporal (or Cloud) rather ' +
        'than more workers on this machine.',
      '',
    );
  }
  const options = (await resolveConfig(__filename)) ?? {};
  return format(parts.join('\n'), { ...options, parser: 'markdown' });
}
