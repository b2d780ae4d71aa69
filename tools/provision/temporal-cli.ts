import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CLI_GO_PACKAGE, CLI_VERSION_LDFLAG, TEMPORAL_CLI_VERSION } from './constants';
import { defaultLog, ProvisionError, type ProvisionLog } from './errors';
import { makeBuildDir, readStamp, writeStamp, type Stamp } from './fsutil';
import { withLock } from './lock';
import { cacheDir, shortPath } from './paths';
import { probeSdkDownload, sdkDownloadPin } from './sdk-download';
import { describeExit, heartbeat, isExecutableFile, run, seconds, tail, which } from './util';

const LABEL = 'Temporal CLI';
const GO_INSTALL_TIMEOUT_MS = 30 * 60 * 1000;

export function cachedCliPath(): string {
  return path.join(cacheDir(), 'bin', 'temporal');
}

function stampPath(): string {
  return `${cachedCliPath()}.provision.json`;
}

/** `temporal --version`'s first line, or undefined if it does not run. */
async function cliVersion(file: string): Promise<string | undefined> {
  try {
    const r = await run(file, ['--version'], { timeoutMs: 10_000 });
    const line = r.stdout.trim().split('\n')[0] ?? '';
    return r.code === 0 && /temporal version/i.test(line) ? line : undefined;
  } catch {
    return undefined;
  }
}

function stampIsCurrent(stamp: Stamp | undefined): boolean {
  if (stamp?.source === 'go-install') return stamp.pin === TEMPORAL_CLI_VERSION;
  if (stamp?.source === 'sdk-download') return stamp.pin === sdkDownloadPin();
  return false;
}

/** The cached CLI if it is complete, built for the current pin, and runs. */
async function cachedCli(): Promise<string | undefined> {
  const file = cachedCliPath();
  if (!isExecutableFile(file) || !stampIsCurrent(readStamp(stampPath()))) return undefined;
  return (await cliVersion(file)) ? file : undefined;
}

/** Moves a verified binary from a build folder into the cache (atomic rename), then stamps it. */
function install(built: string, stamp: Omit<Stamp, 'builtAt'>): string {
  const dest = cachedCliPath();
  mkdirSync(path.dirname(dest), { recursive: true });
  renameSync(built, dest);
  writeStamp(stampPath(), stamp);
  return dest;
}

async function fromSdkDownload(downloaded: string, buildDir: string): Promise<string | undefined> {
  const built = path.join(buildDir, 'temporal');
  copyFileSync(downloaded, built);
  chmodSync(built, 0o755);
  const version = await cliVersion(built);
  return version ? install(built, { source: 'sdk-download', pin: sdkDownloadPin(), detail: version }) : undefined;
}

async function goInstall(buildDir: string, log: ProvisionLog): Promise<string> {
  const go = which('go');
  const hint =
    'install Go 1.22+ (e.g. apt-get install golang or https://go.dev/dl) or set TEMPORAL_CLI_PATH to a Temporal CLI binary';
  if (!go) {
    throw new ProvisionError(
      `${LABEL} ${TEMPORAL_CLI_VERSION} is needed but none was found (no TEMPORAL_CLI_PATH, no \`temporal\` on PATH, ` +
        `no usable cache in ${shortPath(cachedCliPath())}, SDK download unavailable) and \`go\` is not on PATH to build it: ${hint}.`,
    );
  }
  const target = `${CLI_GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}`;
  const args = ['install', '-ldflags', `-s -w -X ${CLI_VERSION_LDFLAG}=${TEMPORAL_CLI_VERSION}`, target];
  log(`${LABEL} ${TEMPORAL_CLI_VERSION}: go install ${target} (first run takes a few minutes)`);
  const started = Date.now();
  const stop = heartbeat(log, `${LABEL} go install`, started);
  let r;
  try {
    r = await run(go, args, {
      cwd: buildDir,
      env: { ...process.env, GOBIN: buildDir },
      timeoutMs: GO_INSTALL_TIMEOUT_MS,
    });
  } catch (err) {
    throw new ProvisionError(`${LABEL}: could not run ${go} (${(err as Error).message}): ${hint}.`);
  } finally {
    stop();
  }
  const built = path.join(buildDir, 'temporal');
  if (r.code !== 0 || !isExecutableFile(built)) {
    throw new ProvisionError(
      `${LABEL}: \`go install ${target}\` failed (${describeExit(r)}) after ${seconds(started)}. ` +
        `Check network access to the Go module proxy${process.env.GOPROXY ? ` (GOPROXY=${process.env.GOPROXY})` : ''}, or ${hint}. ` +
        `Output tail:\n${tail(r.stderr + r.stdout)}`,
    );
  }
  const version = await cliVersion(built);
  if (!version)
    throw new ProvisionError(`${LABEL}: the binary built by go install does not run \`--version\`; ${hint}.`);
  return install(built, { source: 'go-install', pin: TEMPORAL_CLI_VERSION, detail: version });
}

/** Path to a runnable Temporal CLI, in order: TEMPORAL_CLI_PATH → `temporal` on PATH → cache (.temporal/bin/temporal) → SDK download (probe) → go install into the cache. */
export async function resolveTemporalCli(log: ProvisionLog = defaultLog): Promise<string> {
  const started = Date.now();
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutableFile(fromEnv)) {
      throw new ProvisionError(
        `TEMPORAL_CLI_PATH is set to "${fromEnv}", which is not an executable file. ` +
          'Point it at a Temporal CLI binary, or unset it to let hero-flow provision one into .temporal/.',
      );
    }
    log(`${LABEL}: TEMPORAL_CLI_PATH (${fromEnv})`);
    return fromEnv;
  }

  const onPath = which('temporal');
  if (onPath) {
    const version = await cliVersion(onPath);
    if (version) {
      log(`${LABEL}: ${version} on PATH (${onPath}) ${seconds(started)}`);
      return onPath;
    }
    log(`${LABEL}: ignoring ${onPath} on PATH (\`temporal --version\` does not work)`);
  }

  const cached = await cachedCli();
  if (cached) {
    log(`${LABEL}: cached (${shortPath(cached)}) ${seconds(started)}`);
    return cached;
  }

  return withLock('temporal-cli', log, async () => {
    const built = await cachedCli(); // another process may have finished while we waited
    if (built) {
      log(`${LABEL}: cached (${shortPath(built)}) ${seconds(started)}`);
      return built;
    }
    const buildDir = makeBuildDir('temporal-cli');
    try {
      const downloaded = await probeSdkDownload('cli', LABEL, log);
      const result = (downloaded && (await fromSdkDownload(downloaded, buildDir))) || (await goInstall(buildDir, log));
      log(`${LABEL} ready in ${seconds(started)}: ${result}`);
      return result;
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  });
}

export async function devServerExecutable(log?: ProvisionLog): Promise<{ type: 'existing-path'; path: string }> {
  return { type: 'existing-path', path: await resolveTemporalCli(log) };
}
