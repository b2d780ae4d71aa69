import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PREBUILT_BUNDLE_FILE, PREBUILT_BUNDLE_INFO_FILE, workflowSource } from '../src/worker/workflow-source';
import { ROOT } from './support/processes';

describe('where a worker takes its workflow code from', () => {
  it('uses the bundle made at build time when the package was built, as in production', () => {
    // `npm test` builds first; the compiled worker looks next to itself.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const built = require(
      join(ROOT, 'dist', 'worker', 'workflow-source.js'),
    ) as typeof import('../src/worker/workflow-source');
    assert.deepEqual(built.workflowSource(), {
      workflowBundle: { codePath: join(ROOT, 'dist', PREBUILT_BUNDLE_FILE) },
    });
  });

  it('bundles the workflows at start when no prebuilt bundle is there (the sources, in development)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hero-flow-source-'));
    try {
      mkdirSync(join(dir, 'worker'));
      const sdk = () => '1.24.0';
      assert.ok('workflowsPath' in workflowSource(join(dir, 'worker'), sdk));
      writeFileSync(join(dir, PREBUILT_BUNDLE_FILE), '');
      writeFileSync(join(dir, PREBUILT_BUNDLE_INFO_FILE), JSON.stringify({ workflowSdk: '1.24.0' }));
      assert.deepEqual(workflowSource(join(dir, 'worker'), sdk), {
        workflowBundle: { codePath: join(dir, PREBUILT_BUNDLE_FILE) },
      });
      // A bundle must run with the SDK version it holds: another installed version bundles afresh.
      assert.ok('workflowsPath' in workflowSource(join(dir, 'worker'), () => '1.25.0'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
