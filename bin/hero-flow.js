#!/usr/bin/env node
// The compiled CLI (dist/, made by `npm run build`, which `npm install` runs through `prepare`).
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).split('\n')[0].includes('main.js')) {
    process.stderr.write('hero-flow: the CLI is not built yet: run `npm run build` in the hero-flow package\n');
    process.exit(1);
  }
  throw err;
}
cli.run(process.argv.slice(2));
