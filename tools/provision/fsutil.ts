import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from './paths';

/** True if a process with this pid is running on this machine. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tmpRoot(): string {
  const dir = path.join(cacheDir(), 'tmp');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A fresh build folder inside .temporal (same filesystem, so the finished result can be renamed into
 * place atomically). Leftovers of dead processes building the same thing are removed first.
 */
export function makeBuildDir(name: string): string {
  const root = tmpRoot();
  for (const entry of readdirSync(root)) {
    const m = new RegExp(`^${name}-(\\d+)-`).exec(entry);
    if (m && !pidAlive(Number(m[1]))) rmSync(path.join(root, entry), { recursive: true, force: true });
  }
  return mkdtempSync(path.join(root, `${name}-${process.pid}-`));
}

/** Atomically puts the complete folder `from` at `to`, moving any previous `to` aside and deleting it. */
export function replaceDir(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt > 3) throw err;
      const trash = path.join(tmpRoot(), `trash-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(to, trash);
      } catch {
        // someone else moved it already; retry
      }
      rmSync(trash, { recursive: true, force: true });
    }
  }
}

/** What a cache entry was built from; written last, so an entry without it is incomplete. */
export interface Stamp {
  source: 'go-install' | 'maven' | 'sdk-download';
  /** The pinned version (go-install, maven) or SDK identity (sdk-download) the entry was built for. */
  pin: string;
  builtAt: string;
  detail?: string;
}

export function readStamp(file: string): Stamp | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<Stamp>;
    return typeof s.source === 'string' && typeof s.pin === 'string' ? (s as Stamp) : undefined;
  } catch {
    return undefined;
  }
}

export function writeStamp(file: string, stamp: Omit<Stamp, 'builtAt'>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ ...stamp, builtAt: new Date().toISOString() }, null, 2)}\n`);
  renameSync(tmp, file);
}
