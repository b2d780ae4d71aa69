import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ProvisionLog } from './errors';
import { pidAlive } from './fsutil';
import { cacheDir } from './paths';

const STALE_MS = 2 * 60 * 60 * 1000;
const POLL_MS = 500;

interface LockInfo {
  pid: number;
  host: string;
  since: number;
}

function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

function isStale(file: string): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return false; // gone already: just retry
  }
  const age = Date.now() - mtimeMs;
  const info = readLock(file);
  if (!info) return age > 10_000; // crashed between create and write
  if (age > STALE_MS) return true;
  return info.host === hostname() && !pidAlive(info.pid);
}

/**
 * Runs `fn` holding `.temporal/locks/<name>.lock`, so two processes never build the same thing at once.
 * A lock left by a dead process (same host) or older than two hours is taken over.
 */
export async function withLock<T>(name: string, log: ProvisionLog, fn: () => Promise<T>): Promise<T> {
  const dir = path.join(cacheDir(), 'locks');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.lock`);
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      const info: LockInfo = { pid: process.pid, host: hostname(), since: Date.now() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStale(file)) {
      try {
        unlinkSync(file);
      } catch {
        // another waiter removed it
      }
      continue;
    }
    if (!announced) {
      announced = true;
      const holder = readLock(file);
      log(`${name}: waiting for another process${holder ? ` (pid ${holder.pid})` : ''} that is provisioning it`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    const info = readLock(file);
    if (info?.pid === process.pid && info.host === hostname()) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }
}
