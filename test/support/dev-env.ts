import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { portFree } from '../../tools/processes';
import { freePort } from './processes';

export interface DevEnv {
  ports: { temporal: number; ui: number; sandbox: number; metrics: number; codec: number; webhook: number };
  /** For `npm run dev`: free ports, state in `dir`, a fresh key ring, Hero as the sandbox. */
  dev: NodeJS.ProcessEnv;
  /** For the CLI in "another terminal": the dev server's address and the same keys. */
  cli: NodeJS.ProcessEnv;
}

/** The environment of an `npm run dev` for one suite, and of a CLI that talks to it. */
export async function devEnvironment(dir: string, keyId: string): Promise<DevEnv> {
  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    sandbox: await freePort(),
    metrics: await freePort(),
    codec: await freePort(),
    webhook: await freePort(),
  };
  const keys = `${keyId}:${randomBytes(32).toString('base64')}`;
  // Hero staging and a workflow-ID secret from the caller's shell would change what dev does.
  const { HERO_API_KEY: _k, HERO_WORKFLOW_ID_SECRET: _s, ...base } = process.env;
  return {
    ports,
    dev: {
      ...base,
      HERO_DEV_TEMPORAL_PORT: String(ports.temporal),
      HERO_DEV_UI_PORT: String(ports.ui),
      HERO_DEV_SANDBOX_PORT: String(ports.sandbox),
      HERO_DEV_DB_FILE: join(dir, 'dev.sqlite'),
      HERO_METRICS_PORT: String(ports.metrics),
      HERO_DEV_CODEC_PORT: String(ports.codec),
      HERO_DEV_WEBHOOK_PORT: String(ports.webhook),
      HERO_CODEC_KEYS: keys,
    },
    cli: { ...base, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`, HERO_CODEC_KEYS: keys },
  };
}

/** Child pids of `pid` (every thread's), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** A process's command line, or '' once it has gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Every process under `pid` (itself included), each with its command line. */
export function processTree(pid: number): { pid: number; cmd: string }[] {
  return [{ pid, cmd: cmdline(pid) }, ...childPids(pid).flatMap((c) => processTree(c))];
}

/** Alive and not a zombie awaiting its reaper. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Waits until every port is free and every pid gone, failing after 5 s (the README's promise for a
 * stopped `npm run dev`); returns the seconds it took, also reported as a diagnostic of `t`. Polled
 * every 50 ms: a freed port or a reaped orphan has no event to wait on.
 */
export async function waitAllStopped(t: TestContext, what: string, ports: number[], pids: number[]): Promise<number> {
  const started = performance.now();
  for (;;) {
    const busy = [];
    for (const p of ports) if (!(await portFree(p))) busy.push(p);
    const running = pids.filter(alive);
    const seconds = (performance.now() - started) / 1000;
    if (!busy.length && !running.length) {
      t.diagnostic(`${what}: every port free and every process gone in ${seconds.toFixed(2)} s`);
      return seconds;
    }
    if (seconds > 5) {
      // Leave no orphan behind to hold the ports (or the test process's pipes) past the failure.
      const names = running.map((p) => `${p} ${cmdline(p)}`).join('; ');
      for (const p of running) process.kill(p, 'SIGKILL');
      assert.fail(`${what}: after 5 s, ports still busy: [${busy.join(', ')}]; still running: ${names}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
