import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Proc, type ProcOptions, ROOT, WORKER_READY } from '../processes';

const TETHER = join(__dirname, 'tether.js');

export interface TetheredOptions extends Pick<ProcOptions, 'echo' | 'keep' | 'ready'> {
  name: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** After SIGTERM, how long it has to stop before tools/dev/tether.js SIGKILLs it. */
  graceMs: number;
}

/**
 * `command args` under tools/dev/tether.js, whose stdin is a pipe from this process: when this process
 * ends, even by SIGKILL, the pipe closes and the tether stops the command (SIGTERM, then SIGKILL after
 * `graceMs`). Stop it with stopTethered(), never by SIGKILLing the tether, which would orphan the command.
 */
export function startTethered(command: string, args: readonly string[], opts: TetheredOptions): Proc {
  const child = spawn(process.execPath, [TETHER, String(opts.graceMs), command, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Proc(child, { name: opts.name, echo: opts.echo, keep: opts.keep, ready: opts.ready });
}

/** SIGTERM to the tether, which stops its command within its grace; resolves once both have exited. */
export async function stopTethered(proc: Proc | undefined): Promise<void> {
  if (!proc) return;
  proc.stopRequested = true;
  if (proc.running) proc.child.kill('SIGTERM');
  await proc.exited;
}

/** `temporal server start-dev` prints "Server:  localhost:7233" once every service has started. */
const DEV_SERVER_READY = /^Server:\s+\S+:\d+/m;

/** `temporal server start-dev` on 127.0.0.1 (as tools/processes' startTemporalDevServer), tethered. */
export function startTetheredDevServer(opts: {
  cli: string;
  port: number;
  uiPort: number;
  dbFile: string;
  extraArgs: readonly string[];
  graceMs: number;
  echo: ProcOptions['echo'];
  keep: number;
  cwd: string;
}): Proc {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  args.push('--ui-port', String(opts.uiPort), '--log-level', 'error', '--db-filename', resolve(opts.dbFile));
  return startTethered(opts.cli, [...args, ...opts.extraArgs], {
    name: `the Temporal dev server (127.0.0.1:${opts.port})`,
    env: process.env,
    cwd: opts.cwd,
    graceMs: opts.graceMs,
    echo: opts.echo,
    keep: opts.keep,
    ready: { line: DEV_SERVER_READY, timeoutMs: 60_000 },
  });
}

/** `node bin/hero-flow.js worker` with `env` (as tools/processes' startWorker), tethered. */
export function startTetheredWorker(opts: {
  env: NodeJS.ProcessEnv;
  graceMs: number;
  echo: ProcOptions['echo'];
  keep: number;
  cwd: string;
}): Proc {
  return startTethered(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'worker'], {
    name: 'the hero-flow worker',
    env: opts.env,
    cwd: opts.cwd,
    graceMs: opts.graceMs,
    echo: opts.echo,
    keep: opts.keep,
    ready: { line: WORKER_READY, timeoutMs: 120_000 },
  });
}
