import { makeTelemetryFilterString, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadTemporalSettings } from '../config/temporal';
import { requireKeyRing } from '../config/encryption';
import { loadWorkerSettings, metricsAddress, shutdownGraceSeconds, workerDeployment } from '../config/worker';
import { workerDataConverter } from '../codec';
import { HeroClients } from '../activities/hero-clients';
import { loadHeroPracticeGroups } from '../hero/config';
import { HERO_RATE_LIMIT_SCOPE } from '../hero/inferred';
import { ConfigError } from '../shared/errors';
import { DURATION_BUCKETS_SECONDS, METRICS } from '../observability/metric-names';
import { type HealthServer, type Readiness, startHealthServer } from '../observability/health';
import { setupTracing, type Tracing } from '../observability/tracing';
import { createHeroWorker } from './create-worker';
import { createRedactingLogger, WORKER_SERVICE_NAME } from './logger';
import { describePriorityProbe, probeTaskQueuePriority } from './priority-probe';
import { ensureSearchAttributes } from './search-attributes';

/** Runs every loader and reports all their problems in one ConfigError, so one restart fixes them all. */
function loadAll<A, B, C, D>(a: () => A, b: () => B, c: () => C, d: () => D): [A, B, C, D] {
  const problems: string[] = [];
  const attempt = <T>(load: () => T): T => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined as T;
    }
  };
  const results: [A, B, C, D] = [attempt(a), attempt(b), attempt(c), attempt(d)];
  if (problems.length) throw new ConfigError(problems, 'worker configuration');
  return results;
}

/**
 * Ready while the worker polls its task queue (state RUNNING): not while it starts (connecting,
 * bundling) nor once a shutdown began (STOPPING, DRAINING: in-flight activities finish, nothing new is
 * taken).
 */
export function workerReadiness(worker: Pick<Worker, 'getState'> | undefined): Readiness {
  if (!worker) return { ready: false, detail: 'starting' };
  const state = worker.getState();
  return { ready: state === 'RUNNING', detail: `worker ${state.toLowerCase()}` };
}

/**
 * Runs a hero-flow worker until SIGINT/SIGTERM, then lets in-flight activities finish within the
 * grace time. Every setting comes from env and is validated before anything connects.
 */
