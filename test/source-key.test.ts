import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../tools/processes';
import { distIsCurrent, distKey, distKeyFile, sourceKey } from '../tools/source-key';

/**
 * `npm test` builds dist/ only when it was not built from the sources as they are (tools/source-key.ts):
 * `npm ci` has just built it (prepare), and building it again took 25 s of every CI run.
 */
describe('the source key: dist/ and the test bundles made again only when their sources change', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hero-source-key-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A dist/ with the files a build leaves, and `key` recorded as the one it was built for. */
  const fakeDist = (
    name: string,
    key: string | undefined,
    outputs = ['index.js', 'cli/main.js', 'workflow-bundle.js'],
  ) => {
    const dist = path.join(dir, name);
    mkdirSync(path.join(dist, 'cli'), { recursive: true });
    for (const f of outputs) writeFileSync(path.join(dist, f), '');
    if (key !== undefined) writeFileSync(distKeyFile(dist), `${key}\n`);
    return dist;
  };

  it('takes a complete dist/ built for these sources as current', () => {
    assert.equal(distIsCurrent(fakeDist('current', distKey())), true);
  });

  it('builds again when the sources changed since, the key is missing, or a file of the build is', () => {
    assert.equal(distIsCurrent(fakeDist('stale', 'f'.repeat(32))), false, 'another key');
    assert.equal(distIsCurrent(fakeDist('unkeyed', undefined)), false, 'no key');
    assert.equal(distIsCurrent(fakeDist('no-bundle', distKey(), ['index.js', 'cli/main.js'])), false, 'no bundle');
    assert.equal(distIsCurrent(path.join(dir, 'absent')), false, 'no dist/');
  });

  it('changes with any input: the extra files given, and the build settings besides src/', () => {
    const extra = path.join(dir, 'option.ts');
    writeFileSync(extra, 'a');
    const before = sourceKey([extra]);
    assert.equal(sourceKey([extra]), before, 'the same inputs give the same key');
    writeFileSync(extra, 'b');
    assert.notEqual(sourceKey([extra]), before);
    assert.notEqual(distKey(), sourceKey(), 'tsconfig.build.json and the bundler script are part of the dist key');
    assert.equal(path.relative(ROOT, distKeyFile()), path.join('dist', '.source-key'));
  });
});
