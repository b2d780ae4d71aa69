import { join } from 'node:path';
import { Proc, ROOT } from '../../tools/processes';

export { freePort, Proc, ROOT } from '../../tools/processes';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the hero-flow CLI exactly as a user would (`bin/hero-flow.js`), to its end. */
export async function cli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
  const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), ...args], env, { input: input ?? '' });
  const code = await proc.closed;
  if (proc.spawnError) throw proc.spawnError;
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}
