/**
 * A key for the state of the sources a build is made from: every file under src/, the lock file, the
 * compiler settings, and any other files given. The test bundles (test/support/bundle-cache.ts) and dist/
 * (this file's command line) are made again only when it changes.
 *
 *   tsx tools/source-key.ts --check   exit 0 when dist/ was built from the sources as they are now, else 1
 *   tsx tools/source-key.ts --write   record that dist/ was built from them (the end of `npm run build`)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './processes';

/** Every file under `dir`, sorted, so the key does not depend on the order the disk lists them in. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/**
 * The key of src/, package-lock.json, tsconfig.json and `extra` (absolute paths): a change to any of them,
 * a file added or removed, makes a new one.
 */
export function sourceKey(extra: string[] = []): string {
  const hash = createHash('sha256');
  const inputs = [
    ...filesUnder(path.join(ROOT, 'src')),
    ...['package-lock.json', 'tsconfig.json'].map((f) => path.join(ROOT, f)),
    ...extra,
  ];
  for (const file of inputs)
    hash.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 32);
}

/** What dist/ is made from besides src/: the build's settings and the bundler's script. */
const DIST_INPUTS = ['tsconfig.build.json', 'package.json', 'tools/build-workflow-bundle.ts'].map((f) =>
  path.join(ROOT, f),
);
/** What a complete dist/ holds: the library, the CLI and the prebuilt workflow bundle. */
const DIST_OUTPUTS = ['index.js', 'cli/main.js', 'workflow-bundle.js'];

/** The key dist/ is built for: src/ and the rest of sourceKey's inputs, the build's settings, the bundler's script. */
export const distKey = (): string => sourceKey(DIST_INPUTS);

/** Where `--write` keeps the key dist/ was built for. */
export function distKeyFile(dist = path.join(ROOT, 'dist')): string {
  return path.join(dist, '.source-key');
}

/** Whether `dist` is complete and was built from the sources as they are now. */
export function distIsCurrent(dist = path.join(ROOT, 'dist')): boolean {
  if (!DIST_OUTPUTS.every((f) => existsSync(path.join(dist, f)))) return false;
  try {
    return readFileSync(distKeyFile(dist), 'utf8').trim() === distKey();
  } catch {
    return false;
  }
}

if (require.main === module) {
  const mode = process.argv[2];
  if (mode === '--write') {
    writeFileSync(distKeyFile(), `${distKey()}\n`);
  } else if (mode === '--check') {
    const current = distIsCurrent();
    process.stdout.write(
      current ? 'dist/ is up to date with src/ (built for this state of the sources)\n' : 'dist/ is out of date\n',
    );
    process.exit(current ? 0 : 1);
  } else {
    process.stderr.write('usage: tsx tools/source-key.ts --check | --write\n');
    process.exit(2);
  }
}
