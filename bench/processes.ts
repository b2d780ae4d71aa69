import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { children, ROOT, sleep, stopChild } from '../test/reliability/processes';

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
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

/** `temporal server start-dev` on a SQLite file, with its pid for /proc figures. */
export class DevServer {
  child: ChildProcess | undefined;
  readonly address: string;

  constructor(
    private readonly cli: string,
    private readonly port: number,
    private readonly uiPort: number,
    private readonly dbFile: string,
    private readonly log: WriteStream,
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port)];
    args.push('--ui-port', String(this.uiPort), '--db-filename', this.dbFile, '--log-level', 'error');
    const child = track(spawn(this.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      if (child.exitCode !== null) throw new Error(`the Temporal dev server exited (${child.exitCode})`);
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
    throw new Error(`the Temporal dev server did not answer on ${this.address} within 60 s`);
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM', 15_000);
  }
}

/** `node bin/hero-flow.js worker` as a child process; `start()` resolves once it polls. */
export class BenchWorker {
  child: ChildProcess | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: WriteStream,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    const child = track(
      spawn(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'worker'], {
        cwd: ROOT,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.child = child;
    let seen = '';
    await new Promise<void>((resolve, reject) => {
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
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGTERM', 15_000);
  }
}
