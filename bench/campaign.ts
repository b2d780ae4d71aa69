/**
 * `npm run bench:campaign`: a practice list handed over as one campaign, against the same list through
 * today's `startMany`, side by side, at Hero's rate limit (issue 19's Goals).
 *
 * Starts a real Temporal dev server (SQLite, WAL, one task-queue partition, as `npm run bench`), the
 * sandbox with a token bucket of R requests/s and a fixed latency, and a hero-flow worker as a child
 * process with HERO_RATE_LIMIT_PER_SECOND=R. Then:
 *   1. campaign: N records as JSON Lines plus a template, handed over by the library's campaign hand-off
 *      (HeroFlowClient.campaigns().start). Sending hours are open all the time for the bench
 *      (00:00-24:00, mon-sun, Europe/London): the window code runs, but never holds a message back.
 *      `node bin/hero-flow.js campaign status ID --json` runs every few seconds meanwhile (timed, process
 *      start included).
 *   2. startMany: the same N requests through HeroFlowClient.startMany, on a fresh sandbox state (reset)
 *      and a fresh worker on its own task queue.
 *   3. hand-off only: BENCH_CAMPAIGN_HANDOFF_ONLY records (default 100,000) handed over on the same server
 *      and nothing processed: the campaign spreads its first messages over 366 days, so a record or two
 *      start during the measurement and the rest wait on their page's timer.
 * Every record waits for the booking (a 2-minute window, the link read at the reminder and at the close, a
 * reminder 60 s after the first message); 10% of the patients must verify their identity first (they do
 * 5 s after Hero handed out the login URL), 70% book through their message's link 20 s after it reached
 * the sandbox (no webhook: the run learns it from the link's use count), the rest get the reminder.
 *
 *   BENCH_CAMPAIGN_RECORDS       N (default 10000)
 *   BENCH_RATE                   R, Hero's limit in requests/s (default 20)
 *   BENCH_LATENCY_MS             sandbox latency per /v1 call (default 50)
 *   BENCH_CAMPAIGN_HANDOFF_ONLY  comma list of hand-off-only sizes (default 100000; 0 or "" for none)
 *   BENCH_CAMPAIGN_STATUS_EVERY_MS  how often `campaign status` runs during the campaign (default 5000)
 *
 * Prints the figures, writes bench/results/campaign.json and the "Campaigns" section of BENCHMARKS.md
 * (between its markers; the rest of the file is left as it is). Exits 1 only if a run is lost (not
 * completed as booked or not_booked) or a patient got a message twice, on either side: timings are
 * reported, never gated (they measure the machine and its load as much as hero-flow).
 */
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { format, resolveConfig } from 'prettier';
import { concurrencyLimit, DEFAULT_START_CONCURRENCY, HeroFlowClient } from '../src/client';
import { campaignKey } from '../src/client/campaign/client';
import { keyFingerprintsWithRing } from '../src/client/fingerprint';
import { patientKey } from '../src/client/campaign/list';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../src/codec';
import {
  CAMPAIGN_PAGE_WORKFLOW_TYPE,
  CAMPAIGN_WORKFLOW_TYPE,
  campaignPageWorkflowId,
  campaignRunWorkflowId,
  campaignWorkflowId,
} from '../src/shared/campaign-ids';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import type { SendWindowInput } from '../src/shared/send-window';
import { cpuSeconds, freePort, peakRssMiB, ROOT } from '../tools/processes';
import { devServerTuningArgs, resolveTemporalCli, TEMPORAL_CLI_VERSION } from '../tools/provision';
import { type RecordedRequest, type Sandbox, type SandboxPatient, startSandbox } from '../tools/sandbox';
import { Patients } from '../test/reliability/booking';
import { runScript, sandboxWorkerEnv, TemporalDevServer, WorkerProcess } from '../test/reliability/processes';
import { AWAIT_BOOKING, kindOfText, MESSAGE_TEXT } from '../test/reliability/scenario';
import { outreachRequest } from '../test/support/fixtures';
import { BENCH_RECORDED_REQUESTS, heroCallsOf, machine, positiveEnv, quantile, syntheticPatients } from './shared';
import { benchmarksFile } from './topology';

const RECORDS = positiveEnv('BENCH_CAMPAIGN_RECORDS', 10_000);
const RATE = positiveEnv('BENCH_RATE', 20);
const LATENCY_MS = positiveEnv('BENCH_LATENCY_MS', 50);
const STATUS_EVERY_MS = positiveEnv('BENCH_CAMPAIGN_STATUS_EVERY_MS', 5000);
const HANDOFF_ONLY = (process.env.BENCH_CAMPAIGN_HANDOFF_ONLY ?? '100000')
  .split(',')
  .map((v) => v.trim())
  .filter((v) => v && v !== '0')
  .map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      throw new Error(`BENCH_CAMPAIGN_HANDOFF_ONLY: "${v}" is not a positive integer`);
    return n;
  });
