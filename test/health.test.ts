import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { generateKeySpec, parseKeyRing, startCodecServer } from '../src/codec';
import type { CodecServer } from '../src/codec/server-options';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { newPatient, outreachRequest, uniqueId, untilSandboxHolds } from './support/fixtures';
import { freePort, Proc, ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { writeTestLog } from './support/test-log';

const { EventType } = temporal.api.enums.v1;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request with any Host header (fetch does not let a caller choose it). */
function get(url: string, opts: { method?: string; host?: string; headers?: Record<string, string> } = {}) {
  const { hostname, port, pathname } = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path: pathname,
        method: opts.method ?? 'GET',
        agent: false,
        headers: { ...(opts.host && { host: opts.host }), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}, headers: res.headers }),
        );
      },
    );
    req.on('error', reject).end();
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
const externalAddress = () =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** `hero-flow worker` from the sources, configured from `env` (runWorker). */
function startWorkerProcess(env: NodeJS.ProcessEnv, ready?: string): Proc {
  const main =
    `require(${JSON.stringify(join(ROOT, 'src', 'worker', 'run.ts'))}).runWorker()` +
    `.catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); })`;
  return Proc.start(process.execPath, ['--import', 'tsx', '-e', main], env, {
    name: 'hero-flow worker',
    ...(ready && { ready: { line: ready, timeoutMs: 90_000 } }),
  });
}

function workerEnv(stack: Pick<TestStack, 'sandbox'>, address: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { HERO_METRICS_PORT: _m, HERO_HEALTH_PORT: _h, HERO_HEALTH_HOST: _hh, ...base } = process.env;
  return {
    ...base,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    HERO_API_KEY: stack.sandbox.apiKey,
    HERO_PRACTICE_GROUP_ID: stack.sandbox.practiceGroupId,
    HERO_API_BASE_URL: stack.sandbox.url,
    ...extra,
  };
}

