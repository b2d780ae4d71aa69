import { isIP } from 'node:net';
import { z } from 'zod';
import { describeProblems } from '../shared/problems';
import { ConfigError } from '../shared/errors';
import { VISIBLE_ASCII } from '../shared/patterns';
import { type LogFormat, loadLogFormat } from '../observability/logging';

/**
 * The shutdown grace period when HERO_SHUTDOWN_GRACE_SECONDS is unset: 15 s, or 5 s more than the Hero
 * HTTP timeout when that is longer than 10 s. It must exceed the timeout: a Hero call still in flight
 * when the grace period ends is cut off, and a message cut off that way ends its run in review.
 */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 15;
const GRACE_MARGIN_SECONDS = 5;

/**
 * Runs a worker keeps in its workflow cache when HERO_MAX_CACHED_WORKFLOWS is unset (`npm run bench:cache`).
 * The SDK's default (600 per GiB of heap limit: 2,310 with a 4 GiB heap) filled the heap at about 900
 * runs. With the schemas shared between runs (src/workflows/shared-modules.ts), 1,000 open runs peaked at
 * 0.48 GiB with 25 cached and 0.71 GiB with 100; a run not cached is replayed when it next wakes (about
 * 40 CPU-ms).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 25;

/** A build ID or deployment name: what the Temporal CLI and UI show, so printable and without spaces. */
const versionPart = (name: string) =>
  z
    .string()
    .trim()
    .min(1, `must not be empty when set`)
    .max(255, 'must be at most 255 characters')
    .regex(VISIBLE_ASCII, 'must be printable ASCII without spaces')
    .refine((v) => name !== 'TEMPORAL_DEPLOYMENT_NAME' || !/[.:]/.test(v), {
      // Temporal joins the deployment name and build ID with either ("deployment.build"). Server 1.29.1 refuses
      // every poll of such a worker ("deployment name cannot contain ':' or '.'"), which would otherwise run, idle.
      error: "must not contain '.' or ':' (Temporal joins the deployment name and build ID with them)",
    })
    .optional();

const workerEnvSchema = z.object({
  HERO_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /**
   * Where `/metrics` listens: loopback by default, as it has no authentication (0.0.0.0 or an interface's
   * address for a scraper elsewhere). An IP address: the SDK's Prometheus exporter binds no host name.
   */
  HERO_METRICS_HOST: z
    .string()
    .trim()
    .refine((v) => isIP(v) !== 0, {
      error: 'must be an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1): the metrics server binds no host name',
    })
    .default('127.0.0.1'),
  /** Unset: DEFAULT_SHUTDOWN_GRACE_SECONDS, or more when HERO_HTTP_TIMEOUT_MS is long (shutdownGraceSeconds). */
  HERO_SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).optional(),
  HERO_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  /** `/healthz` and `/readyz` on this port (src/observability/health.ts); unset: no health server. */
  HERO_HEALTH_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Where the health server listens: loopback unless an orchestrator probes from outside (0.0.0.0). */
  HERO_HEALTH_HOST: z
    .string()
    .trim()
    .regex(/^([0-9a-z.-]+|[0-9a-f:]+)$/i, 'must be a host name or IP address')
    .default('127.0.0.1'),
  /**
   * Hero calls per second, as the worker option `maxTaskQueueActivitiesPerSecond`: the Temporal
   * server enforces it across every worker polling the task queue, so a fleet stays under Hero's
   * limit together. Every activity is exactly one Hero call, so the one task queue (workflows and
   * activities) needs no separate activity queue: workflow tasks are not counted by this limit.
   * The server splits the limit evenly across the queue's partitions, so give the queue one
   * partition (docs/deploy.md, rate limit and throughput); one partition carries far more than Hero's limit.
   * 429s are still retried after `Retry-After` for when the limit is shared with other clients.
   * Unset: no limit (SDK default).
   */
  HERO_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().finite().optional(),
  /** `maxConcurrentActivityTaskExecutions` of this worker (SDK default otherwise). */
  HERO_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  /** `maxConcurrentWorkflowTaskExecutions` of this worker (SDK default otherwise). */
  HERO_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  /** `maxCachedWorkflows` of this worker: runs kept in memory between their tasks (DEFAULT_MAX_CACHED_WORKFLOWS). */
  HERO_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(0)
    .default(() => DEFAULT_MAX_CACHED_WORKFLOWS),
  /**
   * Worker Versioning (WorkerOptions.workerDeploymentOptions, SDK 1.24): this worker's build ID within
   * the worker deployment TEMPORAL_DEPLOYMENT_NAME. The SDK's version needs both; neither: unversioned.
   */
  TEMPORAL_WORKER_BUILD_ID: versionPart('TEMPORAL_WORKER_BUILD_ID'),
  TEMPORAL_DEPLOYMENT_NAME: versionPart('TEMPORAL_DEPLOYMENT_NAME'),
});

