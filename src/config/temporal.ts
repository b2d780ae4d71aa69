import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { platform } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { type ClientConfigProfile, type ConfigDataSource, loadClientConfigProfile } from '@temporalio/envconfig';
import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { VISIBLE_ASCII } from '../shared/patterns';
import { DEFAULT_TASK_QUEUE } from '../shared/task-queue';

/**
 * Temporal connection settings, read through `@temporalio/envconfig`: Temporal's standard variables
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_GRPC_META_*) and
 * `temporal.toml` profiles (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE), so one setup serves the Temporal
 * CLI, the SDKs and hero-flow. Environment variables override the profile, as in the CLI.
 *
 * On top of envconfig, everything that would otherwise fail late or silently is checked here, before
 * any connection, and reported at once: hero-flow's old TLS names, unreadable or malformed
 * certificate files, a certificate without its key, unusable gRPC headers.
 */

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** Names hero-flow read before it used Temporal's standard ones; refused so a stale setup cannot connect without its certificate. */
export const RENAMED_TEMPORAL_VARIABLES: Readonly<Record<string, string>> = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA_PATH: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  TEMPORAL_TLS_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
  TEMPORAL_TLS_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_DATA',
  TEMPORAL_TLS_CA_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
};

const GRPC_META_PREFIX = 'TEMPORAL_GRPC_META_';
const BOOLEAN_VALUES = ['true', 'false', '1', '0'];

const heroQueueSchema = z.object({
  HERO_TASK_QUEUE: z.string().trim().min(1).default(DEFAULT_TASK_QUEUE),
});

export interface TlsSettings {
  serverNameOverride?: string;
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  /** `false` when TLS is turned off explicitly (TEMPORAL_TLS=false, or `tls.disabled` in the profile). */
  tls?: TlsSettings | boolean;
  /** gRPC headers (TEMPORAL_GRPC_META_*, the profile's `grpc_meta`): pass as `metadata` to Connection.connect / NativeConnection.connect. */
  metadata?: Record<string, string>;
}

/** The three TLS files, with their names in the environment and in a `temporal.toml` profile. */
const TLS_SOURCES = [
  { field: 'clientCert', env: 'TEMPORAL_TLS_CLIENT_CERT', toml: 'client_cert', what: 'client certificate' },
  { field: 'clientKey', env: 'TEMPORAL_TLS_CLIENT_KEY', toml: 'client_key', what: 'client key' },
  { field: 'serverCACert', env: 'TEMPORAL_TLS_SERVER_CA_CERT', toml: 'server_ca_cert', what: 'server CA certificate' },
] as const;
type TlsSource = (typeof TLS_SOURCES)[number];

