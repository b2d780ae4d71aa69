/**
 * `npm run test:reliability`: N outreach runs on a real Temporal dev server (SQLite), or the server
 * `npm run test:production` names (test/production/external.ts), against the
 * sandbox injecting faults at random, while the worker is SIGKILLed and restarted, the Temporal
 * server is stopped and restarted once, and the network between them fails: the worker reaches Temporal
 * through a TCP proxy (tcp-proxy.ts) that drops (FIN), resets (RST) and stalls its connections. Half of
 * the runs that find their patient wait for the booking (scenario.ts AWAIT_BOOKING: a 150 s window,
 * reminders at 60 s and 120 s): their patients book through the sandbox at seeded times, some without a
 * webhook, a few cancel; Hero's webhooks reach a `hero-flow webhooks` receiver (registered with
 * `hero-flow webhooks register`) and are lost, duplicated, reordered and forged at seeded rates. The
 * sandbox's sent-messages list is turned off for a while, so that uncertain sends open reviews; the
 * suite's operator resolves each one with `hero-flow review list` and `hero-flow review resolve`
 * (checks.ts says what is then checked). Alongside the runs, a campaign of RELIABILITY_CAMPAIGN_RECORDS
 * records (campaign.ts) is handed over with `hero-flow campaign start` while the worker is SIGKILLed and the
 * server restarts (the hand-off is re-run, as a user would, until it answers; then once more, to add
 * nothing), and its runs go through the rest of the chaos like the suite's own.
 *
 *   RELIABILITY_RUNS   number of runs (default 200)
 *   RELIABILITY_CAMPAIGN_RECORDS  records of the campaign, besides its duplicates and invalid lines (default 200)
 *   RELIABILITY_SEED   seed of the mix, the chaos schedule, the bookings, the operator's choices and the
 *                      sandbox's faults (default: random)
 *   RELIABILITY_ARTIFACTS  the name its files in test-artifacts/ begin with (default reliability;
 *                      `npm run test:production` gives production-reliability, so neither run's files hide the other's)
 *
 * Prints a table, writes test-artifacts/reliability.json (and the worker's, the server's and the
 * receiver's logs next to it, reliability-*.log; for failing runs, reliability-failures.json with each one's history in
 * short and what the sandbox holds), ends with `N passed, M failed`, exits 1 if any check fails, or if fewer
 * worker kills, server restarts or proxy drops, resets and stalls happened than planned. Needs
 * `npm run build` (the CLI runs from dist/).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { HeroFlowClient } from '../../src/client';
import { generateKeySpec, heroDataConverter, parseKeyRing } from '../../src/codec';
import { campaignWorkflowId } from '../../src/shared/campaign-ids';
import { BOOKING_EVENT_WORKFLOW_TYPE } from '../../src/workflows/definitions';
import type { BookingEventResult } from '../../src/workflows/schemas';
import { freePort, ROOT } from '../../tools/processes';
import { devServerTuningArgs, resolveTemporalCli } from '../../tools/provision';
import {
  DEFAULT_PATIENTS,
  type FaultRates,
  startSandbox,
  WEBHOOK_FAULT_KINDS,
  type WebhookFaultRates,
  type WebhookSigningOptions,
} from '../../tools/sandbox';
import { mulberry32 } from '../../tools/sandbox/faults';
import { externalTemporalServer } from '../production/external';
import { outreachRequest, syntheticNhsNumber } from '../support/fixtures';
import { Patients } from './booking';
import {
  buildCampaign,
  type CampaignCheckInput,
  checkCampaign,
  type HandOffAttempt,
  handedOver,
  type HandOffRecord,
  parseHandOff,
} from './campaign';
import { check } from './checks';
import { timeline } from './post-mortem';
import {
  runCli,
  runScript,
  sandboxWorkerEnv,
  TemporalDevServer,
  WebhookReceiverProcess,
  WorkerProcess,
} from './processes';
import { formatTable, type ReliabilityReport } from './report';
import { ReviewOperator } from './reviews';
import { type ProxyEvent, TcpProxy } from './tcp-proxy';
import {
  AWAIT_BOOKING,
  type Kind,
  kindOfText,
  RECONCILE_AFTER,
  REVIEW_DEADLINE,
  type RunRecord,
  type RunSpec,
} from './scenario';

const RUNS = Number(process.env.RELIABILITY_RUNS || 200);
const SEED = Number(process.env.RELIABILITY_SEED || Math.floor(Math.random() * 1_000_000));
/** Runs are started spread over this window, so chaos lands on runs in every phase. */
const START_WINDOW_MS = 20_000;
/**
 * Bounds the wait for the last run (a run still open then is lost). Each uncertain send costs a
 * reconciliation (1 minute, scenario.ts) before the run goes on, and the 150 s window opens only
 * once the first message is sent: a first message uncertain three times over, then a reminder
 * reconciled, ends after about 7 minutes. With task-queue priority, a campaign's runs also wait behind the
 * single runs' tasks under the chaos: on the production-shaped server the last closed at 492-622 s in
 * three runs, and a fourth (a CI run, 2026-12-07) failed after waiting out the 12 minutes this bound had then.
 */
const MAX_WAIT_MS = 16 * 60_000;
/** What its files in test-artifacts/ are named after (RELIABILITY_ARTIFACTS). */
const ARTIFACTS = process.env.RELIABILITY_ARTIFACTS || 'reliability';
if (!/^[A-Za-z0-9_.-]{1,64}$/.test(ARTIFACTS))
  throw new Error(
    `RELIABILITY_ARTIFACTS: "${ARTIFACTS}" must be 1-64 letters, digits, ".", "_" or "-" (a file name prefix)`,
  );
const HTTP_TIMEOUT_MS = 2_000;

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

