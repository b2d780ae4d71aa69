/**
 * Bundles the workflows at build time (`npm run build`), as Temporal's production sample does: a
 * worker started from the package loads dist/workflow-bundle.js instead of running webpack at start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import {
  PREBUILT_BUNDLE_FILE,
  PREBUILT_BUNDLE_INFO_FILE,
  preloadedWorkflowModules,
} from '../src/worker/workflow-source';

/**
 * Writes the workflow bundle and its info file into a built package's dist folder.
 *
 * @param dist the compiled package's folder.
 * @param opts.sharedSchemas false only for `npm run bench:cache`'s comparison: each run loads its own
 *   schemas, as before they were shared. @default true
 * @returns the bundle's size in KiB.
 */
export async function buildWorkflowBundle(dist: string, opts: { sharedSchemas?: boolean } = {}): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(dist, 'workflows'),
    // Baked in: the workflow sandbox encodes failures with it (src/codec/failure-converter.ts).
    failureConverterPath: join(dist, 'codec', 'failure-converter.js'),
    // Workflow spans when the worker traces (a dev dependency here, so always carried); a worker without
    // tracing registers a no-op sink for them (src/worker/create-worker.ts).
    workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    // The schemas once per worker thread, not once per run (src/worker/workflow-source.ts).
    preloadModules: opts.sharedSchemas === false ? [] : preloadedWorkflowModules(join(dist, 'workflows')),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(join(dist, PREBUILT_BUNDLE_FILE), code);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const workflowSdk = (require('@temporalio/workflow/package.json') as { version: string }).version;
  writeFileSync(join(dist, PREBUILT_BUNDLE_INFO_FILE), JSON.stringify({ workflowSdk }) + '\n');
  return Math.round(code.length / 1024);
}

if (require.main === module) {
  buildWorkflowBundle(join(__dirname, '..', 'dist')).then(
    (kib) => process.stdout.write(`wrote dist/${PREBUILT_BUNDLE_FILE} (${kib} KiB)\n`),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
