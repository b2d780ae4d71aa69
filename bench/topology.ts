/**
 * The "Topologies" section of BENCHMARKS.md: the same hero-flow load (N runs at Hero's limit R) on the
 * dev server and on the production-shaped server of `npm run test:production`, side by side. Each
 * topology's figures come from its own run of the bench, so the section keeps them in BENCHMARKS.md
 * itself (a JSON comment), and a run of one topology leaves the other's column as it was.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { SideReport } from './report';

export type TopologyKey = 'dev' | 'production';

/** A topology's row: the hero-flow side's figures, as its SideReport (report.ts) has them, and these. */
export interface TopologyRow extends Pick<
  SideReport,
  | 'completed'
  | 'lost'
  | 'outcomes'
  | 'duplicateMessages'
  | 'rateLimited'
  | 'heroCalls'
  | 'wallSeconds'
  | 'idealRatio'
  | 'p50Seconds'
  | 'p95Seconds'
> {
  key: TopologyKey;
  /** What ran the server, e.g. "Temporal 1.29.1 on PostgreSQL 15, mTLS". */
  topology: string;
  at: string;
  runs: number;
  ratePerSecond: number;
  /** Runs that ended needs_review (an uncertain send an operator must check). */
  reviews: number;
  /** Temporal's start-to-complete overhead per run at low load (ms). */
  overheadMs: number;
  /** CPU seconds during the N runs: the Temporal server process(es), its database, the worker. */
  serverCpuSeconds: number;
  /** Undefined for the dev server: SQLite runs inside the server process and is counted there. */
  databaseCpuSeconds?: number;
  workerCpuSeconds: number;
  workerPeakRssMiB?: number;
  /** The worker's workflow cache as it ran, e.g. "1000 runs (HERO_MAX_CACHED_WORKFLOWS)". */
  workerCache?: string;
  /** The machine's 1-minute load average as the N runs started and as they ended: other work slows wall time. */
  loadAverage?: [number, number];
}

const BEGIN = '<!-- topologies:begin -->';
const END = '<!-- topologies:end -->';
const DATA = /<!-- topologies-data (.*?) -->/s;
const ORDER: TopologyKey[] = ['dev', 'production'];

export const benchmarksFile = (root: string) => join(root, 'BENCHMARKS.md');

/** The rows kept in BENCHMARKS.md's section (none if there is no section yet). */
export function readTopologies(markdown: string): Partial<Record<TopologyKey, TopologyRow>> {
  const data = DATA.exec(markdown)?.[1];
  if (!data) return {};
  try {
    return JSON.parse(data) as Partial<Record<TopologyKey, TopologyRow>>;
  } catch {
    return {};
  }
}

const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const perRun = (seconds: number | undefined, runs: number) =>
  seconds === undefined ? '–' : ((1000 * seconds) / Math.max(1, runs)).toFixed(1);

function md(rows: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
}

/** The section's markdown (with its data comment), between its markers. */
export function topologySection(rows: Partial<Record<TopologyKey, TopologyRow>>): string {
  const cols = ORDER.flatMap((k) => (rows[k] ? [rows[k]] : []));
  const row = (label: string, cell: (r: TopologyRow) => string) => [label, ...cols.map(cell)];
  const table = md([
    ['', ...cols.map((r) => r.topology)],
    row('run', (r) => r.at.slice(0, 16).replace('T', ' ')),
    row('completed', (r) => `${r.completed}/${r.runs}`),
    row('lost', (r) => String(r.lost)),
    row('duplicate messages', (r) => String(r.duplicateMessages)),
    row('reviews (needs_review)', (r) => String(r.reviews)),
    row('429 responses', (r) => `${r.rateLimited} of ${r.heroCalls} calls`),
    row('wall (s) / wall ÷ ideal (needed calls ÷ R)', (r) => `${f1(r.wallSeconds)} / ${r.idealRatio.toFixed(3)}`),
    row('wall ÷ (calls made ÷ R)', (r) => (r.wallSeconds / (r.heroCalls / r.ratePerSecond)).toFixed(3)),
    row('time to outcome p50 / p95 (s)', (r) => `${f1(r.p50Seconds)} / ${f1(r.p95Seconds)}`),
    row('Temporal overhead per run at low load (ms)', (r) => String(r.overheadMs)),
    row('server CPU-ms per run', (r) => perRun(r.serverCpuSeconds, r.runs)),
    row('database CPU-ms per run', (r) =>
      r.databaseCpuSeconds === undefined ? 'in the server (SQLite)' : perRun(r.databaseCpuSeconds, r.runs),
    ),
    row('worker CPU-ms per run', (r) => perRun(r.workerCpuSeconds, r.runs)),
    row('worker peak RSS (MiB)', (r) => String(r.workerPeakRssMiB ?? '–')),
    row('worker workflow cache', (r) => r.workerCache ?? '–'),
    row('machine load average (1 min), start / end', (r) =>
      r.loadAverage ? `${r.loadAverage[0].toFixed(1)} / ${r.loadAverage[1].toFixed(1)}` : '–',
    ),
  ]);
  const text = [
    BEGIN,
    '## Topologies',
    '',
    'The same load (N runs started at once, Hero limited to R calls/s, 10% verifying) on the dev server and on a ' +
      'production-shaped Temporal: the server built from source (`go install`), PostgreSQL persistence and SQL ' +
      'visibility, frontend mTLS, one task-queue partition from a dynamic config file (`npm run test:production`, ' +
      'test/production/). CPU is read from /proc before and after the N runs: the Temporal server process(es), ' +
      "PostgreSQL's postmaster with every backend, the worker process. Each column is its topology's last run; " +
      'wall time depends on what else the machine was doing (its load average is given), CPU per run much less. ' +
      "The ideal counts the calls a run needs to reach its outcome (3, a verified patient's re-trace 4); a run " +
      "also reads its message's delivery status (one more call when Hero's first answer is final), so " +
      '"wall ÷ (calls made ÷ R)" shows how closely the calls made kept to R.',
    '',
    cols.length ? table : '(no run yet)',
    '',
    `<!-- topologies-data ${JSON.stringify(rows)} -->`,
    END,
  ].join('\n');
  return text;
}

/** `markdown` with its topology section replaced by (or, if it has none, followed by) `section`. */
export function withSection(markdown: string, section: string): string {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (begin >= 0 && end > begin) return markdown.slice(0, begin) + section + markdown.slice(end + END.length);
  return `${markdown.trimEnd()}\n\n${section}\n`;
}

async function prettierMarkdown(text: string): Promise<string> {
  const options = (await resolveConfig(__filename)) ?? {};
  return format(text, { ...options, parser: 'markdown' });
}

/**
 * Puts `row` into BENCHMARKS.md's section, leaving the rest of the file (and the other column) as it is.
 * `previous`: the file's text before the caller rewrote it, whose other column is kept.
 */
export async function writeTopology(root: string, row: TopologyRow | undefined, previous?: string): Promise<void> {
  const file = benchmarksFile(root);
  const markdown = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const rows = { ...readTopologies(previous ?? markdown), ...(row && { [row.key]: row }) };
  writeFileSync(file, await prettierMarkdown(withSection(markdown, topologySection(rows))));
}
