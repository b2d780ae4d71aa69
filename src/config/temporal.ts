import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../hero/config';
import { DEFAULT_TASK_QUEUE } from '../shared/task-queue';

/**
 * Temporal connection settings, read from the Temporal CLI's own environment variable names
 * so one `.env` serves both the CLI and hero-flow (Temporal Cloud: TEMPORAL_API_KEY or mTLS).
 */
const temporalEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().trim().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  HERO_TASK_QUEUE: z.string().trim().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_API_KEY: z.string().trim().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  TEMPORAL_TLS_CERT_DATA: z.string().optional(),
  TEMPORAL_TLS_KEY_DATA: z.string().optional(),
  TEMPORAL_TLS_CA_DATA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
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
  tls?: TlsSettings | boolean;
}

export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const raw = Object.fromEntries(
    Object.keys(temporalEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = temporalEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`),
      'Temporal configuration',
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  const read = (data: string | undefined, path: string | undefined, name: string): Buffer | undefined => {
    if (data) return Buffer.from(data);
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch {
      problems.push(`${name}_PATH: cannot read file ${path}`);
      return undefined;
    }
  };
  const crt = read(e.TEMPORAL_TLS_CERT_DATA, e.TEMPORAL_TLS_CERT_PATH, 'TEMPORAL_TLS_CERT');
  const key = read(e.TEMPORAL_TLS_KEY_DATA, e.TEMPORAL_TLS_KEY_PATH, 'TEMPORAL_TLS_KEY');
  const ca = read(e.TEMPORAL_TLS_CA_DATA, e.TEMPORAL_TLS_CA_PATH, 'TEMPORAL_TLS_CA');
  if (Boolean(crt) !== Boolean(key)) problems.push('TEMPORAL_TLS_CERT_* and TEMPORAL_TLS_KEY_* must be set together');
  if (problems.length) throw new ConfigError(problems, 'Temporal configuration');

  const explicitTls = e.TEMPORAL_TLS === undefined ? undefined : e.TEMPORAL_TLS === 'true' || e.TEMPORAL_TLS === '1';
  const wantsTls = explicitTls ?? Boolean(crt || ca || e.TEMPORAL_API_KEY);
  let tls: TlsSettings | boolean | undefined;
  if (wantsTls) {
    const settings: TlsSettings = {};
    if (e.TEMPORAL_TLS_SERVER_NAME) settings.serverNameOverride = e.TEMPORAL_TLS_SERVER_NAME;
    if (ca) settings.serverRootCACertificate = ca;
    if (crt && key) settings.clientCertPair = { crt, key };
    tls = Object.keys(settings).length ? settings : true;
  }
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.HERO_TASK_QUEUE,
    apiKey: e.TEMPORAL_API_KEY,
    tls,
  };
}