/** Each delivery (one event to the one subscription) draws at most one of these. */
const WEBHOOK_FAULT_RATES: WebhookFaultRates = {
  seed: SEED,
  rates: { lost: 0.1, duplicated: 0.1, reordered: 0.1, forged: 0.1 },
};

/**
 * Hero's retry policy is NOT DOCUMENTED (docs/hero-api.md §5). Eight attempts over about 30 s outlast the
 * Temporal server's restart (the receiver answers 503 meanwhile); a reordered delivery waits up to 20 s for
 * a later event, so a confirmation can arrive after its cancellation.
 */
const WEBHOOK_DELIVERY = { attempts: 8, backoffMs: 250, maxHoldMs: 20_000 };

/** Both encodings and the three timestamp forms the receiver must accept, one combination per seed. */
const WEBHOOK_SIGNING: Required<WebhookSigningOptions> = {
  encoding: (['hex', 'base64'] as const)[SEED % 2]!,
  timestamp: (['unix-seconds', 'unix-ms', 'iso'] as const)[Math.floor(SEED / 2) % 3]!,
};

/** Of the runs that find their patient, the share that waits for the booking. */
const AWAIT_BOOKING_SHARE = 0.5;
/** Of those patients: who books, who books without a webhook, who then cancels. */
const BOOK_SHARE = 0.6;
const SILENT_SHARE = 1 / 3;
const CANCEL_SHARE = 0.15;
/** Of the reviews, the share the operator abandons; the rest get the action the sandbox's records call for. */
const ABANDON_SHARE = 0.2;

/**
 * The chaos schedule: SIGKILLs of the worker, restarts of the Temporal server, and faults of the network
 * between the worker and Temporal: the proxy's drops (FIN), resets (RST) and stalls of every connection.
 */
const PLANNED_CHAOS = { kills: 5, restarts: 2, drops: 2, resets: 2, stalls: 2 };
/**
 * One kill and one restart of the plan land during the campaign's hand-off, at this time; the other kills
 * and the restart come while its runs go.
 */
const HANDOFF_AT_MS = 2_000;
/** The schedule after the hand-off waits for its answer (at most HANDOFF_WAIT_MS), as if it came by this time. */
const HANDOFF_HELD_BY_MS = 5_000;
const HANDOFF_WAIT_MS = 90_000;
/**
 * The proxy's faults come after the kills and the restart, one in each of these slots, in a seeded order,
 * while most runs wait for bookings, reminders and reconciliations and the sent-messages list is off (so a
 * send cut off by one opens a review). A stall lasts 5 to 20 s: up to the activities' heartbeat timeout
 * (src/workflows/activity-stubs.ts), and it ends before the next slot.
 */
const PROXY_SLOTS_FROM_MS = 65_000;
const PROXY_SLOT_MS = 25_000;
const STALL_MS = { min: 5_000, max: 20_000 };

const DUPLICATES_NOTE =
  'Hero documents no idempotency key (docs/hero-api.md §6.6), so hero-flow never repeats a send unless the previous ' +
  "attempt recorded that Hero did not process it, or Hero's list of sent messages shows it did not: a second " +
  'message of one kind (first message, reminder 1, reminder 2) is a bug. A second booking link is allowed: ' +
  'a link made but never sent reaches nobody.';

const random = mulberry32(SEED);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
/** Reset once everything is up, so that the schedule counts from the first run's start. */
let t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const say = (line: string) => process.stdout.write(`[reliability ${elapsed()}] ${line}\n`);