/**
 * Reads hero-flow's Temporal settings from `env` (and the `temporal.toml` profile it selects), reporting
 * every problem in one ConfigError. Certificate and key contents are never echoed; paths are.
 */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const problems: string[] = [];
  const vars = standardVariables(env);

  for (const [old, standard] of Object.entries(RENAMED_TEMPORAL_VARIABLES)) {
    if (env[old]?.trim()) problems.push(`${old} is no longer read: use ${standard} (Temporal's standard name)`);
  }
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const value = vars[name];
    if (value !== undefined && !BOOLEAN_VALUES.includes(value)) problems.push(`${name} must be true, false, 1 or 0`);
  }
  if (vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    // Neither the SDK's TLSConfig nor its native connection can skip verification (envconfig reads the
    // variable, then drops it): refusing beats a setting that silently does nothing.
    problems.push(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by Temporal's TypeScript SDK, which always verifies " +
        "the server's name: set TEMPORAL_TLS_SERVER_NAME to the name in the server's certificate instead",
    );
  }
  const queue = heroQueueSchema.safeParse({
    HERO_TASK_QUEUE: env.HERO_TASK_QUEUE === '' ? undefined : env.HERO_TASK_QUEUE,
  });
  if (!queue.success) problems.push('HERO_TASK_QUEUE must not be empty');

  const file = configFile(vars);
  // Problems that leave no profile to check further; the others are still collected below.
  const blocking: string[] = [];
  if (vars.TEMPORAL_CONFIG_FILE !== undefined) {
    // envconfig treats a missing file as "no file"; a file named explicitly but absent is a mistake.
    const kind = fileKind(vars.TEMPORAL_CONFIG_FILE);
    if (kind !== 'file')
      blocking.push(`TEMPORAL_CONFIG_FILE: ${kind === 'missing' ? 'no file at' : 'not a file:'} ${file}`);
  }
  // The profile alone first (disableEnv), to tell where each TLS setting came from; then merged with env.
  const fileProfile = blocking.length ? undefined : envconfigProfile(vars, file, blocking, true);
  for (const source of fileProfile ? TLS_SOURCES : []) {
    const conflict = mixedSource(source, vars, fileProfile!, file);
    if (conflict) blocking.push(conflict);
  }
  const profile = blocking.length ? undefined : envconfigProfile(vars, file, blocking, false);
  if (!profile) throw new ConfigError([...problems, ...blocking], 'Temporal configuration');

  const where = (source: TlsSource) => origin(source, vars, profile!, file);
  // A TOML profile can hold numbers or tables where text belongs; envconfig passes them through.
  const text = (value: unknown, variable: string, key: string): string | undefined => {
    if (value === undefined || typeof value === 'string') return value === '' ? undefined : value;
    problems.push(`${profileName(vars)} ${key} (${file}) must be a string (or set ${variable})`);
    return undefined;
  };
  const address = text(profile.address, 'TEMPORAL_ADDRESS', 'address')?.trim();
  const namespace = text(profile.namespace, 'TEMPORAL_NAMESPACE', 'namespace')?.trim();
  // Trimmed, as hero-flow always did: a key read with $(cat file) ends in a newline.
  const apiKey = text(profile.apiKey, 'TEMPORAL_API_KEY', 'api_key')?.trim() || undefined;
  const serverName = text(profile.tls?.serverName, 'TEMPORAL_TLS_SERVER_NAME', 'tls.server_name')?.trim();
  if (apiKey !== undefined && !VISIBLE_ASCII.test(apiKey)) {
    problems.push(
      `${vars.TEMPORAL_API_KEY !== undefined ? 'TEMPORAL_API_KEY' : `${profileName(vars)} api_key (${file})`} ` +
        'must be printable ASCII without spaces or line breaks',
    );
  }
  const metadata = grpcMetadata(profile, env, vars, file, problems);
  if (apiKey !== undefined && metadata?.authorization !== undefined) {
    problems.push(
      'TEMPORAL_API_KEY and the gRPC header "authorization" (TEMPORAL_GRPC_META_AUTHORIZATION or grpc_meta) both ' +
        'set the authorization header: set one',
    );
  }

  let tls: TlsSettings | boolean | undefined;
  // An unreadable TEMPORAL_TLS (reported above) reaches envconfig as "off": check the files all the same.
  if (profile.tls?.disabled === true && BOOLEAN_VALUES.includes(vars.TEMPORAL_TLS ?? 'false')) {
    // As envconfig and the Temporal CLI: TLS turned off wins, and certificate settings are not used.
    tls = false;
  } else if (profile.tls !== undefined || apiKey !== undefined) {
    const [crt, key, ca] = TLS_SOURCES.map((source) =>
      readPem(source, profile!.tls?.[source.field], where(source), problems),
    );
    const [certSource, keySource] = [TLS_SOURCES[0], TLS_SOURCES[1]];
    const hasCert = profile.tls?.clientCert !== undefined;
    const hasKey = profile.tls?.clientKey !== undefined;
    if (hasCert && !hasKey) {
      problems.push(
        `${where(certSource)} gives a client certificate but no client key is set: set TEMPORAL_TLS_CLIENT_KEY_PATH ` +
          "or TEMPORAL_TLS_CLIENT_KEY_DATA (or the profile's tls.client_key_path / client_key_data)",
      );
    }
    if (hasKey && !hasCert) {
      problems.push(
        `${where(keySource)} gives a client key but no client certificate is set: set TEMPORAL_TLS_CLIENT_CERT_PATH ` +
          "or TEMPORAL_TLS_CLIENT_CERT_DATA (or the profile's tls.client_cert_path / client_cert_data)",
      );
    }
    if (crt?.cert && key?.key && !crt.cert.checkPrivateKey(key.key)) {
      problems.push(`the client certificate (${where(certSource)}) and key (${where(keySource)}) do not match`);
    }
    const settings: TlsSettings = {};
    if (serverName) settings.serverNameOverride = serverName;
    if (ca) settings.serverRootCACertificate = ca.bytes;
    if (crt && key) settings.clientCertPair = { crt: crt.bytes, key: key.bytes };
    tls = Object.keys(settings).length ? settings : true;
  }
  const plaintext = plaintextCredentials(env, address || DEFAULT_TEMPORAL_ADDRESS, tls, apiKey, metadata, problems);
  if (plaintext) problems.push(plaintext);
  if (problems.length) throw new ConfigError(problems, 'Temporal configuration');

  return {
    address: address || DEFAULT_TEMPORAL_ADDRESS,
    namespace: namespace || DEFAULT_TEMPORAL_NAMESPACE,
    taskQueue: queue.data!.HERO_TASK_QUEUE,
    apiKey,
    tls,
    ...(metadata && Object.keys(metadata).length ? { metadata } : {}),
  };
}

