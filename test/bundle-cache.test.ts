import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedBundle } from './support/bundle-cache';

/** The test files share one workflow bundle per state of the sources: never a stale one. */
describe('the test bundle cache', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hero-bundle-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds once for the same inputs, and again when an input changes', async () => {
    const options = path.join(dir, 'options.ts');
    const cache = path.join(dir, 'cache');
    writeFileSync(options, 'first');
    let builds = 0;
    const build = async () => ({ code: `bundle ${++builds}`, sourceMap: '{}' });

    assert.equal((await cachedBundle([options], build, cache)).code, 'bundle 1');
    assert.equal(
      (await cachedBundle([options], build, cache)).code,
      'bundle 1',
      'the second file reads the first bundle',
    );
    writeFileSync(options, 'second');
    assert.equal((await cachedBundle([options], build, cache)).code, 'bundle 2', 'a changed input makes a new bundle');
    assert.equal(builds, 2);
  });
});
