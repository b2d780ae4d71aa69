#!/usr/bin/env node
// The compiled CLI (dist/, made by `npm run build`, which `npm install` runs through `prepare`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('hero-flow: the CLI is not built yet: run `npm run build` in the hero-flow package\n');
  process.exit(1);
}
require(main).run(process.argv.slice(2));
