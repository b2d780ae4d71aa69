#!/usr/bin/env node
'use strict';
/**
 * `node tools/dev/tether.js GRACE_MS COMMAND [ARGS...]`: runs COMMAND as long as whoever started this
 * process holds the write end of its stdin. `npm run dev` (tools/dev/index.ts) starts the Temporal dev
 * server and the worker through it, so that they stop when dev dies, however it dies: a SIGKILL runs
 * no handler of dev's, but the kernel still closes dev's end of the pipe, and this process sees EOF.
 * The Temporal CLI cannot watch a pipe itself; this small process does it for it.
 *
 * On EOF, or on SIGINT/SIGTERM/SIGHUP, COMMAND gets SIGTERM (its graceful stop), then SIGKILL after
 * GRACE_MS. COMMAND runs in its own session, so a terminal's Ctrl-C reaches it once, through here,
 * rather than twice. Its output is relayed, and dropped once nobody reads it, so that it never
 * blocks or dies writing to a closed pipe while it stops. This process exits with COMMAND's code
 * (128 + the signal number if a signal ended it).
 */
const { spawn } = require('node:child_process');
const { constants } = require('node:os');

const [graceArg, command, ...args] = process.argv.slice(2);
const graceMs = Number(graceArg);
if (!command || !Number.isInteger(graceMs) || graceMs < 0) {
  process.stderr.write('usage: node tools/dev/tether.js GRACE_MS COMMAND [ARGS...]\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });

for (const name of ['stdout', 'stderr']) {
  const out = process[name];
  let open = true;
  out.on('error', () => (open = false));
  child[name].on('data', (chunk) => open && out.write(chunk));
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();

child.on('error', (err) => {
  process.stderr.write(`tether: could not start ${command}: ${err.message}\n`);
  process.exit(127);
});
// 'close', not 'exit': its last output is relayed before this process goes.
child.on('close', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
