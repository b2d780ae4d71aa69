import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { CliError } from './errors';

export const DEFAULT_DEV_CODEC_PORT = 8888;

/** The Temporal CLI: TEMPORAL_CLI_PATH, else `temporal` on PATH, else the one `npm run provision` cached here. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (env.TEMPORAL_CLI_PATH && executable(env.TEMPORAL_CLI_PATH)) return env.TEMPORAL_CLI_PATH;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  const cached = join(cwd, '.temporal', 'bin', 'temporal');
  return executable(cached) ? cached : undefined;
}

const hasFlag = (args: readonly string[], flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));

/**
 * The arguments and environment for the Temporal CLI: `workflow …` commands get the dev codec server
 * (`--codec-endpoint`), so they print payloads decoded, unless a codec endpoint was given; the dev
 * server's address when HERO_DEV_TEMPORAL_PORT moved it and TEMPORAL_ADDRESS is unset.
 */
export function temporalInvocation(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { args: string[]; env: NodeJS.ProcessEnv } {
  const out = [...args];
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (args[0] === 'workflow' && !hasFlag(args, '--codec-endpoint') && !env.TEMPORAL_CODEC_ENDPOINT) {
    const port = env.HERO_DEV_CODEC_PORT?.trim() || String(DEFAULT_DEV_CODEC_PORT);
    const end = out.indexOf('--');
    out.splice(end < 0 ? out.length : end, 0, '--codec-endpoint', `http://localhost:${port}`);
    // Through the environment, not argv: a token on the command line shows in `ps`.
    if (env.HERO_CODEC_AUTH_TOKEN && !hasFlag(args, '--codec-auth') && !env.TEMPORAL_CODEC_AUTH) {
      childEnv.TEMPORAL_CODEC_AUTH = `Bearer ${env.HERO_CODEC_AUTH_TOKEN}`;
    }
  }
  if (!env.TEMPORAL_ADDRESS && env.HERO_DEV_TEMPORAL_PORT?.trim()) {
    childEnv.TEMPORAL_ADDRESS = `127.0.0.1:${env.HERO_DEV_TEMPORAL_PORT.trim()}`;
  }
  return { args: out, env: childEnv };
}

/** Runs the Temporal CLI with the terminal passed through; resolves with its exit code. */
export function runTemporalCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const cli = findTemporalCli(env);
  if (!cli) {
    throw new CliError(
      'the Temporal CLI was not found: not `temporal` on PATH, nor .temporal/bin/temporal in this directory. ' +
        'Run `npm run provision` in the hero-flow project (npm run dev does it too), or set TEMPORAL_CLI_PATH.',
    );
  }
  const invocation = temporalInvocation(args, env);
  return new Promise((resolve, reject) => {
    const child = spawn(cli, invocation.args, { stdio: 'inherit', env: invocation.env });
    // A signal sent to this process alone (an IDE's stop button) must reach the CLI too.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    const done = () => signals.forEach((s) => process.off(s, forward));
    child.once('error', (err) => {
      done();
      reject(
        new CliError(`cannot run the Temporal CLI at ${cli}: ${(err as NodeJS.ErrnoException).code ?? err.message}`),
      );
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}