/** Set to true to send Temporal credentials over a connection without TLS to a server off this machine. */
export const ALLOW_INSECURE_CREDENTIALS = 'HERO_ALLOW_INSECURE_CREDENTIALS';
/** gRPC headers that carry a credential: authorization, and any whose name says token, key, secret... */
const CREDENTIAL_HEADER = /auth|token|key|secret|password|passwd|cookie|credential|session/i;

/**
 * The problem when credentials (the API key, or credential headers) would go to a server off this machine
 * over a connection without TLS, where anyone on the path reads them and can act as this client; undefined
 * otherwise, or when HERO_ALLOW_INSECURE_CREDENTIALS=true says to send them anyway (a trusted network).
 */
function plaintextCredentials(
  env: NodeJS.ProcessEnv,
  address: string,
  tls: TlsSettings | boolean | undefined,
  apiKey: string | undefined,
  metadata: Record<string, string> | undefined,
  problems: string[],
): string | undefined {
  const allow = env[ALLOW_INSECURE_CREDENTIALS]?.trim();
  if (allow && !BOOLEAN_VALUES.includes(allow)) {
    problems.push(`${ALLOW_INSECURE_CREDENTIALS} must be true, false, 1 or 0`);
    return undefined;
  }
  if (tls || allow === 'true' || allow === '1' || isLoopback(address)) return undefined;
  const sent = [
    ...(apiKey !== undefined ? ['the API key (TEMPORAL_API_KEY)'] : []),
    ...Object.keys(metadata ?? {})
      .filter((name) => CREDENTIAL_HEADER.test(name))
      .map((name) => `the gRPC header "${name}"`),
  ];
  if (!sent.length) return undefined;
  const how =
    tls === false
      ? 'TLS is turned off (TEMPORAL_TLS=false, or tls.disabled in the profile): unset it'
      : 'no TLS is configured: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)';
  return (
    `${sent.join(' and ')} would be sent to ${address} in plaintext: ${how}, so that no one on the network ` +
    `between here and the server can read the credential and act as this client. Only for a server on a ` +
    `network you trust (or behind a TLS proxy on it), set ${ALLOW_INSECURE_CREDENTIALS}=true to send it anyway`
  );
}

