import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadTemporalSettings } from '../config/temporal';
import { requireKeyRing } from '../config/encryption';
import { loadWorkerSettings } from '../config/worker';
import { workerDataConverter } from '../codec';
import { HeroClient } from '../hero/client';
import { ConfigError, loadHeroConfig } from '../hero/config';
import { createHeroWorker } from './create-worker';
import { createRedactingLogger } from './logger';
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
 * Runs a hero-flow worker until SIGINT/SIGTERM, then lets in-flight activities finish within the
 * grace time. Every setting comes from env and is validated before anything connects.
 */
export async function runWorker(
  env: NodeJS.ProcessEnv = process.env,
  opts: { insecureNoEncryption?: boolean } = {},
): Promise<void> {
  const warnings: string[] = [];
  const [hero, temporal, settings, ring] = loadAll(
    () => loadHeroConfig(env),
    () => loadTemporalSettings(env),
    () => loadWorkerSettings(env),
    () => requireKeyRing(env, { insecure: opts.insecureNoEncryption, warn: (l) => warnings.push(l) }),
  );
  const logger = createRedactingLogger(settings.HERO_LOG_LEVEL);
  warnings.forEach((w) => logger.warn(w));
  Runtime.install({
    logger,
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    telemetryOptions: settings.HERO_METRICS_PORT
      ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${settings.HERO_METRICS_PORT}` } } }
      : undefined,
  });

  const connection = await NativeConnection.connect({
    address: temporal.address,
    tls: temporal.tls,
    apiKey: temporal.apiKey,
    metadata: temporal.metadata,
  });
  try {
    const added = await ensureSearchAttributes(connection, temporal.namespace);
    if (added.length) logger.info(`Registered search attributes: ${added.join(', ')}`);
    const worker = await createHeroWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      hero: new HeroClient(hero),
      shutdownGraceTime: `${settings.HERO_SHUTDOWN_GRACE_SECONDS} seconds`,
      // With keys, a run started, signalled or updated without the codec is refused (workerDataConverter);
      // without (--insecure-no-encryption, synthetic data only), plaintext is accepted as it always was.
      dataConverter: ring ? workerDataConverter(ring) : undefined,
      maxTaskQueueActivitiesPerSecond: settings.HERO_RATE_LIMIT_PER_SECOND,
      maxConcurrentActivityTaskExecutions: settings.HERO_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: settings.HERO_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: settings.HERO_MAX_CACHED_WORKFLOWS,
    });
    logger.info(
      `hero-flow worker polling task queue "${temporal.taskQueue}" on ${temporal.address} (namespace "${temporal.namespace}"), ` +
        `Hero API ${hero.baseUrl}, ` +
        (ring
          ? `payloads encrypted with key ${ring.encryptWith.id}, unencrypted input, signals and updates refused`
          : 'payloads NOT encrypted') +
        (settings.HERO_RATE_LIMIT_PER_SECOND
          ? `, at most ${settings.HERO_RATE_LIMIT_PER_SECOND} Hero calls/s on the task queue`
          : '') +
        (settings.HERO_METRICS_PORT ? `, metrics on http://localhost:${settings.HERO_METRICS_PORT}/metrics` : ''),
    );
    await worker.run();
    logger.info('hero-flow worker stopped');
  } finally {
    await connection.close();
  }
}
