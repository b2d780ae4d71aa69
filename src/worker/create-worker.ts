import { Client } from '@temporalio/client';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, createBookingEventActivities } from '../activities';
import type { HeroClient } from '../hero/client';
import { workflowSource } from './workflow-source';

export interface HeroWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  hero: HeroClient;
  /** A bundle made by the caller (tests build one per suite); otherwise see workflowSource(). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /**
   * The payload codec and failure converter: `workerDataConverter(ring)` (src/codec), which also makes the
   * workflow refuse an input, signal or update that arrived unencrypted. Omitted only for explicit
   * plaintext runs (`--insecure-no-encryption`); a client's converter here would accept plaintext silently.
   */
  dataConverter?: WorkerOptions['dataConverter'];
  /**
   * Hero calls per second across every worker of the task queue (server-enforced). Every activity
   * is one Hero call, so this is Hero's rate limit. Unset: no limit.
   */
  maxTaskQueueActivitiesPerSecond?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxCachedWorkflows?: number;
}

/** The one place that wires workflows and activities into a worker. */
export function createHeroWorker(opts: HeroWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: {
      ...createActivities(opts.hero),
      // The booking-event workflow finds runs by search attribute: a client on the worker's own connection.
      ...createBookingEventActivities(
        new Client({ connection: opts.connection, namespace: opts.namespace, dataConverter: opts.dataConverter }),
      ),
    },
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : workflowSource()),
    shutdownGraceTime: opts.shutdownGraceTime ?? '10 seconds',
    // Cancellation reaches an activity only through a heartbeat response: flush heartbeats every
    // second so a cancelled run aborts its in-flight Hero request promptly.
    maxHeartbeatThrottleInterval: '1 second',
    dataConverter: opts.dataConverter,
    // Unset settings are left out so the SDK's defaults apply.
    ...definedOnly({
      maxTaskQueueActivitiesPerSecond: opts.maxTaskQueueActivitiesPerSecond,
      maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions,
      maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions,
      maxCachedWorkflows: opts.maxCachedWorkflows,
    }),
  });
}

function definedOnly<T extends Record<string, number | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