const VERIFY_SHARE = 0.1;
const BOOK_SHARE = 0.7;
const VERIFY_AFTER_MS = 5_000;
const BOOK_AFTER_MS = 20_000;
/** Open all the time: the bench measures throughput, not the wait for Monday 08:00. */
const SEND_WINDOW: SendWindowInput = { between: '00:00-24:00', days: 'mon-sun', timezone: 'Europe/London' };
/** Short waits: the booking window closes 2 minutes after the first message, a reminder goes at 60 s. */
const AWAIT = {
  window: '2 minutes',
  // The link is read before the reminder and at the close anyway: no re-check in between.
  recheckEvery: '2 minutes',
  reminders: [AWAIT_BOOKING.reminders[0]!],
};
const VERIFICATION = { recheckEvery: '10 seconds', timeout: '40 minutes' };
/** The request's shared part: the template of the campaign, merged by hand on the startMany side. */
const SHARED = (() => {
  const { nhsNumber: _n, dob: _d, ...rest } = outreachRequest({ nhsNumber: '0', dob: '2000-01-01' });
  return {
    ...rest,
    message: { type: 'sms' as const, text: MESSAGE_TEXT },
    awaitBooking: AWAIT,
    verification: VERIFICATION,
  };
})();
const OUTREACH_STATES_DONE = new Set(['booked', 'not_booked']);
const BEGIN = '<!-- campaigns:begin -->';
const END = '<!-- campaigns:end -->';

