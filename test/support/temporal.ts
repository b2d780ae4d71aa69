import {
  bundleWorkflowCode,
  makeTelemetryFilterString,
  type NativeConnection,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { FAILURE_CONVERTER_PATH, heroDataConverter, type KeyRing, workerDataConverter } from '../../src/codec';
import { HeroClient } from '../../src/hero/client';
import type { HeroConfig } from '../../src/hero/config';
import { devServerExecutable, testServerExecutable } from '../../tools/provision';
import { type Sandbox, startSandbox } from '../../tools/sandbox';
import { createHeroWorker } from '../../src/worker/create-worker';
import { preloadedWorkflowModules, WORKFLOWS_DIR } from '../../src/worker/workflow-source';
import { ensureSearchAttributes } from '../../src/worker/search-attributes';
import { cachedBundle } from './bundle-cache';
import { uniqueId } from './fixtures';
import { testLogger, testLogLevel } from './test-log';

let runtimeInstalled = false;
/**
 * Sends the SDK's logs, the Rust core's included, to the test log (test/support/test-log.ts)
 * rather than stderr: tests provoke many expected activity failures, and a failing test's
 * message names that file.
 */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = testLogLevel();
  Runtime.install({
    logger: testLogger(),
    // Without `forward`, core writes its own lines (e.g. server-capability WARNs) straight to stderr.
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }) } },
  });
}

/**
 * The workflows bundled as the prebuilt bundle is, once per test file (workers in that file reuse it) and,
 * through test/support/bundle-cache.ts, once per change of the sources.
 */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return cachedBundle([__filename], () =>
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      // As Worker.create does from workflowsPath: the workflow sandbox encodes failures too.
      failureConverterPath: FAILURE_CONVERTER_PATH,
      // As the prebuilt bundle (tools/build-workflow-bundle.ts): workflow spans, exported when the worker traces.
      workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
      // As the prebuilt bundle: the schemas shared between runs.
      preloadModules: preloadedWorkflowModules(WORKFLOWS_DIR),
      logger: testLogger('workflow bundler'),
    }),
  );
}

export interface SandboxWorkerOptions {
  connection: NativeConnection;
  sandbox: Sandbox;
  bundle: WorkflowBundleWithSourceMap;
  /** Payload encryption as in production; omit only to record plaintext replay histories. */
  ring?: KeyRing;
  /** Overrides of the Hero client's settings, e.g. a wrong key to provoke a 401. */
  hero?: Partial<HeroConfig>;
  /** A task queue to poll (a second worker taking over a first one's runs); default a fresh one. */
  taskQueue?: string;
  /** 0: no sticky cache, so another worker on the task queue gets a run's next task at once. */
  maxCachedWorkflows?: number;
}

/** A hero-flow worker on a fresh task queue, talking HTTP to the sandbox. */
export async function sandboxWorker(opts: SandboxWorkerOptions): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = opts.taskQueue ?? uniqueId('tq');
  const worker = await createHeroWorker({
    connection: opts.connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: opts.bundle,
    ...(opts.maxCachedWorkflows !== undefined && { maxCachedWorkflows: opts.maxCachedWorkflows }),
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

/** What most suites run against: a real Temporal server, the Hero sandbox and the workflow bundle. */
export interface TestStack {
  env: TestWorkflowEnvironment;
  sandbox: Sandbox;
  bundle: WorkflowBundleWithSourceMap;
}

/**
 * Starts a stack for one suite (call in `before`; `stopTestStack` in `after`): the time-skipping
 * test server or a dev server, with the search attributes registered, and the client encrypting
 * with `ring` when given.
 */
export async function startTestStack(opts: { server: 'time-skipping' | 'dev'; ring?: KeyRing }): Promise<TestStack> {
  quietRuntime();
  const client = opts.ring ? { dataConverter: heroDataConverter(opts.ring) } : undefined;
  const server = () =>
    opts.server === 'time-skipping'
      ? testServerExecutable().then((executable) =>
          TestWorkflowEnvironment.createTimeSkipping({ server: { executable }, client }),
        )
      : devServerExecutable().then((executable) =>
          TestWorkflowEnvironment.createLocal({ server: { executable }, client }),
        );
  const [env, sandbox, bundle] = await Promise.allSettled([
    // Once more on a failed start: a whole suite once failed in its before() in CI, its cause not kept, and
    // the SDK picks a free port before the server binds it, so another process can take it in between.
    server().catch(server),
    startSandbox(),
    bundleWorkflows(),
  ]);
  const started = { env: valueOf(env), sandbox: valueOf(sandbox), bundle: valueOf(bundle) };
  try {
    for (const part of [env, sandbox, bundle]) if (part.status === 'rejected') throw part.reason;
    await ensureSearchAttributes(started.env!.nativeConnection, 'default');
    return started as TestStack;
  } catch (err) {
    // What did start must not outlive the failure: an open sandbox kept the test file alive to its timeout.
    await stopTestStack(started).catch(() => {});
    throw err;
  }
}

const valueOf = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);

export async function stopTestStack(stack: Partial<TestStack> | undefined): Promise<void> {
  await stack?.sandbox?.close();
  await stack?.env?.teardown();
}
