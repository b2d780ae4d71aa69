import { loadKeyRing } from '../codec';
import { loadTemporalSettings } from '../config/temporal';
import { ConfigError } from '../shared/errors';
import { HeroFlowClient } from '../client/outreach-client';
import { createLogger, loadLogFormat } from '../observability/logging';
import { DEV_KEYS_RELATIVE, type ResolvedKeys, resolveCodecKeys } from './dev-keys';
import { cannotReach, describeError, isUnreachable } from './describe-error';
import { CliError, EXIT_USAGE, UsageError } from './errors';
import { type OutputOptions, runUrl } from './present';

/** What the commands that talk to Temporal share: connecting, the keys, signals, the service log. */

export interface ClientOptions extends OutputOptions {
  insecureNoEncryption?: boolean;
}

/** One line on stderr, as the CLI writes them. */
export const say = (line: string) => process.stderr.write(`hero-flow: ${line}\n`);

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report them. */
export const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** HERO_CODEC_KEYS, or in development the dev server's keys (src/cli/dev-keys.ts). */
export function resolveKeys(insecure: boolean): ResolvedKeys {
  return resolveCodecKeys({
    env: process.env,
    insecure,
    target: () => {
      try {
        const settings = loadTemporalSettings(process.env);
        const tls = settings.tls !== undefined && settings.tls !== false;
        return { address: settings.address, secured: tls || !!settings.apiKey };
      } catch {
        return undefined;
      }
    },
    say,
  });
}

/** What a command knows while it talks to Temporal, to put its failures in words. */
export interface Session {
  client: HeroFlowClient;
  keys: ResolvedKeys;
  insecure: boolean;
}

/**
 * Connects, runs `fn`, closes. A failure comes out as a CliError in words that name this command's
 * keys (the ones it has, where they came from) or how it connected.
 * @throws {ConfigError} a bad setting. @throws {CliError} every other failure, described.
 */
export async function withClient<T>(
  opts: ClientOptions,
  fn: (client: HeroFlowClient, session: Session) => Promise<T>,
): Promise<T> {
  const insecure = opts.insecureNoEncryption ?? false;
  const keys = resolveKeys(insecure);
  let client: HeroFlowClient;
  try {
    client = await HeroFlowClient.connect(keys.env, { insecureNoEncryption: insecure });
  } catch (err) {
    if (err instanceof ConfigError) {
      if (keys.ignoredDevFile && !loadKeyRing(keys.env)) {
        throw new CliError(
          `${err.message}\n  - ${DEV_KEYS_RELATIVE} is here but was not used: it holds the keys of the dev server ` +
            `of npm run dev (localhost:7233, or HERO_DEV_TEMPORAL_PORT), and the target is ${keys.ignoredDevFile.address}`,
          EXIT_USAGE,
        );
      }
      throw err;
    }
    // A connection that never got an answer (refused, no TLS handshake, the deadline passed).
    if (isUnreachable(err, { connecting: true })) throw new CliError(cannotReach(), 1, { cause: err });
    throw err;
  }
  const session: Session = { client, keys, insecure };
  try {
    return await fn(client, session);
  } catch (err) {
    if (err instanceof UsageError || err instanceof CliError || err instanceof ConfigError) throw err;
    const { message, code } = describeError(err, session);
    throw new CliError(message, code, { cause: err });
  } finally {
    await client.close();
  }
}

/** The run's page in the Temporal UI, in the client's namespace. */
export const uiUrlOf = (client: HeroFlowClient, workflowId: string) =>
  runUrl(client.client.options.namespace, workflowId);

/** Waits for SIGINT or SIGTERM. */
export const untilStopped = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

/**
 * The log of a long-running service command: the CLI's own lines, or with HERO_LOG_FORMAT=json one
 * redacted JSON object per line (src/observability), as the worker writes them.
 */
export function serviceLog(service: string): (line: string) => void {
  if (loadLogFormat() !== 'json') return say;
  const logger = createLogger({ service, format: 'json' });
  return (line) => logger.info(line);
}
