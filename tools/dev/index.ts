import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import {
  type CodecServer,
  generateKeySpec,
  heroDataConverter,
  type KeyRing,
  parseKeyRing,
  startCodecServer,
} from '../../src/codec';
import { HERO_FLOW_STATE } from '../../src/shared/search-attributes';
import { OUTREACH_WORKFLOW_TYPE } from '../../src/workflows/definitions';
import { HeroFlowClient } from '../../src/client';
import type { CampaignStatus } from '../../src/client/campaign/client';
import { CAMPAIGN_WORKFLOW_TYPE, campaignOfWorkflowId } from '../../src/shared/campaign-ids';
import { HeroClient } from '../../src/hero/client';
import { HERO_STAGING_URL } from '../../src/hero/config';
import { registerWebhooks, startWebhookReceiver, type WebhookReceiver } from '../../src/webhooks';
import { KEEP_TAIL, portFree, type Proc } from '../processes';
import { cacheDir, devServerTuningArgs, projectRoot, resolveTemporalCli } from '../provision';
import { DEFAULT_PATIENTS, type Sandbox, startSandbox } from '../sandbox';
import { startTetheredDevServer, startTetheredWorker, stopTethered } from './tethered';

/**
 * `npm run dev`: a Temporal dev server (Web UI, SQLite state), the Hero sandbox (or Hero staging
 * when HERO_API_KEY is set) and a worker, in one terminal. Ctrl-C stops them all.
 */
const devEnvSchema = z.object({
  HERO_DEV_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  HERO_DEV_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  HERO_DEV_SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
  HERO_DEV_DB_FILE: z.string().min(1).default(join(cacheDir(), 'dev.sqlite')),
  HERO_DEV_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  HERO_DEV_WEBHOOK_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
});

const DEV_KEYS_FILE = join(cacheDir(), 'dev-codec-keys');

/** The sandbox's second practice group in dev (the first is the sandbox's default). */
const DEV_SECOND_GROUP = '2';

/** HERO_CODEC_KEYS if set; else a local key ring kept (git-ignored) in .temporal/dev-codec-keys. */
function devKeyRing(): { spec: string; fromFile: boolean } {
  if (process.env.HERO_CODEC_KEYS) return { spec: process.env.HERO_CODEC_KEYS, fromFile: false };
  if (!existsSync(DEV_KEYS_FILE)) {
    mkdirSync(dirname(DEV_KEYS_FILE), { recursive: true });
    writeFileSync(DEV_KEYS_FILE, generateKeySpec() + '\n', { mode: 0o600 });
    say(`created a local encryption key in ${relative(projectRoot(), DEV_KEYS_FILE)}`);
  }
  return { spec: readFileSync(DEV_KEYS_FILE, 'utf8').trim(), fromFile: true };
}

const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);

/**
 * A fresh ID for the printed start command, so pasting it again (another day, same SQLite state)
 * starts a new run. Letters only: never a run of digits that could read as an NHS number or a date
 * (src/client/workflow-id.ts refuses those).
 */
function demoWorkflowId(): string {
  const letters = 'abcdefghjkmnpqrstuvwxyz';
  return 'demo-' + Array.from({ length: 6 }, () => letters[randomInt(letters.length)]).join('');
}

/** How a run's end reads, by its final HeroFlowState. */
const ENDINGS: Record<string, string> = {
  completed: 'completed: booking link sent',
  patient_not_found: 'ended: patient not found (NHS PDS has no such patient)',
  verification_expired: 'ended: verification expired (the patient did not verify in time)',
  needs_review: 'ended: needs review (Hero may have acted; check in Hero before retrying)',
  cancelled: 'ended: cancelled',
  booked: 'ended: booked (the patient booked within the window)',
  not_booked: 'ended: not booked (the booking window closed)',
  abandoned: 'ended: abandoned by an operator in review',
  needs_review_expired: 'ended: the review was not resolved before its deadline',
};

