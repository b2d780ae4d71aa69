import { fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { formatWithOptions } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * The file a test run's logs go to, so that a green `npm test` prints only its results. The
 * reporter (test/support/reporter.mjs) empties it at the start of each run, names it in every
 * failure, and passes its path to the test files' processes in HERO_TEST_LOG.
 */
export const testLogPath = process.env.HERO_TEST_LOG ?? path.resolve(__dirname, '../../test-artifacts/test-output.log');

/** The test file this process runs (node --test starts one process per file), to label its lines. */
const source = path.relative(process.cwd(), process.argv[1] ?? '') || 'test';

let fd: number | undefined;
/** Where this process's last write ended; anything else there means another writer came between. */
let endOfOwnWrite = -1;

/**
 * Appends `text` to the test log under a header naming this test file and `stream`. The file is
 * opened for appending because the reporter and this process write to it at the same time.
 */
export function writeTestLog(stream: string, text: string): void {
  if (fd === undefined) {
    mkdirSync(path.dirname(testLogPath), { recursive: true });
    fd = openSync(testLogPath, 'a');
  }
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const header = fstatSync(fd).size === endOfOwnWrite ? '' : `── ${source} · ${stream} ──\n`;
  writeSync(fd, header + body);
  endOfOwnWrite = fstatSync(fd).size;
}

const format = formatWithOptions.bind(undefined, { colors: false, depth: 6, breakLength: 120 });

/** One log entry as DefaultLogger prints it to stderr, without colours. */
function formatEntry({ level, timestampNanos, message, meta }: LogEntry): string {
  const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  return meta === undefined ? `${time} [${level}] ${message}` : `${time} [${level}] ${message} ${format(meta)}`;
}

const levels: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** The level the test log records: WARN, or HERO_TEST_LOG_LEVEL (e.g. INFO) when debugging a test. */
export function testLogLevel(): LogLevel {
  const wanted = process.env.HERO_TEST_LOG_LEVEL?.toUpperCase();
  return levels.find((level) => level === wanted) ?? 'WARN';
}

/** A Temporal SDK logger that writes to the test log instead of stderr. */
export function testLogger(stream = 'Temporal SDK log'): DefaultLogger {
  return new DefaultLogger(testLogLevel(), (entry) => writeTestLog(stream, formatEntry(entry)));
}
