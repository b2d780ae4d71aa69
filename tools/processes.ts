import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { Writable } from 'node:stream';

/**
 * Child processes for `npm run dev`, the bench, the reliability suite and the tests: start one, keep
 * its output, wait until it is ready, stop it. The test suites' own Temporal servers come from the
 * SDK's TestWorkflowEnvironment (test/support/temporal.ts); the dev launcher, the bench and the
 * reliability suite start `temporal server start-dev` here instead, because they restart it on the
 * same SQLite file, stop it with chosen signals, log its output to a file and read its CPU time.
 */

export const ROOT = join(__dirname, '..');

/** How much of a long-lived process's output to keep in memory: enough for an error's tail. */
export const KEEP_TAIL = 64 * 1024;

/** A TCP port free on the loopback interface right now. */
/** Ports this process has handed out: never twice, though a service may not have bound one yet. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768-60999): a port from that range can be
 * taken as the local end of any outgoing connection between this check and the service's listen, and a
 * service restarted on the same port then failed with EADDRINUSE (seen in test/e2e.test.ts's restart).
 * Below 32768 also suits the Temporal server's membership ports, which it stores in a smallint.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_500);
    if (handedOut.has(port) || !(await portFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port between 20000 and 32500 on 127.0.0.1');
}

/** True when something accepts TCP connections on host:port. */
export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * True when nothing holds host:port: a listen there succeeds. Binding (rather than connecting) also
 * catches a listener on another address of the same port, e.g. 0.0.0.0, which a connect would miss.
 */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface ProcOptions {
  /** Names the process in errors; by default its command line. */
  name?: string;
  /** Default: the project root. */
  cwd?: string;
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Where each chunk of output is copied as it arrives (a log file, the terminal), besides being kept. */
  echo?: Writable | { stdout?: Writable; stderr?: Writable };
  /** Characters of output kept, the last ones (e.g. KEEP_TAIL); by default all of it. */
  keep?: number;
  /** Wait for this text (or pattern) in its output, or for this port to accept connections: `ready`. */
  ready?: { line: string | RegExp; timeoutMs: number } | { port: number; host?: string; timeoutMs: number };
}

/** Every process started here that has not exited yet, so a script can kill them all when it dies. */
const live = new Set<Proc>();

/** SIGKILLs every process started here that is still running (for a script's exit and crash paths). */
export function killAll(): void {
  for (const proc of live) proc.child.kill('SIGKILL');
}

/** A child process whose output (stdout, stderr, and both interleaved) is kept, with waits on it. */
export class Proc {
  output = '';
  stdout = '';
  stderr = '';
  readonly name: string;
  /** Its exit code (null if a signal ended it), once it has exited. */
  readonly exited: Promise<number | null>;
  /** The same, once its output has also been read to the end. */
  readonly closed: Promise<number | null>;
  /** Resolves once it is ready as `ready` says (at once without `ready`); rejects as waitFor does. */
  readonly ready: Promise<void>;
  /** Set by stop(): its exit was asked for. */
  stopRequested = false;
  /** Why it could not be started (e.g. ENOENT), if so. */
  spawnError: Error | undefined;
  #hasExited = false;
  readonly #keep: number;
  readonly #onOutput = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    options: Omit<ProcOptions, 'cwd' | 'input'> & { name: string },
  ) {
    this.name = options.name;
    this.#keep = options.keep ?? Infinity;
    const echo =
      options.echo && 'write' in options.echo ? { stdout: options.echo, stderr: options.echo } : options.echo;
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]?.setEncoding('utf8').on('data', (text: string) => {
        echo?.[stream]?.write(text);
        this[stream] = this.#trim(this[stream] + text);
        this.output = this.#trim(this.output + text);
        for (const listener of this.#onOutput) listener();
      });
    }
    // A child may close its stdin before reading all of `input`: that is its business, not an error here.
    child.stdin?.on('error', () => undefined);
    live.add(this);
    const ended = (event: 'exit' | 'close') =>
      new Promise<number | null>((resolve) => {
        child.once(event, (code: number | null) => resolve(code));
        child.once('error', (err) => {
          this.spawnError = err;
          resolve(null);
        });
      });
    this.exited = ended('exit').then((code) => {
      this.#hasExited = true;
      live.delete(this);
      return code;
    });
    this.closed = ended('close');
    const ready = options.ready;
    this.ready = !ready
      ? Promise.resolve()
      : 'line' in ready
        ? this.waitFor(ready.line, ready.timeoutMs)
        : this.waitForPort(ready.port, ready.timeoutMs, ready.host);
    // A caller that never awaits `ready` must not crash the process with an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** Starts `command args` with `env`; stdout and stderr are piped and kept. */
  static start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, options: ProcOptions = {}) {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    return new Proc(child, { ...options, name: options.name ?? commandLine(command, args) });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.#hasExited && !this.spawnError && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once its output contains `text`, checked as each chunk arrives (the kept output). */
  waitFor(text: string | RegExp, timeoutMs: number): Promise<void> {
    const seen = () => (typeof text === 'string' ? this.output.includes(text) : this.output.search(text) !== -1);
    const what = `${typeof text === 'string' ? JSON.stringify(text) : String(text)} in its output`;
    return this.#until(what, timeoutMs, (ok) => {
      const check = () => seen() && ok();
      this.#onOutput.add(check);
      check();
      return () => this.#onOutput.delete(check);
    });
  }

  /** Resolves once host:port accepts a TCP connection (tried every 100 ms: a port has no event to wait on). */
  waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
    return this.#until(`connection accepted on ${host}:${port}`, timeoutMs, (ok) => {
      let watching = true;
      let timer: NodeJS.Timeout | undefined;
      const attempt = () =>
        void portAccepts(port, host).then((open) => {
          if (!watching) return;
          if (open) ok();
          else timer = setTimeout(attempt, 100);
        });
      attempt();
      return () => {
        watching = false;
        clearTimeout(timer);
      };
    });
  }

  /** Sends `signal`, then SIGKILL if it has not exited after `graceMs`; resolves with its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGINT', graceMs = 30_000): Promise<number | null> {
    this.stopRequested = true;
    let timer: NodeJS.Timeout | undefined;
    if (this.running) {
      this.child.kill(signal);
      if (signal !== 'SIGKILL') timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    }
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** The last lines of its output, for an error message. */
  tail(lines = 30): string {
    const kept = this.output.trimEnd().split('\n').slice(-lines);
    return kept.join('').trim() ? kept.map((l) => `    ${l}`).join('\n') : '    (no output)';
  }

  /**
   * Waits until `watch` calls its callback, rejecting with the process's name and the tail of its
   * output if it exits first (once its output is read to the end) or `timeoutMs` passes.
   */
  #until(what: string, timeoutMs: number, watch: (ok: () => void) => () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const cleanups: (() => void)[] = [];
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        for (const cleanup of cleanups) cleanup();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(`${this.name}: still no ${what} after ${timeoutMs / 1000} s; its output ends:\n${this.tail()}`),
          ),
        timeoutMs,
      );
      cleanups.push(() => clearTimeout(timer));
      void this.closed.then(() => {
        const how = this.spawnError
          ? `could not start (${this.spawnError.message})`
          : `exited (${this.child.signalCode ? `signal ${this.child.signalCode}` : `code ${this.child.exitCode}`})`;
        finish(new Error(`${this.name} ${how} with no ${what}; its output ends:\n${this.tail()}`));
      });
      const unwatch = watch(() => finish());
      if (done) unwatch();
      else cleanups.push(unwatch);
    });
  }

  #trim(text: string): string {
    // Cut back to `keep` only once it is twice over, so a long run does not copy its tail on every chunk.
    return text.length > 2 * this.#keep ? text.slice(-this.#keep) : text;
  }
}

