import { FAILURE_CONVERTER_PATH } from '../../src/codec';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

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
