/**
 * `npm run check`, the first step of `npm test`: the type check and the linter, side by side. Each takes a
 * core for most of a minute, and neither needs the other's result, so on two cores they end together in
 * about the time of the longer one. Each one's output is printed whole when it ends, under its name; the
 * exit code is 1 if either failed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

interface Check {
  name: string;
  command: string;
  args: string[];
}

const CHECKS: Check[] = [
  { name: 'tsc --noEmit', command: bin('tsc'), args: ['--noEmit'] },
  { name: 'eslint .', command: bin('eslint'), args: ['.'] },
];

function run(check: Check): Promise<boolean> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(check.command, check.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    let reported = false;
    const report = (ok: boolean, why: string) => {
      if (reported) return; // 'error' (could not start) may be followed by 'close'
      reported = true;
      const text = Buffer.concat(output).toString();
      const took = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${check.name}: ${ok ? 'passed' : `FAILED (${why})`} in ${took} s\n${text}`);
      resolve(ok);
    };
    child.on('error', (err) => report(false, `could not start ${check.command}: ${err.message}; run npm ci`));
    child.on('close', (code, signal) => report(code === 0, signal ? `signal ${signal}` : `exit ${code}`));
  });
}

void Promise.all(CHECKS.map(run)).then((results) => {
  process.exitCode = results.every(Boolean) ? 0 : 1;
});
