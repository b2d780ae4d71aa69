import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseKeyRing } from '../src/codec';
import { type Consumer, installConsumer } from './support/consumer';
import { newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { runSuiteWorker, type SuiteWorker } from './support/workers';

const run = promisify(execFile);

const ESM = `import { HeroFlowClient, OUTREACH_WORKFLOW_TYPE } from 'hero-flow';
import { parseKeyRing } from 'hero-flow/codec';
if (OUTREACH_WORKFLOW_TYPE !== 'patientOutreachWorkflow') throw new Error('names');
parseKeyRing(process.env.HERO_CODEC_KEYS);
const client = await HeroFlowClient.connect();
const { workflowId } = await client.start(JSON.parse(process.env.TEST_REQUEST), { workflowId: process.env.TEST_ID });
console.log(JSON.stringify(await client.result(workflowId)));
await client.close();
`;

const CJS = `const { HeroFlowClient, outreachInputSchema } = require('hero-flow');
const { EncryptionCodec } = require('hero-flow/codec');
if (typeof EncryptionCodec !== 'function' || !outreachInputSchema.safeParse) throw new Error('exports');
// The import path the README once showed keeps working.
if (require('hero-flow/src/client').HeroFlowClient !== HeroFlowClient) throw new Error('hero-flow/src/client');
(async () => {
  const client = await HeroFlowClient.connect();
  const { workflowId } = await client.start(JSON.parse(process.env.TEST_REQUEST), { workflowId: process.env.TEST_ID });
  console.log(JSON.stringify(await client.result(workflowId)));
  await client.close();
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** Type-checked: a wrong field or outcome name here fails the test before anything runs. */
const TS = `import { HeroFlowClient, type OutreachRequest, type OutreachResult } from 'hero-flow';
import type { KeyRing } from 'hero-flow/codec';
import type { HeroFlowClient as Legacy } from 'hero-flow/src/client';

const ring: KeyRing | undefined = undefined;
const sameClass: typeof Legacy = HeroFlowClient;

async function main(): Promise<void> {
  const request: OutreachRequest = JSON.parse(process.env.TEST_REQUEST ?? '{}');
  const client = await HeroFlowClient.connect();
  const { workflowId } = await client.start(request, { workflowId: process.env.TEST_ID });
  const result: OutreachResult = await client.result(workflowId);
  const summary = result.outcome === 'completed' ? { outcome: result.outcome, messageId: result.messageId } : result;
  console.log(JSON.stringify({ ...summary, ring, legacy: sameClass === HeroFlowClient }));
  await client.close();
}
void main();
`;

/**
 * hero-flow as other services install it: `npm pack`, then the tarball in a fresh project. Three
 * consumers (ESM, CommonJS, type-checked TypeScript under node16 and bundler resolution) each start a
 * run through the installed package and read its result from a real Temporal server, where a
 * hero-flow worker talks to the Hero sandbox. No tsx anywhere on the consumer's side.
 */
describe('the installed package: import, require and TypeScript consumers', () => {
  const ring = parseKeyRing(`consumer:${randomBytes(32).toString('base64')}`);
  const keySpec = `consumer:${ring.keys.get('consumer')!.toString('base64')}`;
  let stack: TestStack;
  let consumer: Consumer;
  let worker: SuiteWorker;

  before(async () => {
    [stack, consumer] = await Promise.all([startTestStack({ server: 'dev', ring }), installConsumer()]);
    worker = await runSuiteWorker(stack, ring);
  });

  after(async () => {
    await worker?.stop();
    await stopTestStack(stack);
    if (consumer) rmSync(consumer.dir, { recursive: true, force: true });
  });

  const envFor = (request: unknown) => ({
    PATH: process.env.PATH,
    HOME: consumer.dir,
    XDG_CONFIG_HOME: join(consumer.dir, '.config'),
    TEMPORAL_ADDRESS: stack.env.address,
    HERO_TASK_QUEUE: worker.taskQueue,
    HERO_CODEC_KEYS: keySpec,
    TEST_REQUEST: JSON.stringify(request),
    TEST_ID: uniqueId('consumer'),
  });

  async function completes(file: string): Promise<void> {
    const patient = newPatient();
    stack.sandbox.addPatient(patient);
    const { stdout } = await run(process.execPath, [file], {
      cwd: consumer.dir,
      env: envFor(outreachRequest(patient)),
    });
    const result = JSON.parse(stdout) as { outcome: string; messageId?: string };
    assert.equal(result.outcome, 'completed');
    assert.ok(
      stack.sandbox.messages().some((m) => m.id === result.messageId),
      'the message the run reports is one Hero sent',
    );
  }

  it('installs without webpack, swc, the testing package or tsx', async () => {
    for (const name of ['webpack', '@swc/core', '@temporalio/testing', '@temporalio/worker', 'tsx', 'typescript']) {
      assert.ok(!existsSync(join(consumer.dir, 'node_modules', name)), `${name} installed in a consumer`);
    }
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: consumer.dir });
    process.stdout.write(`# consumer: npm ls --omit=dev --all lists ${stdout.trim().split('\n').length} packages\n`);
  });

  it('`hero-flow worker` without its optional peers names them with the npm install command, exit 2', async () => {
    const bin = join(consumer.dir, 'node_modules', 'hero-flow', 'bin', 'hero-flow.js');
    const failed = await run(process.execPath, [bin, 'worker'], {
      cwd: consumer.dir,
      env: envFor({}),
      timeout: 60_000,
    }).then(
      () => assert.fail('the worker started without @temporalio/worker'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(
      failed.stderr ?? '',
      /the worker needs @temporalio\/worker( and @temporalio\/activity)?, not installed here/,
    );
    assert.match(failed.stderr ?? '', /\n {2}npm install @temporalio\/worker@\S+( @temporalio\/activity@\S+)?\n$/);
    assert.doesNotMatch(failed.stderr ?? '', /Require stack|Cannot find module/);
  });

  it('starts a run and reads its result from an ES module (import)', async () => {
    writeFileSync(join(consumer.dir, 'start.mjs'), ESM);
    await completes(join(consumer.dir, 'start.mjs'));
  });

  it('starts a run and reads its result from CommonJS (require)', async () => {
    writeFileSync(join(consumer.dir, 'start.cjs'), CJS);
    await completes(join(consumer.dir, 'start.cjs'));
  });

  for (const resolution of ['node16', 'bundler', 'node10'] as const) {
    it(`type-checks a TypeScript consumer (moduleResolution ${resolution}), which then completes a run`, async () => {
      const out = join(consumer.dir, `out-${resolution}`);
      writeFileSync(join(consumer.dir, 'start.ts'), TS);
      const tsconfig = join(consumer.dir, `tsconfig.${resolution}.json`);
      writeFileSync(
        tsconfig,
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: { node16: 'node16', bundler: 'preserve', node10: 'commonjs' }[resolution],
            moduleResolution: resolution,
            strict: true,
            // As Temporal's samples do: the SDK's own declarations are not checked against every setting.
            skipLibCheck: true,
            outDir: out,
            typeRoots: [join(ROOT, 'node_modules', '@types')],
            types: ['node'],
            ...(resolution === 'node16' ? {} : { noEmit: true }),
          },
          files: ['start.ts'],
        }),
      );
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', tsconfig], { cwd: consumer.dir }).catch((err: { stdout?: string }) => {
        assert.fail(`tsc (${resolution}) refused the consumer:\n${err.stdout ?? String(err)}`);
      });
      if (resolution === 'node16') await completes(join(out, 'start.js'));
    });
  }
});
