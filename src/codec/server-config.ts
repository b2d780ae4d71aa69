import { CodecConfigError } from './errors';
import type { CodecServerOptions } from './server-options';

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_CODEC_ORIGINS = ['http://localhost:8233'];

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const isLoopback = (host: string): boolean => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host);

function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * Codec-server settings from HERO_CODEC_PORT, HERO_CODEC_HOST, HERO_CODEC_CORS_ORIGINS,
 * HERO_CODEC_AUTH_TOKEN and HERO_CODEC_NAMESPACES; every problem reported at once, no token echoed.
 */
export function loadCodecServerOptions(env: NodeJS.ProcessEnv = process.env): Omit<CodecServerOptions, 'ring'> {
  const get = (name: string): string | undefined => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const problems: string[] = [];

  const portText = get('HERO_CODEC_PORT');
  const port = portText === undefined ? DEFAULT_CODEC_PORT : Number(portText);
  if (!/^\d+$/.test(portText ?? '0') || port > 65535) problems.push('HERO_CODEC_PORT: must be a port number 0-65535');

  const host = get('HERO_CODEC_HOST');
  const originsText = get('HERO_CODEC_CORS_ORIGINS');
  const allowedOrigins = originsText === undefined ? DEFAULT_CODEC_ORIGINS : list(originsText);
  for (const origin of allowedOrigins) {
    if (!isExactOrigin(origin)) {
      problems.push(
        `HERO_CODEC_CORS_ORIGINS: '${origin}' is not an exact origin like http://localhost:8233 (scheme, host, port; no path or wildcard)`,
      );
    }
  }

  const authToken = get('HERO_CODEC_AUTH_TOKEN');
  if (authToken !== undefined && !/^[\x21-\x7e]+$/.test(authToken)) {
    problems.push('HERO_CODEC_AUTH_TOKEN: must be printable ASCII without spaces');
  }
  if (host !== undefined && !isLoopback(host) && authToken === undefined) {
    problems.push(
      'HERO_CODEC_AUTH_TOKEN: required when HERO_CODEC_HOST is not a loopback address (it decrypts patient data)',
    );
  }

  const namespacesText = get('HERO_CODEC_NAMESPACES');
  const namespaces = namespacesText === undefined ? undefined : list(namespacesText);
  if (namespaces?.length === 0) problems.push('HERO_CODEC_NAMESPACES: must list at least one namespace when set');

  if (problems.length) throw new CodecConfigError(problems, 'codec server configuration');
  return {
    port,
    allowedOrigins,
    ...(host !== undefined && { host }),
    ...(authToken !== undefined && { authToken }),
    ...(namespaces !== undefined && { namespaces }),
  };
}
