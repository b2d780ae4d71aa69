import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { ConfigError } from '../shared/errors';
import { redact, redactDeep } from '../shared/redact';

/** `text`: one human-readable line per entry (the default); `json`: one JSON object per line. */
export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];
export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** Where log lines go: process.stderr by default, anything with a write() in tests. */
export interface LogSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Names the process in every JSON line, e.g. `hero-flow-worker`, `hero-flow-codec-server`. */
  service: string;
  /** Entries below it are dropped; default INFO. */
  level?: LogLevel;
  /** Default text. */
  format?: LogFormat;
  /** Default process.stderr. */
  sink?: LogSink;
}

/**
 * HERO_LOG_FORMAT (`text` or `json`, default text). Refused otherwise, naming the variable and the two
 * values, never echoing what was set.
 */
export function loadLogFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const value = env.HERO_LOG_FORMAT?.trim().toLowerCase();
  if (!value) return 'text';
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new ConfigError(['HERO_LOG_FORMAT: must be text or json'], 'logging configuration');
}

/** The SDK's timestamp of an entry forwarded from its core or a workflow (Symbol.for, as @temporalio/worker sets it). */
const LOG_TIMESTAMP = Symbol.for('log_timestamp');
/** The fields every JSON line starts with; a metadata field of the same name is renamed `meta_<name>`. */
const RESERVED = new Set(['time', 'level', 'message', 'service']);

/**
 * A logger for any hero-flow process (the worker and the SDK's own logs through Runtime.install, the
 * codec server, the webhook receiver): one line per entry, with NHS numbers, dates of birth and login
 * URLs masked. The metadata is redacted value by value, then once more as serialised, so that a number
 * split across values (["943", "476", "5919"]) is masked too: in the JSON its groups stand next to each
 * other. It implements @temporalio/common's Logger without loading @temporalio/worker, so a process that
 * runs no worker can use it.
 *
 * - text: `2026-01-01T00:00:00.000Z [INFO] message {"meta":"data"}`
 * - json: `{"time":"2026-01-01T00:00:00.000Z","level":"INFO","message":"...","service":"...",...fields}`
 */
export function createLogger(opts: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(opts.level ?? 'INFO');
  const format = opts.format ?? 'text';
  const sink = opts.sink ?? process.stderr;
  const log = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const stamp = meta?.[LOG_TIMESTAMP] as bigint | undefined;
    const time = new Date(stamp === undefined ? Date.now() : Number(stamp / 1_000_000n)).toISOString();
    const fields = redactedFields(meta);
    sink.write(
      format === 'json'
        ? jsonLine(time, level, redact(String(message)), opts.service, fields)
        : textLine(time, level, redact(String(message)), fields),
    );
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/**
 * The metadata redacted, serialised, then redacted again as one text: the JSON text, or undefined when
 * there is none. A mask that joined two values may leave text that is no longer JSON: the line then
 * carries it as one string (see jsonLine).
 */
function redactedFields(meta: LogMetadata | undefined): string | undefined {
  if (!meta || Object.keys(meta).length === 0) return undefined;
  try {
    return redact(JSON.stringify(redactDeep(meta)));
  } catch {
    return NOT_SERIALISABLE;
  }
}

/** What stands for metadata that JSON cannot hold (a getter that throws, say). */
const NOT_SERIALISABLE = '[metadata not serialisable]';

function textLine(time: string, level: LogLevel, message: string, fields: string | undefined): string {
  return `${time} [${level}] ${message}${fields === undefined ? '' : ` ${fields}`}\n`;
}

function jsonLine(time: string, level: LogLevel, message: string, service: string, fields: string | undefined): string {
  const line: Record<string, unknown> = { time, level, message, service };
  if (fields !== undefined) {
    let parsed: unknown;
    try {
      parsed = fields === NOT_SERIALISABLE ? undefined : JSON.parse(fields);
    } catch {
      parsed = undefined;
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed)) line[RESERVED.has(key) ? `meta_${key}` : key] = value;
    } else {
      // Already masked as a whole, and JSON.stringify only escapes it: nothing new to mask.
      line.meta = parsed === undefined ? fields : parsed;
    }
  }
  return `${JSON.stringify(line)}\n`;
}
