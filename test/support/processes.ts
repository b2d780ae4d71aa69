import { join } from 'node:path';
import { Proc, ROOT } from '../../tools/processes';

export { freePort, Proc, ROOT } from '../../tools/processes';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How long one CLI command may run before the test fails: `--wait` and `result` included, all take seconds. */
export const CLI_TIMEOUT_MS = 120_000;

/**
 * Runs the hero-flow CLI exactly as a user would (`bin/hero-flow.js`), to its end; a command still running
 * after `timeoutMs` is killed and fails the test at once (e.g. one waiting on an update that never completes)
 * instead of at the file's timeout.
 */
export async function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  opts: { timeoutMs?: number } = {},
): Promise<RunResult> {
  const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), ...args], env, { input: input ?? '' });
  const timeoutMs = opts.timeoutMs ?? CLI_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const code = await Promise.race([proc.closed, timedOut]);
  clearTimeout(timer);
  if (code === 'timeout') {
    await proc.stop('SIGKILL');
    // The command's name only: its other arguments may be a test's inputs.
    throw new Error(`hero-flow ${args.slice(0, 2).join(' ')} still running after ${timeoutMs} ms:\n${proc.tail()}`);
  }
  if (proc.spawnError) throw proc.spawnError;
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}