const t0 = Date.now();
/** In IDs: base 36, so no digit run can look like an NHS number (IDs holding one are refused). */
const RUN_ID = t0.toString(36);
const say = (line: string) =>
  process.stdout.write(`[bench:campaign ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

interface Spec extends SandboxPatient {
  index: number;
  recordId: string;
  books: boolean;
}

function buildSpecs(n: number, seed: number): Spec[] {
  return syntheticPatients(n, { seed, patientIdBase: 100_000 }).map(({ index, ...p }) => ({
    index,
    recordId: `rec-${index.toString(36)}`,
    ...p,
    needsVerification: index % Math.round(1 / VERIFY_SHARE) === 0,
    books: index % 10 < BOOK_SHARE * 10,
  }));
}

const sandboxPatient = ({ index: _i, recordId: _r, books: _b, ...p }: Spec): SandboxPatient => p;

/** The calls a record needs to reach its first message: trace, booking link, message; a re-trace if it verifies. */
const neededCalls = (specs: Spec[]) => specs.reduce((n, s) => n + (s.needsVerification ? 4 : 3), 0);

const digits = (s: unknown) => String(s ?? '').replace(/\D/g, '');

interface HistoryFigure {
  workflowId: string;
  kind: 'run' | 'page' | 'campaign';
  events: number;
  bytes: number;
}

interface SideResult {
  side: 'campaign' | 'startMany';
  records: number;
  /** Seconds until the list was durably held: the campaign's hand-off, or startMany's return. */
  handOffSeconds: number;
  /** The campaign hand-off's own figure (first line read to completeList answered). */
  handOffReportedSeconds?: number;
  completed: number;
  lost: number;
  outcomes: Record<string, number>;
  duplicateMessages: number;
  heroCalls: number;
  rateLimited: number;
  rateLimitedShare: number;
  /** From the first Hero call to the last patient's first message reaching the sandbox. */
  firstMessagesSeconds: number;
  neededCalls: number;
  idealSeconds: number;
  /** firstMessagesSeconds ÷ (calls needed for every first message ÷ R): the Goal's ratio. */
  idealRatio: number;
  /** Hero calls made up to the last first message (reads of delivery and links, reminders, 429s included). */
  callsUntilLastFirstMessage: number;
  /** firstMessagesSeconds ÷ (those calls ÷ R): how closely the calls made kept to R. */
  callsMadeRatio: number;
  /** From the first Hero call to the last run's close (booking windows included). */
  wallSeconds: number;
  /** The most Hero calls that reached the sandbox within any one second (bursts past R draw 429s). */
  peakCallsInOneSecond: number;
  /** Hero calls and 429 answers per second from the first call (the JSON only). */
  callsPerSecond: number[];
  rateLimitedPerSecond: number[];
  firstMessages: number;
  reminders: number;
  largestRunHistory?: HistoryFigure;
  largestPageHistory?: HistoryFigure;
  campaignHistory?: HistoryFigure & { runs: number; largestEventsSeen: number; largestBytesSeen: number };
  status?: {
    samples: number;
    failures: number;
    cliP50Ms: number;
    cliP95Ms: number;
    cliMaxMs: number;
    libraryP50Ms: number;
    libraryP95Ms: number;
  };
  workerCpuSeconds: number;
  workerPeakRssMiB?: number;
  loadAverage: [number, number];
  firstError?: string;
}

interface HandOffOnly {
  records: number;
  seconds: number;
  reportedSeconds: number;
  pages: number;
  largestPageHistory?: HistoryFigure;
  campaignHistory?: HistoryFigure;
}

interface CampaignBenchReport {
  at: string;
  machine: { nproc: number; memoryGiB: number; cpu: string; node: string; platform: string };
  settings: Record<string, unknown>;
  campaign: SideResult;
  startMany: SideResult;
  handOffOnly: HandOffOnly[];
}

async function main(): Promise<number> {
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-bench-campaign-'));
  const serverLog = createWriteStream(join(resultsDir, 'campaign-temporal.log'));
  const workerLog = createWriteStream(join(resultsDir, 'campaign-worker.log'));
  const keySpec = generateKeySpec();
  const ring = parseKeyRing(keySpec);
  const converter = heroDataConverter(ring);
  const specs = buildSpecs(RECORDS, 300_000);

  const cli = await resolveTemporalCli();
  const tuning = devServerTuningArgs({ wal: true, onePartition: true });
  const server = new TemporalDevServer(
    cli,
    await freePort(),
    await freePort(),
    join(tmp, 'bench.sqlite'),
    serverLog,
    tuning,
  );
  const sandbox = await startSandbox({
    patients: specs.map(sandboxPatient),
    rateLimit: { capacity: RATE, refillPerSecond: RATE, retryAfter: 'seconds' },
    latencyMs: LATENCY_MS,
    maxRecordedRequests: BENCH_RECORDED_REQUESTS,
  });
  const workers: WorkerProcess[] = [];
  const connections: Connection[] = [];
  const workerEnv = (taskQueue: string) =>
    sandboxWorkerEnv({
      address: server.address,
      sandbox,
      keys: keySpec,
      taskQueue,
      extra: { HERO_RATE_LIMIT_PER_SECOND: String(RATE) },
    });
  const startWorker = async (taskQueue: string) => {
    const w = new WorkerProcess(workerEnv(taskQueue), workerLog);
    workers.push(w);
    await w.start();
    return w;
  };
  const connect = async (taskQueue: string) => {
    const connection = await Connection.connect({ address: server.address });
    connections.push(connection);
    const client = new Client({ connection, dataConverter: converter });
    // As HeroFlowClient.connect does: campaigns key their patients with a key derived from the payload keys.
    keyFingerprintsWithRing(client, ring);
    return new HeroFlowClient(client, taskQueue);
  };

  try {
    await server.start();
    say(`Temporal dev server on ${server.address}; sandbox on ${sandbox.url} (R=${RATE}/s, ${LATENCY_MS} ms)`);

    // 1. The campaign.
    const campaignQueue = `bench-campaign-${process.pid}`;
    let worker = await startWorker(campaignQueue);
    let hf = await connect(campaignQueue);
    const campaignId = `bench-${RUN_ID}`;
    const key = campaignKey(hf.client, undefined);
    const campaignWid = (s: Spec) => campaignRunWorkflowId(campaignId, patientKey(key, campaignId, s.nhsNumber));
    const listFile = join(tmp, 'list.jsonl');
    writeFileSync(
      listFile,
      specs
        .map((s) => JSON.stringify({ recordId: s.recordId, request: { nhsNumber: s.nhsNumber, dob: s.dob } }))
        .join('\n') + '\n',
    );
    say(
      `campaign ${campaignId}: ${RECORDS} records (${specs.filter((s) => s.needsVerification).length} verify, ` +
        `${specs.filter((s) => s.books).length} book); sending hours ${SEND_WINDOW.between} ${SEND_WINDOW.days} ` +
        `${SEND_WINDOW.timezone} (open all the time)`,
    );
    const campaign = await runSide({
      side: 'campaign',
      hf,
      worker,
      sandbox,
      specs,
      wid: campaignWid,
      closedQuery: `HeroCampaignId = "${campaignId}" AND WorkflowType = "patientOutreachWorkflow"`,
      listQuery: `HeroCampaignId = "${campaignId}"`,
      campaignId,
      cliEnv: workerEnv(campaignQueue),
      handOver: async () => {
        const handOff = await hf.campaigns().start({
          campaignId,
          list: createReadStream(listFile),
          template: SHARED,
          sendWindow: SEND_WINDOW,
        });
        if (handOff.records !== RECORDS || handOff.invalid.length || handOff.duplicates.length) {
          throw new Error(
            `the hand-off took ${handOff.records} records (${handOff.invalid.length} invalid, ` +
              `${handOff.duplicates.length} duplicate) of ${RECORDS}`,
          );
        }
        return handOff.seconds;
      },
    });
    await worker.stop();

    // 2. The same records through startMany, on a fresh sandbox state and task queue.
    sandbox.reset();
    const batchQueue = `bench-startmany-${process.pid}`;
    worker = await startWorker(batchQueue);
    hf = await connect(batchQueue);
    const batchWid = (s: Spec) => `bench-${RUN_ID}-many-${s.recordId}`;
    say(`startMany: the same ${RECORDS} records`);
    const startMany = await runSide({
      side: 'startMany',
      hf,
      worker,
      sandbox,
      specs,
      wid: batchWid,
      closedQuery: `TaskQueue = "${batchQueue}" AND WorkflowType = "patientOutreachWorkflow"`,
      listQuery: `TaskQueue = "${batchQueue}"`,
      handOver: async () => {
        let failed = 0;
        let firstError: string | undefined;
        await hf.startMany(
          specs.map((s) => ({ request: { ...SHARED, nhsNumber: s.nhsNumber, dob: s.dob }, workflowId: batchWid(s) })),
          {
            concurrency: DEFAULT_START_CONCURRENCY,
            onResult: (r) => {
              if ('error' in r) {
                failed++;
                firstError ??= r.error.message;
              }
            },
          },
        );
        if (failed) say(`startMany: ${failed} starts failed; first: ${firstError}`);
        return undefined;
      },
    });

    // 3. Hand-off only: large lists, nothing processed.
    const handOffOnly: HandOffOnly[] = [];
    for (const n of HANDOFF_ONLY) handOffOnly.push(await handOffOnlyOf(hf, n, tmp));
    await worker.stop();

    const report: CampaignBenchReport = {
      at: new Date(t0).toISOString(),
      machine: machine(),
      settings: {
        records: RECORDS,
        ratePerSecond: RATE,
        latencyMs: LATENCY_MS,
        server: `temporal ${TEMPORAL_CLI_VERSION} server start-dev, SQLite WAL, one task-queue partition`,
        verificationShare: VERIFY_SHARE,
        verifyAfterMs: VERIFY_AFTER_MS,
        bookingShare: BOOK_SHARE,
        bookAfterMs: BOOK_AFTER_MS,
        awaitBooking: AWAIT,
        sendWindow: SEND_WINDOW,
        statusEveryMs: STATUS_EVERY_MS,
        startConcurrency: DEFAULT_START_CONCURRENCY,
        handOffOnly: HANDOFF_ONLY,
      },
      campaign,
      startMany,
      handOffOnly,
    };
    writeFileSync(join(resultsDir, 'campaign.json'), JSON.stringify(report, null, 2) + '\n');
    await writeSection(report);
    process.stdout.write(`\n${table(report)}\n`);
    process.stdout.write('Written: bench/results/campaign.json, BENCHMARKS.md ("Campaigns")\n');
    const bad = [campaign, startMany].filter((s) => s.lost > 0 || s.duplicateMessages > 0);
    for (const s of bad) say(`${s.side}: ${s.lost} lost, ${s.duplicateMessages} duplicate messages`);
    return bad.length ? 1 : 0;
  } finally {
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
    await sandbox.close();
    serverLog.end();
    workerLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * One side: hands the list over, verifies and books as the patients would, times `campaign status` (the
 * campaign side), waits for every run to close, then counts from the sandbox's log and visibility.
 */
async function runSide(o: {
  side: SideResult['side'];
  hf: HeroFlowClient;
  worker: WorkerProcess;
  sandbox: Sandbox;
  specs: Spec[];
  wid: (s: Spec) => string;
  /** Visibility: the side's runs. */
  closedQuery: string;
  /** Visibility: the side's runs, pages and campaign (for history sizes). */
  listQuery: string;
  campaignId?: string;
  cliEnv?: NodeJS.ProcessEnv;
  /** Hands the list over; returns the hand-off's own figure (seconds), if it has one. */
  handOver: () => Promise<number | undefined>;
}): Promise<SideResult> {
  const { hf, sandbox, specs, side } = o;
  const cpu0 = cpuSeconds(o.worker.pid) ?? 0;
  const load0 = loadavg()[0]!;
  let done = false;
  let firstError: string | undefined;
  // Generous: the calls at R, three times over, plus the booking windows.
  const deadline = Date.now() + 10 * 60_000 + (3 * 7 * specs.length * 1000) / RATE;

  // The patients: verify 5 s after Hero handed out the login URL, book 20 s after the first message.
  const byNhs = new Map(specs.filter((s) => s.needsVerification).map((s) => [s.nhsNumber, s]));
  const verifications: Promise<void>[] = [];
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
        (async () => {
          await sleep(Math.max(0, r.at + VERIFY_AFTER_MS - Date.now()));
          sandbox.markVerified(s.nhsNumber);
          // The partner's backend tells the run at once; the run's 10 s re-check would find it too.
          await hf.confirmVerification(o.wid(s)).catch(() => undefined);
        })(),
      );
    }
  }, 200);
  const patients = new Patients(
    sandbox,
    specs.map((s) => ({
      workflowId: o.wid(s),
      patientId: s.patientId,
      plan: { book: s.books, notify: false, bookAfterMs: BOOK_AFTER_MS, cancel: false, cancelAfterMs: 0 },
    })),
    say,
  );
  const booking = patients.run(() => done);

  // `campaign status`, as an operator runs it, every few seconds: the CLI process, timed.
  const cliTimes: number[] = [];
  const libraryTimes: number[] = [];
  let statusFailures = 0;
  const campaignHistorySeen = { events: 0, bytes: 0 };
  const statusLoop = (async () => {
    if (!o.campaignId) return;
    while (!done) {
      const began = Date.now();
      try {
        const out = await runCli(['campaign', 'status', o.campaignId, '--json'], o.cliEnv!);
        cliTimes.push(Date.now() - began);
        JSON.parse(out);
      } catch (err) {
        statusFailures++;
        firstError ??= `campaign status: ${String(err)}`;
      }
      const lib = Date.now();
      await hf
        .campaigns()
        .status(o.campaignId)
        .then(() => libraryTimes.push(Date.now() - lib))
        .catch(() => undefined);
      const d = await hf.client.workflow
        .getHandle(campaignWorkflowId(o.campaignId))
        .describe()
        .catch(() => undefined);
      if (d) {
        campaignHistorySeen.events = Math.max(campaignHistorySeen.events, d.historyLength);
        campaignHistorySeen.bytes = Math.max(campaignHistorySeen.bytes, d.historySize ?? 0);
      }
      await sleep(Math.max(0, began + STATUS_EVERY_MS - Date.now()));
    }
  })();

  let handOffSeconds = NaN;
  let handOffReportedSeconds: number | undefined;
  let closed = 0;
  try {
    const began = performance.now();
    handOffReportedSeconds = await o.handOver();
    handOffSeconds = (performance.now() - began) / 1000;
    say(`${side}: list held after ${handOffSeconds.toFixed(1)} s`);
    // Every run closes at the end of its booking window: wait for all (visibility, which may lag a second).
    let last = -1;
    let lastChange = Date.now();
    while (Date.now() < deadline) {
      closed = (await hf.client.workflow.count(`${o.closedQuery} AND ExecutionStatus != "Running"`)).count;
      if (closed >= specs.length) break;
      if (closed !== last) {
        last = closed;
        lastChange = Date.now();
        say(`${side}: ${closed}/${specs.length} runs closed, ${sandbox.messages().length} messages so far`);
      } else if (Date.now() - lastChange > 10 * 60_000) {
        say(`${side}: no run closed for 10 minutes; giving up the wait`);
        break;
      }
      await sleep(5000);
    }
  } finally {
    done = true;
    clearInterval(watcher);
    await booking;
    await statusLoop;
    await Promise.all(verifications);
  }

  // The runs, pages and campaign from visibility: outcomes and history sizes.
  const all: WorkflowExecutionInfo[] = [];
  for await (const wf of hf.client.workflow.list({ query: o.listQuery })) all.push(wf);
  const runs = new Map(all.filter((wf) => wf.type === 'patientOutreachWorkflow').map((wf) => [wf.workflowId, wf]));
  const outcomes: Record<string, number> = {};
  let completed = 0;
  for (const s of specs) {
    const wf = runs.get(o.wid(s));
    const state = wf?.typedSearchAttributes.get(HERO_FLOW_STATE);
    const key = !wf
      ? 'never_started'
      : wf.status.name === 'COMPLETED'
        ? (state ?? 'unknown')
        : wf.status.name.toLowerCase();
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (wf?.status.name === 'COMPLETED' && state && OUTREACH_STATES_DONE.has(state)) completed++;
  }
  const figure = (wf: WorkflowExecutionInfo, kind: HistoryFigure['kind']): HistoryFigure => ({
    workflowId: wf.workflowId,
    kind,
    events: wf.historyLength,
    bytes: wf.historySize ?? 0,
  });
  const largest = (type: string, kind: HistoryFigure['kind']) =>
    all
      .filter((wf) => wf.type === type)
      .map((wf) => figure(wf, kind))
      .sort((a, b) => b.bytes - a.bytes || b.events - a.events)[0];
  let campaignHistory: SideResult['campaignHistory'];
  if (o.campaignId) {
    const own = all.filter((wf) => wf.type === CAMPAIGN_WORKFLOW_TYPE);
    const d = await hf.client.workflow.getHandle(campaignWorkflowId(o.campaignId)).describe();
    campaignHistory = {
      workflowId: d.workflowId,
      kind: 'campaign',
      events: d.historyLength,
      bytes: d.historySize ?? 0,
      runs: own.length,
      largestEventsSeen: Math.max(campaignHistorySeen.events, ...own.map((wf) => wf.historyLength)),
      largestBytesSeen: Math.max(campaignHistorySeen.bytes, ...own.map((wf) => wf.historySize ?? 0)),
    };
  }

  // The sandbox's log: calls, 429s, first messages, duplicates.
  const calls = heroCallsOf(sandbox);
  const firstCallAt = Math.min(...calls.map((r) => r.at));
  const lastCallAt = Math.max(...calls.map((r) => r.at));
  const kinds = new Map<string, Map<string, number>>();
  const firstMessageAt = new Map<string, number>();
  let reminders = 0;
  for (const m of sandbox.messages()) {
    const kind = kindOfText(m.text) ?? 'other';
    const mine = kinds.get(m.patientId) ?? new Map<string, number>();
    kinds.set(m.patientId, mine.set(kind, (mine.get(kind) ?? 0) + 1));
    if (kind === 'message' && !firstMessageAt.has(m.patientId)) firstMessageAt.set(m.patientId, m.createdAt);
    if (kind !== 'message') reminders++;
  }
  let duplicateMessages = 0;
  for (const mine of kinds.values()) for (const n of mine.values()) duplicateMessages += Math.max(0, n - 1);
  const lastFirstMessageAt = Math.max(...firstMessageAt.values());
  const firstMessagesSeconds = (lastFirstMessageAt - firstCallAt) / 1000;
  const rateLimited = calls.filter((r: RecordedRequest) => r.status === 429).length;
  const callsUntil = calls.filter((r) => r.at <= lastFirstMessageAt).length;
  const times = calls.map((r) => r.at).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 1000) i++;
    peak = Math.max(peak, j - i + 1);
  }
  const perSecond = (pick: (r: RecordedRequest) => boolean) => {
    const out: number[] = [];
    for (const r of calls) {
      if (!pick(r)) continue;
      const second = Math.floor((r.at - firstCallAt) / 1000);
      while (out.length <= second) out.push(0);
      out[second]! += 1;
    }
    return out;
  };
  const needed = neededCalls(specs);
  const result: SideResult = {
    side,
    records: specs.length,
    handOffSeconds,
    ...(handOffReportedSeconds !== undefined && { handOffReportedSeconds }),
    completed,
    lost: specs.length - completed,
    outcomes,
    duplicateMessages,
    heroCalls: calls.length,
    rateLimited,
    rateLimitedShare: rateLimited / Math.max(1, calls.length),
    firstMessagesSeconds,
    neededCalls: needed,
    idealSeconds: needed / RATE,
    idealRatio: firstMessagesSeconds / (needed / RATE),
    callsUntilLastFirstMessage: callsUntil,
    callsMadeRatio: firstMessagesSeconds / (callsUntil / RATE),
    wallSeconds: (lastCallAt - firstCallAt) / 1000,
    peakCallsInOneSecond: peak,
    callsPerSecond: perSecond(() => true),
    rateLimitedPerSecond: perSecond((r) => r.status === 429),
    firstMessages: firstMessageAt.size,
    reminders,
    largestRunHistory: largest('patientOutreachWorkflow', 'run'),
    largestPageHistory: largest(CAMPAIGN_PAGE_WORKFLOW_TYPE, 'page'),
    ...(campaignHistory && { campaignHistory }),
    ...(o.campaignId && {
      status: {
        samples: cliTimes.length,
        failures: statusFailures,
        cliP50Ms: quantile(cliTimes, 0.5),
        cliP95Ms: quantile(cliTimes, 0.95),
        cliMaxMs: Math.max(...cliTimes),
        libraryP50Ms: quantile(libraryTimes, 0.5),
        libraryP95Ms: quantile(libraryTimes, 0.95),
      },
    }),
    workerCpuSeconds: (cpuSeconds(o.worker.pid) ?? 0) - cpu0,
    workerPeakRssMiB: peakRssMiB(o.worker.pid),
    loadAverage: [load0, loadavg()[0]!],
    ...(firstError && { firstError }),
  };
  say(
    `${side}: ${completed}/${specs.length} completed ${JSON.stringify(outcomes)}; ${duplicateMessages} duplicate ` +
      `messages; first messages in ${firstMessagesSeconds.toFixed(1)} s (${result.idealRatio.toFixed(3)}× the ideal ` +
      `${result.idealSeconds.toFixed(1)} s; ${result.callsMadeRatio.toFixed(3)}× the calls made ÷ R); ` +
      `${rateLimited} 429s of ${calls.length} calls`,
  );
  return result;
}

/** Hands over `n` records and processes none: the first messages spread over 366 days. */
async function handOffOnlyOf(hf: HeroFlowClient, n: number, tmp: string): Promise<HandOffOnly> {
  const campaignId = `bench-${RUN_ID}-h${n.toString(36)}`;
  const file = join(tmp, `handoff-${n}.jsonl`);
  const out = createWriteStream(file);
  for (const s of buildSpecs(n, 7_000_000)) {
    if (!out.write(JSON.stringify({ recordId: s.recordId, request: { nhsNumber: s.nhsNumber, dob: s.dob } }) + '\n')) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  say(`hand-off only: ${n} records (campaign ${campaignId}, spread over 366 days, no sending hours)`);
  const began = performance.now();
  const handOff = await hf.campaigns().start({
    campaignId,
    list: createReadStream(file),
    template: SHARED,
    sendWindow: null,
    spreadOver: '366d',
  });
  const seconds = (performance.now() - began) / 1000;
  say(`hand-off only: ${handOff.records} records in ${seconds.toFixed(1)} s (${handOff.pages} pages)`);
  // Visibility has a running workflow's history length as of its last visibility update: describe each.
  const describe = concurrencyLimit(8);
  const figures = await Promise.all(
    [
      campaignWorkflowId(campaignId),
      ...Array.from({ length: handOff.pages }, (_, p) => campaignPageWorkflowId(campaignId, p)),
    ].map((workflowId, i) =>
      describe(async (): Promise<HistoryFigure> => {
        const d = await hf.client.workflow.getHandle(workflowId).describe();
        return { workflowId, kind: i ? 'page' : 'campaign', events: d.historyLength, bytes: d.historySize ?? 0 };
      }),
    ),
  );
  const top = (kind: HistoryFigure['kind']) =>
    figures.filter((f) => f.kind === kind).sort((a, b) => b.bytes - a.bytes || b.events - a.events)[0];
  rmSync(file, { force: true });
  return {
    records: handOff.records,
    seconds,
    reportedSeconds: handOff.seconds,
    pages: handOff.pages,
    largestPageHistory: top('page'),
    campaignHistory: top('campaign'),
  };
}

/** `node bin/hero-flow.js ARGS` with `env`; resolves to its stdout, rejects on a non-zero exit. */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  // The CLI needs no Hero key: it is left out, as an operator's shell would.
  const { HERO_API_KEY: _k, ...rest } = env;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'hero-flow.js'), ...args],
      { env: rest, timeout: 60_000, maxBuffer: 4 * 2 ** 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr.slice(0, 500)}`)) : resolve(stdout)),
    );
  });
}

