import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  PREBUILT_BUNDLE_FILE,
  PREBUILT_BUNDLE_INFO_FILE,
  preloadedWorkflowModules,
  workflowSource,
  WORKFLOWS_DIR,
} from '../src/worker/workflow-source';
import { SHARED_MODULES } from '../src/workflows/shared-modules';
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

/** The project's own modules a source file loads, transitively (relative imports, types left out). */
function importClosure(file: string, seen = new Set<string>()): Set<string> {
  for (const m of readFileSync(file, 'utf8').matchAll(/^import (?!type )[^;]*? from '(\.[^']+)';/gms)) {
    const target = [`${resolve(dirname(file), m[1]!)}.ts`, join(resolve(dirname(file), m[1]!), 'index.ts')].find((f) =>
      existsSync(f),
    );
    if (target && !seen.has(target)) {
      seen.add(target);
      importClosure(target, seen);
    }
  }
  return seen;
}

describe('the schemas shared between runs (one copy per worker thread, not one per run)', () => {
  it('the prebuilt bundle preloads them', () => {
    const code = readFileSync(join(ROOT, 'dist', PREBUILT_BUNDLE_FILE), 'utf8');
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code);
    assert.ok(preload, 'the bundle has a preload function');
    assert.match(preload[1]!, /dist\/workflows\/shared-modules\.js/);
    assert.deepEqual(preloadedWorkflowModules(WORKFLOWS_DIR), [join(WORKFLOWS_DIR, 'shared-modules')]);
  });

  it('settles the lazy members of every module the preload loads (the SDK freezes each of them)', () => {
    const src = join(ROOT, 'src');
    const loaded = [...importClosure(join(src, 'workflows', 'shared-modules.ts'))]
      .map((f) => relative(src, f).replace(/\.ts$/, ''))
      .sort();
    assert.deepEqual(Object.keys(SHARED_MODULES).sort(), loaded);
  });

  it('export no RegExp outside a schema: frozen, a global one would throw at its next use', () => {
    const regexps: string[] = [];
    const walk = (v: unknown, path: string, seen: Set<unknown>): void => {
      if (v === null || typeof v !== 'object' || seen.has(v)) return;
      seen.add(v);
      if (v instanceof RegExp) regexps.push(path);
      else if (!('_zod' in v)) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, seen);
    };
    walk(SHARED_MODULES, 'SHARED_MODULES', new Set());
    assert.deepEqual(regexps, []);
  });
});
