/**
 * `npm run test:reliability`: N outreach runs on a real Temporal dev server (SQLite), against the
 * sandbox injecting faults at random, while the worker is SIGKILLed and restarted and the Temporal
 * server is stopped and restarted once. Asserts every run reached its one expected outcome and
 * checks it against the sandbox's own records: booking links and messages per patient, the message
 * of every completed run, and an uncertain request (or a crash) behind every `needs_review`.
 *
 *   RELIABILITY_RUNS   number of runs (default 200)
 *   RELIABILITY_SEED   seed of the mix, the chaos schedule and the sandbox faults (default: random)
 *   RELIABILITY_STRICT =1: a `needs_review` outcome counts as failed (default: accepted, reported)
 *
 * Prints a table, writes test-artifacts/reliability.json (and the worker's and server's logs next
 * to it), ends with `N passed, M failed`, exits 1 if any run is lost, ended wrongly, left its
 * patient with a second booking link or message, completed without the sandbox holding its message,
 * or ended `needs_review` with nothing uncertain behind it; or if fewer worker kills or server
 * restarts happened than planned.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { HeroFlowClient } from '../../src/client';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../../src/codec';
import { freePort, ROOT } from '../../tools/processes';
import { devServerTuningArgs, resolveTemporalCli } from '../../tools/provision';
import {
  DEFAULT_PATIENTS,
  type FaultRates,
  type RandomFaultKind,
  type RecordedRequest,
  startSandbox,
} from '../../tools/sandbox';
import { mulberry32 } from '../../tools/sandbox/faults';
import { outreachRequest, syntheticNhsNumber } from '../support/fixtures';
import { runScript, sandboxWorkerEnv, TemporalDevServer, WorkerProcess } from './processes';
import { formatTable, type ReliabilityReport } from './report';

const RUNS = Number(process.env.RELIABILITY_RUNS || 200);
const SEED = Number(process.env.RELIABILITY_SEED || Math.floor(Math.random() * 1_000_000));
/** Runs are started spread over this window, so chaos lands on runs in every phase. */
const START_WINDOW_MS = 20_000;
const MAX_WAIT_MS = 8 * 60_000;
const HTTP_TIMEOUT_MS = 2_000;
const STRICT = process.env.RELIABILITY_STRICT === '1';

const FAULT_RATES: FaultRates = {
  seed: SEED,
  rates: {
    server_error: 0.05,
    reset_before: 0.03,
    reset_after: 0.02,
    malformed_json: 0.02,
    schema_violation: 0.01,
    timeout: 0.02,
    latency: 0.05,
    rate_limit_storm: 0.03,
  },
  latencyMs: 200,
  timeoutMs: 3_000,
};

/** The chaos schedule: SIGKILLs of the worker and restarts of the Temporal server. */
const PLANNED_CHAOS = { kills: 4, restarts: 1 };

/**
 * Faults after which Hero may have acted on a create/send without hero-flow learning so: a timeout,
 * a reset (the client cannot tell before from after processing), a 5xx, an unreadable 2xx.
 * Latency and 429s are not: the answer arrives, or Hero says it did nothing.
 */
const UNCERTAIN_FAULTS: ReadonlySet<RandomFaultKind> = new Set([
  'timeout',
  'reset_before',
  'reset_after',
  'server_error',
  'malformed_json',
  'schema_violation',
]);

/** The HeroTimeoutError message (src/hero/errors.ts): the client gave up waiting for Hero's answer. */
const CLIENT_TIMEOUT = /: no response within \d+ ms/;

/** The failure of a retry whose previous attempt was cut off (src/activities/failures.ts uncertainAfterCutOff). */
const CUT_OFF = /the previous attempt ended without saying Hero did not get its request/;

const DUPLICATES_NOTE =
  'Hero documents no idempotency key (REFERENCE §6.6), so hero-flow never repeats a create/send unless the ' +
  'previous attempt recorded that Hero did not process it; any second link or message is a bug.';

type Kind = 'plain' | 'verification' | 'not_found';
/**
 * `needs_review` is the workflow's deliberate stop when a create/send failed in a way Hero may have
 * acted on (it does not retry blind, to never send twice): one closed outcome, reported apart, and
 * accepted only where the sandbox's log shows an uncertain request, or a crash came while it was open.
 */