/**
 * One line per run event in the dev terminal: started, awaiting verification, and how it ended,
 * each with the run's UI link. It polls Temporal's visibility list once a second (state from the
 * HeroFlowState search attribute, which holds no patient data) and prints what changed. The verify
 * link comes from the run's status query; it is printed only when the Hero API is the sandbox,
 * whose links are synthetic.
 */
async function narrateRuns(opts: {
  address: string;
  ring: KeyRing;
  uiPort: number;
  printVerifyLinks: boolean;
  /** The booking link's URL, when Hero is the sandbox (its links are synthetic). */
  linkUrl: (bookingLinkId: string | undefined) => string | undefined;
  stopping: () => boolean;
}): Promise<void> {
  const connection = await Connection.connect({ address: opts.address });
  const client = new Client({ connection, dataConverter: heroDataConverter(opts.ring) });
  const since = new Date(Date.now() - 1000);
  const seen = new Map<string, string>();
  // A waiting run passes through `tracing` at each re-check; its link is announced once, not each time.
  const announcedWaiting = new Set<string>();
  const ui = (id: string) => `http://localhost:${opts.uiPort}/namespaces/default/workflows/${encodeURIComponent(id)}`;
  // A campaign's runs are narrated as the campaign's progress (narrateCampaigns), not one line each.
  const query = `WorkflowType="${OUTREACH_WORKFLOW_TYPE}" AND HeroCampaignId IS NULL AND (ExecutionStatus="Running" OR CloseTime > "${since.toISOString()}")`;
  let reportedError = false;

  const describe = async (run: WorkflowExecutionInfo, state: string | undefined): Promise<string | undefined> => {
    if (run.status.name === 'RUNNING' && state === 'awaiting_booking') {
      const status = (await client.workflow.getHandle(run.workflowId, run.runId).query('status')) as {
        bookingLinkId?: string;
        messages?: unknown[];
      };
      const url = opts.linkUrl(status.bookingLinkId);
      const sent = (status.messages?.length ?? 1) - 1;
      return `awaiting booking${sent ? ` (${sent} reminder${sent > 1 ? 's' : ''} sent)` : ''}${url ? `: the patient books at ${url}` : ''}`;
    }
    if (run.status.name === 'RUNNING' && state === 'booked')
      return 'booked: following the appointment until the window closes';
    if (run.status.name === 'RUNNING' && state === 'needs_review') {
      return `needs review: Hero cannot tell whether the message went out; \`npx hero-flow review resolve ${run.workflowId} --action resend|mark_sent|abandon\``;
    }
    if (run.status.name === 'RUNNING') {
      if (state !== 'awaiting_verification' || announcedWaiting.has(run.runId)) return undefined;
      announcedWaiting.add(run.runId);
      if (!opts.printVerifyLinks) {
        return `awaiting verification (the verify link: npx hero-flow status ${run.workflowId})`;
      }
      const status = (await client.workflow.getHandle(run.workflowId, run.runId).query('status')) as {
        loginUrl?: string;
      };
      return `awaiting verification: the patient verifies at ${status.loginUrl ?? '(no link yet)'}; the run re-checks on its timer, or \`npx hero-flow verify ${run.workflowId}\` tells it now`;
    }
    if (run.status.name === 'COMPLETED') return ENDINGS[state ?? ''] ?? `completed (${state ?? 'no state'})`;
    return `failed: ${run.status.name.toLowerCase().replace(/_/g, ' ')}${state ? ` in state ${state}` : ''}`;
  };

  const poll = async () => {
    for await (const run of client.workflow.list({ query })) {
      const state = run.typedSearchAttributes.get(HERO_FLOW_STATE);
      const key = `${run.status.name}:${state ?? ''}`;
      const before = seen.get(run.runId);
      if (before === key) continue;
      seen.set(run.runId, key);
      // A run that was already going when dev started is narrated from its next change on.
      if (before === undefined && run.startTime < since) continue;
      if (before === undefined) say(`run ${run.workflowId} started · ${ui(run.workflowId)}`);
      const line = await describe(run, state);
      if (line) say(`run ${run.workflowId} ${line} · ${ui(run.workflowId)}`);
    }
  };

  while (!opts.stopping()) {
    try {
      await poll();
      reportedError = false;
    } catch (err) {
      if (!reportedError && !opts.stopping()) say(`run narration paused: ${(err as Error).message}`);
      reportedError = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000).unref());
  }
}

