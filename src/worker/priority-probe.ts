import { randomUUID } from 'node:crypto';
import { google, temporal } from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';

/** What the server does with task-queue priority: honours it, serves first in first out, or could not be told. */
export type PriorityProbeResult =
  { priority: 'honoured' } | { priority: 'fifo' } | { priority: 'unknown'; reason: string };

const PROBE_WORKFLOW_TYPE = 'heroFlowPriorityProbe';
/** The probe workflow's termination, after the probe: it times out on its own in a minute if this fails. */
const TERMINATE_DEADLINE_MS = 2_000;
const STOPPED_FIRST: PriorityProbeResult = { priority: 'unknown', reason: 'the worker stopped first' };

/**
 * Asks the server whether it dispatches by priority: no capability flag says so, and server 1.29.1 has
 * priority off unless configured. The probe queues one workflow task of priority 1 on a queue no worker
 * polls, beside `taskQueue`; a priority-aware matcher reports that backlog under key 1, the classic one
 * under the default key 3. The probe workflow carries no input and is terminated at once (and times out
 * in a minute if it cannot be). A server configured per task queue may treat `taskQueue` differently.
 * Every call has a deadline: the whole probe answers within `opts.timeoutMs` (a server that accepts but never
 * answers gives `unknown`), and the probe workflow's termination gets `TERMINATE_DEADLINE_MS` more.
 * `opts.signal` ends the wait at once (the worker stopping): the probe workflow is still terminated.
 * @default opts.timeoutMs 10000
 */
export async function probeTaskQueuePriority(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PriorityProbeResult> {
  const service = connection.workflowService;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  /** A call that gives up at the probe's deadline, or at once when the worker stops. */
  const call = <T>(fn: () => Promise<T>): Promise<T> => {
    const bounded = () => connection.withDeadline(deadline, fn);
    return opts.signal ? connection.withAbortSignal(opts.signal, bounded) : bounded();
  };
  const queue = {
    name: `${taskQueue}.priority-probe`,
    kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
  };
  const workflowId = `hero-flow.priority-probe.${randomUUID()}`;
  const describe = () =>
    call(() =>
      service.describeTaskQueue({
        namespace,
        taskQueue: queue,
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        reportStats: true,
      }),
    );
  // Asked first, before any workflow exists: a server that cannot describe a queue (the time-skipping test
  // server) starts nothing, and a task left there would hold its time skipping.
  try {
    await describe();
  } catch (err) {
    if (opts.signal?.aborted) return STOPPED_FIRST;
    return { priority: 'unknown', reason: `could not describe a task queue: ${(err as Error).message}` };
  }
  try {
    await call(() =>
      service.startWorkflowExecution({
        namespace,
        workflowId,
        workflowType: { name: PROBE_WORKFLOW_TYPE },
        taskQueue: queue,
        requestId: randomUUID(),
        workflowExecutionTimeout: google.protobuf.Duration.fromObject({ seconds: 60 }),
        identity: 'hero-flow priority probe',
        priority: { priorityKey: 1 },
      }),
    );
  } catch (err) {
    if (opts.signal?.aborted) return STOPPED_FIRST;
    return { priority: 'unknown', reason: `could not start the probe: ${(err as Error).message}` };
  }
  try {
    while (Date.now() < deadline && !opts.signal?.aborted) {
      const { statsByPriorityKey } = await describe();
      const backlog = (key: number) => Number(statsByPriorityKey?.[key]?.approximateBacklogCount ?? 0);
      if (backlog(1) > 0) return { priority: 'honoured' };
      if (backlog(3) > 0) return { priority: 'fifo' };
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (opts.signal?.aborted) return STOPPED_FIRST;
    return { priority: 'unknown', reason: 'the server reported no backlog for the probe task' };
  } catch (err) {
    if (opts.signal?.aborted) return STOPPED_FIRST;
    return { priority: 'unknown', reason: `could not describe the probe queue: ${(err as Error).message}` };
  } finally {
    await connection
      .withDeadline(Date.now() + TERMINATE_DEADLINE_MS, () =>
        service.terminateWorkflowExecution({
          namespace,
          workflowExecution: { workflowId },
          reason: 'priority probe done',
        }),
      )
      .catch(() => undefined);
  }
}

/** The worker's log line for a probe's result: what it means for runs, and what to do. */
export function describePriorityProbe(result: PriorityProbeResult): { level: 'info' | 'warn'; message: string } {
  switch (result.priority) {
    case 'honoured':
      return {
        level: 'info',
        message:
          'Temporal task-queue priority: honoured (single runs ahead of campaign runs, outcome calls ahead of bookkeeping reads)',
      };
    case 'fifo':
      return {
        level: 'warn',
        message:
          'Temporal task-queue priority: NOT honoured by this server, so tasks are served first in, first out and a ' +
          "single invite waits behind a campaign's backlog; runs work as before. To turn it on, set the server's " +
          'dynamic config matching.useNewMatcher and matching.enableFairness to true (docs/priority.md)',
      };
    case 'unknown':
      return {
        level: 'warn',
        message: `Temporal task-queue priority: could not be checked (${result.reason}); runs work either way (docs/priority.md)`,
      };
  }
}
