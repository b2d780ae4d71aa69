import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { generateKeySpec, parseKeyRing } from '../src/codec';
import {
  DEFAULT_MAX_CACHED_WORKFLOWS,
  loadWorkerSettings,
  metricsAddress,
  shutdownGraceSeconds,
} from '../src/config/worker';
import { HeroClient } from '../src/hero/client';
import { loadHeroConfig } from '../src/hero/config';
import { ConfigError } from '../src/shared/errors';
import { createHeroWorker } from '../src/worker/create-worker';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { freePort, Proc, ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { writeTestLog } from './support/test-log';

/** The least environment a worker starts with; nothing listens at its Temporal address. */
async function minimalEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return {
    HERO_API_KEY: 'key',
    HERO_PRACTICE_GROUP_ID: '1',
    HERO_CODEC_KEYS: generateKeySpec('config'),
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    ...extra,
  };
}

/**
 * What runWorker (`hero-flow worker`) says when it refuses `env`: it must exit with a ConfigError before
 * connecting. In a child process, so that a worker which did start cannot outlive the test.
 */
async function refusal(env: NodeJS.ProcessEnv): Promise<string> {
  const main =
    `require(${JSON.stringify(join(ROOT, 'src', 'worker', 'run.ts'))}).runWorker().then(` +
    `() => process.exit(0), (e) => { process.stderr.write(e.name + ': ' + e.message + '\\n'); process.exit(3); })`;
  const proc = Proc.start(process.execPath, ['--import', 'tsx', '-e', main], env, { name: 'hero-flow worker' });
  let bound: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    proc.exited,
    // A bound, not a wait: a worker that did not refuse would be connecting by then.
    new Promise<number | null>((resolve) => (bound = setTimeout(() => resolve(proc.stop('SIGKILL')), 30_000))),
  ]);
  clearTimeout(bound);
  await proc.closed;
  assert.equal(code, 3, `the worker did not refuse:\n${proc.tail()}`);
  assert.match(proc.stderr, /^ConfigError: Invalid worker configuration:/);
  return proc.stderr;
}

describe('worker configuration: the shutdown grace period exceeds the Hero HTTP timeout', () => {
  it('refuses at start a grace period that does not exceed HERO_HTTP_TIMEOUT_MS, naming both variables', async () => {
    // The old default grace period against the default timeout: equal, so refused.
    const message = await refusal(await minimalEnv({ HERO_SHUTDOWN_GRACE_SECONDS: '10' }));
    assert.match(message, /HERO_SHUTDOWN_GRACE_SECONDS must exceed HERO_HTTP_TIMEOUT_MS/);
    assert.ok(!/\b10000?\b/.test(message), 'no value echoed');
    for (const [grace, timeout] of [
      [10, 10_000],
      [5, 10_000],
      [20, 30_000],
    ] as const) {
      assert.throws(
        () => shutdownGraceSeconds(grace, timeout),
        (err: Error) =>
          err instanceof ConfigError &&
          /HERO_SHUTDOWN_GRACE_SECONDS must exceed HERO_HTTP_TIMEOUT_MS/.test(err.message),
        `${grace} s, ${timeout} ms`,
      );
    }
  });

  it('defaults to a grace period above the Hero timeout: 15 s for the default 10 s, 5 s more for a longer one', () => {
    const defaultTimeout = loadHeroConfig({ HERO_API_KEY: 'k', HERO_PRACTICE_GROUP_ID: '1' }).timeoutMs;
    assert.equal(shutdownGraceSeconds(undefined, defaultTimeout), 15);
    assert.ok(shutdownGraceSeconds(undefined, defaultTimeout) * 1000 > defaultTimeout);
    assert.equal(shutdownGraceSeconds(undefined, 30_000), 35);
    assert.equal(shutdownGraceSeconds(undefined, 2_000), 15);
    assert.equal(shutdownGraceSeconds(11, 10_000), 11);
    assert.equal(
      loadWorkerSettings({}).HERO_SHUTDOWN_GRACE_SECONDS,
      undefined,
      'unset stays unset: the default follows the timeout',
    );
  });
});

