import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { MIN_POSTGRES_MAJOR } from './constants';
import { defaultLog, ProvisionError, type ProvisionLog } from './errors';
import { withLock } from './lock';
import { describeExit, heartbeat, isExecutableFile, run, seconds, tail, which } from './util';

const LABEL = 'PostgreSQL';
/** Debian's layout: one folder of server binaries per major version. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
const SERVER_BINARIES = ['initdb', 'pg_ctl', 'postgres'] as const;
const HINT =
  `install PostgreSQL ${MIN_POSTGRES_MAJOR}+ server binaries (Debian/Ubuntu: \`apt-get install postgresql\`) ` +
  'or set POSTGRES_BIN_DIR to the folder holding initdb, pg_ctl and postgres';

/** Where the PostgreSQL server binaries are, for the production-shaped suite's own cluster. */
export interface PostgresInstall {
  binDir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** The major version (`postgres --version`). */
  major: number;
}

function inDir(binDir: string): Omit<PostgresInstall, 'major'> | undefined {
  const [initdb, pgCtl, postgres] = SERVER_BINARIES.map((b) => path.join(binDir, b));
  return SERVER_BINARIES.every((b) => isExecutableFile(path.join(binDir, b)))
    ? { binDir, initdb: initdb!, pgCtl: pgCtl!, postgres: postgres! }
    : undefined;
}

async function majorVersion(postgres: string): Promise<number | undefined> {
  try {
    const r = await run(postgres, ['--version'], { timeoutMs: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)/.exec(r.stdout);
    return r.code === 0 && m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The newest /usr/lib/postgresql/<major>/bin with the server binaries, or `pg_config --bindir`'s. */
async function installed(): Promise<PostgresInstall | undefined> {
  const candidates: string[] = [];
  if (existsSync(DEBIAN_ROOT)) {
    const majors = readdirSync(DEBIAN_ROOT)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((m) => path.join(DEBIAN_ROOT, m, 'bin')));
  }
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const r = await run(pgConfig, ['--bindir'], { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.code === 0 && r.stdout.trim()) candidates.push(r.stdout.trim());
  }
  for (const dir of candidates) {
    const found = inDir(dir);
    const major = found && (await majorVersion(found.postgres));
    if (found && major && major >= MIN_POSTGRES_MAJOR) return { ...found, major };
  }
  return undefined;
}

/**
 * PostgreSQL server binaries for the production-shaped suite: POSTGRES_BIN_DIR, else Debian's
 * /usr/lib/postgresql/<newest>/bin (or `pg_config --bindir`), else, as root with apt-get, Debian's
 * `postgresql` package installed (as the UI test's Chromium is). The suite makes its own cluster with
 * them; a cluster the package may create is not used.
 */
export async function resolvePostgres(log: ProvisionLog = defaultLog): Promise<PostgresInstall> {
  const started = Date.now();
  const fromEnv = process.env.POSTGRES_BIN_DIR;
  if (fromEnv) {
    const found = inDir(fromEnv);
    const major = found && (await majorVersion(found.postgres));
    if (!found || !major || major < MIN_POSTGRES_MAJOR) {
      throw new ProvisionError(
        `POSTGRES_BIN_DIR is set to "${fromEnv}", which does not hold PostgreSQL ${MIN_POSTGRES_MAJOR}+'s ` +
          `${SERVER_BINARIES.join(', ')}; ${HINT}.`,
      );
    }
    log(`${LABEL} ${major}: POSTGRES_BIN_DIR (${fromEnv})`);
    return { ...found, major };
  }
  const present = await installed();
  if (present) {
    log(`${LABEL} ${present.major}: ${present.binDir} ${seconds(started)}`);
    return present;
  }
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new ProvisionError(`${LABEL} server binaries are not installed: ${HINT}.`);
  }
  return withLock('postgresql', log, async () => {
    const again = await installed(); // another process may have installed it while we waited
    if (again) return again;
    log(`${LABEL}: apt-get install postgresql (Debian package, for npm run test:production)`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const stop = heartbeat(log, `${LABEL} apt-get`, started);
    try {
      for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'postgresql']]) {
        const r = await run('apt-get', args, { env, timeoutMs: 15 * 60_000 });
        if (r.code !== 0) {
          throw new ProvisionError(
            `apt-get ${args[0]} failed (${describeExit(r)}); ${HINT}.\n${tail(r.stderr + r.stdout)}`,
          );
        }
      }
    } finally {
      stop();
    }
    const after = await installed();
    if (!after) throw new ProvisionError(`apt-get installed postgresql but no server binaries were found; ${HINT}.`);
    log(`${LABEL} ${after.major} ready in ${seconds(started)}: ${after.binDir}`);
    return after;
  });
}
