/**
 * CLI start-up cost, as other services pay it per call: `npm run bench:cli`. Installs the packed
 * package into a fresh project (test/support/consumer.ts) and starts a dev server with a worker and
 * one run waiting for verification. Then times `hero-flow --help` and `hero-flow status ID` from the
 * installed package, beside the same commands run from the TypeScript sources through tsx (how the
 * bin ran before it was compiled). Prints medians of 10; a benchmark, it gates nothing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeroFlowClient } from '../src/client';
import { parseKeyRing } from '../src/codec';
import { statusQuery } from '../src/workflows/definitions';
import { installConsumer } from '../test/support/consumer';
import { eventually, newPatient, outreachRequest, uniqueId } from '../test/support/fixtures';
import { ROOT } from '../test/support/processes';
import { startTestStack, stopTestStack } from '../test/support/temporal';
import { runSuiteWorker } from '../test/support/workers';

const run = promisify(execFile);
const RUNS = 10;

async function median(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await run(argv[0]!, argv.slice(1), { env, cwd });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return (times[RUNS / 2 - 1]! + times[RUNS / 2]!) / 2;
}

async function main(): Promise<void> {
  const spec = `bench:${randomBytes(32).toString('base64')}`;
  const ring = parseKeyRing(spec);
  const [stack, consumer] = await Promise.all([startTestStack({ server: 'dev', ring }), installConsumer()]);
  const worker = await runSuiteWorker(stack, ring);
  const { taskQueue } = worker;
  try {
    const patient = newPatient({ needsVerification: true });
    stack.sandbox.addPatient(patient);
    const client = new HeroFlowClient(stack.env.client, taskQueue);
    const { workflowId } = await client.start(outreachRequest(patient), { workflowId: uniqueId('bench-cli') });
    const handle = stack.env.client.workflow.getHandle(workflowId);
    await eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification', 20_000, 'wait');

    const env = {
      PATH: process.env.PATH,
      HOME: consumer.dir,
      XDG_CONFIG_HOME: join(consumer.dir, '.config'),
      TEMPORAL_ADDRESS: stack.env.address,
      HERO_TASK_QUEUE: taskQueue,
      HERO_CODEC_KEYS: spec,
    };
    const installed = [join(consumer.dir, 'node_modules', '.bin', 'hero-flow')];
    const fromSource = [
      process.execPath,
      '--import',
      'tsx',
      '-e',
      "require('./src/cli/main.ts').run(process.argv.slice(1))",
      '--',
    ];
    const lines = ['| command | installed package (compiled) | TypeScript through tsx |', '| --- | --- | --- |'];
    for (const args of [['--help'], ['status', workflowId]]) {
      const compiled = await median([...installed, ...args], env, consumer.dir);
      const tsx = await median([...fromSource, ...args], env, ROOT);
      lines.push(`| \`hero-flow ${args[0]}\` | ${compiled.toFixed(3)} s | ${tsx.toFixed(3)} s |`);
    }
    process.stdout.write(`CLI wall time per call, median of ${RUNS}:\n${lines.join('\n')}\n`);
    await handle.terminate('benchmark done');
  } finally {
    await worker.stop();
    await stopTestStack(stack);
    rmSync(consumer.dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
