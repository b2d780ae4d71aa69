import { redact } from '../shared/redact';
import { USAGE } from './usage';

/**
 * The `hero-flow` executable's entry: answers help and version itself, and loads the commands (and
 * with them the Temporal client) only when one runs, so `hero-flow --help` starts in a fraction of the
 * time. Prints one clear line on stderr per failure and exits 0 (done), 1 (failed) or 2 (usage).
 */
export function run(argv: string[]): void {
  const [command] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    process.exit(command === undefined ? 2 : 0);
  }
  if (command === '--version' || command === '-V') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
    process.exit(0);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { main, describeError } = require('./commands') as typeof import('./commands');
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const { message, code } = describeError(err);
      process.stderr.write(`hero-flow: ${redact(message)}\n`);
      process.exit(code);
    },
  );
}