describe('worker configuration: Worker Versioning from TEMPORAL_WORKER_BUILD_ID and TEMPORAL_DEPLOYMENT_NAME', () => {
  it('refuses one of the two without the other, naming both', async () => {
    const message = await refusal(await minimalEnv({ TEMPORAL_WORKER_BUILD_ID: 'build-7' }));
    assert.match(message, /TEMPORAL_WORKER_BUILD_ID and TEMPORAL_DEPLOYMENT_NAME: set both/);
    assert.match(message, /TEMPORAL_DEPLOYMENT_NAME is missing/);
    assert.ok(!message.includes('build-7'), 'no value echoed');
    assert.throws(
      () => loadWorkerSettings({ TEMPORAL_DEPLOYMENT_NAME: 'hero-flow' }),
      /TEMPORAL_WORKER_BUILD_ID and TEMPORAL_DEPLOYMENT_NAME: set both for Worker Versioning, or neither \(TEMPORAL_WORKER_BUILD_ID is missing\)/,
    );
  });

  it("refuses a blank, spaced or over-long value, and a deployment name with '.' or ':', which the server refuses", () => {
    for (const [name, value, problem] of [
      ['TEMPORAL_WORKER_BUILD_ID', 'build 7', /TEMPORAL_WORKER_BUILD_ID: must be printable ASCII without spaces/],
      ['TEMPORAL_WORKER_BUILD_ID', '   ', /TEMPORAL_WORKER_BUILD_ID: must not be empty/],
      ['TEMPORAL_DEPLOYMENT_NAME', 'x'.repeat(256), /TEMPORAL_DEPLOYMENT_NAME: must be at most 255 characters/],
      ['TEMPORAL_DEPLOYMENT_NAME', 'hero.flow', /TEMPORAL_DEPLOYMENT_NAME: must not contain '\.' or ':'/],
      ['TEMPORAL_DEPLOYMENT_NAME', 'hero:flow', /TEMPORAL_DEPLOYMENT_NAME: must not contain '\.' or ':'/],
    ] as const) {
      const both = { TEMPORAL_WORKER_BUILD_ID: 'b1', TEMPORAL_DEPLOYMENT_NAME: 'hero-flow', [name]: value };
      assert.throws(() => loadWorkerSettings(both), problem, `${name}=${JSON.stringify(value)}`);
    }
  });
});

describe('worker configuration: the workflow cache (HERO_MAX_CACHED_WORKFLOWS)', () => {
  it('defaults to 25 runs, chosen from bench:cache (100 peaked at 1.7 GiB RSS), and a value overrides it', () => {
    // The figure chosen from `npm run bench:cache`: changing it means measuring again.
    assert.equal(DEFAULT_MAX_CACHED_WORKFLOWS, 25);
    assert.equal(loadWorkerSettings({}).HERO_MAX_CACHED_WORKFLOWS, 25);
    assert.equal(loadWorkerSettings({ HERO_MAX_CACHED_WORKFLOWS: '' }).HERO_MAX_CACHED_WORKFLOWS, 25);
    assert.equal(loadWorkerSettings({ HERO_MAX_CACHED_WORKFLOWS: '2500' }).HERO_MAX_CACHED_WORKFLOWS, 2500);
    assert.equal(loadWorkerSettings({ HERO_MAX_CACHED_WORKFLOWS: '0' }).HERO_MAX_CACHED_WORKFLOWS, 0);
    assert.throws(() => loadWorkerSettings({ HERO_MAX_CACHED_WORKFLOWS: '-1' }), /HERO_MAX_CACHED_WORKFLOWS/);
  });
});

describe('worker configuration: where /metrics listens (HERO_METRICS_HOST)', () => {
  it('defaults to loopback, as /metrics has no authentication, and takes an IPv4 or IPv6 address', () => {
    assert.equal(loadWorkerSettings({}).HERO_METRICS_HOST, '127.0.0.1');
    assert.equal(metricsAddress(loadWorkerSettings({}), 9464), '127.0.0.1:9464');
    assert.equal(metricsAddress(loadWorkerSettings({ HERO_METRICS_HOST: '0.0.0.0' }), 9464), '0.0.0.0:9464');
    assert.equal(metricsAddress(loadWorkerSettings({ HERO_METRICS_HOST: ' ::1 ' }), 9464), '[::1]:9464');
  });

  it('refuses a host name, which the SDK cannot bind, saying what to give', () => {
    assert.throws(
      () => loadWorkerSettings({ HERO_METRICS_HOST: 'metrics.internal' }),
      /HERO_METRICS_HOST: must be an IP address \(e\.g\. 127\.0\.0\.1, 0\.0\.0\.0 or ::1\)/,
    );
  });
});