/** A campaign's progress in one line, without the parts that change every second. */
export function campaignProgressLine(s: CampaignStatus): string {
  const outcomes = Object.entries(s.byOutcome)
    .filter(([, n]) => (n as number) > 0)
    .map(([outcome, n]) => `${outcome} ${n}`)
    .join(', ');
  const hours = s.sendingNow ? 'sending now' : `sending hours open ${s.nextSendingWindow}`;
  const control = s.cancelled
    ? ' · cancelled'
    : s.paused
      ? ` · paused (${s.paused.by}${s.paused.reason ? `: ${s.paused.reason}` : ''})`
      : '';
  return (
    `${s.total} records · ${s.started} started · ${s.finished} finished${outcomes ? ` (${outcomes})` : ''}` +
    ` · ${hours}${control}`
  );
}

/**
 * One line per change of a campaign's progress (`hero-flow campaign status`), with the campaign's UI
 * link, polled every 2 s. Counts hold no patient data.
 */
async function narrateCampaigns(opts: { heroFlow: HeroFlowClient; uiPort: number; stopping: () => boolean }) {
  const campaigns = opts.heroFlow.campaigns();
  const since = new Date(Date.now() - 1000);
  const last = new Map<string, string>();
  const ui = (id: string) => `http://localhost:${opts.uiPort}/namespaces/default/workflows/${encodeURIComponent(id)}`;
  const query = `WorkflowType="${CAMPAIGN_WORKFLOW_TYPE}" AND (ExecutionStatus="Running" OR CloseTime > "${since.toISOString()}")`;
  let reportedError = false;
  while (!opts.stopping()) {
    try {
      for await (const wf of opts.heroFlow.client.workflow.list({ query })) {
        const id = campaignOfWorkflowId(wf.workflowId);
        if (!id) continue;
        const line = campaignProgressLine(await campaigns.status(id));
        if (last.get(id) === line) continue;
        if (!last.has(id)) say(`campaign ${id} handed over · ${ui(wf.workflowId)}`);
        last.set(id, line);
        say(`campaign ${id}: ${line}`);
      }
      reportedError = false;
    } catch (err) {
      if (!reportedError && !opts.stopping()) say(`campaign narration paused: ${(err as Error).message}`);
      reportedError = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000).unref());
  }
}

type DevSettings = z.infer<typeof devEnvSchema>;

/** How long the worker and then the server have to stop on SIGTERM before a SIGKILL: 4.5 s in all. */
const WORKER_GRACE_MS = 3_000;
const SERVER_GRACE_MS = 1_500;

/** The parent pid of `pid` from /proc, or undefined once it has gone (or off Linux, for others). */
function parentOf(pid: number): number | undefined {
  if (pid === process.pid) return process.ppid;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** This process and its launchers (tsx, sh, npm) with their parents, up to the first that is none. */
function launcherChain(): { pid: number; ppid: number }[] {
  const chain = [{ pid: process.pid, ppid: process.ppid }];
  for (let pid = process.ppid; pid > 1;) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      break;
    }
    const ppid = parentOf(pid);
    if (ppid === undefined || !/\btsx\b|\bnpm\b|npm-cli|^(\/bin\/)?sh -c/.test(cmd)) break;
    chain.push({ pid, ppid });
    pid = ppid;
  }
  return chain;
}

/**
 * Checks every port before anything starts, so a busy one names its service and the variable that
 * moves it instead of failing half-way with a bare EADDRINUSE. A busy Temporal port is used as the
 * dev server only with HERO_DEV_REUSE_SERVER=1: anything else may be listening there. Exits 1 on a
 * busy port; returns whether to use the server already listening on the Temporal port.
 */
