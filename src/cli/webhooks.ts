import { HeroClient } from '../hero/client';
import { loadHeroConfig } from '../hero/config';
import { ConfigError } from '../shared/errors';
import { loadLogFormat } from '../observability/logging';
import { loadWebhookReceiverSettings, loadWebhookSigningKey } from '../webhooks/config';
import { startWebhookReceiver, WEBHOOK_PATH, WEBHOOKS_SERVICE_NAME } from '../webhooks/receiver';
import { registerWebhooks, type WebhookRegistration } from '../webhooks/register';
import { CliError, EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { forPeople, type OutputOptions, registrationText } from './present';
import { type ClientOptions, serviceLog, untilStopped, withClient } from './session';

/** `webhooks` (the receiver) and `webhooks register`. */

/**
 * `webhooks`: the receiver, until SIGINT or SIGTERM. Settings are checked before connecting.
 * @throws {ConfigError} a bad HERO_WEBHOOK_* setting. @throws {CliError} the port is taken or the host is not here.
 */
export async function webhooks(opts: ClientOptions): Promise<number> {
  const settings = loadWebhookReceiverSettings(process.env);
  const say = serviceLog(WEBHOOKS_SERVICE_NAME);
  return withClient(opts, async (client) => {
    const json = loadLogFormat() === 'json';
    const receiver = await startWebhookReceiver({ client, ...settings, ...(json && { log: say }) }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE' && err.code !== 'EADDRNOTAVAIL') throw err;
        throw new CliError(
          `cannot listen on ${settings.host}:${settings.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : 'no such address here'} ` +
            '(set HERO_WEBHOOK_PORT or HERO_WEBHOOK_HOST)',
          EXIT_FAILED,
        );
      },
    );
    say(
      `webhook receiver on ${receiver.url}${WEBHOOK_PATH} (task queue ${client.taskQueue}; ` +
        `timestamps within ${Math.round(settings.toleranceMs / 1000)} s` +
        `${settings.practiceGroupIds ? `; practice groups ${settings.practiceGroupIds.join(', ')} only` : settings.practiceGroupId ? '; this practice group only' : ''}). Stop with Ctrl-C or SIGTERM.`,
    );
    const signal = await untilStopped();
    say(`${signal}: finishing the deliveries in flight`);
    await receiver.close();
    return EXIT_OK;
  });
}

/**
 * `webhooks register --url URL`: one JSON line per event.
 * @throws {UsageError} a missing or unusable --url. @throws {ConfigError} every missing setting at once.
 */
export async function webhooksRegister(opts: OutputOptions & { url?: string }): Promise<number> {
  if (!opts.url) throw new UsageError('webhooks register needs --url URL (where Hero reaches the receiver)');
  let url: URL | undefined;
  try {
    url = new URL(opts.url);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new UsageError('--url must be an http(s) URL, e.g. https://hooks.example.com/hero/webhooks');
  }
  if (url.username || url.password) throw new UsageError('--url must not contain credentials (user:password@)');
  const problems: string[] = [];
  let signingKey = '';
  let hero: HeroClient | undefined;
  try {
    signingKey = loadWebhookSigningKey(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    hero = new HeroClient(loadHeroConfig(process.env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length) throw new ConfigError(problems, 'configuration for webhooks register');
  const people = forPeople(opts);
  await registerWebhooks({
    hero: hero!,
    url: opts.url,
    signingKey,
    onResult: (r: WebhookRegistration) => process.stdout.write(`${people ? registrationText(r) : JSON.stringify(r)}\n`),
  });
  return EXIT_OK;
}