/** `node bin/x.js worker` rather than the full paths, to name a process in errors. */
function commandLine(command: string, args: string[]): string {
  const short = (a: string) => (isAbsolute(a) && !relative(ROOT, a).startsWith('..') ? relative(ROOT, a) : a);
  return [basename(command), ...args.map(short)].join(' ');
}

/** `temporal server start-dev` prints "Server:  localhost:7233" once every service has started. */
const DEV_SERVER_READY = /^Server:\s+\S+:\d+/m;

export interface DevServerOptions extends Omit<ProcOptions, 'ready' | 'input'> {
  /** The Temporal CLI (tools/provision's resolveTemporalCli()). */
  cli: string;
  port: number;
  uiPort: number;
  /** SQLite file; undefined keeps the state in memory (lost when the server stops). */
  dbFile?: string;
  /** More `start-dev` flags, e.g. devServerTuningArgs(). */
  extraArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Default 60 s. */
  timeoutMs?: number;
}

/** `temporal server start-dev` on 127.0.0.1; `ready` resolves once it serves. */
export function startTemporalDevServer(opts: DevServerOptions): Proc {
  const { cli, port, uiPort, dbFile, extraArgs = [], env, timeoutMs = 60_000, ...options } = opts;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--log-level', 'error');
  // Relative to where the caller runs, whatever the server's working directory.
  if (dbFile) args.push('--db-filename', resolve(dbFile));
  args.push(...extraArgs);
  return Proc.start(cli, args, env, {
    name: `the Temporal dev server (127.0.0.1:${port})`,
    ...options,
    ready: { line: DEV_SERVER_READY, timeoutMs },
  });
}

/** What a hero-flow worker logs once it polls its task queue. */
export const WORKER_READY = 'worker polling task queue';

/**
 * Preloaded into a child node process: once its parent is gone (even by SIGKILL, which runs no handler
 * of the parent's), it is re-parented and its ppid changes; it then SIGTERMs itself, so it shuts down
 * as on Ctrl-C rather than outliving the parent and keeping its ports. Checked twice a second; the
 * timer is unref'd so it never keeps the process alive by itself.
 */
const EXIT_WITH_PARENT =
  'data:text/javascript,const p=process.ppid;setInterval(()=>{if(process.ppid!==p)process.kill(process.pid,"SIGTERM")},500).unref();';

/**
 * `node bin/hero-flow.js worker` with `env`; `ready` resolves once it polls its task queue. With
 * `exitWithParent`, it stops itself (SIGTERM) if the process that started it dies.
 */
export function startWorker(
  opts: Omit<ProcOptions, 'ready' | 'input'> & {
    env: NodeJS.ProcessEnv;
    timeoutMs?: number;
    exitWithParent?: boolean;
    /** The package whose bin/hero-flow.js runs (a benchmark's variant of the build). @default ROOT */
    root?: string;
  },
) {
  const { env, timeoutMs = 120_000, exitWithParent = false, root = ROOT, ...options } = opts;
  const guard = exitWithParent ? ['--import', EXIT_WITH_PARENT] : [];
  return Proc.start(process.execPath, [...guard, join(root, 'bin', 'hero-flow.js'), 'worker'], env, {
    name: 'the hero-flow worker',
    ...options,
    ready: { line: WORKER_READY, timeoutMs },
  });
}

/** Peak resident set (VmHWM) of a live process, in MiB; undefined where /proc is not available. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a live process has used so far, from /proc; undefined elsewhere. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
