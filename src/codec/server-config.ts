import { VISIBLE_ASCII } from '../shared/patterns';
import { CodecConfigError } from './errors';
import type { CodecServerOptions } from './server-options';

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_CODEC_ORIGINS = ['http://localhost:8233'];
/** A bearer token on loopback must resist guessing by other local processes... */
export const MIN_TOKEN_LENGTH_LOOPBACK = 16;
/** ...and, reachable from the network, by anyone who can reach the port. */
export const MIN_TOKEN_LENGTH = 32;

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const isLoopback = (host: string): boolean => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host);

/** A `Host` header or HERO_CODEC_ALLOWED_HOSTS entry: a name, an IPv4 address or a bracketed IPv6 address, and an optional port. */
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/i;

/** Host name (lower case, IPv6 in brackets) and port ('' when absent) of a Host header value, or undefined if it is not one. */
export function parseHost(value: string): { name: string; port: string } | undefined {
  const match = HOST.exec(value.trim());
  return match ? { name: match[1]!.toLowerCase(), port: match[3] ?? '' } : undefined;
}

function isExactOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * Problems with a bearer token for a server bound to `host` (default loopback). Never quotes the token:
 * the messages reach logs and terminals.
 */
export function authTokenProblems(token: string | undefined, host: string | undefined): string[] {
  const loopback = host === undefined || isLoopback(host);
  if (token === undefined) {
    return loopback
      ? []
      : ['HERO_CODEC_AUTH_TOKEN: required when HERO_CODEC_HOST is not a loopback address (it decrypts patient data)'];
  }
  if (token.trim() === '') {
    return [
      'HERO_CODEC_AUTH_TOKEN: is set but blank; set a real token, or unset it to run without one (loopback only)',
    ];
  }
  const problems: string[] = [];
  if (!VISIBLE_ASCII.test(token)) problems.push('HERO_CODEC_AUTH_TOKEN: must be printable ASCII without spaces');
  const min = loopback ? MIN_TOKEN_LENGTH_LOOPBACK : MIN_TOKEN_LENGTH;
  if (token.length < min) {
    problems.push(
      `HERO_CODEC_AUTH_TOKEN: must be at least ${min} characters` +
        (loopback ? '' : ' when HERO_CODEC_HOST is not a loopback address') +
        ' (e.g. `openssl rand -base64 32`)',
    );
  }
  return problems;
}

/**
 * Codec-server settings from HERO_CODEC_PORT, HERO_CODEC_HOST, HERO_CODEC_CORS_ORIGINS,
 * HERO_CODEC_AUTH_TOKEN, HERO_CODEC_NAMESPACES and HERO_CODEC_ALLOWED_HOSTS; every problem reported at
 * once, no token echoed. Unset (or blank) variables take the defaults: port {@link DEFAULT_CODEC_PORT}
 * (8888), origins {@link DEFAULT_CODEC_ORIGINS} (the local Web UI), and those of {@link CodecServerOptions}.
 * A set but blank HERO_CODEC_AUTH_TOKEN is refused, not read as "no token".
 *
 * @param env @default process.env
 * @throws CodecConfigError naming every invalid variable.
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

  // Set but blank is refused, not read as "no token": an empty secret file must not turn auth off.
  const rawToken = env.HERO_CODEC_AUTH_TOKEN;
  const authToken = rawToken === undefined ? undefined : rawToken.trim();
  problems.push(...authTokenProblems(authToken, host));

  const namespacesText = get('HERO_CODEC_NAMESPACES');
  const namespaces = namespacesText === undefined ? undefined : list(namespacesText);
  if (namespaces?.length === 0) problems.push('HERO_CODEC_NAMESPACES: must list at least one namespace when set');

  const hostsText = get('HERO_CODEC_ALLOWED_HOSTS');
  const allowedHosts = hostsText === undefined ? undefined : list(hostsText);
  for (const entry of allowedHosts ?? []) {
    if (!parseHost(entry) || Number(parseHost(entry)!.port) > 65535) {
      problems.push(
        `HERO_CODEC_ALLOWED_HOSTS: '${entry}' is not a host name or host:port as the browser sends it (no scheme or path)`,
      );
    }
  }
  if (allowedHosts?.length === 0) problems.push('HERO_CODEC_ALLOWED_HOSTS: must list at least one host when set');

  if (problems.length) throw new CodecConfigError(problems, 'codec server configuration');
  return {
    port,
    allowedOrigins,
    ...(host !== undefined && { host }),
    ...(authToken !== undefined && { authToken }),
    ...(namespaces !== undefined && { namespaces }),
    ...(allowedHosts !== undefined && { allowedHosts }),
  };
}