describe('worker configuration on a dev server: the grace check of createHeroWorker, a versioned worker', () => {
  const keySpec = generateKeySpec('versioning');
  let stack: TestStack;
  let worker: Proc | undefined;

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring: parseKeyRing(keySpec) });
  });

  after(async () => {
    await worker?.stop('SIGTERM');
    if (worker) writeTestLog('versioned worker', worker.output);
    await stopTestStack(stack);
  });

  it('createHeroWorker refuses a shutdownGraceTime not above its Hero client timeout', async () => {
    const hero = new HeroClient({ apiKey: 'k', practiceGroupId: '1', baseUrl: stack.sandbox.url, timeoutMs: 10_000 });
    for (const shutdownGraceTime of ['10 seconds', 5_000] as const) {
      const made = await createHeroWorker({
        connection: stack.env.nativeConnection,
        namespace: 'default',
        taskQueue: uniqueId('tq-grace'),
        workflowBundle: stack.bundle,
        hero,
        shutdownGraceTime,
      }).then(
        // A worker that should not exist: run and stop it at once, so it cannot outlive the test.
        async (worker) => worker.runUntil(Promise.resolve('a worker was made')),
        (err: unknown) => err,
      );
      assert.ok(made instanceof TypeError, String(made));
      assert.match(
        made.message,
        /shutdownGraceTime must exceed the Hero client's timeoutMs \(HERO_SHUTDOWN_GRACE_SECONDS, HERO_HTTP_TIMEOUT_MS\)/,
      );
    }
  });

  it("createHeroWorker gives the SDK hero-flow's workflow cache size unless told another (0 included)", async () => {
    const hero = new HeroClient({ apiKey: 'k', practiceGroupId: '1', baseUrl: stack.sandbox.url, timeoutMs: 2_000 });
    for (const [given, expected] of [
      [undefined, DEFAULT_MAX_CACHED_WORKFLOWS],
      [7, 7],
      [0, 0],
    ] as const) {
      const worker = await createHeroWorker({
        connection: stack.env.nativeConnection,
        namespace: 'default',
        taskQueue: uniqueId('tq-cache'),
        workflowBundle: stack.bundle,
        hero,
        ...(given !== undefined && { maxCachedWorkflows: given }),
      });
      // The options the SDK runs with, not ours: made and stopped at once, so it cannot outlive the test.
      const compiled = worker.options.maxCachedWorkflows;
      await worker.runUntil(Promise.resolve());
      assert.equal(compiled, expected, `maxCachedWorkflows ${String(given)}`);
    }
  });

  it('runs a worker as that version of the deployment; once it is current, runs go to it, auto-upgrading', async () => {
    const deploymentName = uniqueId('hero-flow');
    const buildId = uniqueId('build');
    const taskQueue = uniqueId('tq-versioned');
    const main =
      `require(${JSON.stringify(join(ROOT, 'src', 'worker', 'run.ts'))}).runWorker()` +
      `.catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); })`;
    const { HERO_METRICS_PORT: _m, HERO_HEALTH_PORT: _h, ...base } = process.env;
    worker = Proc.start(
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
        HERO_TASK_QUEUE: taskQueue,
        TEMPORAL_WORKER_BUILD_ID: buildId,
        TEMPORAL_DEPLOYMENT_NAME: deploymentName,
      },
      { name: 'versioned worker', ready: { line: `Worker Versioning: build ID ${buildId}`, timeoutMs: 90_000 } },
    );
    await worker.ready;
    // HERO_MAX_CACHED_WORKFLOWS unset: runWorker hands createHeroWorker the default, and says so.
    assert.match(worker.output, new RegExp(`workflow cache ${DEFAULT_MAX_CACHED_WORKFLOWS} runs`));

    // Its polls make the server record the version in the deployment (no event to wait on: asked again).
    const service = stack.env.client.workflowService;
    await eventually(
      async () => {
        const { workerDeploymentInfo } = await service.describeWorkerDeployment({
          namespace: 'default',
          deploymentName,
        });
        return workerDeploymentInfo?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === buildId);
      },
      30_000,
      'the version in the deployment',
    );
    await service.setWorkerDeploymentCurrentVersion({
      namespace: 'default',
      deploymentName,
      buildId,
      identity: 'test',
    });

    const patient = newPatient();
    stack.sandbox.addPatient(patient);
    const handle = await stack.env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue,
      workflowId: uniqueId('versioned'),
      args: [outreachRequest(patient)],
    });
    assert.equal((await handle.result()).outcome, 'completed');
    const { raw } = await handle.describe();
    const versioning = raw.workflowExecutionInfo?.versioningInfo;
    assert.equal(versioning?.deploymentVersion?.deploymentName, deploymentName);
    assert.equal(versioning?.deploymentVersion?.buildId, buildId);
    assert.equal(versioning?.behavior, temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE);
  });
});