export async function runWorker(
  env: NodeJS.ProcessEnv = process.env,
  opts: { insecureNoEncryption?: boolean } = {},
): Promise<void> {
  const warnings: string[] = [];
  const [hero, temporal, settings, ring] = loadAll(
    () => loadHeroPracticeGroups(env, { warn: (l) => warnings.push(l) }),
    () => loadTemporalSettings(env),
    () => loadWorkerSettings(env),
    () => requireKeyRing(env, { insecure: opts.insecureNoEncryption, warn: (l) => warnings.push(l) }),
  );
  const graceSeconds = shutdownGraceSeconds(settings.HERO_SHUTDOWN_GRACE_SECONDS, hero.timeoutMs);
  const deployment = workerDeployment(settings);
  const logger = createRedactingLogger(settings.HERO_LOG_LEVEL, process.stderr, settings.HERO_LOG_FORMAT);
  warnings.forEach((w) => logger.warn(w));
  Runtime.install({
    logger,
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: {
      // The core's own lines go through the same logger (redacted, one format) instead of straight to the console.
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      ...(settings.HERO_METRICS_PORT && {
        metrics: {
          prometheus: {
            // Loopback unless HERO_METRICS_HOST says otherwise: /metrics has no authentication.
            bindAddress: metricsAddress(settings, settings.HERO_METRICS_PORT),
            histogramBucketOverrides: {
              [METRICS.timeToOutcome]: DURATION_BUCKETS_SECONDS,
              [METRICS.timeToVerification]: DURATION_BUCKETS_SECONDS,
            },
          },
        },
      }),
    },
  });

  let worker: Worker | undefined;
  let health: HealthServer | undefined;
  let tracing: Tracing | undefined;
  try {
    // Before connecting: a missing OpenTelemetry package is a configuration error, reported at start.
    tracing = setupTracing(env, WORKER_SERVICE_NAME);
    // Up before connecting: alive (/healthz) while it connects and bundles, ready (/readyz) once polling.
    if (settings.HERO_HEALTH_PORT) {
      health = await startHealthServer({
        port: settings.HERO_HEALTH_PORT,
        host: settings.HERO_HEALTH_HOST,
        service: WORKER_SERVICE_NAME,
        readiness: () => workerReadiness(worker),
      });
    }
    const connection = await NativeConnection.connect({
      address: temporal.address,
      tls: temporal.tls,
      apiKey: temporal.apiKey,
      metadata: temporal.metadata,
    });
    try {
      const added = await ensureSearchAttributes(connection, temporal.namespace);
      if (added.length) logger.info(`Registered search attributes: ${added.join(', ')}`);
      worker = await createHeroWorker({
        connection,
        namespace: temporal.namespace,
        taskQueue: temporal.taskQueue,
        hero: HeroClients.fromConfig(hero),
        shutdownGraceTime: `${graceSeconds} seconds`,
        workerDeployment: deployment,
        // With keys, a run started, signalled or updated without the codec is refused (workerDataConverter);
        // without (--insecure-no-encryption, synthetic data only), plaintext is accepted as it always was.
        dataConverter: ring ? workerDataConverter(ring) : undefined,
        maxTaskQueueActivitiesPerSecond: settings.HERO_RATE_LIMIT_PER_SECOND,
        maxConcurrentActivityTaskExecutions: settings.HERO_MAX_CONCURRENT_ACTIVITIES,
        maxConcurrentWorkflowTaskExecutions: settings.HERO_MAX_CONCURRENT_WORKFLOW_TASKS,
        maxCachedWorkflows: settings.HERO_MAX_CACHED_WORKFLOWS,
        tracing,
      });
      logger.info(
        `hero-flow worker polling task queue "${temporal.taskQueue}" on ${temporal.address} (namespace "${temporal.namespace}"), ` +
          `Hero API ${hero.baseUrl}, ` +
          // Groups and where each key came from (a variable's name), never a key.
          (hero.practiceGroupIds.length > 1
            ? `practice groups ${hero.practiceGroupIds
                .map((g) => `${g} (key from ${hero.groups[g]!.keySource})`)
                .join(', ')}, default ${hero.defaultPracticeGroupId}, `
            : '') +
          (ring
            ? `payloads encrypted with key ${ring.encryptWith.id}, unencrypted input, signals and updates refused`
            : 'payloads NOT encrypted') +
          (settings.HERO_RATE_LIMIT_PER_SECOND
            ? `, at most ${settings.HERO_RATE_LIMIT_PER_SECOND} Hero calls/s on the task queue` +
              (HERO_RATE_LIMIT_SCOPE === 'partner' && hero.practiceGroupIds.length > 1
                ? ' (one budget for all its practice groups, shared fairly: Hero limits per partner, INFERRED)'
                : '')
            : '') +
          (settings.HERO_METRICS_PORT
            ? `, metrics on http://${metricsAddress(settings, settings.HERO_METRICS_PORT)}/metrics`
            : '') +
          (health ? `, health on ${health.url}/healthz and /readyz` : '') +
          (tracing ? `, traces to ${tracing.endpoint}` : '') +
          (deployment
            ? `, Worker Versioning: build ID ${deployment.buildId} of deployment ${deployment.deploymentName}`
            : '') +
          `, shutdown grace ${graceSeconds} s, workflow cache ${settings.HERO_MAX_CACHED_WORKFLOWS} runs`,
      );
      // Beside polling, not before it: the answer is only logged, and the worker works either way.
      // A worker stopped before the answer does not wait for it (a SIGTERM must free the process at once).
      const stopped = new AbortController();
      const probed = probeTaskQueuePriority(connection, temporal.namespace, temporal.taskQueue, {
        signal: stopped.signal,
      }).then((result) => {
        if (stopped.signal.aborted) return;
        const { level, message } = describePriorityProbe(result);
        logger[level](message);
      });
      try {
        await worker.run();
      } finally {
        stopped.abort();
        // Its last call (the probe's termination) gets a second, not a say in when the process ends.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([probed, new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
        clearTimeout(timer);
      }
      logger.info('hero-flow worker stopped');
    } finally {
      await connection.close();
    }
  } finally {
    await health?.close();
    // The last spans of the runs just drained.
    await tracing?.shutdown();
  }
}
