import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { POSTGRES_SCHEMA_PATH, SERVER_GO_PACKAGE, SQL_TOOL_GO_PACKAGE, TEMPORAL_SERVER_VERSION } from './constants';
import { defaultLog, ProvisionError, type ProvisionLog } from './errors';
import { makeBuildDir, readStamp, replaceDir, writeStamp } from './fsutil';
import { withLock } from './lock';
import { cacheDir, shortPath } from './paths';
import { describeExit, heartbeat, isExecutableFile, run, seconds, tail, which } from './util';

const LABEL = 'Temporal server';
const GO_INSTALL_TIMEOUT_MS = 30 * 60 * 1000;
const HINT =
  'install Go 1.23+ (e.g. https://go.dev/dl) with access to the Go module proxy (GOPROXY), then run `npm run provision -- --production` again';

/** What the production-shaped suite runs: the server, its SQL schema tool and the PostgreSQL schema. */
export interface TemporalServerInstall {
  /** `temporal-server` (go.temporal.io/server/cmd/server): `temporal-server --root R --config C --env E start`. */
  server: string;
  /** `temporal-sql-tool` (go.temporal.io/server/cmd/tools/sql). */
  sqlTool: string;
  /** `schema/postgresql/v12` of the server's module: `temporal/` and `visibility/`, each with `versioned/`. */
  postgresSchema: string;
  version: string;
}

/** `.temporal/temporal-server`: one folder, renamed into place whole, stamped last. */
export function temporalServerDir(): string {
  return path.join(cacheDir(), 'temporal-server');
}

function layout(dir: string): TemporalServerInstall {
  return {
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    postgresSchema: path.join(dir, POSTGRES_SCHEMA_PATH),
    version: TEMPORAL_SERVER_VERSION,
  };
}

function complete(install: TemporalServerInstall): boolean {
  return (
    isExecutableFile(install.server) &&
    isExecutableFile(install.sqlTool) &&
    ['temporal', 'visibility'].every((db) => existsSync(path.join(install.postgresSchema, db, 'versioned')))
  );
}

/** The cached install if it is complete and built for the pinned version; spawns nothing. */
function cached(): TemporalServerInstall | undefined {
  const dir = temporalServerDir();
  const stamp = readStamp(path.join(dir, 'provision.json'));
  const install = layout(dir);
  return stamp?.source === 'go-install' && stamp.pin === TEMPORAL_SERVER_VERSION && complete(install)
    ? install
    : undefined;
}

/** `<binary> --version` says the pinned version (both tools print "... version 1.29.1"). */
async function reportsVersion(file: string): Promise<boolean> {
  try {
    const r = await run(file, ['--version'], { timeoutMs: 20_000 });
    return r.code === 0 && r.stdout.includes(TEMPORAL_SERVER_VERSION);
  } catch {
    return false;
  }
}

/**
 * Copies a folder of the Go module cache. Plain reads and writes, not cpSync: the module cache is
 * read-only (0444 files, 0555 folders), and a read-only copy could not be replaced or removed later.
 */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const src = path.join(from, entry);
    const dest = path.join(to, entry);
    if (statSync(src).isDirectory()) copyTree(src, dest);
    else writeFileSync(dest, readFileSync(src));
  }
}

