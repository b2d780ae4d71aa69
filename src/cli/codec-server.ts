import { loadCodecServerOptions, loadKeyRing, startCodecServer } from '../codec';
import { ConfigError } from '../shared/errors';
import { EXIT_OK } from './errors';
import { serviceLog } from './session';

/**
 * `codec-server`: Temporal's remote codec protocol, until SIGINT or SIGTERM.
 * @throws {ConfigError} HERO_CODEC_KEYS unset, or a bad HERO_CODEC_* setting.
 */
export async function codecServer(): Promise<number> {
  const ring = loadKeyRing();
  if (!ring)
    throw new ConfigError(
      ['HERO_CODEC_KEYS must be set: the codec server decrypts with it'],
      'codec server configuration',
    );
  const options = loadCodecServerOptions();
  const server = await startCodecServer({ ring, ...options });
  const say = serviceLog('hero-flow-codec-server');
  say(
    `codec server on ${server.url} (origins: ${options.allowedOrigins.join(', ') || 'none'}; ` +
      `auth: ${options.authToken ? 'bearer token' : 'none'}). Temporal UI: --ui-codec-endpoint ${server.url}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return EXIT_OK;
}
