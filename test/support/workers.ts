import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { KeyRing } from '../../src/codec';
import { patientOutreachWorkflow } from '../../src/workflows/patient-outreach';
import type { OutreachRequest } from '../../src/workflows/schemas';
import { uniqueId } from './fixtures';
import { sandboxWorker, type SandboxWorkerOptions, type TestStack } from './temporal';

/** A hero-flow worker for a whole suite: started in `before`, `stop()` in `after`. */
export interface SuiteWorker {
  taskQueue: string;
  /** Shuts the worker down and waits until it has stopped. */
  stop(): Promise<void>;
}

/** Runs a hero-flow worker on a fresh task queue against the stack's server and sandbox, with `ring`. */
export async function runSuiteWorker(stack: TestStack, ring: KeyRing): Promise<SuiteWorker> {
  const { worker, taskQueue } = await sandboxWorker({
    connection: stack.env.nativeConnection,
    sandbox: stack.sandbox,
    bundle: stack.bundle,
    ring,
  });
  const running = worker.run();
  return {
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

/** Starts a patientOutreachWorkflow run on the worker's task queue. */
export type StartOutreach = (input: OutreachRequest) => Promise<WorkflowHandle<typeof patientOutreachWorkflow>>;

/**
 * Runs `body` with a worker on a fresh task queue (`worker`: its sandbox, bundle and keys); `body` starts
 * the runs. Once `body` is over, failed included, and while the worker still runs, `close` gets every run
 * it started: a run left open would keep the server's time from skipping, or outlive the test.
 */
export async function withOutreachWorker<T>(
  env: TestWorkflowEnvironment,
  worker: Omit<SandboxWorkerOptions, 'connection'>,
  close: (started: WorkflowHandle[]) => Promise<void>,
  body: (start: StartOutreach) => Promise<T>,
): Promise<T> {
  const { worker: running, taskQueue } = await sandboxWorker({ connection: env.nativeConnection, ...worker });
  const started: WorkflowHandle[] = [];
  const start: StartOutreach = async (input) => {
    const handle = await env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue,
      workflowId: uniqueId('wf'),
      args: [input],
    });
    started.push(handle);
    return handle;
  };
  return running.runUntil(async () => {
    try {
      return await body(start);
    } finally {
      await close(started);
    }
  });
}