export type WorkerSettings = z.infer<typeof workerEnvSchema> & {
  /** HERO_LOG_FORMAT: text (default) or json, one object per line. */
  HERO_LOG_FORMAT: LogFormat;
};

/** Reads the worker's own settings from env, reporting every problem at once. Never echoes values. */
export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const raw = Object.fromEntries(
    Object.keys(workerEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = workerEnvSchema.safeParse(raw);
  const problems = parsed.success ? [] : describeProblems(parsed.error, '(environment)', workerEnvSchema);
  let format: LogFormat = 'text';
  try {
    format = loadLogFormat(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (parsed.success) {
    const { TEMPORAL_WORKER_BUILD_ID: buildId, TEMPORAL_DEPLOYMENT_NAME: deployment } = parsed.data;
    if ((buildId === undefined) !== (deployment === undefined)) {
      problems.push(
        'TEMPORAL_WORKER_BUILD_ID and TEMPORAL_DEPLOYMENT_NAME: set both for Worker Versioning, or neither ' +
          `(${buildId === undefined ? 'TEMPORAL_WORKER_BUILD_ID' : 'TEMPORAL_DEPLOYMENT_NAME'} is missing)`,
      );
    }
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems, 'worker configuration');
  return { ...parsed.data, HERO_LOG_FORMAT: format };
}

/**
 * The shutdown grace period in seconds for a Hero HTTP timeout of `heroTimeoutMs`: the one set, which
 * must exceed the timeout (refused otherwise, naming both variables), or the default.
 */
export function shutdownGraceSeconds(setting: number | undefined, heroTimeoutMs: number): number {
  if (setting === undefined) {
    return Math.max(DEFAULT_SHUTDOWN_GRACE_SECONDS, Math.ceil(heroTimeoutMs / 1000) + GRACE_MARGIN_SECONDS);
  }
  if (setting * 1000 <= heroTimeoutMs) {
    throw new ConfigError(
      [
        'HERO_SHUTDOWN_GRACE_SECONDS must exceed HERO_HTTP_TIMEOUT_MS (in seconds): a Hero call still in flight ' +
          'when the grace period ends is cut off, and a message cut off so ends its run in review. Raise ' +
          `HERO_SHUTDOWN_GRACE_SECONDS, or unset it (its default is ${DEFAULT_SHUTDOWN_GRACE_SECONDS} s, or ` +
          `${GRACE_MARGIN_SECONDS} s more than HERO_HTTP_TIMEOUT_MS when that is longer)`,
      ],
      'worker configuration',
    );
  }
  return setting;
}

/** `host:port` as the metrics server binds it and a URL names it (an IPv6 address in brackets). */
export function metricsAddress(settings: Pick<WorkerSettings, 'HERO_METRICS_HOST'>, port: number): string {
  const host = settings.HERO_METRICS_HOST;
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The worker's Worker Versioning settings, when both variables are set. */
export function workerDeployment(settings: WorkerSettings): { buildId: string; deploymentName: string } | undefined {
  const { TEMPORAL_WORKER_BUILD_ID: buildId, TEMPORAL_DEPLOYMENT_NAME: deploymentName } = settings;
  return buildId !== undefined && deploymentName !== undefined ? { buildId, deploymentName } : undefined;
}