const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const f3 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(3));
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const hist = (h: HistoryFigure | undefined) => (h ? `${h.events} events, ${kib(h.bytes)}` : '–');

function rows(r: CampaignBenchReport): string[][] {
  const c = r.campaign;
  const m = r.startMany;
  const both = (label: string, cell: (s: SideResult) => string) => [label, cell(c), cell(m)];
  return [
    ['', `campaign (hand-off, ${r.settings.records} records)`, `startMany (${r.settings.records} records)`],
    both('list held by Temporal (s)', (s) =>
      s.side === 'campaign'
        ? `${f1(s.handOffSeconds)} (hand-off; its own figure ${f1(s.handOffReportedSeconds)})`
        : `${f1(s.handOffSeconds)} (startMany returned)`,
    ),
    both('completed (booked / not_booked)', (s) => `${s.completed}/${s.records}`),
    both('lost', (s) => String(s.lost)),
    both('duplicate messages', (s) => String(s.duplicateMessages)),
    both('outcomes', (s) =>
      Object.entries(s.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ),
    both('first messages / reminders', (s) => `${s.firstMessages} / ${s.reminders}`),
    both(
      '429 responses',
      (s) => `${s.rateLimited} of ${s.heroCalls} calls (${(100 * s.rateLimitedShare).toFixed(2)}%)`,
    ),
    both('most Hero calls within one second', (s) => String(s.peakCallsInOneSecond)),
    both('first Hero call → last first message (s)', (s) => f1(s.firstMessagesSeconds)),
    both('… ÷ (calls needed for first messages ÷ R)', (s) => `${f3(s.idealRatio)} (ideal ${f1(s.idealSeconds)} s)`),
    both('… ÷ (calls made until then ÷ R)', (s) => `${f3(s.callsMadeRatio)} (${s.callsUntilLastFirstMessage} calls)`),
    both('first Hero call → last Hero call (s)', (s) => f1(s.wallSeconds)),
    both('`campaign status` p50 / p95 / max (CLI process, ms)', (s) =>
      s.status
        ? `${s.status.cliP50Ms} / ${s.status.cliP95Ms} / ${s.status.cliMaxMs} (${s.status.samples} runs, ${s.status.failures} failed)`
        : '–',
    ),
    both('status in the library p50 / p95 (ms)', (s) =>
      s.status ? `${s.status.libraryP50Ms} / ${s.status.libraryP95Ms}` : '–',
    ),
    both('largest run history', (s) => hist(s.largestRunHistory)),
    both('largest page history', (s) => hist(s.largestPageHistory)),
    both('campaign workflow history at the end', (s) =>
      s.campaignHistory ? `${hist(s.campaignHistory)} (${s.campaignHistory.runs} run(s) of it)` : '–',
    ),
    both('campaign workflow history, largest seen', (s) =>
      s.campaignHistory
        ? `${s.campaignHistory.largestEventsSeen} events, ${kib(s.campaignHistory.largestBytesSeen)}`
        : '–',
    ),
    both('worker CPU (s) / peak RSS (MiB)', (s) => `${f1(s.workerCpuSeconds)} / ${s.workerPeakRssMiB ?? '–'}`),
    both('machine load average (1 min), start / end', (s) => `${f1(s.loadAverage[0])} / ${f1(s.loadAverage[1])}`),
  ];
}

function handOffRows(r: CampaignBenchReport): string[][] {
  return [
    ['records', 'hand-off (s)', 'pages', 'largest page history', 'campaign history'],
    ...r.handOffOnly.map((h) => [
      String(h.records),
      `${f1(h.seconds)} (its own figure ${f1(h.reportedSeconds)})`,
      String(h.pages),
      hist(h.largestPageHistory),
      hist(h.campaignHistory),
    ]),
  ];
}

function md(table: string[][]): string {
  const line = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(table[0]!), line(table[0]!.map(() => '---')), ...table.slice(1).map(line)].join('\n');
}

