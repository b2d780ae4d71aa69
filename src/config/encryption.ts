import { type KeyRing, loadKeyRing } from '../codec';
import { ConfigError } from '../shared/errors';

export const INSECURE_FLAG = '--insecure-no-encryption';

/**
 * The key ring from HERO_CODEC_KEYS, required: without it Temporal would store patient data in
 * plaintext. Only an explicit opt-out (the flag, or HERO_INSECURE_NO_ENCRYPTION=true) runs without,
 * and says so loudly through `opts.warn`.
 *
 * @returns the ring, or undefined when opted out.
 * @throws CodecConfigError when HERO_CODEC_KEYS is set but invalid.
 * @throws ConfigError when HERO_CODEC_KEYS is unset or blank and there is no opt-out.
 */
export function requireKeyRing(
  env: NodeJS.ProcessEnv,
  opts: { insecure?: boolean; warn: (line: string) => void },
): KeyRing | undefined {
  const ring = loadKeyRing(env);
  if (ring) return ring;
  if (opts.insecure || env.HERO_INSECURE_NO_ENCRYPTION === 'true') {
    opts.warn(
      'ENCRYPTION DISABLED: workflow inputs, results and failures (NHS numbers, dates of birth, login URLs) ' +
        'will be stored in Temporal history in PLAINTEXT. Use this only with synthetic data.',
    );
    return undefined;
  }
  throw new ConfigError(
    [
      'HERO_CODEC_KEYS is not set, so patient data would be stored in Temporal history in plaintext. ' +
        'Create a key with `npx hero-flow keys generate` and set HERO_CODEC_KEYS=<id>:<base64 key> ' +
        `(the same value for workers, clients and the codec server), or pass ${INSECURE_FLAG} for local experiments with synthetic data.`,
    ],
    'encryption configuration',
  );
}
