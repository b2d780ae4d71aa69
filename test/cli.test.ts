import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { HeroFlowClient } from '../src/client';
import { formatBytes, MAX_JSON_ARRAY_BATCH_BYTES, MAX_REQUEST_TEXT_BYTES } from '../src/client/batch';
import { DEFAULT_START_CONCURRENCY } from '../src/client/limit';
import { type CodecServer, EncryptionCodec, generateKeySpec, parseKeyRing, startCodecServer } from '../src/codec';
import { statusQuery } from '../src/workflows/definitions';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { freePort, Proc, ROOT, type RunResult } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { runSuiteWorker, type SuiteWorker } from './support/workers';

const BIN = join(ROOT, 'bin', 'hero-flow.js');

/** The CLI as a user runs it (bin/hero-flow.js), from `cwd`, to its end; also how long it took. */
async function hf(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; nodeArgs?: string[]; killAfterMs?: number } = {},
): Promise<RunResult & { ms: number }> {
  const began = Date.now();
  const proc = Proc.start(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], env, {
    cwd: opts.cwd ?? ROOT,
    input: '',
  });
  // A help that started a worker or a server would never end by itself.
  const killer = opts.killAfterMs ? setTimeout(() => proc.child.kill('SIGKILL'), opts.killAfterMs) : undefined;
  const code = await proc.closed;
  clearTimeout(killer);
  if (proc.spawnError) throw proc.spawnError;
  return { code, stdout: proc.stdout, stderr: proc.stderr, ms: Date.now() - began };
}

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** True when nothing listens on the loopback `port`: it can be bound. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('hero-flow CLI: --help for every command, with no Temporal reachable', () => {
  /** Where TEMPORAL_ADDRESS points: a bare TCP listener, not Temporal, that counts who connects. */
  let bait: Server;
  let connections = 0;
  let env: NodeJS.ProcessEnv;
  let codecPort: number;
  let metricsPort: number;
  let webhookPort: number;

  before(async () => {
    bait = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
    [codecPort, metricsPort, webhookPort] = [await freePort(), await freePort(), await freePort()];
    // Everything a worker and a codec server need to start for real: only --help stops them.
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${(bait.address() as { port: number }).port}`,
      HERO_CODEC_KEYS: generateKeySpec('help'),
      HERO_API_KEY: 'help-test-key',
      HERO_PRACTICE_GROUP_ID: 'help-test-group',
      HERO_CODEC_PORT: String(codecPort),
      HERO_METRICS_PORT: String(metricsPort),
      HERO_WEBHOOK_SIGNING_KEY: 'help-test-signing-key-0123456789',
      HERO_WEBHOOK_PORT: String(webhookPort),
    };
  });
  after(() => new Promise<void>((resolve) => bait.close(() => resolve())));

  const commands = [
    [],
    ['worker'],
    ['start'],
    ['start-batch'],
    ['status'],
    ['verify'],
    ['result'],
    ['cancel'],
    ['codec-server'],
    ['keys'],
    ['keys', 'generate'],
    ['temporal'],
    ['webhooks'],
    ['webhooks', 'register'],
    ['review'],
    ['review', 'list'],
    ['review', 'resolve'],
  ];

  for (const command of commands) {
    const name = ['hero-flow', ...command].join(' ');
    it(`\`${name} --help\` prints its usage, examples and exit codes, exits 0 and starts nothing`, async () => {
      const run = await hf([...command, '--help'], env, { killAfterMs: 10_000 });
      assert.equal(run.code, 0, `exit ${run.code} after ${run.ms} ms:\n${run.stderr}`);
      assert.ok(run.stdout.startsWith(`Usage: ${name} `), run.stdout.slice(0, 200));
      assert.match(run.stdout, /\nExamples:\n {2}\S/);
      assert.match(run.stdout, /\nExit codes:\n/);
      assert.equal(run.stderr, '');
      assert.ok(run.ms < 5_000, `took ${run.ms} ms`);
      assert.equal(connections, 0, 'something connected to TEMPORAL_ADDRESS');
      assert.ok(await portFree(codecPort), 'the codec server port was bound');
      assert.ok(await portFree(metricsPort), 'the metrics port was bound');
      assert.ok(await portFree(webhookPort), 'the webhook receiver port was bound');
    });
  }

  it('answers `help COMMAND` as `COMMAND --help`', async () => {
    const [viaHelp, viaFlag] = [await hf(['help', 'status'], env), await hf(['status', '--help'], env)];
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  it('loads no Temporal code for help (only the command that runs loads it)', async () => {
    const probe = join(mkdtempSync(join(tmpdir(), 'hero-flow-probe-')), 'probe.js');
    // Says on exit whether any @temporalio module was loaded.
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write(Object.keys(require.cache).some((k) => k.includes('@temporalio')) ? 'TEMPORAL LOADED' : 'no temporal'));",
    );
    try {
      for (const args of [['--help'], ['status', '--help'], ['worker', '--help'], ['--version']]) {
        const run = await hf(args, env, { nodeArgs: ['-r', probe] });
        assert.equal(run.code, 0);
        assert.equal(run.stderr, 'no temporal', `${args.join(' ')} loaded Temporal`);
      }
      // The probe sees it when a command does load it (here failing at once, on a closed port).
      const closed = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
      const status = await hf(['status', 'x'], closed, { nodeArgs: ['-r', probe] });
      assert.match(status.stderr, /Cannot reach Temporal[\s\S]*TEMPORAL LOADED$/);
    } finally {
      rmSync(dirname(probe), { recursive: true, force: true });
    }
  });

  it('documents HERO_TEMPORAL_UI_URL and the request and batch size caps the code enforces', async () => {
    const top = await hf(['--help'], env);
    assert.match(top.stdout, /HERO_TEMPORAL_UI_URL +base of the run links/);
    assert.match(top.stdout, /\.temporal\/dev-codec-keys/);
    const start = await hf(['start', '--help'], env);
    assert.ok(start.stdout.includes(`at most ${formatBytes(MAX_REQUEST_TEXT_BYTES)})`), start.stdout);
    const batch = await hf(['start-batch', '--help'], env);
    assert.ok(batch.stdout.includes(`JSON array of at most ${formatBytes(MAX_JSON_ARRAY_BATCH_BYTES)}`));
    assert.ok(batch.stdout.includes(`(default ${DEFAULT_START_CONCURRENCY})`));
    const temporal = await hf(['temporal', '--help'], env);
    assert.match(temporal.stdout, /--codec-endpoint http:\/\/localhost:\$HERO_DEV_CODEC_PORT \(default 8888/);
  });

  it("prints package.json's version for --version", async () => {
    const { version } = json(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const run = await hf([flag], env);
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `${String(version)}\n`);
    }
  });

  it('exits 2 with the usage on stderr for an unknown command, an unknown option, a missing argument, or none', async () => {
    for (const [args, message, usage] of [
      [['sned'], /^hero-flow: unknown command 'sned'/, 'Usage: hero-flow <command> [options]'],
      [['start', '--inptu', 'x.json'], /^hero-flow: unknown option '--inptu'/, 'Usage: hero-flow start --input FILE'],
      [['status'], /^hero-flow: missing required argument 'workflow-id'/, 'Usage: hero-flow status <workflow-id>'],
      [['cancel', 'a', 'b'], /^hero-flow: too many arguments for 'cancel'/, 'Usage: hero-flow cancel <workflow-id>'],
      [['start'], /^hero-flow: start needs --input FILE/, 'Usage: hero-flow start --input FILE'],
      [['keys', 'make'], /^hero-flow: unknown command 'make'/, 'Usage: hero-flow keys generate'],
      [['review', 'lst'], /^hero-flow: unknown command 'lst'/, 'Usage: hero-flow review list | resolve'],
      [
        ['webhooks', 'regster'],
        /^hero-flow: unknown command 'regster'\n\(Did you mean register\?\)/,
        'Usage: hero-flow webhooks [--insecure-no-encryption] | register --url URL',
      ],
      [
        ['webhooks', 'register'],
        /^hero-flow: webhooks register needs --url URL/,
        'Usage: hero-flow webhooks register --url URL',
      ],
      [[], /^Usage: hero-flow <command> \[options\]/, 'Commands:'],
    ] as const) {
      const run = await hf([...args], env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '', 'nothing on stdout');
      assert.match(run.stderr, message);
      assert.ok(run.stderr.includes(usage), run.stderr);
    }
    assert.equal(connections, 0);
  });

  it('`worker` without its optional peers names the packages and the npm install command, exit 2', async () => {
    // As in a service that installed only hero-flow: the optional peers cannot be resolved.
    const dir = mkdtempSync(join(tmpdir(), 'hero-flow-peers-'));
    const hide = join(dir, 'hide-peers.js');
    writeFileSync(
      hide,
      [
        "const Module = require('node:module');",
        'const resolve = Module._resolveFilename;',
        'Module._resolveFilename = function (request, ...rest) {',
        '  if (/^@temporalio\\/(worker|activity)(\\/|$)/.test(request)) {',
        "    throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });",
        '  }',
        '  return resolve.call(this, request, ...rest);',
        '};',
      ].join('\n'),
    );
    try {
      const run = await hf(['worker'], env, { nodeArgs: ['-r', hide], killAfterMs: 30_000 });
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /^hero-flow: the worker needs @temporalio\/worker and @temporalio\/activity, not installed/,
      );
      assert.match(
        run.stderr,
        /\n {2}npm install @temporalio\/worker@1\.\d+\.\d+ @temporalio\/activity@1\.\d+\.\d+\n$/,
      );
      assert.doesNotMatch(run.stderr, /Require stack|\n {4}at /);
      assert.equal(connections, 0, 'something connected to TEMPORAL_ADDRESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`temporal` without the Temporal CLI says to run npm run provision, exit 1', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hero-flow-no-cli-'));
    try {
      const { TEMPORAL_CLI_PATH: _c, ...rest } = env;
      const run = await hf(
        ['temporal', 'workflow', 'list'],
        { ...rest, PATH: dirname(process.execPath) },
        { cwd: empty },
      );
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /the Temporal CLI was not found.*npm run provision/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('hero-flow CLI against a Temporal dev server: honest answers, dev keys, the Temporal CLI', () => {
  const keySpec = generateKeySpec('cli-run');
  const ring = parseKeyRing(keySpec);
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-cli-'));
  let stack: TestStack;
  let worker: SuiteWorker;
  let client: HeroFlowClient;
  let env: NodeJS.ProcessEnv;
  let port: string;
  /** A run that completed, and one waiting for the patient to verify. */
  let completedId: string;

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring });
    worker = await runSuiteWorker(stack, ring);
    const { taskQueue } = worker;
    client = new HeroFlowClient(stack.env.client, taskQueue);
    port = stack.env.address.split(':').pop()!;
    const { HERO_WORKFLOW_ID_SECRET: _s, HERO_DEV_TEMPORAL_PORT: _p, HERO_TEMPORAL_UI_URL: _u, ...base } = process.env;
    env = { ...base, TEMPORAL_ADDRESS: stack.env.address, HERO_CODEC_KEYS: keySpec, HERO_TASK_QUEUE: taskQueue };
    const patient = newPatient();
    stack.sandbox.addPatient(patient);
    ({ workflowId: completedId } = await client.start(outreachRequest(patient), { workflowId: uniqueId('cli-done') }));
    assert.equal((await client.result(completedId)).outcome, 'completed');
  });

  after(async () => {
    await worker?.stop();
    await stopTestStack(stack);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Starts a run for a patient who must verify, and waits until it waits. */
  async function waitingRun(): Promise<{ workflowId: string; loginUrl: string }> {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    const { workflowId } = await client.start(outreachRequest(patient), { workflowId: uniqueId('cli-wait') });
    const handle = stack.env.client.workflow.getHandle(workflowId);
    const status = await eventually(
      async () => {
        const s = await handle.query(statusQuery);
        return s.state === 'awaiting_verification' && s;
      },
      20_000,
      'awaiting_verification',
    );
    return { workflowId, loginUrl: status.loginUrl! };
  }

  /** Whether the run's history holds a cancellation request. */
  const cancelRequested = async (workflowId: string) =>
    ((await stack.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).some(
      (e) => e.workflowExecutionCancelRequestedEventAttributes,
    );

  it('`cancel` on a finished run says it finished and with what outcome, touches nothing, exits 1', async () => {
    const run = await hf(['cancel', completedId], env);
    assert.equal(run.code, 1, run.stderr);
    const out = json(run.stdout);
    assert.equal(out.workflowId, completedId);
    assert.equal(out.finished, true);
    assert.equal(out.cancelRequested, false);
    assert.equal(out.status, 'COMPLETED');
    assert.equal(out.outcome, 'completed');
    assert.match(
      run.stderr,
      new RegExp(`^hero-flow: ${completedId} already finished at \\S+: completed: .*there is nothing to cancel\\n$`),
    );
    assert.equal(await cancelRequested(completedId), false);
    await noPatientDataIn(run, completedId);
  });

  /** The run's result (booking link, Hero patient id) is not the answer of a command on a finished run. */
  async function noPatientDataIn(run: RunResult, workflowId: string) {
    assert.equal(json(run.stdout).result, undefined, 'the whole result was printed');
    const result = await client.result(workflowId);
    assert.ok(result.outcome === 'completed');
    for (const value of [result.bookingLink.url, result.patientId]) {
      assert.ok(!run.stdout.includes(value), `stdout holds patient data: ${run.stdout}`);
      assert.ok(!run.stderr.includes(value), `stderr holds patient data: ${run.stderr}`);
    }
  }

  it('`verify` on a finished run says it finished and with what outcome, exits 1', async () => {
    const run = await hf(['verify', completedId], env);
    assert.equal(run.code, 1, run.stderr);
    const out = json(run.stdout);
    assert.deepEqual([out.finished, out.accepted, out.outcome], [true, false, 'completed']);
    assert.match(run.stderr, /already finished at \S+: completed: .*it no longer waits for verification/);
    assert.doesNotMatch(run.stderr, /No hero-flow run/);
    await noPatientDataIn(run, completedId);
    const signalled = await hf(['verify', completedId, '--signal'], env);
    assert.equal(signalled.code, 1, signalled.stderr);
    assert.equal(json(signalled.stdout).outcome, 'completed');
  });

  it('`status`, `verify` and `cancel` of a workflow ID with no run say there is none, exit 1', async () => {
    const none = uniqueId('cli-none');
    for (const command of ['status', 'verify', 'cancel']) {
      const run = await hf([command, none], env);
      assert.equal(run.code, 1, `${command}: ${run.stderr}`);
      assert.match(run.stderr, /No hero-flow run with that workflow ID/);
      assert.equal(run.stdout, '');
    }
  });

  it("`status` prints the run's Temporal UI link (HERO_TEMPORAL_UI_URL, default http://localhost:8233)", async () => {
    const run = await hf(['status', completedId], env);
    assert.equal(run.code, 0, run.stderr);
    const out = json(run.stdout);
    assert.equal(out.state, 'completed');
    assert.equal(out.uiUrl, `http://localhost:8233/namespaces/default/workflows/${completedId}`);
    const custom = await hf(['status', completedId], { ...env, HERO_TEMPORAL_UI_URL: 'https://temporal.example/' });
    assert.equal(json(custom.stdout).uiUrl, `https://temporal.example/namespaces/default/workflows/${completedId}`);
    const pretty = await hf(['status', completedId, '--pretty'], env);
    assert.equal(pretty.code, 0);
    assert.match(pretty.stdout, new RegExp(`^${completedId}: completed \\(completed: the booking link was sent\\)\\n`));
    assert.ok(pretty.stdout.includes(`UI: http://localhost:8233/namespaces/default/workflows/${completedId}\n`));
  });

  it('`verify` on a waiting run prints what the run reports: its state, and what the re-trace found', async () => {
    const { workflowId, loginUrl } = await waitingRun();
    // The patient verifies on the sandbox's page, then the CLI tells the run.
    assert.equal((await fetch(loginUrl, { method: 'POST' })).status, 200);
    const run = await hf(['verify', workflowId], env);
    assert.equal(run.code, 0, run.stderr);
    const out = json(run.stdout);
    // Exactly the update's answer, as the run recorded it in its history, with the workflow ID.
    const events = (await stack.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const completed = events.find(
      (e) => e.workflowExecutionUpdateCompletedEventAttributes,
    )!.workflowExecutionUpdateCompletedEventAttributes!;
    const [payload] = await new EncryptionCodec(ring).decode(completed.outcome!.success!.payloads as Payload[]);
    const answer = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload!);
    assert.equal(out.accepted, true);
    assert.equal(typeof out.state, 'string');
    // Workers that wait for the re-trace say what it found (src/workflows: the confirmVerification update).
    if ('found' in answer) assert.deepEqual([out.retraced, out.found], [true, 'patient']);
    assert.deepEqual(out, { workflowId, ...answer });
    assert.equal((await client.result(workflowId)).outcome, 'completed');
  });

  it('`cancel` on a waiting run requests cancellation, exit 0; the run ends cancelled', async () => {
    const { workflowId } = await waitingRun();
    const run = await hf(['cancel', workflowId], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(json(run.stdout), { workflowId, cancelRequested: true });
    assert.deepEqual(await client.result(workflowId), { outcome: 'cancelled' });
    assert.equal(await cancelRequested(workflowId), true);
  });

  /** A directory where `npm run dev` ran: .temporal/dev-codec-keys holding `spec`. */
  const devDir = (spec: string) => {
    const dir = mkdtempSync(join(tmp, 'dev-'));
    mkdirSync(join(dir, '.temporal'));
    writeFileSync(join(dir, '.temporal', 'dev-codec-keys'), `${spec}\n`);
    return dir;
  };

  it('uses .temporal/dev-codec-keys when HERO_CODEC_KEYS is unset and the target is the dev server, and says so', async () => {
    const dir = devDir(keySpec);
    const { HERO_CODEC_KEYS: _k, ...noKeys } = env;
    const run = await hf(['status', completedId], { ...noKeys, HERO_DEV_TEMPORAL_PORT: port }, { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(json(run.stdout).state, 'completed');
    assert.match(
      run.stderr,
      new RegExp(
        `^hero-flow: HERO_CODEC_KEYS is unset: using the development keys in \\.temporal/dev-codec-keys .*${stack.env.address}\\n$`,
      ),
    );

    // Another server (not 7233, not HERO_DEV_TEMPORAL_PORT): the dev keys are not used, and the error says why.
    const other = await hf(['status', completedId], noKeys, { cwd: dir });
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /HERO_CODEC_KEYS is not set/);
    assert.match(other.stderr, /\.temporal\/dev-codec-keys is here but was not used: .*the target is /);
    assert.equal(other.stdout, '');
  });

  it('a payload under a key the CLI lacks: the error names the key ids it has and where it looked', async () => {
    const dir = devDir(generateKeySpec('k-dev-other'));
    const { HERO_CODEC_KEYS: _k, ...noKeys } = env;
    const fromFile = await hf(['result', completedId], { ...noKeys, HERO_DEV_TEMPORAL_PORT: port }, { cwd: dir });
    assert.equal(fromFile.code, 1, fromFile.stderr);
    assert.match(
      fromFile.stderr,
      new RegExp(
        `encrypted with key id 'cli-run', which this CLI does not have: it has key id 'k-dev-other', from ${dir}/\\.temporal/dev-codec-keys \\(HERO_CODEC_KEYS is unset\\)`,
      ),
    );
    const fromEnv = await hf(['status', completedId], {
      ...env,
      HERO_CODEC_KEYS: `${generateKeySpec('k-a')},${generateKeySpec('k-b')}`,
    });
    assert.equal(fromEnv.code, 1, fromEnv.stderr);
    assert.match(
      fromEnv.stderr,
      /key id 'cli-run', which this CLI does not have: it has key ids 'k-a', 'k-b', from HERO_CODEC_KEYS/,
    );
  });

  it('--insecure-no-encryption reading encrypted history says that it cannot', async () => {
    const { HERO_CODEC_KEYS: _k, ...noKeys } = env;
    const run = await hf(['result', completedId, '--insecure-no-encryption'], noKeys);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /ENCRYPTION DISABLED/);
    assert.match(
      run.stderr,
      /the run's data is encrypted, and --insecure-no-encryption .*reads without keys, so it cannot read it/,
    );
    assert.doesNotMatch(run.stderr, /Unknown encoding/);
  });

  describe('`temporal`: the Temporal CLI with the codec endpoint', () => {
    let codec: CodecServer;
    before(async () => {
      codec = await startCodecServer({ ring, host: '127.0.0.1', port: 0, allowedOrigins: [] });
    });
    after(() => codec?.close());

    it('`temporal workflow show` prints the run decoded through the codec server, and its exit code passes through', async () => {
      const codecPort = new URL(codec.url).port;
      const shown = await hf(['temporal', 'workflow', 'show', '--workflow-id', completedId, '--output', 'json'], {
        ...env,
        HERO_DEV_CODEC_PORT: codecPort,
      });
      assert.equal(shown.code, 0, shown.stderr);
      // The request's message text is in the run's input, encrypted in history: readable only if decoded.
      const { events } = JSON.parse(shown.stdout) as {
        events: { workflowExecutionStartedEventAttributes?: { input: { payloads: { data: string }[] } } }[];
      };
      const input = events.find((e) => e.workflowExecutionStartedEventAttributes)!
        .workflowExecutionStartedEventAttributes!.input.payloads[0]!;
      const request = JSON.parse(Buffer.from(input.data, 'base64').toString('utf8')) as { message: { text: string } };
      assert.equal(request.message.text, 'Book your appointment: {booking_link}');

      const missing = await hf(['temporal', 'workflow', 'describe', '--workflow-id', uniqueId('cli-none')], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /not found/i);
    });
  });
});
