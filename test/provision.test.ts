import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  cacheDir,
  devServerExecutable,
  projectRoot,
  ProvisionError,
  resolveTemporalCli,
  resolveTestServer,
  TEMPORAL_CLI_VERSION,
  testServerExecutable,
} from '../tools/provision';
import { readStamp } from '../tools/provision/fsutil';
import { withLock } from '../tools/provision/lock';
import { quietRuntime } from './support/temporal';

const run = promisify(execFile);
const cachedCli = path.join(cacheDir(), 'bin', 'temporal');
const cachedTestServer = path.join(cacheDir(), 'test-server', 'temporal-test-server');

describe('provisioning of Temporal servers', () => {
  let savedEnv: NodeJS.ProcessEnv;
  let scratch: string;
  let lines: string[];
  const log = (line: string) => void lines.push(line);

  before(() => {
    quietRuntime();
    scratch = mkdtempSync(path.join(tmpdir(), 'provision-test-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(() => {
    savedEnv = { ...process.env };
    lines = [];
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  /** PATH without any `temporal`, so resolution falls through to the cache. */
  const pathWithoutTemporal = () =>
    (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => !existsSync(path.join(dir, 'temporal')))
      .join(path.delimiter);

  it('finds the project root and cache folder', () => {
    assert.ok(existsSync(path.join(projectRoot(), 'package.json')));
    assert.equal(cacheDir(), path.join(projectRoot(), '.temporal'));
  });

  it('rejects TEMPORAL_CLI_PATH pointing at a missing file, without falling back', async () => {
    process.env.TEMPORAL_CLI_PATH = path.join(scratch, 'no-such-temporal');
    await assert.rejects(resolveTemporalCli(log), (err: Error) => {
      assert.ok(err instanceof ProvisionError);
      assert.match(err.message, /TEMPORAL_CLI_PATH/);
      assert.match(err.message, /no-such-temporal/);
      return true;
    });
  });

  it('rejects TEMPORAL_CLI_PATH pointing at a file that is not executable', async () => {
    const file = path.join(scratch, 'not-executable');
    writeFileSync(file, 'text', { mode: 0o644 });
    process.env.TEMPORAL_CLI_PATH = file;
    await assert.rejects(resolveTemporalCli(log), ProvisionError);
  });

  it('rejects TEMPORAL_TEST_SERVER_PATH pointing at a missing file', async () => {
    process.env.TEMPORAL_TEST_SERVER_PATH = path.join(scratch, 'no-such-server');
    await assert.rejects(resolveTestServer(log), (err: Error) => {
      assert.ok(err instanceof ProvisionError);
      assert.match(err.message, /TEMPORAL_TEST_SERVER_PATH/);
      return true;
    });
  });

  it('returns TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH as-is when they are executable files', async () => {
    const file = path.join(scratch, 'fake-temporal');
    writeFileSync(file, '#!/bin/sh\necho "temporal version 9.9.9"\n');
    chmodSync(file, 0o755);
    process.env.TEMPORAL_CLI_PATH = file;
    process.env.TEMPORAL_TEST_SERVER_PATH = file;
    assert.equal(await resolveTemporalCli(log), file);
    assert.deepEqual(await devServerExecutable(log), { type: 'existing-path', path: file });
    assert.equal(await resolveTestServer(log), file);
    assert.deepEqual(await testServerExecutable(log), { type: 'existing-path', path: file });
  });

  it('returns the cached CLI and test server quickly', { timeout: 600_000 }, async () => {
    delete process.env.TEMPORAL_CLI_PATH;
    delete process.env.TEMPORAL_TEST_SERVER_PATH;
    process.env.PATH = pathWithoutTemporal();
    // Fills the cache if `npm run provision` has not (npm test's pretest has), then measures hits.
    await resolveTemporalCli(log);
    await resolveTestServer(log);
    assert.ok(existsSync(cachedCli) && existsSync(cachedTestServer));
    lines.length = 0;
    const started = Date.now();
    assert.equal(await resolveTemporalCli(log), cachedCli);
    assert.equal(await resolveTestServer(log), cachedTestServer);
    const took = Date.now() - started;
    assert.ok(took < 2000, `cache hits took ${took} ms`);
    assert.ok(
      lines.every((l) => /: cached \(/.test(l)),
      `expected only cache hits, got:\n${lines.join('\n')}`,
    );
  });

  it('resolves a CLI that prints its version', async () => {
    const cli = await resolveTemporalCli(log);
    const { stdout } = await run(cli, ['--version']);
    assert.match(stdout, /temporal version \d+\.\d+\.\d+/);
    if (cli === cachedCli && readStamp(`${cachedCli}.provision.json`)?.source === 'go-install') {
      assert.match(stdout, new RegExp(`temporal version ${TEMPORAL_CLI_VERSION.replace(/\./g, '\\.')}\\b`));
    }
  });

  it('resolves a time-skipping test server that starts', { timeout: 60_000 }, async () => {
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: await testServerExecutable(log) },
    });
    try {
      assert.equal(env.supportsTimeSkipping, true);
    } finally {
      await env.teardown();
    }
  });

  it('resolves a dev server (Temporal CLI) that starts', { timeout: 60_000 }, async () => {
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: await devServerExecutable(log) } });
    try {
      assert.equal(env.supportsTimeSkipping, false);
    } finally {
      await env.teardown();
    }
  });
});

describe('provisioning lock', () => {
  it('runs holders one at a time', { timeout: 30_000 }, async () => {
    const name = `test-lock-${process.pid}`;
    const events: string[] = [];
    // The first holder stays inside until the second says it is waiting for the lock.
    let secondWaits!: () => void;
    const waiting = new Promise<void>((resolve) => (secondWaits = resolve));
    const holder = (id: string, inside: () => Promise<void>) =>
      withLock(
        name,
        (line) => {
          if (/waiting for another process/.test(line)) secondWaits();
        },
        async () => {
          events.push(`${id}+`);
          await inside();
          events.push(`${id}-`);
        },
      );
    await Promise.all([holder('a', () => waiting), holder('b', async () => undefined)]);
    assert.deepEqual(events, ['a+', 'a-', 'b+', 'b-']);
    assert.equal(existsSync(path.join(cacheDir(), 'locks', `${name}.lock`)), false);
  });

  it('takes over a lock left by a dead process', async () => {
    const name = `test-stale-lock-${process.pid}`;
    const file = path.join(cacheDir(), 'locks', `${name}.lock`);
    const { hostname } = await import('node:os');
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: Date.now() }));
    const started = Date.now();
    assert.equal(
      await withLock(
        name,
        () => undefined,
        async () => 'ran',
      ),
      'ran',
    );
    assert.ok(Date.now() - started < 1000);
    assert.equal(existsSync(file), false);
  });
});
