import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

/** Written by `npm run build` (tools/build-workflow-bundle.ts) next to the compiled package. */
export const PREBUILT_BUNDLE_FILE = 'workflow-bundle.js';
/** Beside it: the @temporalio/workflow version the bundle holds. */
export const PREBUILT_BUNDLE_INFO_FILE = 'workflow-bundle.json';

/**
 * Modules the workflow sandbox evaluates once per worker thread and shares between runs (the bundler's
 * `preloadModules`) instead of once per run: the schemas, made ready to be frozen
 * (src/workflows/shared-modules.ts says why and how).
 *
 * @param workflowsDir the folder of the workflow modules being bundled (src/workflows or dist/workflows).
 */
export function preloadedWorkflowModules(workflowsDir: string): string[] {
  return [join(workflowsDir, 'shared-modules')];
}

/** The @temporalio/workflow version installed where this worker runs (a peer dependency). */
function installedWorkflowSdkVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@temporalio/workflow/package.json') as { version: string }).version;
}

/**
 * Where the worker's workflow code comes from: the bundle made at build time when the worker runs
 * from the built package (dist/), as in production, provided it holds the same @temporalio/workflow
 * version as the one installed (a bundle must run with the SDK version it was built with); otherwise
 * (the TypeScript sources in development, or another SDK version) the workflows are bundled now,
 * which takes a few seconds.
 *
 * @param dir the folder of this module in the built package. @default __dirname
 * @param installedSdk the installed @temporalio/workflow version. @default read from its package.json
 * @throws SyntaxError when the bundle's info file beside it is not JSON.
 */
export function workflowSource(
  dir: string = __dirname,
  installedSdk: () => string = installedWorkflowSdkVersion,
): Pick<WorkerOptions, 'workflowBundle'> | Pick<WorkerOptions, 'workflowsPath'> {
  const prebuilt = join(dir, '..', PREBUILT_BUNDLE_FILE);
  const info = join(dir, '..', PREBUILT_BUNDLE_INFO_FILE);
  if (existsSync(prebuilt) && existsSync(info)) {
    const { workflowSdk } = JSON.parse(readFileSync(info, 'utf8')) as { workflowSdk?: string };
    if (workflowSdk === installedSdk()) return { workflowBundle: { codePath: prebuilt } };
  }
  return { workflowsPath: require.resolve('../workflows') };
}

/** The folder of the workflow modules beside this one (src/workflows, or dist/workflows when built). */
export const WORKFLOWS_DIR = join(__dirname, '..', 'workflows');