const EXPECTED: Record<Kind, string[]> = {
  plain: STRICT ? ['completed'] : ['completed', 'needs_review'],
  verification: STRICT ? ['completed'] : ['completed', 'needs_review'],
  not_found: ['patient_not_found'],
};

interface RunSpec {
  workflowId: string;
  kind: Kind;
  nhsNumber: string;
  dob: string;
  patientId?: string;
  startAt: number;
  /** Verification: how long after the login URL appears the "patient" verifies, and how we tell the run. */
  verifyAfterMs: number;
  useUpdate: boolean;
}

interface RunRecord {
  spec: RunSpec;
  outcome: string;
  /** ms since epoch: the start was acknowledged, and the outcome known. */
  openedAt?: number;
  closedAt?: number;
  messageId?: string;
  failureType?: string;
  message?: string;
  verifiedBy?: string;
  review?: { step: string; reason: string };
}

const random = mulberry32(SEED);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (line: string) => process.stdout.write(`[reliability ${elapsed()}] ${line}\n`);

function buildSpecs(): RunSpec[] {
  const taken = new Set(DEFAULT_PATIENTS.map((p) => p.nhsNumber));
  const specs: RunSpec[] = [];
  let seed = 100_000 + (SEED % 1_000) * 10_000;
  for (let i = 0; i < RUNS; i++) {
    let nhsNumber: string;
    do nhsNumber = syntheticNhsNumber((seed += 17));
    while (taken.has(nhsNumber));
    taken.add(nhsNumber);
    const u = random();
    const kind: Kind = u < 0.6 ? 'plain' : u < 0.85 ? 'verification' : 'not_found';
    specs.push({
      workflowId: `rel-${SEED}-${i}`,
      kind,
      nhsNumber,
      dob: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 9}`,
      patientId: kind === 'not_found' ? undefined : String(50_000 + i),
      startAt: Math.floor((i / RUNS) * START_WINDOW_MS),
      verifyAfterMs: Math.floor(between(1_000, 5_000)),
      useUpdate: random() < 0.5,
    });
  }
  return specs;
}

function failureOf(err: WorkflowFailedError): { failureType: string; message: string } {
  let cause: unknown = err.cause;
  let type: string | undefined;
  let message = err.cause?.message ?? err.message;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type) type ??= cause.type;
    message = cause.message;
    cause = cause.cause;
  }
  return { failureType: type ?? err.cause?.name ?? 'unknown', message };
}

async function main(): Promise<number> {
  const artifacts = join(ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-reliability-'));
  const workerLog = createWriteStream(join(artifacts, 'reliability-worker.log'));
  const serverLog = createWriteStream(join(artifacts, 'reliability-temporal.log'));
  const specs = buildSpecs();
  const keySpec = generateKeySpec();
  const converter = heroDataConverter(parseKeyRing(keySpec));
  const taskQueue = `reliability-${SEED}-${process.pid}`;

  const cli = await resolveTemporalCli();
  const server = new TemporalDevServer(
    cli,
    await freePort(),
    await freePort(),
    join(tmp, 'r.sqlite'),
    serverLog,
    devServerTuningArgs(),
  );
  const sandbox = await startSandbox({ faultRates: FAULT_RATES });
  let worker: WorkerProcess | undefined;
  const clients: HeroFlowClient[] = [];
  let done = false;

  try {
    await server.start();
    say(`Temporal dev server on ${server.address}; sandbox on ${sandbox.url}; seed ${SEED}`);
    for (const s of specs) {
      if (s.kind === 'not_found' || !s.patientId) continue;
      sandbox.addPatient({
        nhsNumber: s.nhsNumber,
        dob: s.dob,
        patientId: s.patientId,
        needsVerification: s.kind === 'verification',
      });
    }
    worker = new WorkerProcess(
      sandboxWorkerEnv({
        address: server.address,
        sandbox,
        keys: keySpec,
        taskQueue,
        extra: { HERO_HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS) },
      }),
      workerLog,
    );
    await worker.start();
    say('worker polling');

    const connect = async () => {
      const connection = await Connection.connect({ address: server.address });
      const hf = new HeroFlowClient(new Client({ connection, dataConverter: converter }), taskQueue);
      clients.push(hf);
      return hf;
    };
    let heroFlow = await connect();
    /** Every call with a deadline, on the client of the moment (a fresh one after the server restart). */
    const call = <T>(fn: (hf: HeroFlowClient) => Promise<T>, ms = 10_000): Promise<T> => {
      const hf = heroFlow;
      return hf.client.connection.withDeadline(Date.now() + ms, () => fn(hf));
    };

    const records = new Map<string, RunRecord>();
    const open = new Set<string>();
    const chaosLog: ReliabilityReport['chaos'] = [];
    /** When each kill or restart happened (ms since epoch), to tell a crash-caused review. */
    const chaosTimes: number[] = [];
    let kills = 0;
    let serverRestarts = 0;
    let serverDown = false;
    const deadline = Date.now() + START_WINDOW_MS + MAX_WAIT_MS;

    /** Restarts the worker whenever it is down and not being restarted by the chaos itself. */
    let chaosBusy = false;
    const supervise = async () => {
      while (!done) {
        if (!chaosBusy && !serverDown && worker && !worker.running) {
          say('worker is down: restarting it');
          await worker.start().catch((err: unknown) => say(`worker restart failed: ${String(err)}`));
        }
        await sleep(1_000);
      }
    };

    const chaos = async () => {
      const kinds = [
        ...Array<string>(PLANNED_CHAOS.kills).fill('kill'),
        ...Array<string>(PLANNED_CHAOS.restarts).fill('restart'),
      ];
      const times = [between(5_000, 12_000), between(14_000, 22_000), between(34_000, 45_000), between(48_000, 60_000)];
      const events = kinds.map((event, i) => ({
        event,
        at: event === 'restart' ? between(25_000, 30_000) : times[i]!,
      }));
      events.sort((a, b) => a.at - b.at);
      for (const e of events) {
        await sleep(Math.max(0, t0 + e.at - Date.now()));
        if (done) return; // only when the script is stopping on an error
        chaosBusy = true;
        try {
          chaosTimes.push(Date.now());
          if (e.event === 'kill') {
            chaosLog.push({ at: elapsed(), event: 'worker SIGKILL', openRuns: open.size });
            await worker!.kill();
            kills += 1;
            say(`killed the worker (SIGKILL) with ${open.size} runs open`);
            await sleep(1_000);
            await worker!.start().catch((err: unknown) => say(`worker restart failed: ${String(err)}`));
          } else {
            chaosLog.push({ at: elapsed(), event: 'Temporal server restart', openRuns: open.size });
            say(`stopping the Temporal dev server (SIGTERM) with ${open.size} runs open`);
            serverDown = true;
            await server.stop();
            await sleep(1_000);
            await server.start();
            serverDown = false;
            serverRestarts += 1;
            // The old client stays open until the end: closing it under its own pending retries
            // throws from inside grpc-js. New calls go through the fresh one.
            heroFlow = await connect();
            say('Temporal dev server is back; clients reconnected');
          }
        } finally {
          chaosBusy = false;
        }
      }
    };

    const verify = async (spec: RunSpec, rec: RunRecord) => {
      // The patient opens the login URL (from the status query) and submits the form.
      let loginUrl: string | undefined;
      while (!loginUrl && open.has(spec.workflowId) && Date.now() < deadline) {
        const status = await call((hf) => hf.status(spec.workflowId), 5_000).catch(() => undefined);
        loginUrl = status?.state === 'awaiting_verification' ? status.loginUrl : undefined;
        if (!loginUrl) await sleep(500);
      }
      if (!loginUrl) return;
      await sleep(spec.verifyAfterMs);
      for (;;) {
        const res = await fetch(loginUrl, { method: 'POST' }).catch(() => undefined);
        if (res?.ok) break;
        if (Date.now() > deadline) return;
        await sleep(500);
      }
      rec.verifiedBy = 'recheck';
      // Then the partner's backend tells the run; if that fails, the 10 s re-check still finds it.
      for (let i = 0; i < 5 && open.has(spec.workflowId); i++) {
        try {
          if (spec.useUpdate) {
            await call((hf) => hf.confirmVerification(spec.workflowId));
            rec.verifiedBy = 'update';
          } else {
            await call((hf) => hf.signalVerification(spec.workflowId));
            rec.verifiedBy = 'signal';
          }
          return;
        } catch (err) {
          // Rejected by the validator: the run already moved on (a re-check saw the verification).
          if (err instanceof WorkflowUpdateFailedError) return;
          await sleep(1_000);
        }
      }
    };

    const drive = async (spec: RunSpec): Promise<void> => {
      const rec: RunRecord = { spec, outcome: 'not_started' };
      records.set(spec.workflowId, rec);
      await sleep(Math.max(0, t0 + spec.startAt - Date.now()));
      const request = {
        ...outreachRequest(spec),
        verification: { recheckEvery: '10 seconds', timeout: '10 minutes' },
      };
      // Starting again with the same ID returns the existing run, so retrying a start is safe.
      while (Date.now() < deadline) {
        try {
          await call((hf) => hf.start(request, { workflowId: spec.workflowId }));
          break;
        } catch {
          await sleep(1_000);
        }
      }
      rec.outcome = 'not_closed';
      rec.openedAt = Date.now();
      open.add(spec.workflowId);
      const verifying = spec.kind === 'verification' ? verify(spec, rec) : Promise.resolve();
      while (Date.now() < deadline) {
        try {
          const result = await call((hf) => hf.result(spec.workflowId), 30_000);
          rec.outcome = result.outcome;
          if (result.outcome === 'needs_review') rec.review = { step: result.step, reason: result.reason };
          if (result.outcome === 'completed') rec.messageId = result.messageId;
          break;
        } catch (err) {
          if (err instanceof WorkflowFailedError) {
            rec.outcome = 'failed';
            Object.assign(rec, failureOf(err));
            break;
          }
          await sleep(1_000);
        }
      }
      rec.closedAt = Date.now();
      open.delete(spec.workflowId);
      await verifying;
    };

    const supervisor = supervise();
    const chaosDone = chaos();
    await Promise.all(specs.map(drive));
    say('every run has closed (or the wait ran out)');
    // Every planned kill and restart happens, even after the last run closed: fewer fails the suite.
    await chaosDone;
    done = true;
    await supervisor;
    say('collecting figures');

    // Figures from the sandbox's own state.
    const links = new Map<string, number>();
    for (const l of sandbox.bookingLinks()) if (l.patientId) links.set(l.patientId, (links.get(l.patientId) ?? 0) + 1);
    const messages = new Map<string, number>();
    for (const m of sandbox.messages()) messages.set(m.patientId, (messages.get(m.patientId) ?? 0) + 1);
    const dup = (counts: Map<string, number>) => {
      let extra = 0;
      let patients = 0;
      for (const spec of specs) {
        const n = spec.patientId ? (counts.get(spec.patientId) ?? 0) : 0;
        if (n > 1) {
          extra += n - 1;
          patients += 1;
        }
      }
      return { extra, patients };
    };
    const dupLinks = dup(links);
    const dupMessages = dup(messages);

    const all = [...records.values()];
    const outcomes: Record<string, number> = {};
    const mix: Record<string, number> = {};
    const verifiedBy: Record<string, number> = {};
    for (const r of all) {
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      mix[r.spec.kind] = (mix[r.spec.kind] ?? 0) + 1;
      if (r.verifiedBy) verifiedBy[r.verifiedBy] = (verifiedBy[r.verifiedBy] ?? 0) + 1;
    }
    const wrong = all.filter((r) => !EXPECTED[r.spec.kind].includes(r.outcome));
    // A completed run's message must be in the sandbox, for its patient, under the id the run returned.
    const completedWithoutMessage = all
      .filter((r) => r.outcome === 'completed')
      .filter((r) => !sandbox.messages().some((m) => m.id === r.messageId && m.patientId === (r.spec.patientId ?? '')))
      .map((r) => ({ workflowId: r.spec.workflowId, messageId: r.messageId ?? '(none)' }));
    // A review must have a cause: a create/send request of that step, for that patient, that drew an
    // uncertain fault; or, for a retry cut off by a crash, a worker kill or server restart during that
    // step: after the step before it succeeded (the sandbox's clock is this process's) and before the run closed.
    const sandboxRequests = sandbox.requests();
    const lastSuccess = (endpoint: string, matches: (body: Record<string, unknown>) => boolean) =>
      Math.max(
        -Infinity,
        ...sandboxRequests
          .filter(
            (q) => q.endpoint === endpoint && q.status === 200 && matches((q.body ?? {}) as Record<string, unknown>),
          )
          .map((q) => q.at),
      );
    const stepStart = (r: RunRecord, step: string) =>
      step === 'send_message'
        ? lastSuccess('create_booking_link', (b) => b.patient_id === r.spec.patientId)
        : lastSuccess('register_pds', (b) => b.nhs_number === r.spec.nhsNumber);
    const uncertainAt = (pid: string, step: string): RecordedRequest[] =>
      sandboxRequests.filter(
        (q) =>
          q.endpoint === step &&
          (q.body as { patient_id?: string } | undefined)?.patient_id === pid &&
          q.randomFault !== undefined &&
          UNCERTAIN_FAULTS.has(q.randomFault),
      );
    const crashDuringStep = (r: RunRecord, step: string) => {
      const from = Math.max(stepStart(r, step), r.openedAt ?? Infinity);
      return chaosTimes.some((t) => t >= from && t <= (r.closedAt ?? -Infinity));
    };
    // A client timeout with no injected fault (the machine stalled past the HTTP timeout) is uncertain
    // too, as long as Hero did receive that request: hero-flow could not know Hero had acted.
    const timedOutAt = (pid: string, step: string, reason: string): boolean =>
      CLIENT_TIMEOUT.test(reason) &&
      sandboxRequests.some(
        (q) => q.endpoint === step && (q.body as { patient_id?: string } | undefined)?.patient_id === pid,
      );
    const unexplainedReviews = all
      .filter((r) => r.review)
      .filter(
        (r) =>
          uncertainAt(r.spec.patientId ?? '', r.review!.step).length === 0 &&
          !timedOutAt(r.spec.patientId ?? '', r.review!.step, r.review!.reason) &&
          !(CUT_OFF.test(r.review!.reason) && crashDuringStep(r, r.review!.step)),
      )
      .map((r) => ({ workflowId: r.spec.workflowId, step: r.review!.step, reason: r.review!.reason }));
    const chaosShortfall = [
      ...(kills < PLANNED_CHAOS.kills ? [`${kills} of ${PLANNED_CHAOS.kills} planned worker kills`] : []),
      ...(serverRestarts < PLANNED_CHAOS.restarts
        ? [`${serverRestarts} of ${PLANNED_CHAOS.restarts} planned Temporal server restarts`]
        : []),
    ];
    // For a run held for review: had Hero in fact acted on the uncertain call?
    const reviews = all
      .filter((r) => r.review)
      .map((r) => {
        const pid = r.spec.patientId ?? '';
        const acted = r.review!.step === 'send_message' ? (messages.get(pid) ?? 0) > 0 : (links.get(pid) ?? 0) > 0;
        return { workflowId: r.spec.workflowId, step: r.review!.step, heroActed: acted, reason: r.review!.reason };
      });
    // Where duplicates came from: the create/send requests for that patient, with status and fault.
    const requestsOf = (pid: string) =>
      sandbox
        .requests()
        .filter((q) => q.endpoint === 'create_booking_link' || q.endpoint === 'send_message')
        .filter((q) => (q.body as { patient_id?: string } | undefined)?.patient_id === pid)
        .map((q) => `${q.endpoint}:${q.status}${q.fault ? `/${q.fault}` : ''}@${((q.at - t0) / 1000).toFixed(1)}s`);
    const duplicates = specs
      .filter((s) => s.patientId && ((links.get(s.patientId) ?? 0) > 1 || (messages.get(s.patientId) ?? 0) > 1))
      .map((s) => ({
        workflowId: s.workflowId,
        links: links.get(s.patientId!) ?? 0,
        messages: messages.get(s.patientId!) ?? 0,
        requests: requestsOf(s.patientId!),
      }));
    const failedRuns = new Set([
      ...wrong.map((r) => r.spec.workflowId),
      ...duplicates.map((d) => d.workflowId),
      ...completedWithoutMessage.map((c) => c.workflowId),
      ...unexplainedReviews.map((v) => v.workflowId),
    ]).size;
    const report: ReliabilityReport = {
      seed: SEED,
      runs: all.length,
      mix,
      workerKills: kills,
      workerUnexpectedExits: worker.unexpectedExits,
      serverRestarts,
      plannedChaos: PLANNED_CHAOS,
      chaosShortfall,
      chaos: chaosLog,
      faultsInjected: sandbox.faultCounts(),
      outcomes,
      failures: all
        .filter((r) => r.outcome === 'failed')
        .map((r) => ({
          workflowId: r.spec.workflowId,
          kind: r.spec.kind,
          failureType: r.failureType ?? 'unknown',
          message: r.message ?? '',
        })),
      lostRuns: wrong.map((r) => ({
        workflowId: r.spec.workflowId,
        kind: r.spec.kind,
        expected: EXPECTED[r.spec.kind].join(' or '),
        got: r.failureType ? `${r.outcome} (${r.failureType})` : r.outcome,
      })),
      verificationsDelivered: verifiedBy,
      needsReview: reviews,
      duplicates,
      duplicateLinks: dupLinks.extra,
      duplicateMessages: dupMessages.extra,
      patientsWithDuplicateLinks: dupLinks.patients,
      patientsWithDuplicateMessages: dupMessages.patients,
      completedWithoutMessage,
      unexplainedReviews,
      duplicatesNote: DUPLICATES_NOTE,
      wallTimeSeconds: (Date.now() - t0) / 1000,
      passed: all.length - failedRuns,
      failed: failedRuns,
    };
    writeFileSync(join(artifacts, 'reliability.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\n${formatTable(report)}\n`);
    for (const l of report.lostRuns)
      process.stdout.write(`LOST ${l.workflowId} (${l.kind}): expected ${l.expected}, got ${l.got}\n`);
    for (const f of report.failures) process.stdout.write(`FAILED ${f.workflowId}: ${f.failureType}: ${f.message}\n`);
    for (const v of reviews) {
      process.stdout.write(
        `NEEDS_REVIEW ${v.workflowId} at ${v.step} (Hero ${v.heroActed ? 'had' : 'had not'} acted): ${v.reason}\n`,
      );
    }
    for (const c of completedWithoutMessage) {
      process.stdout.write(`NO_MESSAGE ${c.workflowId}: completed with message ${c.messageId}, not in the sandbox\n`);
    }
    for (const v of unexplainedReviews) {
      process.stdout.write(
        `UNEXPLAINED_REVIEW ${v.workflowId} at ${v.step}: no uncertain ${v.step} request for its patient in the ` +
          `sandbox's log, and no crash behind it: ${v.reason}\n`,
      );
    }
    for (const s of chaosShortfall) process.stdout.write(`CHAOS_SHORTFALL ${s}: the suite did not test what it says\n`);
    for (const d of duplicates) {
      process.stdout.write(
        `DUPLICATE ${d.workflowId}: ${d.links} links, ${d.messages} messages; ${d.requests.join(' ')}\n`,
      );
    }
    if (dupLinks.extra || dupMessages.extra) process.stdout.write(`Duplicates fail the run: ${DUPLICATES_NOTE}\n`);
    process.stdout.write(`Written to ${join('test-artifacts', 'reliability.json')}\n`);
    process.stdout.write(
      `${report.passed} passed, ${report.failed} failed` +
        (chaosShortfall.length ? `; chaos short of plan: ${chaosShortfall.join(', ')}` : '') +
        '\n',
    );
    return report.failed === 0 && chaosShortfall.length === 0 ? 0 : 1;
  } finally {
    done = true;
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await worker?.stop();
    await server.stop();
    await sandbox.close();
    workerLog.end();
    serverLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runScript('reliability', main);