describe('health endpoints: /healthz (alive) and /readyz (polling, or serving)', () => {
  describe('the worker, on HERO_HEALTH_PORT', () => {
    const keySpec = generateKeySpec('health');
    let stack: TestStack;
    const workers: Proc[] = [];

    before(async () => {
      stack = await startTestStack({ server: 'dev', ring: parseKeyRing(keySpec) });
    });

    after(async () => {
      for (const w of workers) {
        await w.stop('SIGKILL');
        writeTestLog('worker', w.output);
      }
      await stopTestStack(stack);
    });

    it('is alive but not ready while it cannot reach Temporal yet', async () => {
      // A Temporal address that accepts connections and never answers: the worker stays connecting.
      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => void sockets.add(s.on('error', () => undefined)));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const healthPort = await freePort();
      try {
        const worker = startWorkerProcess(
          workerEnv(stack, `127.0.0.1:${(silent.address() as { port: number }).port}`, {
            HERO_CODEC_KEYS: keySpec,
            HERO_HEALTH_PORT: String(healthPort),
          }),
        );
        workers.push(worker);
        await worker.waitForPort(healthPort, 30_000);
        const alive = await get(`http://127.0.0.1:${healthPort}/healthz`);
        assert.equal(alive.status, 200);
        assert.deepEqual(alive.body, { status: 'alive', service: 'hero-flow-worker' });
        const ready = await get(`http://127.0.0.1:${healthPort}/readyz`);
        assert.equal(ready.status, 503);
        assert.deepEqual(ready.body, { status: 'not_ready', service: 'hero-flow-worker', detail: 'starting' });
        assert.equal(ready.headers['cache-control'], 'no-store');
        assert.ok(worker.running, 'still connecting');
      } finally {
        for (const s of sockets) s.destroy();
        silent.close();
      }
    });

    it('is ready while polling; on SIGTERM, no longer ready but alive while its Hero call in flight finishes', async () => {
      const healthPort = await freePort();
      const taskQueue = uniqueId('tq-health');
      const worker = startWorkerProcess(
        workerEnv(stack, stack.env.address, {
          HERO_CODEC_KEYS: keySpec,
          HERO_TASK_QUEUE: taskQueue,
          HERO_HEALTH_PORT: String(healthPort),
          HERO_HTTP_TIMEOUT_MS: '5000',
        }),
        // The SDK's line once the worker runs (state RUNNING), after its own start-up line.
        'Worker state changed',
      );
      workers.push(worker);
      await worker.ready;
      // (The address itself may be masked: redact() can read "127.0.0.1:port" as patient data.)
      assert.match(worker.output, /health on http:\/\/\S+\/healthz and \/readyz/);
      assert.match(worker.output, /shutdown grace 15 s/);
      const ready = await get(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', service: 'hero-flow-worker', detail: 'worker running' });

      // A trace Hero takes 3 s to answer, in flight when the worker is told to stop.
      const patient = newPatient();
      stack.sandbox.addPatient(patient);
      const held = stack.sandbox.faultCounts().delay ?? 0;
      stack.sandbox.injectFault('register_pds', { kind: 'delay', ms: 3_000 });
      const handle = await stack.env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('health'),
        args: [outreachRequest(patient)],
      });
      await untilSandboxHolds(stack.sandbox, 1, held);
      worker.child.kill('SIGTERM');
      await worker.waitFor(/Worker state changed.*STOPPING/, 10_000);
      const stopping = await get(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(stopping.status, 503);
      assert.equal(stopping.body.status, 'not_ready');
      assert.match(String(stopping.body.detail), /^worker (stopping|draining|drained)$/);
      assert.equal((await get(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);

      assert.equal(await worker.exited, 0);
      // The call finished within the grace period: the trace completed, not cut off.
      const { events } = await handle.fetchHistory();
      const types = events!.map((e) => e.eventType);
      assert.ok(types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), 'the trace completed');
      assert.ok(!types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED), 'no failed attempt');
      await assert.rejects(get(`http://127.0.0.1:${healthPort}/healthz`), /ECONNREFUSED/, 'the health server closed');
      await handle.terminate('test over');
    });

    it('listens on loopback only unless HERO_HEALTH_HOST says otherwise', async (t) => {
      const external = externalAddress();
      if (!external) return t.skip('this machine has no non-loopback address');
      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => void sockets.add(s.on('error', () => undefined)));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
      try {
        for (const [host, reachable] of [
          [undefined, false],
          ['0.0.0.0', true],
        ] as const) {
          const healthPort = await freePort();
          const worker = startWorkerProcess(
            workerEnv(stack, address, {
              HERO_CODEC_KEYS: keySpec,
              HERO_HEALTH_PORT: String(healthPort),
              ...(host && { HERO_HEALTH_HOST: host }),
            }),
          );
          workers.push(worker);
          await worker.waitForPort(healthPort, 30_000);
          const outside = get(`http://${external}:${healthPort}/healthz`);
          if (reachable) assert.equal((await outside).status, 200);
          else await assert.rejects(outside, /ECONNREFUSED/);
          await worker.stop('SIGKILL');
        }
      } finally {
        for (const s of sockets) s.destroy();
        silent.close();
      }
    });
  });

  describe('the codec server', () => {
    let server: CodecServer;
    const token = 'health-test-token-0123456789';

    before(async () => {
      server = await startCodecServer({
        ring: parseKeyRing(generateKeySpec('health')),
        allowedOrigins: ['http://localhost:8233'],
        authToken: token,
      });
    });

    after(() => server?.close());

    it('answers /healthz and /readyz to a probe by address, without the token, while /decode refuses it', async () => {
      const probeHost = `10.1.2.3:${new URL(server.url).port}`; // a pod IP, as a kubelet probes
      const alive = await get(`${server.url}/healthz`, { host: probeHost });
      assert.equal(alive.status, 200);
      assert.deepEqual(alive.body, { status: 'alive', service: 'hero-flow-codec-server' });
      const ready = await get(`${server.url}/readyz`, { host: probeHost });
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, {
        status: 'ready',
        service: 'hero-flow-codec-server',
        detail: 'serving /encode and /decode',
      });
      assert.equal(ready.headers['cache-control'], 'no-store');
      // The payload paths keep every check: the same Host is refused, and no token is.
      assert.equal((await get(`${server.url}/decode`, { method: 'POST', host: probeHost })).status, 421);
      assert.equal((await get(`${server.url}/decode`, { method: 'POST' })).status, 401);
    });

    it('answers HEAD without a body and refuses other methods on the health paths', async () => {
      const head = await get(`${server.url}/readyz`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.deepEqual(head.body, {});
      const post = await get(`${server.url}/healthz`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    });
  });
});
