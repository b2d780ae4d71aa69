import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { KEEP_TAIL, killAll, Proc, ROOT, startTemporalDevServer, startWorker } from '../../tools/processes';

export { ROOT };

/** A Temporal dev server with SQLite persistence that can be stopped and started again on the same file. */
export class TemporalDevServer {
  #proc: Proc | undefined;
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
    return this.#proc?.pid;
  }

  async start(): Promise<void> {
    const { cli, port, uiPort, dbFile, extraArgs, log } = this;
    this.#proc = startTemporalDevServer({ cli, port, uiPort, dbFile, extraArgs, echo: log, keep: KEEP_TAIL });
    await this.#proc.ready;
  }

  /** SIGTERM (a clean stop), then SIGKILL if it takes over 15 s. */
  async stop(): Promise<void> {
    await this.#proc?.stop('SIGTERM', 15_000);
    this.#proc = undefined;
  }
}

/**
 * `node bin/hero-flow.js worker` as a child process, restarted by `start()` again. Output goes to a
 * log file; `start()` resolves once the worker says it is polling.
 */
export class WorkerProcess {
  #proc: Proc | undefined;
  /** Exits nobody asked for (e.g. the worker gave up while the Temporal server was down). */
  unexpectedExits = 0;
  starts = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
    /** The package it runs from (a benchmark's variant of the build). @default the project */
    private readonly root?: string,
  ) {}

  /** For /proc figures (the benchmark's peak RSS and CPU time). */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    this.starts += 1;
    const proc = startWorker({ env: this.env, echo: this.log, keep: KEEP_TAIL, timeoutMs, root: this.root });
    this.#proc = proc;
    void proc.exited.then(() => {
      if (this.#proc === proc && !proc.stopRequested) {
        this.unexpectedExits += 1;
        this.log.write(`[reliability] worker exited unexpectedly (${proc.child.exitCode ?? proc.child.signalCode})\n`);
      }
    });
    await proc.ready;
  }

  /** The crash under test: SIGKILL, no grace. */
  async kill(): Promise<void> {
    await this.#proc?.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.#proc?.stop('SIGTERM', 15_000);
  }
}

/** What `hero-flow webhooks` prints once it listens. */
const RECEIVER_READY = 'webhook receiver on ';

/**
 * `node bin/hero-flow.js webhooks` (Hero's appointment webhooks, as an operator runs it) as a child
 * process, restarted by `start()` again. Output goes to a log file (one line per delivery, no payload).
 */
export class WebhookReceiverProcess {
  #proc: Proc | undefined;
  unexpectedExits = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
    /** The package it runs from (a benchmark's variant of the build). @default the project */
    private readonly root?: string,
  ) {}

  get running(): boolean {
    return this.#proc?.running ?? false;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'webhooks'], this.env, {
      name: 'the hero-flow webhook receiver',
      echo: this.log,
      keep: KEEP_TAIL,
      ready: { line: RECEIVER_READY, timeoutMs },
    });
    this.#proc = proc;
    void proc.exited.then(() => {
      if (this.#proc === proc && !proc.stopRequested) {
        this.unexpectedExits += 1;
        this.log.write(
          `[reliability] webhook receiver exited unexpectedly (${proc.child.exitCode ?? proc.child.signalCode})\n`,
        );
      }
    });
    await proc.ready;
  }

  async stop(): Promise<void> {
    await this.#proc?.stop('SIGTERM', 15_000);
  }
}

export interface CliResult {
  /** null when a signal ended it (e.g. the SIGKILL after `timeoutMs`). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/hero-flow.js ...args` once, as an operator would type it; SIGKILLed after `timeoutMs`. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), ...args], env, {
    name: `hero-flow ${args.slice(0, 2).join(' ')}`,
  });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const code = await proc.closed;
  clearTimeout(timer);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/**
 * Runs a script's `main` and exits with its code; whatever happens (an error, Ctrl-C, exit),
 * every worker and Temporal server the script started is killed, never left behind.
 */
export function runScript(name: string, main: () => Promise<number>): void {
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

/**
 * The environment of a hero-flow worker talking to `sandbox` through a Temporal server at `address`: every
 * other setting (the workflow cache included) is hero-flow's default, or what the caller's environment
 * and `extra` set, so that a benchmark of "the worker at default settings" is one.
 */
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
