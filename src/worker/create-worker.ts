import { Client, type ClientOptions } from '@temporalio/client';
import {
  type ActivityInterceptorsFactory,
  type NativeConnection,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities, createBookingEventActivities, createCampaignGate, HeroClients } from '../activities';
import { DEFAULT_MAX_CACHED_WORKFLOWS, shutdownGraceSeconds } from '../config/worker';
import type { HeroClient } from '../hero/client';
import { msToNumber } from '../shared/duration';
import { noopWorkflowSinks, type Tracing, workflowInterceptorsModule } from '../observability/tracing';
import { preloadedWorkflowModules, workflowSource, WORKFLOWS_DIR } from './workflow-source';

export interface HeroWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /**
   * The Hero client of the one practice group served, or the HeroClients of several (each with its own key):
   * an activity picks its group's by its input's practiceGroupId.
   */
  hero: HeroClient | HeroClients;
  /**
   * A bundle made by the caller (tests build one per suite).
   * @default workflowSource(): the prebuilt bundle of the built package, or the workflows bundled now
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * Time for in-flight activities to finish on shutdown. It must exceed the Hero client's timeout, or a
   * call still in flight is cut off (and a message so cut off ends its run in review): refused otherwise.
   * @default 15 s, or 5 s more than the Hero client's timeout when that is longer (src/config/worker.ts)
   */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * Worker Versioning: this worker's build ID in a worker deployment (TEMPORAL_WORKER_BUILD_ID,
   * TEMPORAL_DEPLOYMENT_NAME). Workflows default to AUTO_UPGRADE: a run waits up to 7 days for
   * verification and longer for a booking, longer than a version should be kept running, so runs move to
   * the deployment's current version on their next task, and workflow changes stay behind patched()
   * (docs/development.md, "Changing the workflow safely").
   * @default undefined: an unversioned worker
   */
  workerDeployment?: { buildId: string; deploymentName: string };
  /**
   * The payload codec and failure converter: `workerDataConverter(ring)` (src/codec), which also makes the
   * workflow refuse an input, signal or update that arrived unencrypted. Omitted only for explicit
   * plaintext runs (`--insecure-no-encryption`); a client's converter here would accept plaintext silently.
   * @default undefined: no codec, payloads stored in plaintext
   */
  dataConverter?: WorkerOptions['dataConverter'];
  /**
   * Hero calls per second across every worker of the task queue (server-enforced). Every activity
   * is one Hero call, so this is Hero's rate limit.
   * @default undefined: no limit
   */
  maxTaskQueueActivitiesPerSecond?: number;
  /** Passed to `Worker.create`. @default the SDK's */
  maxConcurrentActivityTaskExecutions?: number;
  /** Passed to `Worker.create`. @default the SDK's */
  maxConcurrentWorkflowTaskExecutions?: number;
  /**
   * Runs kept in the workflow cache between their tasks (`Worker.create`'s `maxCachedWorkflows`); an evicted
   * run is replayed from its history when it next wakes. 0: no cache.
   * @default DEFAULT_MAX_CACHED_WORKFLOWS (src/config/worker.ts): bounded memory, not the SDK's default
   */
  maxCachedWorkflows?: number;
  /**
   * OpenTelemetry tracing (src/observability/tracing.ts, setupTracing).
   * @default undefined: no spans are exported, and the workflow interceptors' sink is still registered, as a
   *   no-op, since the prebuilt bundle carries them
   */
  tracing?: Tracing;
}

/**
 * The one place that wires workflows and activities into a worker. Does not run it: call `run()` on the
 * result (which `shutdown()` ends once in-flight activities finish, within the grace time).
 *
 * @throws TypeError when `shutdownGraceTime` is not a duration, or does not exceed the Hero client's
 *   `timeoutMs`.
 * @throws whatever `Worker.create` throws: e.g. the namespace does not exist, or the workflows fail to bundle.
 */
export async function createHeroWorker(opts: HeroWorkerOptions): Promise<Worker> {
  const source = opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : workflowSource();
  // Bundling now (no prebuilt bundle): the workflow interceptors go in only if their package resolves.
  const interceptorsModule = 'workflowsPath' in source ? workflowInterceptorsModule() : undefined;
  // The booking-event workflow finds runs by search attribute, and campaign runs ask their campaign's gate
  // (and pause it on refused credentials): a client on the worker's own connection.
  const client = new Client({
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    interceptors: opts.tracing?.clientInterceptors as ClientOptions['interceptors'],
  });
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: {
      ...createActivities(HeroClients.of(opts.hero), { campaignGate: createCampaignGate(client) }),
      ...createBookingEventActivities(client),
    },
    ...source,
    ...('workflowsPath' in source && { bundlerOptions: { preloadModules: preloadedWorkflowModules(WORKFLOWS_DIR) } }),
    interceptors: {
      activity: (opts.tracing?.activityInterceptors ?? []) as ActivityInterceptorsFactory[],
      ...(interceptorsModule && { workflowModules: [interceptorsModule] }),
    },
    sinks: (opts.tracing?.workflowSinks ?? noopWorkflowSinks()) as WorkerOptions['sinks'],
    shutdownGraceTime: shutdownGraceTime(opts),
    ...(opts.workerDeployment && {
      workerDeploymentOptions: {
        version: opts.workerDeployment,
        useWorkerVersioning: true,
        defaultVersioningBehavior: 'AUTO_UPGRADE',
      },
    }),
    // Cancellation reaches an activity only through a heartbeat response: flush heartbeats every
    // second so a cancelled run aborts its in-flight Hero request promptly.
    maxHeartbeatThrottleInterval: '1 second',
    dataConverter: opts.dataConverter,
    // Unset settings are left out so the SDK's defaults apply.
    ...definedOnly({
      maxTaskQueueActivitiesPerSecond: opts.maxTaskQueueActivitiesPerSecond,
      maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions,
      maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions,
    }),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
  });
}

/** The grace period in milliseconds: the one given, if it exceeds the Hero client's timeout, or the default. */
function shutdownGraceTime(opts: HeroWorkerOptions): number {
  if (opts.shutdownGraceTime === undefined) return shutdownGraceSeconds(undefined, opts.hero.timeoutMs) * 1000;
  const ms = msToNumber(opts.shutdownGraceTime);
  if (ms <= opts.hero.timeoutMs) {
    throw new TypeError(
      "shutdownGraceTime must exceed the Hero client's timeoutMs (HERO_SHUTDOWN_GRACE_SECONDS, HERO_HTTP_TIMEOUT_MS): " +
        'a Hero call still in flight when the grace period ends is cut off',
    );
  }
  return ms;
}

function definedOnly<T extends Record<string, number | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
