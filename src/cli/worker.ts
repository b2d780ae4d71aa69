import { CliError, EXIT_OK, EXIT_USAGE } from './errors';
import { type ClientOptions, resolveKeys } from './session';

/**
 * The optional peer dependencies the worker needs and a service that only starts runs does not
 * (package.json peerDependenciesMeta): `npm install hero-flow` leaves them out.
 */
export const WORKER_PEERS = ['@temporalio/worker', '@temporalio/activity'] as const;

/** The worker's peers not installed where hero-flow is. */
export function missingWorkerPeers(): string[] {
  return WORKER_PEERS.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return true;
      throw err;
    }
  });
}

/** `name@version` to install: the version of the Temporal client beside it (the SDK's packages go together). */
function installSpec(name: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { version } = require('@temporalio/client/package.json') as { version: string };
    return `${name}@${version}`;
  } catch {
    return name;
  }
}

/**
 * `worker`: polls the task queue and calls Hero, until SIGINT or SIGTERM.
 * @throws {CliError} (exit 2) the worker's optional peers are not installed: names them, with the command.
 */
export async function worker(opts: ClientOptions): Promise<number> {
  const missing = missingWorkerPeers();
  if (missing.length) {
    throw new CliError(
      `the worker needs ${missing.join(' and ')}, not installed here (optional peer dependencies of hero-flow, ` +
        'which only the worker uses). Install them in the project that runs the worker:\n' +
        `  npm install ${missing.map(installSpec).join(' ')}`,
      EXIT_USAGE,
    );
  }
  const insecure = opts.insecureNoEncryption ?? false;
  // Loaded only here: the worker (and its native bridge) is heavy for the other commands.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runWorker } = require('../worker/run') as typeof import('../worker/run');
  await runWorker(resolveKeys(insecure).env, { insecureNoEncryption: insecure });
  return EXIT_OK;
}
