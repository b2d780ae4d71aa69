import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import { redact, redactDeep } from '../shared/redact';

/**
 * The logger for everything the worker prints, Temporal's own logs included: one line per
 * entry on stderr, with NHS numbers, dates of birth and login URLs masked.
 */
export function createRedactingLogger(level: LogLevel = 'INFO'): DefaultLogger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    const meta = entry.meta && Object.keys(entry.meta).length ? ' ' + JSON.stringify(redactDeep(entry.meta)) : '';
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    process.stderr.write(`${time} [${entry.level}] ${redact(entry.message)}${meta}\n`);
  });
}
