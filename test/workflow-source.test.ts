import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PREBUILT_BUNDLE_FILE, workflowSource } from '../src/worker/workflow-source';
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
      assert.ok('workflowsPath' in workflowSource(join(dir, 'worker')));
      writeFileSync(join(dir, PREBUILT_BUNDLE_FILE), '');
      assert.deepEqual(workflowSource(join(dir, 'worker')), {
        workflowBundle: { codePath: join(dir, PREBUILT_BUNDLE_FILE) },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
