import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { portFree } from '../tools/processes';
import { childPids, processTree, waitAllStopped } from './support/dev-env';
import { freePort, Proc } from './support/processes';

/**
 * `npm run dev` as a user (or an IDE's stop button, or a closed terminal) stops it: whichever of its
 * processes gets the signal, all of them stop and every port it listened on is free within 5 s. And a
 * busy port is refused before anything starts, naming the service and the variable that moves it.
 */
describe('npm run dev: ports and processes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hero-dev-processes-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const PORT_VARS = [
    'HERO_DEV_TEMPORAL_PORT',
    'HERO_DEV_UI_PORT',
    'HERO_DEV_SANDBOX_PORT',
    'HERO_DEV_CODEC_PORT',
    'HERO_DEV_WEBHOOK_PORT',
  ] as const;

  /** Five free ports, and the environment that gives them to npm run dev. */
  const devEnv = async (name: string, extra: NodeJS.ProcessEnv = {}) => {
    const ports = {} as Record<(typeof PORT_VARS)[number], number>;
    for (const v of PORT_VARS) ports[v] = await freePort();
    const { HERO_API_KEY: _k, HERO_DEV_REUSE_SERVER: _r, ...base } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      HERO_DEV_DB_FILE: join(tmp, `${name}.sqlite`),
      HERO_CODEC_KEYS: `dev-processes:${Buffer.alloc(32, 7).toString('base64')}`,
      ...extra,
    };
    return { ports, env };
  };

  const startDev = (env: NodeJS.ProcessEnv) => Proc.start('npm', ['run', 'dev'], env, { name: 'npm run dev' });

  /** Starts npm run dev, waits for "[dev] ready.", and names its processes. */
  const runningDev = async (name: string) => {
    const { ports, env } = await devEnv(name);
    const npm = startDev(env);
    await npm.waitFor('[dev] ready.', 120_000);
    const procs = processTree(npm.pid!);
    // tsx starts the dev script in a child node; its own children are the tethers (tools/dev/tether.js)
    // of the worker and the server.
    const dev = procs.filter((p) => p.cmd.includes('tools/dev/index.ts')).find((p) => childPids(p.pid).length > 1);
    const untethered = procs.filter((p) => !p.cmd.includes('tether.js'));
    const worker = untethered.find((p) => /hero-flow\.js worker/.test(p.cmd));
    const server = untethered.find((p) => /server start-dev/.test(p.cmd));
    assert.ok(dev && worker && server, `dev, worker and server among:\n${procs.map((p) => p.cmd).join('\n')}`);
    return { npm, ports: Object.values(ports), pids: procs.map((p) => p.pid), dev, worker, server };
  };

  it('stops everything, freeing every port within 5 s, on SIGTERM to npm', async (t) => {
    const run = await runningDev('npm-sigterm');
    process.kill(run.npm.pid!, 'SIGTERM');
    await waitAllStopped(t, 'SIGTERM to npm', run.ports, run.pids);
    assert.match(run.npm.output, /\[dev\] stopped/);
  });

  it('stops everything, freeing every port within 5 s, on SIGHUP to the tools/dev process', async (t) => {
    const run = await runningDev('dev-sighup');
    process.kill(run.dev.pid, 'SIGHUP');
    await waitAllStopped(t, 'SIGHUP to tools/dev', run.ports, run.pids);
    assert.match(run.npm.output, /\[dev\] stopped/);
  });

  it('stops everything, freeing every port within 5 s, when the tools/dev process is SIGKILLed', async (t) => {
    const run = await runningDev('dev-sigkill');
    // By pid, every process under dev (the worker, the Temporal server and their tethers) and above it.
    const below = processTree(run.dev.pid).map((p) => p.pid);
    assert.ok(below.includes(run.worker.pid) && below.includes(run.server.pid));
    process.kill(run.dev.pid, 'SIGKILL');
    await waitAllStopped(t, 'SIGKILL to tools/dev', run.ports, run.pids);
    assert.doesNotMatch(run.npm.output, /\[dev\] stopped/, 'a SIGKILLed dev runs no handler of its own');
  });

  it('stops everything, freeing every port within 5 s, when the worker is sent SIGTERM', async (t) => {
    const run = await runningDev('worker-sigterm');
    process.kill(run.worker.pid, 'SIGTERM');
    await waitAllStopped(t, 'SIGTERM to the worker', run.ports, run.pids);
    assert.match(run.npm.output, /the worker exited/);
    assert.notEqual(await run.npm.exited, 0, 'npm run dev exits non-zero when its worker stops on its own');
  });

  /** A listener holding `port`, as another program would. */
  const occupy = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const srv = createServer((socket) => socket.destroy());
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve(srv));
    });
  const close = (srv: Server) => new Promise((r) => srv.close(r));

  it('refuses a busy codec port, naming HERO_DEV_CODEC_PORT, and starts nothing', async () => {
    const { ports, env } = await devEnv('busy-codec');
    const blocker = await occupy(ports.HERO_DEV_CODEC_PORT);
    try {
      const npm = startDev(env);
      assert.equal(await npm.exited, 1, npm.output);
      await npm.closed;
      assert.ok(
        npm.output.includes(
          `port ${ports.HERO_DEV_CODEC_PORT} (codec server, HERO_DEV_CODEC_PORT) is in use: ` +
            'stop what uses it or set HERO_DEV_CODEC_PORT',
        ),
        npm.output,
      );
      assert.doesNotMatch(npm.output, /Temporal dev server on|sandbox at/);
      for (const v of ['HERO_DEV_TEMPORAL_PORT', 'HERO_DEV_UI_PORT', 'HERO_DEV_SANDBOX_PORT'] as const) {
        assert.ok(await portFree(ports[v]), `${v} (${ports[v]}) is free after the refusal`);
      }
    } finally {
      await close(blocker);
    }
  });

  it('refuses a busy Temporal port unless HERO_DEV_REUSE_SERVER=1, naming both variables', async () => {
    const { ports, env } = await devEnv('busy-temporal');
    const blocker = await occupy(ports.HERO_DEV_TEMPORAL_PORT);
    try {
      const npm = startDev(env);
      assert.equal(await npm.exited, 1, npm.output);
      await npm.closed;
      assert.match(
        npm.output,
        new RegExp(`port ${ports.HERO_DEV_TEMPORAL_PORT} \\(Temporal server, HERO_DEV_TEMPORAL_PORT\\) is in use`),
      );
      assert.match(npm.output, /HERO_DEV_REUSE_SERVER=1/);
      for (const v of ['HERO_DEV_UI_PORT', 'HERO_DEV_SANDBOX_PORT', 'HERO_DEV_CODEC_PORT'] as const) {
        assert.ok(await portFree(ports[v]), `${v} (${ports[v]}) is free after the refusal`);
      }
    } finally {
      await close(blocker);
    }
  });
});
