#!/usr/bin/env node
// `prepare` (npm install from git or in this repo): build dist/. Where dev dependencies were left out
// (`npm ci --omit=dev` in an image that already holds a built dist/), there is nothing to build with.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// `npx hero-flow` in this folder: npm 11 links the folder into its npx cache and runs prepare there
// (npm_command is "exec"). dist/ was built by `npm install`: rebuilding made that first call take 11 s
// (over a minute under load), and a call cut short while dist/ was being rebuilt left npx broken for
// the folder. Only a missing dist/ is built then.
if (process.env.npm_command === 'exec' && existsSync(join(__dirname, '..', 'dist', 'cli', 'main.js'))) {
  process.exit(0);
}

try {
  require.resolve('typescript');
} catch {
  process.stderr.write('hero-flow: dev dependencies not installed, so dist/ is not rebuilt (run `npm run build`)\n');
  process.exit(0);
}
const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(built.status ?? 1);
