import { z } from 'zod';
import { describeProblems } from '../shared/problems';
import { ConfigError } from '../hero/config';

const workerEnvSchema = z.object({
  HERO_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  HERO_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  HERO_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /**
   * Hero calls per second, as the worker option `maxTaskQueueActivitiesPerSecond`: the Temporal
   * server enforces it across every worker polling the task queue, so a fleet stays under Hero's
   * limit together. Every activity is exactly one Hero call, so the one task queue (workflows and
   * activities) needs no separate activity queue: workflow tasks are not counted by this limit.
   * The server splits the limit evenly across the queue's partitions, so give the queue one
   * partition (README, Throughput); one partition carries far more than Hero's limit.
   * 429s are still retried after `Retry-After` for when the limit is shared with other clients.
   * Unset: no limit (SDK default).
   */
  HERO_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().finite().optional(),
  /** `maxConcurrentActivityTaskExecutions` of this worker (SDK default otherwise). */
  HERO_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  /** `maxConcurrentWorkflowTaskExecutions` of this worker (SDK default otherwise). */
  HERO_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  /** `maxCachedWorkflows` of this worker (SDK default otherwise). */
  HERO_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
});

export type WorkerSettings = z.infer<typeof workerEnvSchema>;

export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const raw = Object.fromEntries(
    Object.keys(workerEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = workerEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(describeProblems(parsed.error, '(environment)', workerEnvSchema), 'worker configuration');
  }
  return parsed.data;
}
