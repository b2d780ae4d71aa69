import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes';

const run = promisify(execFile);

export interface Consumer {
  /** The consumer project: package.json and node_modules with hero-flow installed from its tarball. */
  dir: string;
  tarball: string;
}

/**
 * Packs hero-flow as `npm pack` ships it and installs the tarball into a fresh project, as another
 * service would: no tsx, no dev dependencies, the required peers installed by npm. The package must
 * have been built (`npm run build`; `npm test` builds first): packing with scripts off keeps the build
 * `npm test` made.
 */
export async function installConsumer(): Promise<Consumer> {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('hero-flow is not built: run `npm run build`');
  const dir = mkdtempSync(join(tmpdir(), 'hero-flow-consumer-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
  });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  const tarball = join(dir, filename);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { dir, tarball };
}