/** Whether host:port names this machine: localhost, 127.0.0.0/8 or ::1 (nothing leaves it). */
function isLoopback(address: string): boolean {
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  const host = (bracketed ? bracketed[1]! : address.replace(/:\d*$/, '')).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return isIPv6(host) && /^(0{0,4}:){7}0{0,3}1$|^::1$|^::ffff:127\./.test(host);
}

/**
 * The env handed to envconfig. An empty variable counts as unset, as hero-flow always treated it (envconfig
 * would take TEMPORAL_ADDRESS="" as an address); TEMPORAL_GRPC_META_* keep their empty values, which remove
 * a header the profile sets.
 */
function standardVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith(GRPC_META_PREFIX) || value.trim() !== '') vars[name] = value;
  }
  return vars;
}

/**
 * The config file envconfig reads, for messages: TEMPORAL_CONFIG_FILE, else temporalio/temporal.toml in
 * the user config directory, found as envconfig finds it.
 */
function configFile(vars: Record<string, string>): string {
  if (vars.TEMPORAL_CONFIG_FILE !== undefined) return vars.TEMPORAL_CONFIG_FILE;
  const dir =
    platform() === 'win32'
      ? vars.APPDATA
      : platform() === 'darwin'
        ? vars.HOME && join(vars.HOME, 'Library', 'Application Support')
        : vars.XDG_CONFIG_HOME || (vars.HOME && join(vars.HOME, '.config'));
  return dir ? join(dir, 'temporalio', 'temporal.toml') : 'temporalio/temporal.toml (no user config directory)';
}

function profileName(vars: Record<string, string>): string {
  return `profile "${vars.TEMPORAL_PROFILE ?? 'default'}"`;
}

