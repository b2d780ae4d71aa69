import { z } from 'zod';
import { ConfigError } from '../hero/config';

const workerEnvSchema = z.object({
  HERO_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  HERO_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  HERO_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});

export type WorkerSettings = z.infer<typeof workerEnvSchema>;

export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const raw = Object.fromEntries(
    Object.keys(workerEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = workerEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`),
      'worker configuration',
    );
  }
  return parsed.data;
}
