import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run dev` keeps the key ring it made (tools/dev/index.ts), relative to the project. */
export const DEV_KEYS_RELATIVE = join('.temporal', 'dev-codec-keys');
export const DEFAULT_DEV_TEMPORAL_PORT = 7233;

/** Where the CLI's keys came from, to name it when a payload cannot be decrypted. */
export type KeySource = { from: 'env' } | { from: 'dev-file'; file: string };

/** The dev key file in `cwd`, if there is one. */
export function devKeysFile(cwd = process.cwd()): string | undefined {
  const file = join(cwd, DEV_KEYS_RELATIVE);
  return existsSync(file) ? file : undefined;
}

/**
 * True when `address` is the dev server `npm run dev` starts: loopback, on 7233 or HERO_DEV_TEMPORAL_PORT.
 * Anything else may be a shared server, where a development key must never encrypt patient data.
 */
export function isDevServerAddress(address: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address.trim());
  if (!match) return false;
  const host = (match[1] ?? match[2] ?? '').toLowerCase();
  const port = Number(match[3]);
  const devPorts = [DEFAULT_DEV_TEMPORAL_PORT];
  const configured = Number(env.HERO_DEV_TEMPORAL_PORT);
  if (Number.isInteger(configured) && configured > 0) devPorts.push(configured);
  return ['localhost', '127.0.0.1', '::1'].includes(host) && devPorts.includes(port);
}

/** What the CLI decided about keys for one command. */
export interface ResolvedKeys {
  /** The environment to connect with: HERO_CODEC_KEYS set from the dev file when it was used. */
  env: NodeJS.ProcessEnv;
  source?: KeySource;
  /** A dev key file that was there but not used, because the target is not the dev server. */
  ignoredDevFile?: { file: string; address: string };
}

/**
 * HERO_CODEC_KEYS when set; otherwise, when `npm run dev` left its key ring in the current directory
 * and the target is that dev server, the ring from that file (said on stderr), so that a newcomer's
 * commands after the first one work with no variable set by hand. An explicit opt-out of encryption
 * is left alone. `target` is the resolved Temporal target (address, and whether it needs TLS or a key).
 */
export function resolveCodecKeys(opts: {
  env: NodeJS.ProcessEnv;
  insecure: boolean;
  target: () => { address: string; secured: boolean } | undefined;
  say: (line: string) => void;
  cwd?: string;
}): ResolvedKeys {
  const { env } = opts;
  if (env.HERO_CODEC_KEYS !== undefined && env.HERO_CODEC_KEYS.trim() !== '') {
    return { env, source: { from: 'env' } };
  }
  if (opts.insecure || env.HERO_INSECURE_NO_ENCRYPTION === 'true') return { env };
  const file = devKeysFile(opts.cwd);
  if (!file) return { env };
  // A bad Temporal setting is reported by the connection that follows, with every other problem.
  const target = opts.target();
  if (!target) return { env };
  if (target.secured || !isDevServerAddress(target.address, env)) {
    return { env, ignoredDevFile: { file, address: target.address } };
  }
  const spec = readFileSync(file, 'utf8').trim();
  opts.say(
    `HERO_CODEC_KEYS is unset: using the development keys in ${DEV_KEYS_RELATIVE} (written by npm run dev) ` +
      `for the dev server at ${target.address}`,
  );
  return { env: { ...env, HERO_CODEC_KEYS: spec }, source: { from: 'dev-file', file } };
}
