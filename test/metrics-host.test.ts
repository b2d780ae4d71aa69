import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeySpec, parseKeyRing } from '../src/codec';
import { uniqueId } from './support/fixtures';
import { freePort, Proc, ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { writeTestLog } from './support/test-log';

/** This machine's first IPv4 address off loopback, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** Whether GET http://<host>:<port>/metrics answers (within a bound). */
async function scrapes(host: string, port: number): Promise<boolean> {
  return fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(
    (res) => res.ok,
    () => false,
  );
}

/**
 * Bug: the worker's /metrics (no authentication) listened on every interface while its log line said
 * localhost. It now listens on loopback unless HERO_METRICS_HOST says otherwise, and says where it listens.
 */
describe('the worker serves /metrics where HERO_METRICS_HOST says, loopback by default', () => {
  const keySpec = generateKeySpec('metrics-host');
  let stack: TestStack;
  const workers: Proc[] = [];

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring: parseKeyRing(keySpec) });
  });
  after(async () => {
    for (const w of workers) {
      await w.stop('SIGTERM');
      writeTestLog('metrics worker', w.output);
    }
    await stopTestStack(stack);
  });

  /** `hero-flow worker` (runWorker, configured from env) with metrics on `port`, once it polls. */
  async function startWorker(port: number, extra: NodeJS.ProcessEnv = {}): Promise<Proc> {
    const main =
      `require(${JSON.stringify(join(ROOT, 'src', 'worker', 'run.ts'))}).runWorker()` +
      `.catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); })`;
    const { HERO_METRICS_PORT: _m, HERO_METRICS_HOST: _mh, HERO_HEALTH_PORT: _h, ...base } = process.env;
    const worker = Proc.start(
      process.execPath,
      ['--import', 'tsx', '-e', main],
      {
        ...base,
        TEMPORAL_ADDRESS: stack.env.address,
        TEMPORAL_NAMESPACE: 'default',
        HERO_API_KEY: stack.sandbox.apiKey,
        HERO_PRACTICE_GROUP_ID: stack.sandbox.practiceGroupId,
        HERO_API_BASE_URL: stack.sandbox.url,
        HERO_CODEC_KEYS: keySpec,
        HERO_TASK_QUEUE: uniqueId('tq-metrics'),
        HERO_METRICS_PORT: String(port),
        ...extra,
      },
      { name: 'metrics worker', ready: { line: 'hero-flow worker polling', timeoutMs: 90_000 } },
    );
    workers.push(worker);
    await worker.ready;
    return worker;
  }

  it('listens on loopback only by default, and its start line gives that address', async () => {
    const port = await freePort();
    const worker = await startWorker(port);
    assert.match(worker.output, new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
    assert.equal(await scrapes('127.0.0.1', port), true, 'served on loopback');
    if (externalAddress) {
      assert.equal(await scrapes(externalAddress, port), false, `served on ${externalAddress}, off loopback`);
    }
  });

  it('listens where HERO_METRICS_HOST says (0.0.0.0: every interface), and says so', async () => {
    const port = await freePort();
    const worker = await startWorker(port, { HERO_METRICS_HOST: '0.0.0.0' });
    assert.match(worker.output, new RegExp(`metrics on http://0\\.0\\.0\\.0:${port}/metrics`));
    if (externalAddress) assert.equal(await scrapes(externalAddress, port), true, `not served on ${externalAddress}`);
  });
});