async function checkPorts(settings: DevSettings): Promise<boolean> {
  const reuse = process.env.HERO_DEV_REUSE_SERVER === '1';
  const temporalBusy = !(await portFree(settings.HERO_DEV_TEMPORAL_PORT));
  const reuseServer = reuse && temporalBusy;
  const ports = [
    { port: settings.HERO_DEV_TEMPORAL_PORT, service: 'Temporal server', variable: 'HERO_DEV_TEMPORAL_PORT' },
    // A reused server brings its own UI, so its UI port is expected to be busy.
    ...(reuseServer ? [] : [{ port: settings.HERO_DEV_UI_PORT, service: 'Temporal UI', variable: 'HERO_DEV_UI_PORT' }]),
    // With HERO_API_KEY no sandbox starts; port 0 means any free port.
    ...(process.env.HERO_API_KEY
      ? []
      : [{ port: settings.HERO_DEV_SANDBOX_PORT, service: 'Hero sandbox', variable: 'HERO_DEV_SANDBOX_PORT' }]),
    { port: settings.HERO_DEV_CODEC_PORT, service: 'codec server', variable: 'HERO_DEV_CODEC_PORT' },
    { port: settings.HERO_DEV_WEBHOOK_PORT, service: 'webhook receiver', variable: 'HERO_DEV_WEBHOOK_PORT' },
  ].filter((p) => p.port !== 0);
  const refusals: string[] = [];
  for (const { port, service, variable } of ports) {
    if (variable === 'HERO_DEV_TEMPORAL_PORT') {
      if (temporalBusy && !reuse) {
        refusals.push(
          `port ${port} (${service}, ${variable}) is in use: stop what uses it, set ${variable}, ` +
            'or set HERO_DEV_REUSE_SERVER=1 to use the Temporal server listening there',
        );
      }
    } else if (!(await portFree(port))) {
      refusals.push(`port ${port} (${service}, ${variable}) is in use: stop what uses it or set ${variable}`);
    }
  }
  if (refusals.length) {
    for (const line of refusals) process.stderr.write(`[dev] ${line}\n`);
    process.stderr.write('[dev] started nothing\n');
    process.exit(1);
  }
  return reuseServer;
}

