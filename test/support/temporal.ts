import {
  bundleWorkflowCode,
  DefaultLogger,
  type NativeConnection,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH, type KeyRing, workerDataConverter } from '../../src/codec';
import { HeroClient } from '../../src/hero/client';
import type { HeroConfig } from '../../src/hero/config';
import type { Sandbox } from '../../src/sandbox';
import { createHeroWorker } from '../../src/worker/create-worker';
import { uniqueId } from './fixtures';

let runtimeInstalled = false;
/** Keeps the SDK's own logs to errors (tests provoke many expected activity failures). */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/** Bundles the workflows once per test file; workers in that file reuse it. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    // As Worker.create does from workflowsPath: the workflow sandbox encodes failures too.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}

export interface SandboxWorkerOptions {
  connection: NativeConnection;
  sandbox: Sandbox;
  bundle: WorkflowBundleWithSourceMap;
  /** Payload encryption as in production; omit only to record plaintext replay histories. */
  ring?: KeyRing;
  /** Overrides of the Hero client's settings, e.g. a wrong key to provoke a 401. */
  hero?: Partial<HeroConfig>;
}

/** A hero-flow worker on a fresh task queue, talking HTTP to the sandbox. */
export async function sandboxWorker(opts: SandboxWorkerOptions): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = uniqueId('tq');
  const worker = await createHeroWorker({
    connection: opts.connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: opts.bundle,
    dataConverter: opts.ring ? workerDataConverter(opts.ring) : undefined,
    hero: new HeroClient({
      apiKey: opts.sandbox.apiKey,
      practiceGroupId: opts.sandbox.practiceGroupId,
      baseUrl: opts.sandbox.url,
      timeoutMs: 2_000,
      ...opts.hero,
    }),
  });
  return { worker, taskQueue };
}
