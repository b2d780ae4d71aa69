#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx hero-flow` works right after `npm install`.
require('tsx/cjs');
const { main, describeError } = require('../src/client/cli.ts');
const { redact } = require('../src/shared/redact.ts');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const { message, code } = describeError(err);
    process.stderr.write(`hero-flow: ${redact(message)}\n`);
    process.exit(code);
  },
);
