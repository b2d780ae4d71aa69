import { ConfigError } from '../shared/errors';

/**
 * A bad HERO_CODEC_KEYS or codec-server setting. Lists every problem at once and never includes key
 * material or tokens. A {@link ConfigError}, so the CLI prints it as one clear message.
 */
export class CodecConfigError extends ConfigError {
  constructor(problems: string[], what = 'HERO_CODEC_KEYS') {
    super(problems, what);
    this.name = 'CodecConfigError';
  }
}

/**
 * A payload that cannot be decrypted: unknown key id, failed authentication, or malformed. Names the
 * key id (never the key) and is always thrown, never swallowed.
 */
export class PayloadDecryptionError extends Error {
  constructor(
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}
