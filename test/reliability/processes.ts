import { type ChildProcess, spawn } from 'node:child_process';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { ROOT } from '../support/processes';

export { freePort, ROOT } from '../support/processes';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Every child this script started, so SIGINT and crashes can still kill them all. */
export const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A Temporal dev server with SQLite persistence that can be stopped and started again on the same file. */
export class TemporalDevServer {
  #child: ChildProcess | undefined;
  readonly address: string;

  constructor(
    private readonly cli: string,
    private readonly port: number,
    private readonly uiPort: number,
    /** SQLite file; `undefined` keeps the database in memory (lost when the server stops). */
    private readonly dbFile: string | undefined,
    private readonly log: WriteStream,
    /** More `start-dev` flags, e.g. `devServerTuningArgs()`. */
    private readonly extraArgs: readonly string[] = [],
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  /** For /proc figures (the benchmark's CPU time per process). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port)];
    args.push('--ui-port', String(this.uiPort), '--log-level', 'error');
    if (this.dbFile) args.push('--db-filename', this.dbFile);
    args.push(...this.extraArgs);
    const child = track(spawn(this.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.#child = child;
    await this.#waitReady(60_000);
  }

  /** SIGTERM (a clean stop), then SIGKILL if it takes over 15 s. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 'SIGTERM', 15_000);
    this.#child = undefined;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const child = this.#child;
      if (!child || child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child?.exitCode})`);
      try {
        const conn = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        try {
          await conn.workflowService.getSystemInfo({});
        } finally {
          await conn.close();
        }
        return;
      } catch {
        await sleep(250);
      }
    }
    throw new Error(`the Temporal dev server did not answer on ${this.address} within ${timeoutMs / 1000} s`);
  }
}

/**
 * `node bin/hero-flow.js worker` as a child process, restarted by `ensureRunning()`. Output goes
 * to a log file; `start()` resolves once the worker says it is polling.
 */
export class WorkerProcess {
  #child: ChildProcess | undefined;
  /** Exits nobody asked for (e.g. the worker gave up while the Temporal server was down). */
  unexpectedExits = 0;
  starts = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
  ) {}

  /** For /proc figures (the benchmark's peak RSS and CPU time). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    this.starts += 1;
    const child = track(
      spawn(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'worker'], {
        cwd: ROOT,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.#child = child;
    let seen = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.log.write(d);
        seen = (seen + d.toString()).slice(-4_000);
        if (seen.includes('worker polling task queue')) resolve();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before polling`)));
      setTimeout(() => reject(new Error(`worker not polling after ${timeoutMs / 1000} s`)), timeoutMs).unref();
    });
    child.once('exit', (code, signal) => {
      if (this.#child === child && signal !== 'SIGKILL' && signal !== 'SIGTERM') {
        this.unexpectedExits += 1;
        this.log.write(`[reliability] worker exited unexpectedly (${code ?? signal})\n`);
      }
    });
    await ready;
  }

  /** The crash under test: SIGKILL, no grace. */
  async kill(): Promise<void> {
    await stopChild(this.#child, 'SIGKILL', 0);
  }

  async stop(): Promise<void> {
    await stopChild(this.#child, 'SIGTERM', 15_000);
  }
}

/**
 * Runs a script's `main` and exits with its code; whatever happens (an error, Ctrl-C, exit),
 * every worker and Temporal server the script started is killed, never left behind.
 */
export function runScript(name: string, main: () => Promise<number>): void {
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  process.once('SIGINT', () => {
    process.stderr.write(`\n[${name}] SIGINT: killing every process this script started\n`);
    killAll();
    process.exit(130);
  });
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`[${name}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      killAll();
      process.exit(1);
    },
  );
}

/** The environment of a hero-flow worker talking to `sandbox` through a Temporal server at `address`. */
export function sandboxWorkerEnv(opts: {
  address: string;
  sandbox: { apiKey: string; practiceGroupId: string; url: string };
  keys: string;
  taskQueue: string;
  extra?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  // The parent's metrics port would clash between worker processes.
  const { HERO_METRICS_PORT: _m, ...base } = process.env;
  return {
    ...base,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_NAMESPACE: 'default',
    HERO_API_KEY: opts.sandbox.apiKey,
    HERO_PRACTICE_GROUP_ID: opts.sandbox.practiceGroupId,
    HERO_API_BASE_URL: opts.sandbox.url,
    HERO_CODEC_KEYS: opts.keys,
    HERO_TASK_QUEUE: opts.taskQueue,
    HERO_LOG_LEVEL: 'INFO',
    ...opts.extra,
  };
}