function table(r: CampaignBenchReport): string {
  const text = (t: string[][]) => t.map((row) => row.join('  |  ')).join('\n');
  return `${text(rows(r))}\n\nHand-off only:\n${r.handOffOnly.length ? text(handOffRows(r)) : '(none)'}`;
}

function section(r: CampaignBenchReport): string {
  return [
    BEGIN,
    '## Campaigns',
    '',
    `\`npm run bench:campaign\`, ${r.at.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.nproc} CPUs: ` +
      `${r.settings.records} records at R = ${r.settings.ratePerSecond}/s (sandbox latency ${r.settings.latencyMs} ms), ` +
      `handed over as one campaign, then the same records through \`startMany\` on a fresh sandbox state ` +
      `(same dev server, ${String(r.settings.server)}). ` +
      `${100 * VERIFY_SHARE}% verify their identity (5 s after the login URL), ${100 * BOOK_SHARE}% book through the ` +
      'link 20 s after the first message (no webhook: the run reads the link at the reminder and at the close), ' +
      'the rest get a reminder at 60 s; every booking window closes 2 minutes after the first message. ' +
      'The campaign has sending hours open all the time for the bench (00:00-24:00, mon-sun, Europe/London): the ' +
      'window is checked before each message and reminder, and never holds one back. ' +
      '"Calls needed" counts 3 calls per record to its first message (trace, booking link, message; 4 when the ' +
      'patient verifies); runs also read each delivery status, the link and send reminders meanwhile, within the ' +
      'same R, so the calls made before the last first message are given too. `campaign status` is the CLI ' +
      `process (\`node bin/hero-flow.js campaign status ID --json\`, start-up included) run every ` +
      `${STATUS_EVERY_MS / 1000} s during the campaign. Wall times depend on the machine's load (given).`,
    '',
    md(rows(r)),
    '',
    'Hand-off only (same server, after both sides; the first messages spread over 366 days, so nothing is processed):',
    '',
    r.handOffOnly.length ? md(handOffRows(r)) : '(not run: BENCH_CAMPAIGN_HANDOFF_ONLY=0)',
    END,
  ].join('\n');
}

/** BENCHMARKS.md with its "Campaigns" section replaced (or added at the end); the rest as it was. */
async function writeSection(r: CampaignBenchReport): Promise<void> {
  const file = benchmarksFile(ROOT);
  const markdown = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  const next =
    begin >= 0 && end > begin
      ? markdown.slice(0, begin) + section(r) + markdown.slice(end + END.length)
      : `${markdown.trimEnd()}\n\n${section(r)}\n`;
  const options = (await resolveConfig(__filename)) ?? {};
  writeFileSync(file, await format(next, { ...options, parser: 'markdown' }));
}

runScript('bench:campaign', main);
