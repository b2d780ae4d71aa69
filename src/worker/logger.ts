import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import { redact, redactDeep } from '../shared/redact';

/** Where log lines go: process.stderr by default, anything with a write() in tests. */
export interface LogSink {
  write(line: string): unknown;
}

/**
 * The logger for everything the worker prints, Temporal's own logs included: one line per
 * entry, with NHS numbers, dates of birth and login URLs masked. The metadata is redacted value
 * by value, then once more as serialised, so that a number split across values (["943", "476",
 * "5919"]) is masked too: in the JSON its groups stand next to each other.
 */
export function createRedactingLogger(level: LogLevel = 'INFO', sink: LogSink = process.stderr): DefaultLogger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    let meta = '';
    if (entry.meta && Object.keys(entry.meta).length) {
      try {
        meta = ' ' + redact(JSON.stringify(redactDeep(entry.meta)));
      } catch {
        meta = ' [metadata not serialisable]';
      }
    }
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    sink.write(`${time} [${entry.level}] ${redact(entry.message)}${meta}\n`);
  });
}
