import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';

const ROOT = path.resolve(__dirname, '../..');
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'hero-flow-test-bundles');

/** Every file under `dir`, sorted, so the key does not depend on the order the disk lists them in. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/**
 * What a bundle is made of: every source file (the workflows' imports reach across src/), the lock file (zod
 * and the SDK's workflow runtime are bundled too), the compiler settings, and the files that hold the
 * bundler's options. A change to any of them makes a new key.
 */
function bundleKey(optionFiles: string[]): string {
  const hash = createHash('sha256');
  const inputs = [
    ...filesUnder(path.join(ROOT, 'src')),
    ...['package-lock.json', 'tsconfig.json'].map((f) => path.join(ROOT, f)),
    ...optionFiles,
  ];
  for (const file of inputs)
    hash.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 32);
}

/**
 * Bundling the workflows takes about 7 CPU-seconds, and some 35 test files each need the same bundle: the
 * first makes it, the rest read it from node_modules/.cache (which `npm ci` empties). HERO_TEST_BUNDLE_CACHE=off
 * bundles every time.
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
  const file = path.join(dir, `${bundleKey(optionFiles)}.json`);
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
