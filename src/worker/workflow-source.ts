import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

/** Written by `npm run build` (tools/build-workflow-bundle.ts) next to the compiled package. */
export const PREBUILT_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * Where the worker's workflow code comes from: the bundle made at build time when the worker runs
 * from the built package (dist/), as in production; otherwise (running the TypeScript sources in
 * development) the workflows are bundled now, which takes a few seconds.
 */
export function workflowSource(
  dir: string = __dirname,
): Pick<WorkerOptions, 'workflowBundle'> | Pick<WorkerOptions, 'workflowsPath'> {
  const prebuilt = join(dir, '..', PREBUILT_BUNDLE_FILE);
  return existsSync(prebuilt)
    ? { workflowBundle: { codePath: prebuilt } }
    : { workflowsPath: require.resolve('../workflows') };
}
