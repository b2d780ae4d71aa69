import type { Logger, LogLevel } from '@temporalio/common';
import { createLogger, type LogFormat, type LogSink } from '../observability/logging';

export type { LogFormat, LogSink } from '../observability/logging';

/** The `service` field of the worker's JSON log lines. */
export const WORKER_SERVICE_NAME = 'hero-flow-worker';

/**
 * The logger for everything the worker prints, Temporal's own logs included (Runtime.install, with the
 * core's lines forwarded to it): one line per entry, text or JSON (HERO_LOG_FORMAT), with NHS numbers,
 * dates of birth and login URLs masked (src/observability/logging.ts).
 *
 * @param level the lowest level written. @default 'INFO'
 * @param sink where lines go. @default process.stderr
 * @param format one line of text, or one JSON object, per entry. @default 'text'
 */
export function createRedactingLogger(
  level: LogLevel = 'INFO',
  sink: LogSink = process.stderr,
  format: LogFormat = 'text',
): Logger {
  return createLogger({ service: WORKER_SERVICE_NAME, level, format, sink });
}
