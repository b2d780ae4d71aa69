#!/usr/bin/env node
// `prepare` (npm install from git or in this repo): build dist/. Where dev dependencies were left out
// (`npm ci --omit=dev` in an image that already holds a built dist/), there is nothing to build with.
const { spawnSync } = require('node:child_process');

try {
  require.resolve('typescript');
} catch {
  process.stderr.write('hero-flow: dev dependencies not installed, so dist/ is not rebuilt (run `npm run build`)\n');
  process.exit(0);
}
const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(built.status ?? 1);
