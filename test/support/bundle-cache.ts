import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ROOT } from '../../tools/processes';
import { sourceKey } from '../../tools/source-key';

const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'hero-flow-test-bundles');

/**
 * Bundling the workflows takes about 7 CPU-seconds, and some 35 test files each need the same bundle: the
 * first makes it, the rest read it from node_modules/.cache (which `npm ci` empties). HERO_TEST_BUNDLE_CACHE=off
 * bundles every time. A bundle is kept under the key of what it is made of (tools/source-key.ts): every source
 * file (the workflows' imports reach across src/), the lock file (zod and the SDK's workflow runtime are
 * bundled too), the compiler settings, and the files that hold the bundler's options.
 *
 * @param optionFiles the files whose contents decide the bundler's options (part of the key)
 * @param dir where bundles are kept
 * @default dir node_modules/.cache/hero-flow-test-bundles
 */
export async function cachedBundle(
  optionFiles: string[],
  build: () => Promise<WorkflowBundleWithSourceMap>,
  dir = CACHE_DIR,
): Promise<WorkflowBundleWithSourceMap> {
  if (process.env.HERO_TEST_BUNDLE_CACHE === 'off') return build();
  const file = path.join(dir, `${sourceKey(optionFiles)}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as WorkflowBundleWithSourceMap;
    if (typeof cached.code === 'string' && typeof cached.sourceMap === 'string') return cached;
  } catch {
    // Not made yet, or cut short: make it.
  }
  const bundle = await build();
  mkdirSync(dir, { recursive: true });
  // Renamed into place, so a test file running beside this one never reads half a bundle.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify({ code: bundle.code, sourceMap: bundle.sourceMap }));
  renameSync(partial, file);
  return bundle;
}
