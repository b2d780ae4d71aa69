import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { Connection } from '@temporalio/client';
import { z } from 'zod';
import { type CodecServer, generateKeySpec, parseKeyRing, startCodecServer } from '../../src/codec';
import { HERO_STAGING_URL } from '../../src/hero/config';
import { cacheDir, devServerTuningArgs, projectRoot, resolveTemporalCli } from '../provision';
import { DEFAULT_PATIENTS, type Sandbox, startSandbox } from '../sandbox';

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
});

const DEV_KEYS_FILE = join(cacheDir(), 'dev-codec-keys');

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

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitForTemporal(address: string, server: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (server.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${server.exitCode}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within ${timeoutMs / 1000} s`);
}

function stop(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.kill(signal);
  });
}

async function main(): Promise<void> {
  const settings = devEnvSchema.parse(process.env);
  const address = `127.0.0.1:${settings.HERO_DEV_TEMPORAL_PORT}`;
  let server: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let sandbox: Sandbox | undefined;
  let codec: CodecServer | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping: worker, then sandbox, then Temporal server');
    await stop(worker, 'SIGTERM', 15_000);
    await sandbox?.close();
    await codec?.close();
    await stop(server, 'SIGTERM', 10_000);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

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

    if (await portInUse(settings.HERO_DEV_TEMPORAL_PORT)) {
      say(`a server already listens on ${address}; using it (stop it to let npm run dev start its own)`);
    } else {
      const cli = await resolveTemporalCli();
      mkdirSync(dirname(settings.HERO_DEV_DB_FILE), { recursive: true });
      server = spawn(
        cli,
        [
          'server',
          'start-dev',
          '--ip',
          '127.0.0.1',
          '--port',
          String(settings.HERO_DEV_TEMPORAL_PORT),
          '--ui-port',
          String(settings.HERO_DEV_UI_PORT),
          '--db-filename',
          settings.HERO_DEV_DB_FILE,
          ...devServerTuningArgs(),
          '--log-level',
          'error',
          // The UI asks our codec server to decrypt payloads, so operators see them decoded.
          '--ui-codec-endpoint',
          codecEndpoint,
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      server.once('exit', (code) => {
        if (!stopping) {
          say(`the Temporal dev server exited unexpectedly (code ${code})`);
          void shutdown(1);
        }
      });
      await waitForTemporal(address, server);
      say(`Temporal dev server on ${address}, state in ${relative(projectRoot(), settings.HERO_DEV_DB_FILE)}`);
    }

    const workerEnv: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: address, HERO_CODEC_KEYS: keys.spec };
    if (process.env.HERO_API_KEY) {
      say(`Hero API: ${process.env.HERO_API_BASE_URL || HERO_STAGING_URL} (HERO_API_KEY is set)`);
    } else {
      sandbox = await startSandbox({ port: settings.HERO_DEV_SANDBOX_PORT });
      Object.assign(workerEnv, {
        HERO_API_KEY: sandbox.apiKey,
        HERO_PRACTICE_GROUP_ID: sandbox.practiceGroupId,
        HERO_API_BASE_URL: sandbox.url,
      });
      say(`Hero API: sandbox at ${sandbox.url} (set HERO_API_KEY to use Hero staging instead)`);
      for (const p of DEFAULT_PATIENTS) {
        say(
          `  synthetic patient ${p.nhsNumber} born ${p.dob}${p.needsVerification && !p.verified ? ' (must verify identity)' : ''}`,
        );
      }
    }

    worker = spawn(process.execPath, [join(projectRoot(), 'bin', 'hero-flow.js'), 'worker'], {
      env: workerEnv,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    const polling = new Promise<void>((resolve) => {
      worker!.stderr!.on('data', (chunk: Buffer) => {
        process.stderr.write(chunk);
        if (chunk.toString().includes('worker polling task queue')) resolve();
      });
    });
    worker.once('exit', (code) => {
      if (!stopping) {
        say(`the worker exited (code ${code}); fix the problem above and run npm run dev again`);
        void shutdown(1);
      }
    });
    await polling;

    say('ready.');
    say(
      `Temporal UI: http://localhost:${settings.HERO_DEV_UI_PORT} (payloads decoded by the codec server at ${codecEndpoint})`,
    );
    say(
      `Payloads are encrypted with key "${ring.encryptWith.id}"; rotate by prepending a new key from \`npx hero-flow keys generate\`.`,
    );
    say('In another terminal:');
    const prefix =
      (settings.HERO_DEV_TEMPORAL_PORT === 7233 ? '' : `TEMPORAL_ADDRESS=${address} `) +
      (keys.fromFile ? `HERO_CODEC_KEYS="$(cat ${relative(projectRoot(), DEV_KEYS_FILE)})" ` : '');
    say(`  ${prefix}npx hero-flow start --input examples/request.json --workflow-id demo-1 --wait`);
    say('Ctrl-C stops everything.');
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

void main();