async function goInstall(buildDir: string, log: ProvisionLog): Promise<TemporalServerInstall> {
  const go = which('go');
  if (!go) {
    throw new ProvisionError(
      `${LABEL} ${TEMPORAL_SERVER_VERSION} is needed (npm run test:production) but is not in ${shortPath(temporalServerDir())} ` +
        `and \`go\` is not on PATH to build it: ${HINT}.`,
    );
  }
  const targets = [SERVER_GO_PACKAGE, SQL_TOOL_GO_PACKAGE].map((p) => `${p}@v${TEMPORAL_SERVER_VERSION}`);
  const bin = path.join(buildDir, 'bin');
  log(`${LABEL} ${TEMPORAL_SERVER_VERSION}: go install ${targets.join(' ')} (first run takes a few minutes)`);
  const started = Date.now();
  const stop = heartbeat(log, `${LABEL} go install`, started);
  let r;
  try {
    // One command, one module version: both binaries from the same build of go.temporal.io/server.
    r = await run(go, ['install', '-ldflags', '-s -w', ...targets], {
      cwd: buildDir,
      env: { ...process.env, GOBIN: bin },
      timeoutMs: GO_INSTALL_TIMEOUT_MS,
    });
  } catch (err) {
    throw new ProvisionError(`${LABEL}: could not run ${go} (${(err as Error).message}): ${HINT}.`);
  } finally {
    stop();
  }
  if (r.code !== 0 || !isExecutableFile(path.join(bin, 'server')) || !isExecutableFile(path.join(bin, 'sql'))) {
    throw new ProvisionError(
      `${LABEL}: \`go install ${targets.join(' ')}\` failed (${describeExit(r)}) after ${seconds(started)}. ` +
        `Check network access to the Go module proxy${process.env.GOPROXY ? ` (GOPROXY=${process.env.GOPROXY})` : ''}, or ${HINT}. ` +
        `Output tail:\n${tail(r.stderr + r.stdout)}`,
    );
  }
  log(`${LABEL}: built in ${seconds(started)}`);
  // Named as the server's own docs and Docker images name them.
  renameSync(path.join(bin, 'server'), path.join(bin, 'temporal-server'));
  renameSync(path.join(bin, 'sql'), path.join(bin, 'temporal-sql-tool'));

  // The schema ships in the module go install just downloaded; copied, so the cache stands alone.
  const modCache = (await run(go, ['env', 'GOMODCACHE'], { timeoutMs: 20_000 })).stdout.trim();
  const schemaSource = path.join(modCache, `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`, POSTGRES_SCHEMA_PATH);
  if (!existsSync(schemaSource)) {
    throw new ProvisionError(`${LABEL}: the PostgreSQL schema is not at ${schemaSource} after go install; ${HINT}.`);
  }
  copyTree(schemaSource, path.join(buildDir, POSTGRES_SCHEMA_PATH));

  const install = layout(buildDir);
  for (const file of [install.server, install.sqlTool]) {
    if (!(await reportsVersion(file))) {
      throw new ProvisionError(
        `${LABEL}: ${path.basename(file)} built by go install does not report ${TEMPORAL_SERVER_VERSION}; ${HINT}.`,
      );
    }
  }
  writeStamp(path.join(buildDir, 'provision.json'), {
    source: 'go-install',
    pin: TEMPORAL_SERVER_VERSION,
    detail: targets.join(' '),
  });
  replaceDir(buildDir, temporalServerDir());
  return layout(temporalServerDir());
}

/**
 * The Temporal server, its SQL schema tool and the PostgreSQL schema, pinned to
 * TEMPORAL_SERVER_VERSION: from the cache (.temporal/temporal-server), else built with `go install`
 * from the Go module proxy into it (about 90 s on 2 cores), under a lock so two processes never build
 * it at once.
 */
export async function resolveTemporalServer(log: ProvisionLog = defaultLog): Promise<TemporalServerInstall> {
  const started = Date.now();
  const hit = cached();
  if (hit) {
    log(`${LABEL} ${TEMPORAL_SERVER_VERSION}: cached (${shortPath(temporalServerDir())}) ${seconds(started)}`);
    return hit;
  }
  return withLock('temporal-server', log, async () => {
    const built = cached(); // another process may have finished while we waited
    if (built) {
      log(`${LABEL} ${TEMPORAL_SERVER_VERSION}: cached (${shortPath(temporalServerDir())}) ${seconds(started)}`);
      return built;
    }
    const buildDir = makeBuildDir('temporal-server');
    try {
      const result = await goInstall(buildDir, log);
      log(`${LABEL} ${TEMPORAL_SERVER_VERSION} ready in ${seconds(started)}: ${shortPath(temporalServerDir())}`);
      return result;
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  });
}