function fileKind(path: string): 'file' | 'missing' | 'other' {
  try {
    return statSync(path).isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/** Calls envconfig, turning its errors into problems that name the variable or profile key and never quote the file. */
function envconfigProfile(
  vars: Record<string, string>,
  file: string,
  problems: string[],
  disableEnv: boolean,
): ClientConfigProfile | undefined {
  try {
    return loadClientConfigProfile({ overrideEnvVars: vars, disableEnv });
  } catch (err) {
    const e = err as Error & { line?: number; column?: number; code?: string };
    const firstLine = String(e?.message ?? err).split('\n')[0]!;
    if (typeof e.line === 'number') {
      // smol-toml's message goes on to quote the offending lines, which may hold an API key: line and column only.
      problems.push(
        `${configFileName(vars, file)}: not valid TOML at line ${e.line}, column ${e.column}: ${firstLine}`,
      );
    } else if (/^Profile '.*' not found/.test(firstLine)) {
      problems.push(`TEMPORAL_PROFILE: no ${profileName(vars)} in ${file}`);
    } else if (/^Cannot specify both (\w+) and (\w+)/.test(firstLine)) {
      const [, a, b] = /^Cannot specify both (\w+) and (\w+)/.exec(firstLine)!;
      problems.push(`${profileName(vars)} in ${file}: tls.${a} and tls.${b} are both set: set only one`);
    } else if (e.code) {
      problems.push(`${configFileName(vars, file)}: cannot read ${file} (${e.code})`);
    } else {
      problems.push(`${configFileName(vars, file)}: ${firstLine}`);
    }
    return undefined;
  }
}

function configFileName(vars: Record<string, string>, file: string): string {
  return vars.TEMPORAL_CONFIG_FILE !== undefined ? 'TEMPORAL_CONFIG_FILE' : file;
}

/**
 * envconfig merges env over the profile key by key, so TEMPORAL_TLS_CLIENT_CERT_DATA over a profile's
 * client_cert_path leaves both set and it throws an anonymous error; name both sides instead.
 */
function mixedSource(
  source: TlsSource,
  vars: Record<string, string>,
  fileProfile: ClientConfigProfile,
  file: string,
): string | undefined {
  const envPath = vars[`${source.env}_PATH`] !== undefined;
  const envData = vars[`${source.env}_DATA`] !== undefined;
  if (envPath && envData) return `${source.env}_PATH and ${source.env}_DATA are both set: set only one`;
  const inFile = fileProfile.tls?.[source.field];
  if (!inFile) return undefined;
  const fileForm = 'path' in inFile ? 'path' : 'data';
  const envForm = envPath ? 'path' : envData ? 'data' : undefined;
  if (envForm === undefined || envForm === fileForm) return undefined;
  return (
    `${source.env}_${envForm.toUpperCase()} and ${profileName(vars)} tls.${source.toml}_${fileForm} (${file}) both ` +
    `give the ${source.what}: remove one`
  );
}

/** Where the final value of a TLS setting came from: its variable, or its key in the profile. */
function origin(source: TlsSource, vars: Record<string, string>, profile: ClientConfigProfile, file: string): string {
  if (vars[`${source.env}_PATH`] !== undefined) return `${source.env}_PATH`;
  if (vars[`${source.env}_DATA`] !== undefined) return `${source.env}_DATA`;
  const value = profile.tls?.[source.field];
  const form = value && 'data' in value ? 'data' : 'path';
  return `${profileName(vars)} tls.${source.toml}_${form} (${file})`;
}

interface Pem {
  bytes: Buffer;
  cert?: X509Certificate;
  key?: KeyObject;
}

/** Reads and checks one TLS file now, so a bad one stops the start with its name rather than failing the handshake. */
function readPem(
  source: TlsSource,
  value: ConfigDataSource | undefined,
  where: string,
  problems: string[],
): Pem | undefined {
  if (value === undefined) return undefined;
  let bytes: Buffer;
  if ('path' in value) {
    try {
      bytes = readFileSync(value.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'a directory'
              : code;
      problems.push(`${where}: cannot read ${value.path} (${why})`);
      return undefined;
    }
  } else {
    bytes = Buffer.from(value.data);
  }
  const from = 'path' in value ? `the file ${value.path}` : 'the value';
  try {
    if (source.field === 'clientKey') {
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(bytes.toString('latin1'))) throw new Error('not PEM');
      return { bytes, key: createPrivateKey(bytes) };
    }
    if (!bytes.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
    return { bytes, cert: new X509Certificate(bytes) };
  } catch {
    // The parser's own message is not shown: it could quote the content.
    const expected = source.field === 'clientKey' ? 'an unencrypted PEM private key' : 'a PEM certificate';
    problems.push(`${where}: ${from} is not ${expected}`);
    return undefined;
  }
}

/**
 * The profile's gRPC headers after env overrides, with names normalised as the Temporal CLI does (every `_`
 * becomes `-`; envconfig 1.24 only replaces the first two). Values are checked, never shown: they are often tokens.
 */
function grpcMetadata(
  profile: ClientConfigProfile,
  env: NodeJS.ProcessEnv,
  vars: Record<string, string>,
  file: string,
  problems: string[],
): Record<string, string> | undefined {
  if (!profile.grpcMeta) return undefined;
  const fromEnv = new Map<string, string>();
  for (const name of Object.keys(env)) {
    if (name.startsWith(GRPC_META_PREFIX)) fromEnv.set(normaliseHeader(name.slice(GRPC_META_PREFIX.length)), name);
  }
  const metadata: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(profile.grpcMeta)) {
    const name = normaliseHeader(rawName);
    const where = fromEnv.get(name) ?? `${profileName(vars)} grpc_meta.${rawName} (${file})`;
    if (!/^[0-9a-z_.-]+$/.test(name) || name.startsWith('grpc-') || name.endsWith('-bin')) {
      problems.push(`${where}: not a usable gRPC header name (letters, digits, - . _; not grpc-*, not *-bin)`);
    } else if (typeof value !== 'string' || !/^[\x20-\x7e]*$/.test(value)) {
      problems.push(`${where}: the header value must be printable ASCII on one line`);
    } else {
      metadata[name] = value;
    }
  }
  return metadata;
}

function normaliseHeader(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}
