import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** True when `p` is a regular file this process may execute. */
export function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First executable `name` on PATH, without spawning anything. */
export function which(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const KEEP_BYTES = 64 * 1024;

/** Runs a command, capturing (the end of) its output. Rejects only if it cannot be started (e.g. ENOENT). */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-KEEP_BYTES)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-KEEP_BYTES)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The last few lines of a tool's output, indented, for error messages. */
export function tail(text: string, lines = 15): string {
  const kept = text.trimEnd().split('\n').slice(-lines);
  return kept.length && kept.join('').trim() ? kept.map((l) => `    ${l}`).join('\n') : '    (no output)';
}

export function describeExit(r: RunResult): string {
  if (r.timedOut) return 'timed out';
  return r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
}

export function seconds(startMs: number): string {
  const s = (Date.now() - startMs) / 1000;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

/** Logs "still working" every `everyMs` until the returned function is called. */
export function heartbeat(log: (line: string) => void, what: string, startMs: number, everyMs = 30_000): () => void {
  const timer = setInterval(() => log(`${what}: still working (${seconds(startMs)})`), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