function buildSpecs(taken: Set<string>): RunSpec[] {
  const specs: RunSpec[] = [];
  let seed = 100_000 + (SEED % 1_000) * 10_000;
  for (let i = 0; i < RUNS; i++) {
    let nhsNumber: string;
    do nhsNumber = syntheticNhsNumber((seed += 17));
    while (taken.has(nhsNumber));
    taken.add(nhsNumber);
    const u = random();
    const kind: Kind = u < 0.6 ? 'plain' : u < 0.85 ? 'verification' : 'not_found';
    // Every draw is made for every run, in the same order, so one seed gives one mix.
    const verifyAfterMs = Math.floor(between(1_000, 5_000));
    const useUpdate = random() < 0.5;
    const awaitBooking = kind !== 'not_found' && random() < AWAIT_BOOKING_SHARE;
    const booking = {
      book: random() < BOOK_SHARE,
      notify: random() >= SILENT_SHARE,
      bookAfterMs: Math.floor(between(5_000, 80_000)),
      cancel: random() < CANCEL_SHARE,
      cancelAfterMs: Math.floor(between(2_000, 30_000)),
    };
    specs.push({
      workflowId: `rel-${SEED}-${i}`,
      kind,
      nhsNumber,
      dob: `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 9}`,
      patientId: kind === 'not_found' ? undefined : String(50_000 + i),
      startAt: Math.floor((i / RUNS) * START_WINDOW_MS),
      verifyAfterMs,
      useUpdate,
      awaitBooking,
      booking: { ...booking, book: awaitBooking && booking.book },
      reviewUnits: [random(), random(), random()],
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
  const workerLog = createWriteStream(join(artifacts, `${ARTIFACTS}-worker.log`));
  const serverLog = createWriteStream(join(artifacts, `${ARTIFACTS}-temporal.log`));
  const webhooksLog = createWriteStream(join(artifacts, `${ARTIFACTS}-webhooks.log`));
  const taken = new Set(DEFAULT_PATIENTS.map((p) => p.nhsNumber));
  const specs = buildSpecs(taken);
  // The sent-messages list is off for a while: reconciliations then cannot tell, and reviews open. It
  // covers most first messages' (sent in the first minute, reconciled a minute later) and the
  // first reminders' (60 s after the message, reconciled 60 s later). No longer: it holds up the resends
  // that close the suite (130-150 s made each reliability run about 40 s longer).
  const outagePlan = { from: between(60_000, 80_000), length: between(90_000, 110_000) };
  const keySpec = generateKeySpec();
  const converter = heroDataConverter(parseKeyRing(keySpec));
  const taskQueue = `reliability-${SEED}-${process.pid}`;
  const plan = buildCampaign({ seed: SEED, keySpec, taken, startAt: HANDOFF_AT_MS });
  const listFile = join(tmp, 'campaign.jsonl');
  const templateFile = join(tmp, 'campaign-template.json');
  writeFileSync(listFile, plan.list);
  writeFileSync(templateFile, JSON.stringify(plan.template, null, 2));
  /** The suite's runs and the campaign's, for what both are checked by. */
  const allSpecs = [...specs, ...plan.specs];
  const signingKey = randomBytes(24).toString('hex');

  // `npm run test:production` points the suite at its PostgreSQL-backed, mTLS server (stopped and started
  // through the runner's control endpoint); otherwise the suite runs its own dev server.
  const external = externalTemporalServer();
  const server =
    external ??
    new TemporalDevServer(
      await resolveTemporalCli(),
      await freePort(),
      await freePort(),
      join(tmp, 'r.sqlite'),
      serverLog,
      devServerTuningArgs(),
    );
  const serverName = external?.topology ?? 'Temporal dev server';
  // Random Hero faults are turned on once the receiver is registered (a subscription made twice would
  // double every delivery).
  const sandbox = await startSandbox({
    webhookSigning: WEBHOOK_SIGNING,
    webhookDelivery: WEBHOOK_DELIVERY,
    webhookFaultRates: WEBHOOK_FAULT_RATES,
  });
  let worker: WorkerProcess | undefined;
  let receiver: WebhookReceiverProcess | undefined;
  let proxy: TcpProxy | undefined;
  const clients: HeroFlowClient[] = [];
  let done = false;
  let allClosed = false;

  try {
    await server.start();
    say(`${serverName} on ${server.address}; sandbox on ${sandbox.url}; seed ${SEED}`);
    for (const s of allSpecs) {
      if (s.kind === 'not_found' || !s.patientId) continue;
      sandbox.addPatient({
        nhsNumber: s.nhsNumber,
        dob: s.dob,
        patientId: s.patientId,
        needsVerification: s.kind === 'verification',
      });
    }
    // The suite's subject is crashes and faults, not memory (npm run bench:cache): with the default cache of
    // 25, every task of its 400 runs in flight at once is a replay, which on 2 cores pushed its last runs past
    // the suite's wait. A cache that holds them all keeps its timing what it measures.
    const env = (extra: NodeJS.ProcessEnv = {}) =>
      sandboxWorkerEnv({
        address: server.address,
        sandbox,
        keys: keySpec,
        taskQueue,
        extra: { HERO_MAX_CACHED_WORKFLOWS: '1000', ...extra },
      });
    // Only the worker goes through the proxy: the suite's client, the receiver and the operator's CLI
    // calls reach the server directly, so the checks see what the worker did, not their own faults.
    proxy = await TcpProxy.start(server.address);
    const upstreamHost = new URL(`tcp://${server.address}`).hostname;
    // TLS passes through the proxy untouched, so the worker must check the certificate against the
    // server's name, not the proxy's address (mTLS on the external server: src/config/temporal.ts).
    const tlsName =
      external?.connectOptions.tls && !process.env.TEMPORAL_TLS_SERVER_NAME?.trim() && !isIP(upstreamHost)
        ? { TEMPORAL_TLS_SERVER_NAME: upstreamHost }
        : {};
    worker = new WorkerProcess(
      env({ HERO_HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS), TEMPORAL_ADDRESS: proxy.address, ...tlsName }),
      workerLog,
    );
    await worker.start();
    say(`worker polling, through the proxy on ${proxy.address}`);

    const receiverPort = await freePort();
    const receiverEnv = env({
      HERO_WEBHOOK_PORT: String(receiverPort),
      HERO_WEBHOOK_HOST: '127.0.0.1',
      HERO_WEBHOOK_SIGNING_KEY: signingKey,
    });
    receiver = new WebhookReceiverProcess(receiverEnv, webhooksLog);
    await receiver.start();
    const receiverUrl = `http://127.0.0.1:${receiverPort}/hero/webhooks`;
    const registered = await runCli(['webhooks', 'register', '--url', receiverUrl, '--json'], receiverEnv);
    const subscribed = new Set(
      sandbox
        .webhooks()
        .filter((w) => w.url === receiverUrl && w.hasSigningKey)
        .map((w) => w.eventType),
    );
    if (registered.code !== 0 || subscribed.size !== 3) {
      throw new Error(
        `hero-flow webhooks register failed (exit ${registered.code}, ${subscribed.size} of 3 events subscribed): ` +
          `${registered.stderr.trim()}`,
      );
    }
    sandbox.setFaultRates(FAULT_RATES);
    say(
      `webhook receiver on ${receiverUrl}, registered (signing: ${WEBHOOK_SIGNING.encoding}, ${WEBHOOK_SIGNING.timestamp})`,
    );

    const connect = async () => {
      const connection = await Connection.connect(external?.connectOptions ?? { address: server.address });
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
    const openCampaign = new Set<string>();
    /** Kills and restarts, with the campaign's runs open then. */
    const campaignChaos: CampaignCheckInput['chaos'] = [];
    const chaosLog: ReliabilityReport['chaos'] = [];
    /**
     * When each kill, restart or proxy fault happened (ms since epoch; a stall's start and end), to tell
     * a review caused by chaos.
     */
    const chaosTimes: number[] = [];
    let kills = 0;
    let serverRestarts = 0;
    /** The proxy's faults that cut or held at least one of the worker's connections. */
    const proxyFaults = { drops: 0, resets: 0, stalls: 0 };
    let serverDown = false;
    t0 = Date.now();
    const deadline = Date.now() + START_WINDOW_MS + MAX_WAIT_MS;

    /** Restarts the worker or the receiver whenever one is down and the chaos is not restarting it. */
    let chaosBusy = false;
    const supervise = async () => {
      while (!done) {
        if (!chaosBusy && !serverDown && worker && !worker.running) {
          say('worker is down: restarting it');
          await worker.start().catch((err: unknown) => say(`worker restart failed: ${String(err)}`));
        }
        if (receiver && !receiver.running) {
          say('webhook receiver is down: restarting it');
          await receiver.start().catch((err: unknown) => say(`receiver restart failed: ${String(err)}`));
        }
        await sleep(1_000);
      }
    };

    /** One proxy fault on the worker's connections, logged as chaos once it is over. */
    const proxyFault = async (kind: 'drop' | 'reset' | 'stall', stallMs: number) => {
      // A fault with no connection to cut tests nothing: give a worker that is reconnecting a moment.
      for (let i = 0; i < 10 && proxy!.counters.open === 0; i++) await sleep(1_000);
      const at = elapsed();
      const openRuns = open.size;
      chaosTimes.push(Date.now());
      let event: ProxyEvent;
      if (kind === 'stall') {
        say(
          `stalling the worker's connections to Temporal for ${(stallMs / 1000).toFixed(1)} s (${openRuns} runs open)`,
        );
        event = await proxy!.stall(stallMs);
        chaosTimes.push(Date.now());
      } else {
        if (kind === 'drop') proxy!.drop();
        else proxy!.reset();
        event = proxy!.events[proxy!.events.length - 1]!;
      }
      const what =
        kind === 'stall'
          ? `proxy stall ${(stallMs / 1000).toFixed(1)} s (${event.connections} connections, ${event.heldBytes} bytes held)`
          : `proxy ${kind} (${kind === 'drop' ? 'FIN' : 'RST'}) of ${event.connections} connections`;
      chaosLog.push({ at, event: what, openRuns });
      if (event.connections > 0) proxyFaults[({ drop: 'drops', reset: 'resets', stall: 'stalls' } as const)[kind]] += 1;
      say(`${what}, ${openRuns} runs open`);
    };

    const handOff: HandOffRecord = { attempts: [] };
    let handOffHeld!: () => void;
    /** Resolves once a `campaign start` answered that Temporal holds the list (or the suite gave up). */
    const handOffAnswered = new Promise<void>((resolve) => (handOffHeld = resolve));
    let handOffRest: Promise<void> = Promise.resolve();
    const startArgs = [
      'campaign',
      'start',
      '--input',
      listFile,
      '--template',
      templateFile,
      '--campaign-id',
      plan.campaignId,
      // Sending hours open all the time: the runs wait for them (and find them open) without waiting long.
      '--send-between',
      '00:00-24:00',
      '--send-days',
      'mon-sun',
    ];
    const startOnce = async (): Promise<HandOffAttempt> => {
      const at = Date.now();
      return parseHandOff(await runCli(startArgs, env(), 120_000), at);
    };
    /**
     * The hand-off under a worker SIGKILL and a server restart. The worker is stopped (SIGSTOP) first, so the
     * campaign cannot answer the hand-off's registerList: once its workflow exists, the hand-off is under way
     * and cannot have finished when the kill and the stop land. The command is then re-run, as a user would,
     * until it answers, and once more, which must add nothing.
     */
    const handOffUnderChaos = async () => {
      chaosBusy = true;
      let first: Promise<HandOffAttempt>;
      try {
        if (worker!.pid) process.kill(worker!.pid, 'SIGSTOP');
        handOff.startedAt = Date.now();
        first = startOnce();
        say(`handing the campaign ${plan.campaignId} over (${plan.specs.length} records) with the worker stopped`);
        const campaignHandle = (hf: HeroFlowClient) =>
          hf.client.workflow.getHandle(campaignWorkflowId(plan.campaignId));
        for (let i = 0; i < 240 && handOff.begunAt === undefined; i++) {
          try {
            await call((hf) => campaignHandle(hf).describe(), 2_000);
            handOff.begunAt = Date.now();
          } catch {
            await sleep(250);
          }
        }
        chaosTimes.push(Date.now());
        chaosLog.push({ at: elapsed(), event: 'worker SIGKILL during the campaign hand-off', openRuns: open.size });
        await worker!.kill();
        kills += 1;
        handOff.killAt = Date.now();
        say(`killed the worker (SIGKILL) during the campaign hand-off, ${open.size} runs open`);
        chaosTimes.push(Date.now());
        chaosLog.push({
          at: elapsed(),
          event: 'Temporal server restart during the campaign hand-off',
          openRuns: open.size,
        });
        serverDown = true;
        handOff.restartAt = Date.now();
        await server.stop();
        await sleep(1_000);
        await server.start();
        serverDown = false;
        serverRestarts += 1;
        heroFlow = await connect();
        say(`${serverName} is back after a restart during the hand-off; restarting the worker`);
        await worker!.start().catch((err: unknown) => say(`worker restart failed: ${String(err)}`));
      } finally {
        chaosBusy = false;
      }
      handOffRest = (async () => {
        try {
          let a = await first;
          handOff.attempts.push(a);
          while (!handedOver(a) && Date.now() < deadline) {
            say(`campaign start exited ${a.code} (${a.error ?? a.outcome}): running the same command again`);
            await sleep(2_000);
            a = await startOnce();
            handOff.attempts.push(a);
          }
          if (handedOver(a)) handOff.endedAt = a.endedAt;
          say(`campaign handed over (${a.outcome}) after ${handOff.attempts.length} command(s)`);
        } finally {
          handOffHeld();
        }
        // Once more, re-run like the first until it answers (the chaos goes on meanwhile): it must add nothing.
        let again = await startOnce();
        handOff.repeatAttempts = [again];
        while (!handedOver(again) && Date.now() < deadline) {
          say(`the same campaign start again exited ${again.code} (${again.error}): running it once more`);
          await sleep(2_000);
          again = await startOnce();
          handOff.repeatAttempts.push(again);
        }
        handOff.repeat = again;
        say(`the same campaign start again: ${again.outcome ?? again.error}`);
      })();
    };

    const chaos = async () => {
      const kinds = [
        ...Array<string>(PLANNED_CHAOS.kills - 1).fill('kill'),
        ...Array<string>(PLANNED_CHAOS.restarts - 1).fill('restart'),
      ];
      const times = [between(5_000, 12_000), between(14_000, 22_000), between(34_000, 45_000), between(48_000, 60_000)];
      const events: { event: string; at: number; stallMs?: number }[] = kinds.map((event, i) => ({
        event,
        at: event === 'restart' ? between(25_000, 30_000) : times[i]!,
      }));
      // The hand-off's kill and restart, beyond the kinds above: a seed keeps its earlier schedule.
      events.push({ event: 'handoff', at: HANDOFF_AT_MS });
      // Drawn after the kills' and the restart's times, so that a seed keeps its earlier schedule.
      const proxyKinds = [
        ...Array<string>(PLANNED_CHAOS.drops).fill('drop'),
        ...Array<string>(PLANNED_CHAOS.resets).fill('reset'),
        ...Array<string>(PLANNED_CHAOS.stalls).fill('stall'),
      ];
      for (let i = proxyKinds.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [proxyKinds[i], proxyKinds[j]] = [proxyKinds[j]!, proxyKinds[i]!];
      }
      proxyKinds.forEach((event, i) => {
        const slot = PROXY_SLOTS_FROM_MS + i * PROXY_SLOT_MS;
        const at = between(slot, slot + PROXY_SLOT_MS - STALL_MS.max);
        events.push({ event, at, stallMs: Math.floor(between(STALL_MS.min, STALL_MS.max)) });
      });
      events.sort((a, b) => a.at - b.at);
      /** How much later than planned the chaos after the hand-off comes (it waits for the hand-off's answer). */
      let shift = 0;
      for (const e of events) {
        await sleep(Math.max(0, t0 + e.at + shift - Date.now()));
        if (done) return; // only when the script is stopping on an error
        if (e.event === 'drop' || e.event === 'reset' || e.event === 'stall') {
          // The worker stays up: nothing for the supervisor to hold back from.
          await proxyFault(e.event, e.stallMs!);
          continue;
        }
        if (e.event === 'handoff') {
          await handOffUnderChaos();
          // The rest comes mid-campaign, while its runs go: once the hand-off answered, the schedule carries
          // on as if that had been at HANDOFF_HELD_BY_MS.
          await Promise.race([handOffAnswered, sleep(HANDOFF_WAIT_MS)]);
          shift = Math.max(0, Date.now() - t0 - HANDOFF_HELD_BY_MS);
          if (shift) say(`the chaos after the hand-off comes ${(shift / 1000).toFixed(1)} s later than planned`);
          continue;
        }
        chaosBusy = true;
        try {
          chaosTimes.push(Date.now());
          if (e.event === 'kill') {
            chaosLog.push({
              at: elapsed(),
              event: 'worker SIGKILL',
              openRuns: open.size,
              openCampaignRuns: openCampaign.size,
            });
            campaignChaos.push({ at: Date.now(), event: 'kill', openCampaignRuns: openCampaign.size });
            await worker!.kill();
            kills += 1;
            say(`killed the worker (SIGKILL) with ${open.size} runs open`);
            await sleep(1_000);
            await worker!.start().catch((err: unknown) => say(`worker restart failed: ${String(err)}`));
          } else {
            chaosLog.push({
              at: elapsed(),
              event: 'Temporal server restart',
              openRuns: open.size,
              openCampaignRuns: openCampaign.size,
            });
            campaignChaos.push({ at: Date.now(), event: 'restart', openCampaignRuns: openCampaign.size });
            say(`stopping the ${serverName} (SIGTERM) with ${open.size} runs open`);
            serverDown = true;
            await server.stop();
            await sleep(1_000);
            await server.start();
            serverDown = false;
            serverRestarts += 1;
            // The old client stays open until the end: closing it under its own pending retries
            // throws from inside grpc-js. New calls go through the fresh one.
            heroFlow = await connect();
            say(`${serverName} is back; clients reconnected`);
          }
        } finally {
          chaosBusy = false;
        }
      }
    };

    const listOutage: { from?: number; to?: number } = {};
    const sentMessagesListOutage = async () => {
      await sleep(Math.max(0, t0 + outagePlan.from - Date.now()));
      if (done) return;
      sandbox.setSentMessagesList(false);
      listOutage.from = Date.now();
      say(`sent-messages list off (404) with ${open.size} runs open`);
      await sleep(Math.max(0, listOutage.from + outagePlan.length - Date.now()));
      sandbox.setSentMessagesList(true);
      listOutage.to = Date.now();
      say('sent-messages list back');
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

    /** A campaign's run: started by its page workflow once the hand-off holds; followed here to its outcome. */
    const follow = async (spec: RunSpec): Promise<void> => {
      const rec: RunRecord = { spec, outcome: 'not_started' };
      records.set(spec.workflowId, rec);
      await handOffAnswered;
      const heldAt = handOff.endedAt;
      if (heldAt === undefined) return;
      rec.outcome = 'not_closed';
      rec.openedAt = Date.now();
      open.add(spec.workflowId);
      openCampaign.add(spec.workflowId);
      await awaitOutcome(spec, rec, heldAt);
      openCampaign.delete(spec.workflowId);
    };

    const drive = async (spec: RunSpec): Promise<void> => {
      const rec: RunRecord = { spec, outcome: 'not_started' };
      records.set(spec.workflowId, rec);
      await sleep(Math.max(0, t0 + spec.startAt - Date.now()));
      const request = {
        ...outreachRequest(spec),
        verification: { recheckEvery: '10 seconds', timeout: '10 minutes' },
        review: { deadline: REVIEW_DEADLINE, reconcileAfter: RECONCILE_AFTER },
        ...(spec.awaitBooking && { awaitBooking: AWAIT_BOOKING }),
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
      await awaitOutcome(spec, rec);
    };

    /** Waits for the run's result; `heldAt`: a campaign's run (held since then), still not found at the deadline: never started. */
    const awaitOutcome = async (spec: RunSpec, rec: RunRecord, heldAt?: number): Promise<void> => {
      const verifying = spec.kind === 'verification' ? verify(spec, rec) : Promise.resolve();
      let notFound = false;
      while (Date.now() < deadline) {
        try {
          const result = await call((hf) => hf.result(spec.workflowId), 30_000);
          rec.outcome = result.outcome;
          rec.result = result;
          break;
        } catch (err) {
          if (err instanceof WorkflowFailedError) {
            rec.outcome = 'failed';
            Object.assign(rec, failureOf(err));
            break;
          }
          // A campaign's run not there yet: its page workflow starts it (maybe late, under the chaos).
          if (err instanceof WorkflowNotFoundError && heldAt !== undefined) {
            notFound = true;
            await sleep(1_000);
            continue;
          }
          notFound = false;
          await sleep(1_000);
        }
      }
      if (notFound && rec.outcome === 'not_closed') rec.outcome = 'not_started';
      rec.closedAt = Date.now();
      open.delete(spec.workflowId);
      await verifying;
    };

    const patients = new Patients(
      sandbox,
      allSpecs
        .filter((s) => s.patientId)
        .map((s) => ({ workflowId: s.workflowId, patientId: s.patientId!, plan: s.booking })),
      say,
    );
    const operator = new ReviewOperator({
      env: env(),
      sandbox,
      runs: new Map(
        allSpecs
          .filter((s) => s.patientId)
          .map((s) => [s.workflowId, { patientId: s.patientId!, reviewUnits: s.reviewUnits }] as const),
      ),
      status: (workflowId) => call((hf) => hf.status(workflowId), 5_000).catch(() => undefined),
      abandonShare: ABANDON_SHARE,
      paused: () => serverDown,
      seed: SEED,
      log: webhooksLog,
      say,
    });

    const supervisor = supervise();
    const chaosDone = chaos();
    const outageDone = sentMessagesListOutage();
    const patientsDone = patients.run(() => allClosed);
    const operatorDone = operator.run(() => allClosed);
    say(`${specs.filter((s) => s.awaitBooking).length} of ${specs.length} runs wait for the booking`);
    say(
      `${plan.specs.filter((s) => s.awaitBooking).length} of the campaign's ${plan.specs.length} runs wait for the booking`,
    );
    await Promise.all([...specs.map(drive), ...plan.specs.map(follow)]);
    allClosed = true;
    say('every run has closed (or the wait ran out)');
    // Every planned kill and restart happens, even after the last run closed: fewer fails the suite.
    await Promise.all([chaosDone, outageDone, patientsDone, operatorDone, handOffAnswered]);
    await handOffRest;
    done = true;
    await supervisor;
    // Deliveries still retrying (to runs that have closed) are counted once they end, or after 30 s.
    await Promise.race([sandbox.settleWebhooks(), sleep(30_000)]);
    say('collecting figures');

    // What each booking-event workflow (one per delivered event) did.
    const bookingEvents: Record<string, number> = {};
    try {
      await call(async (hf) => {
        const query = `WorkflowType = "${BOOKING_EVENT_WORKFLOW_TYPE}" AND TaskQueue = "${taskQueue}"`;
        for await (const wf of hf.client.workflow.list({ query })) {
          let key = wf.status.name.toLowerCase();
          if (wf.status.name === 'COMPLETED') {
            key = ((await hf.client.workflow.getHandle(wf.workflowId, wf.runId).result()) as BookingEventResult)
              .outcome;
          }
          bookingEvents[key] = (bookingEvents[key] ?? 0) + 1;
        }
      }, 60_000);
    } catch (err) {
      say(`could not list the booking-event workflows: ${String(err)}`);
      bookingEvents['(not listed)'] = 1;
    }

    // The campaign, as its user sees it: its runs in visibility, `campaign report` and `campaign status`.
    const cid = plan.campaignId;
    const campaignOutcomes = new Map(plan.specs.map((s) => [s.workflowId, records.get(s.workflowId)?.outcome ?? '']));
    const runsInVisibility = await call(
      async (hf) =>
        (await hf.client.workflow.count(`HeroCampaignId="${cid}" AND WorkflowType="patientOutreachWorkflow"`)).count,
      30_000,
    ).catch(() => -1);
    const campaignReportCli = await runCli(['campaign', 'report', cid, '--format', 'jsonl'], env(), 60_000);
    // Visibility may lag a moment behind the last run's close.
    let campaignStatusCli = await runCli(['campaign', 'status', cid], env(), 30_000);
    for (let i = 0; i < 3 && campaignStatusCli.code === 0 && !/"running": 0,/.test(campaignStatusCli.stdout); i++) {
      await sleep(2_000);
      campaignStatusCli = await runCli(['campaign', 'status', cid], env(), 30_000);
    }
    const campaign = checkCampaign({
      plan,
      handOff,
      outcomes: campaignOutcomes,
      chaos: campaignChaos,
      runsInVisibility,
      report: campaignReportCli,
      status: campaignStatusCli,
      t0,
    });

    const all = [...records.values()];
    const requests = sandbox.requests();
    const checked = check({
      specs: allSpecs,
      records: all,
      messages: sandbox.messages(),
      links: sandbox.bookingLinks(),
      appointments: sandbox.appointments(),
      requests,
      deliveries: sandbox.webhookDeliveries(),
      patients: patients.records,
      reviews: [...operator.records.values()],
      chaosTimes,
      listOutage,
      t0,
    });
    const outcomes: Record<string, number> = {};
    const mix: Record<string, number> = {};
    const verifiedBy: Record<string, number> = {};
    for (const r of all) {
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      mix[r.spec.kind] = (mix[r.spec.kind] ?? 0) + 1;
      if (r.verifiedBy) verifiedBy[r.verifiedBy] = (verifiedBy[r.verifiedBy] ?? 0) + 1;
    }
    const chaosShortfall = [
      ...(kills < PLANNED_CHAOS.kills ? [`${kills} of ${PLANNED_CHAOS.kills} planned worker kills`] : []),
      ...(serverRestarts < PLANNED_CHAOS.restarts
        ? [`${serverRestarts} of ${PLANNED_CHAOS.restarts} planned Temporal server restarts`]
        : []),
      ...(['drops', 'resets', 'stalls'] as const)
        .filter((k) => proxyFaults[k] < PLANNED_CHAOS[k])
        .map((k) => `${proxyFaults[k]} of ${PLANNED_CHAOS[k]} planned proxy ${k} of the worker's connections`),
    ];
    const faultCounts = sandbox.faultCounts();
    const webhookKinds: ReadonlySet<string> = new Set(WEBHOOK_FAULT_KINDS);
    const since = (ms: number | undefined) => (ms === undefined ? 'never' : `${((ms - t0) / 1000).toFixed(1)}s`);
    const { failedRuns, ...figures } = checked;
    figures.globalFailures.push(...operator.failures.map((f) => `the review operator's tick failed: ${f}`));
    figures.globalFailures.push(...campaign.failures);
    /** The last runs to close: what the suite's wall time waited for. */
    const lastThree = [...all].sort((a, b) => (b.closedAt ?? Infinity) - (a.closedAt ?? Infinity)).slice(0, 3);
    const report: ReliabilityReport = {
      seed: SEED,
      runs: all.length,
      mix,
      workerKills: kills,
      workerUnexpectedExits: worker.unexpectedExits,
      receiverUnexpectedExits: receiver.unexpectedExits,
      serverRestarts,
      proxy: {
        address: proxy.address,
        ...proxyFaults,
        ...proxy.counters,
        events: proxy.events.map((e) => ({ ...e, at: since(e.at) })),
      },
      plannedChaos: PLANNED_CHAOS,
      chaosShortfall,
      chaos: chaosLog,
      listOutage: { from: since(listOutage.from), to: since(listOutage.to) },
      faultsInjected: Object.fromEntries(Object.entries(faultCounts).filter(([k]) => !webhookKinds.has(k))),
      outcomes,
      failures: all
        .filter((r) => r.outcome === 'failed')
        .map((r) => ({
          workflowId: r.spec.workflowId,
          kind: r.spec.kind,
          failureType: r.failureType ?? 'unknown',
          message: r.message ?? '',
        })),
      verificationsDelivered: verifiedBy,
      campaign,
      ...figures,
      webhooks: {
        ...figures.webhooks,
        signing: `${WEBHOOK_SIGNING.encoding} signatures, ${WEBHOOK_SIGNING.timestamp} timestamps`,
        faults: Object.fromEntries(WEBHOOK_FAULT_KINDS.map((k) => [k, faultCounts[k] ?? 0])),
        bookingEvents,
      },
      requestLogTruncated: (requests[0]?.seq ?? 1) !== 1,
      lastToClose: lastThree.map((r) => `${r.spec.workflowId} ${r.outcome} ${since(r.closedAt)}`),
      duplicatesNote: DUPLICATES_NOTE,
      wallTimeSeconds: (Date.now() - t0) / 1000,
      passed: all.length - failedRuns.size,
      failed: failedRuns.size,
    };
    writeFileSync(join(artifacts, `${ARTIFACTS}.json`), JSON.stringify(report, null, 2) + '\n');
    /** A run's history in short (post-mortem.ts), or why it could not be read. */
    const historyOf = (workflowId: string) =>
      call((hf) => timeline(hf.client, converter, workflowId, t0), 30_000).catch((err: unknown) => [
        `(history not read: ${String(err)})`,
      ]);
    // For each failing run (the first 30): its result, its history in short, and what the sandbox holds.
    const postMortem = [];
    for (const workflowId of [...failedRuns].slice(0, 30)) {
      const rec = records.get(workflowId)!;
      const pid = rec.spec.patientId;
      postMortem.push({
        workflowId,
        kind: rec.spec.kind,
        awaitBooking: rec.spec.awaitBooking,
        plan: rec.spec.awaitBooking ? rec.spec.booking : undefined,
        outcome: rec.outcome,
        result: rec.result,
        history: await historyOf(workflowId),
        sandbox: {
          links: sandbox
            .bookingLinks()
            .filter((l) => l.patientId === pid)
            .map((l) => ({ id: l.id, at: since(l.createdAt) })),
          messages: sandbox
            .messages()
            .filter((m) => m.patientId === pid)
            .map((m) => ({ id: m.id, kind: kindOfText(m.text), link: m.shortLinkId, at: since(m.createdAt) })),
          appointments: sandbox
            .appointments()
            .filter((a) => a.patientId === pid)
            .map((a) => ({ ...a, bookingConfirmedAt: since(a.bookingConfirmedAt), cancelledAt: since(a.cancelledAt) })),
        },
      });
    }
    // The last runs to close, their histories in short.
    const lastClosers = [];
    for (const r of lastThree) {
      lastClosers.push({
        workflowId: r.spec.workflowId,
        kind: r.spec.kind,
        awaitBooking: r.spec.awaitBooking,
        outcome: r.outcome,
        closedAt: since(r.closedAt),
        history: await historyOf(r.spec.workflowId),
      });
    }
    writeFileSync(
      join(artifacts, `${ARTIFACTS}-failures.json`),
      JSON.stringify({ seed: SEED, runs: postMortem, lastToClose: lastClosers }, null, 2) + '\n',
    );
    process.stdout.write(`\n${formatTable(report)}\n`);
    printFindings(report);
    process.stdout.write(
      `Written to ${join('test-artifacts', `${ARTIFACTS}.json`)}` +
        (failedRuns.size
          ? ` and ${join('test-artifacts', `${ARTIFACTS}-failures.json`)} (failing runs' histories)`
          : '') +
        '\n',
    );
    const problems = [...chaosShortfall.map((s) => `chaos short of plan: ${s}`), ...report.globalFailures];
    process.stdout.write(
      `${report.passed} passed, ${report.failed} failed${problems.length ? `; ${problems.join('; ')}` : ''}\n`,
    );
    return report.failed === 0 && problems.length === 0 ? 0 : 1;
  } finally {
    done = true;
    allClosed = true;
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await receiver?.stop();
    await worker?.stop();
    await proxy?.close();
    await server.stop();
    await sandbox.close();
    workerLog.end();
    serverLog.end();
    webhooksLog.end();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One line per finding, after the table: what failed, and where to look. */
function printFindings(r: ReliabilityReport): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const l of r.lostRuns) out(`LOST ${l.workflowId} (${l.kind}): expected ${l.expected}, got ${l.got}`);
  for (const f of r.failures) out(`FAILED ${f.workflowId}: ${f.failureType}: ${f.message}`);
  for (const v of r.reviews.list) {
    out(
      `REVIEW ${v.workflowId} ${v.kind} opened ${v.openedAt} (Hero ${v.heroActed === undefined ? '?' : v.heroActed ? 'had' : 'had not'} ` +
        `acted; ${v.explanation}): ${v.action} -> ${v.state}`,
    );
  }
  for (const v of r.reviews.needless)
    out(`NEEDLESS_REVIEW ${v.workflowId} at ${v.step}: Hero had not acted, the list could tell: ${v.reason}`);
  for (const v of r.reviews.unexplained) {
    out(
      `UNEXPLAINED_REVIEW ${v.workflowId} at ${v.step}: no uncertain send for its patient and no crash or ` +
        `connection fault behind it: ${v.reason}`,
    );
  }
  for (const v of r.reviews.wrongEffects) out(`REVIEW_EFFECT ${v.workflowId} (${v.action}): ${v.problems}`);
  for (const v of r.reviews.unresolved) out(`UNRESOLVED_REVIEW ${v.workflowId} at ${v.step}: ${v.errors}`);
  for (const w of r.reviews.repeatsAccepted) out(`REPEAT_ACCEPTED ${w}: a resolved review took a second decision`);
  for (const b of r.booking.bookedNotRecorded)
    out(`BOOKING_MISSED ${b.workflowId}: ended ${b.got}; sandbox: ${b.sandbox}`);
  for (const b of r.booking.bookedWithoutAppointment)
    out(`BOOKED_WITHOUT_APPOINTMENT ${b.workflowId}: sandbox: ${b.sandbox}`);
  for (const b of r.booking.cancellationUndelivered) {
    out(
      `CANCELLATION_UNDELIVERED ${b.workflowId}: ended booked, no cancellation webhook arrived (not failed): ${b.sandbox}`,
    );
  }
  for (const b of r.booking.wrongAppointment)
    out(`WRONG_APPOINTMENT ${b.workflowId}: run ${b.run}, sandbox ${b.sandbox}`);
  for (const m of r.reminders.toBookedPatients) {
    out(
      `REMINDER_TO_BOOKED ${m.workflowId}: ${m.reminder} at ${m.sentAt}; ${m.booking}; link reads between: ` +
        `${m.linkReadsBetween}; sends: ${m.sends}; review: ${m.review}`,
    );
  }
  for (const m of r.reminders.countMismatch)
    out(`REMINDER_COUNT ${m.workflowId}: run says ${m.run}, sandbox holds ${m.sandbox}`);
  for (const c of r.runsWithoutMessage)
    out(`NO_MESSAGE ${c.workflowId}: ${c.kind} ${c.messageId} not in the sandbox for its patient`);
  for (const d of r.duplicates)
    out(`DUPLICATE ${d.workflowId}: ${d.kinds} (${d.links} links); ${d.requests.join(' ')}`);
  for (const s of r.chaosShortfall) out(`CHAOS_SHORTFALL ${s}: the suite did not test what it says`);
  for (const g of r.globalFailures) out(`FAILURE ${g}`);
  for (const s of r.booking.sandboxRefused) out(`SANDBOX_REFUSED ${s}`);
  if (r.requestLogTruncated) out("NOTE the sandbox's request log dropped its oldest entries: review checks saw less");
  if (r.duplicateMessages) out(`Duplicates fail the run: ${r.duplicatesNote}`);
}

runScript('reliability', main);
