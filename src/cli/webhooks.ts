import { HeroClient } from '../hero/client';
import { type HeroPracticeGroupsConfig, loadHeroPracticeGroups } from '../hero/config';
import { ConfigError } from '../shared/errors';
import { loadLogFormat } from '../observability/logging';
import { loadWebhookReceiverSettings, loadWebhookSigningKey } from '../webhooks/config';
import { startWebhookReceiver, WEBHOOK_PATH, WEBHOOKS_SERVICE_NAME } from '../webhooks/receiver';
import { APPOINTMENT_EVENTS, checkWebhookUrl, registerWebhooks, type WebhookRegistration } from '../webhooks/register';
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
 * `webhooks register --url URL [--practice-group ID]`: one JSON line per practice group and event, for every group
 * the configuration names (HERO_PRACTICE_GROUP_IDS, else HERO_PRACTICE_GROUP_ID), each with its own key: Hero keeps
 * subscriptions per key. A group that fails is reported on its lines and the others are still tried (exit 1).
 * @throws {UsageError} a missing or unusable --url, or a --practice-group that is not configured.
 * @throws {ConfigError} every missing setting at once, or an http:// URL off loopback.
 */
export async function webhooksRegister(
  opts: OutputOptions & { url?: string; practiceGroup?: string },
): Promise<number> {
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
  let config: HeroPracticeGroupsConfig | undefined;
  try {
    signingKey = loadWebhookSigningKey(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    config = loadHeroPracticeGroups(process.env, { warn: (line) => process.stderr.write(`${line}\n`) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length) throw new ConfigError(problems, 'configuration for webhooks register');
  const groups = opts.practiceGroup === undefined ? config!.practiceGroupIds : [opts.practiceGroup];
  if (opts.practiceGroup !== undefined && !config!.practiceGroupIds.includes(opts.practiceGroup)) {
    throw new UsageError(
      `--practice-group ${opts.practiceGroup}: not a configured practice group ` +
        `(HERO_PRACTICE_GROUP_IDS / HERO_PRACTICE_GROUP_ID: ${config!.practiceGroupIds.join(', ')})`,
    );
  }
  // Refused before any group is asked, so a bad URL is a configuration error (exit 2), not a group's failure.
  checkWebhookUrl(opts.url);
  const people = forPeople(opts);
  // Several groups' lines read apart only with the group named; one group's read as they always have.
  const prefix = (group: string) => (people && groups.length > 1 ? `practice group ${group}: ` : '');
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const failed: string[] = [];
  for (const practiceGroupId of groups) {
    const { keySource: _source, ...heroConfig } = config!.groups[practiceGroupId]!;
    // A key (or the signing key) never reaches the output, even if an error message were to quote it.
    const secrets = [heroConfig.apiKey, signingKey].filter((k) => k.length > 0);
    const hero = new HeroClient(heroConfig);
    for (const event of APPOINTMENT_EVENTS) {
      try {
        await registerWebhooks({
          hero,
          url: opts.url,
          signingKey,
          events: [event],
          onResult: (r: WebhookRegistration) =>
            print(
              people ? `${prefix(practiceGroupId)}${registrationText(r)}` : JSON.stringify({ ...r, practiceGroupId }),
            ),
        });
      } catch (err) {
        const error = secrets.reduce(
          (text, secret) => text.split(secret).join('[redacted]'),
          err instanceof Error ? err.message : String(err),
        );
        print(
          people
            ? `${prefix(practiceGroupId)}${event}: failed (${error})`
            : JSON.stringify({ event, practiceGroupId, error }),
        );
        if (!failed.includes(practiceGroupId)) failed.push(practiceGroupId);
      }
    }
  }
  if (failed.length) {
    process.stderr.write(
      `webhooks register: not every event is subscribed for practice group${failed.length > 1 ? 's' : ''} ` +
        // The key's source, never the key: a 401's "check HERO_API_KEY" may mean HERO_API_KEY_<GROUP> here.
        `${failed.map((g) => `${g} (key from ${config!.groups[g]!.keySource})`).join(', ')}\n`,
    );
    return EXIT_FAILED;
  }
  return EXIT_OK;
}
