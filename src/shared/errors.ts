/**
 * Invalid configuration (environment variables, options): every problem at once, one per line.
 * Messages name the setting and the problem, never its value (a key, a token, a password). Every
 * configuration loader of the package throws this class or a subclass (`CodecConfigError`), so the
 * CLI and the worker print any of them as one clear message.
 */
export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    what = 'configuration',
  ) {
    super(`Invalid ${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
