import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ProvisionLog } from './errors';
import { cacheDir } from './paths';
import { isExecutableFile, run, seconds } from './util';

export type ServerKind = 'cli' | 'test-server';

const PROBE_TIMEOUT_MS = 10 * 60 * 1000;
const FAILED_MARK = 'SDK_DOWNLOAD_FAILED:';

/** Failed probes, remembered for this process only (a later run may be online). */
const failedProbes = new Map<ServerKind, string>();

/**
 * Starts the server once through the SDK's own cached download and tears it down. Runs in a child
 * process so this process's Temporal Runtime (logger, telemetry) is left for the caller to install.
 */
const PROBE_SCRIPT = `
const { TestWorkflowEnvironment } = require(process.env.PROVISION_TESTING_MODULE);
const executable = { type: 'cached-download', downloadDir: process.env.PROVISION_DOWNLOAD_DIR };
const start = process.env.PROVISION_KIND === 'cli'
  ? TestWorkflowEnvironment.createLocal({ server: { executable } })
  : TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
start.then((env) => env.teardown()).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write('\\n${FAILED_MARK}' + String((err && err.message) || err).split('\\n')[0] + '\\n');
    process.exit(1);
  },
);
`;

export function sdkDownloadDir(): string {
  return path.join(cacheDir(), 'sdk-download');
}

/** Identifies what the SDK's "default" download is for this SDK version, e.g. `sdk-typescript-1.24.0`. */
export function sdkDownloadPin(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/testing/package.json'), 'utf8')) as {
    version: string;
  };
  return `sdk-typescript-${pkg.version}`;
}

/** The SDK names its downloads `temporal-<sdk-or-version>` (CLI) and `temporal-test-server-<...>`. */
function findDownloaded(kind: ServerKind, dir: string): string | undefined {
  let best: { file: string; mtime: number } | undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (name.endsWith('.downloading')) continue;
    const isTestServer = name.startsWith('temporal-test-server-');
    if (kind === 'test-server' ? !isTestServer : isTestServer || !name.startsWith('temporal-')) continue;
    const file = path.join(dir, name);
    if (!isExecutableFile(file)) continue;
    const mtime = statSync(file).mtimeMs;
    if (!best || mtime > best.mtime) best = { file, mtime };
  }
  return best?.file;
}

/** One short line: URLs without their query, repeated `a: a: b` error-chain links collapsed. */
function compact(reason: string): string {
  const links = reason.replace(/(https?:\/\/[^\s?)]+)\?[^\s)]*/g, '$1').split(': ');
  const line = links.filter((link, i) => link !== links[i - 1]).join(': ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Tries the SDK's own download (needs internet). Returns the downloaded executable, or undefined
 * (after logging the one-line reason) when it cannot be used, e.g. offline.
 */
export async function probeSdkDownload(
  kind: ServerKind,
  label: string,
  log: ProvisionLog,
): Promise<string | undefined> {
  const failed = failedProbes.get(kind);
  if (failed !== undefined) return undefined;
  const started = Date.now();
  const downloadDir = sdkDownloadDir();
  log(`${label}: trying the SDK's download into ${path.relative(process.cwd(), downloadDir) || downloadDir}`);
  let reason: string;
  try {
    const r = await run(process.execPath, ['-e', PROBE_SCRIPT], {
      timeoutMs: PROBE_TIMEOUT_MS,
      env: {
        ...process.env,
        PROVISION_KIND: kind,
        PROVISION_DOWNLOAD_DIR: downloadDir,
        PROVISION_TESTING_MODULE: require.resolve('@temporalio/testing'),
      },
    });
    const found = r.code === 0 ? findDownloaded(kind, downloadDir) : undefined;
    if (found) {
      log(`${label}: SDK download works (${seconds(started)})`);
      return found;
    }
    const marked = r.stderr
      .split('\n')
      .find((l) => l.startsWith(FAILED_MARK))
      ?.slice(FAILED_MARK.length);
    reason =
      r.code === 0
        ? `server started but no downloaded executable found in ${downloadDir}`
        : r.timedOut
          ? `timed out after ${PROBE_TIMEOUT_MS / 1000} s`
          : (marked ?? (r.stderr.trim().split('\n').pop() || `exit code ${r.code}`));
  } catch (err) {
    reason = (err as Error).message;
  }
  reason = compact(reason);
  failedProbes.set(kind, reason);
  log(`${label}: SDK download unavailable (${seconds(started)}): ${reason}`);
  return undefined;
}