async function main(): Promise<void> {
  const settings = devEnvSchema.parse(process.env);
  const reuseServer = await checkPorts(settings);
  const address = `127.0.0.1:${settings.HERO_DEV_TEMPORAL_PORT}`;
  let server: Proc | undefined;
  let worker: Proc | undefined;
  let sandbox: Sandbox | undefined;
  let codec: CodecServer | undefined;
  let receiver: WebhookReceiver | undefined;
  let heroFlow: HeroFlowClient | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping: worker, then sandbox, then Temporal server');
    // Bounded so every port is free within 5 s of a stop (an IDE's stop button, a closed terminal):
    // the worker gets WORKER_GRACE_MS to finish in-flight activities (Temporal retries any cut short),
    // then the rest stop together, the server SIGKILLed by its tether if it lingers past SERVER_GRACE_MS.
    await Promise.all([stopTethered(worker), receiver?.close()]);
    await Promise.all([sandbox?.close(), codec?.close(), heroFlow?.close(), stopTethered(server)]);
    say('stopped');
    process.exit(code);
  };
  /** A child's exit nobody asked for stops everything else too. */
  const shutdownOnExit = (proc: Proc, why: (code: number | null) => string) =>
    void proc.exited.then((code) => {
      if (stopping) return;
      say(why(code));
      void shutdown(1);
    });
  // SIGTERM: npm forwards it (an IDE's stop button); SIGHUP: the terminal closed. Either stops it all.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));
  // Whatever ends this process, no child outlives it holding a port: the server and the worker run
  // under tools/dev/tether.js, which stops them once this process's end of its stdin pipe closes, as
  // it does on any exit, a crash or a SIGKILL included.
  // npm does not reliably relay signals down `npm -> sh -> tsx -> this process` (npm can exit on
  // SIGTERM leaving tsx orphaned), and tsx relays only SIGINT and SIGTERM. So watch the launchers
  // themselves: once any of them dies or is re-parented, stop too, rather than run on orphaned.
  const launchers = launcherChain();
  setInterval(() => {
    if (launchers.some(({ pid, ppid }) => parentOf(pid) !== ppid)) void shutdown(0);
  }, 250).unref();

  try {
    const keys = devKeyRing();
    const ring = parseKeyRing(keys.spec);
    codec = await startCodecServer({
      ring,
      host: '127.0.0.1',
      port: settings.HERO_DEV_CODEC_PORT,
      allowedOrigins: [
        `http://localhost:${settings.HERO_DEV_UI_PORT}`,
        `http://127.0.0.1:${settings.HERO_DEV_UI_PORT}`,
      ],
    });
    const codecEndpoint = codec.url.replace('127.0.0.1', 'localhost');

    if (reuseServer) {
      say(`HERO_DEV_REUSE_SERVER=1: using the Temporal server already listening on ${address}`);
    } else {
      const cli = await resolveTemporalCli();
      mkdirSync(dirname(settings.HERO_DEV_DB_FILE), { recursive: true });
      server = startTetheredDevServer({
        cli,
        port: settings.HERO_DEV_TEMPORAL_PORT,
        uiPort: settings.HERO_DEV_UI_PORT,
        dbFile: settings.HERO_DEV_DB_FILE,
        // The UI asks our codec server to decrypt payloads, so operators see them decoded.
        extraArgs: [...devServerTuningArgs(), '--ui-codec-endpoint', codecEndpoint],
        graceMs: SERVER_GRACE_MS,
        // Its banner (stdout) is only its readiness signal; its errors (stderr) reach the terminal.
        echo: { stderr: process.stderr },
        keep: KEEP_TAIL,
        cwd: process.cwd(),
      });
      shutdownOnExit(server, (code) => `the Temporal dev server exited unexpectedly (code ${code})`);
      await server.ready;
      say(`Temporal dev server on ${address}, state in ${relative(projectRoot(), settings.HERO_DEV_DB_FILE)}`);
    }

    const workerEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, HERO_CODEC_KEYS: keys.spec };
    if (process.env.HERO_API_KEY) {
      say(`Hero API: ${process.env.HERO_API_BASE_URL || HERO_STAGING_URL} (HERO_API_KEY is set)`);
    } else {
      // A second practice group with its own key, as a primary care network has: a campaign or request
      // with practiceGroupId "2" calls Hero for it (the sandbox answers 403 to a key of the other group).
      sandbox = await startSandbox({
        port: settings.HERO_DEV_SANDBOX_PORT,
        practiceGroups: { [DEV_SECOND_GROUP]: randomBytes(12).toString('base64url') },
      });
      const groups = Object.keys(sandbox.practiceGroups);
      Object.assign(workerEnv, {
        HERO_API_KEY: sandbox.apiKey,
        HERO_PRACTICE_GROUP_ID: sandbox.practiceGroupId,
        HERO_PRACTICE_GROUP_IDS: groups.join(','),
        [`HERO_API_KEY_${DEV_SECOND_GROUP}`]: sandbox.practiceGroups[DEV_SECOND_GROUP],
        HERO_API_BASE_URL: sandbox.url,
      });
      say(
        `Hero API: sandbox at ${sandbox.url}, practice groups ${groups.join(' and ')} with a key each ` +
          '(set HERO_API_KEY to use Hero staging instead)',
      );
      for (const p of DEFAULT_PATIENTS) {
        say(
          `  synthetic patient ${p.nhsNumber} born ${p.dob}${p.needsVerification && !p.verified ? ' (must verify identity)' : ''}`,
        );
      }
    }

    worker = startTetheredWorker({
      env: workerEnv,
      graceMs: WORKER_GRACE_MS,
      echo: { stdout: process.stdout, stderr: process.stderr },
      keep: KEEP_TAIL,
      cwd: process.cwd(),
    });
    shutdownOnExit(
      worker,
      (code) => `the worker exited (code ${code}); fix the problem above and run npm run dev again`,
    );
    await worker.ready;

    // Hero's appointment webhooks: a receiver, subscribed with the sandbox (Hero staging would need a
    // public URL, so there it only prints the command).
    const signingKey = process.env.HERO_WEBHOOK_SIGNING_KEY || randomBytes(24).toString('base64url');
    heroFlow = await HeroFlowClient.connect({ ...process.env, TEMPORAL_ADDRESS: address, HERO_CODEC_KEYS: keys.spec });
    receiver = await startWebhookReceiver({
      client: heroFlow,
      signingKey,
      port: settings.HERO_DEV_WEBHOOK_PORT,
      log: (line) => say(`webhooks: ${line}`),
    });
    const webhookUrl = `${receiver.url}/hero/webhooks`;
    if (sandbox) {
      await registerWebhooks({
        hero: new HeroClient({
          apiKey: sandbox.apiKey,
          practiceGroupId: sandbox.practiceGroupId,
          baseUrl: sandbox.url,
          timeoutMs: 5_000,
        }),
        url: webhookUrl,
        signingKey,
      });
      say(`appointment webhooks: receiver at ${webhookUrl}, subscribed with the sandbox`);
    } else {
      say(
        `appointment webhooks: receiver at ${webhookUrl}; Hero must reach it from the internet: ` +
          'npx hero-flow webhooks register --url <public URL>/hero/webhooks',
      );
    }

    say('ready.');
    say(
      `Temporal UI: http://localhost:${settings.HERO_DEV_UI_PORT} (payloads decoded by the codec server at ${codecEndpoint})`,
    );
    say(
      `Payloads are encrypted with key "${ring.encryptWith.id}"; rotate by prepending a new key from \`npx hero-flow keys generate\`.`,
    );
    say('In another terminal:');
    // The CLI finds .temporal/dev-codec-keys by itself for the dev server (src/cli/dev-keys.ts), which
    // it recognises on 7233 or on HERO_DEV_TEMPORAL_PORT; its run links use HERO_DEV_UI_PORT. A moved
    // port is printed with the command, so that the pasted line reaches this dev server and its UI.
    const moved = [
      ...(settings.HERO_DEV_TEMPORAL_PORT === 7233
        ? []
        : [`HERO_DEV_TEMPORAL_PORT=${settings.HERO_DEV_TEMPORAL_PORT}`, `TEMPORAL_ADDRESS=${address}`]),
      ...(settings.HERO_DEV_UI_PORT === 8233 ? [] : [`HERO_DEV_UI_PORT=${settings.HERO_DEV_UI_PORT}`]),
    ];
    const prefix = moved.map((v) => `${v} `).join('');
    say(`  ${prefix}npx hero-flow start --input examples/request.json --workflow-id ${demoWorkflowId()} --wait`);
    say(
      `  ${prefix}npx hero-flow campaign start --input examples/campaign.jsonl --template examples/campaign-template.json ` +
        `--campaign-id ${demoWorkflowId().replace('demo-', 'list-')} --send-days mon-sun --send-between 00:00-24:00`,
    );
    say('Each run is narrated here as it goes, and each campaign as one line of progress per change.');
    say('More examples, one per sandbox scenario: examples/README.md');
    say('Ctrl-C stops everything.');
    void narrateRuns({
      address,
      ring,
      uiPort: settings.HERO_DEV_UI_PORT,
      printVerifyLinks: sandbox !== undefined,
      linkUrl: (id) => (id === undefined ? undefined : sandbox?.bookingLinks().find((l) => l.id === id)?.url),
      stopping: () => stopping,
    }).catch((err: Error) => {
      if (!stopping) say(`run narration stopped: ${err.message}`);
    });
    void narrateCampaigns({ heroFlow, uiPort: settings.HERO_DEV_UI_PORT, stopping: () => stopping }).catch(
      (err: Error) => {
        if (!stopping) say(`campaign narration stopped: ${err.message}`);
      },
    );
  } catch (err) {
    // Once stopping (Ctrl-C, or a child's exit already reported above), a wait cut short is no news.
    if (!stopping) say(`failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

void main();
