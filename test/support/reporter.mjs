// @ts-check
/**
 * The `npm test` reporter (node --test --test-reporter=./test/support/reporter.mjs).
 *
 * The terminal gets one line per test and a closing `N passed, N failed[, N skipped]` line; a
 * failing test also gets its error and the name of the log file. Everything else the test files'
 * processes write (stdout, stderr, diagnostics, the Temporal SDK's logs through
 * test/support/test-log.ts) goes to test-artifacts/test-output.log, emptied at the start of each
 * run, under headers naming the test file. Node's exit code is untouched: it does not come from
 * the reporter.
 *
 * Plain JavaScript because node loads reporters before `--import tsx` can compile TypeScript.
 */
import { fstatSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';

const logPath =
  process.env.HERO_TEST_LOG ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/test-output.log');
// The test files' processes inherit this, so test/support/test-log.ts writes to the same file.
process.env.HERO_TEST_LOG = logPath;
const shownLogPath = path.relative(process.cwd(), logPath) || logPath;

mkdirSync(path.dirname(logPath), { recursive: true });
writeFileSync(logPath, `node --test run started ${new Date().toISOString()}\n`);
// Appending, because the test files' processes append to the same file at the same time.
const fd = openSync(logPath, 'a');

const colours = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
/** @param {string} code @param {string} text */
const paint = (code, text) => (colours ? `\x1b[${code}m${text}\x1b[0m` : text);

/** @param {string | undefined} file */
const relative = (file) => (file ? path.relative(process.cwd(), file) || file : 'node --test');

let lastHeader = '';
let endOfOwnWrite = -1;
/**
 * Appends to the log, repeating the header whenever the source changes or another process wrote
 * in between, so every chunk sits under the name of the test file it came from.
 * @param {string} header @param {string} text
 */
function log(header, text) {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  const repeat = header !== lastHeader || fstatSync(fd).size !== endOfOwnWrite;
  writeSync(fd, (repeat ? `── ${header} ──\n` : '') + body);
  lastHeader = header;
  endOfOwnWrite = fstatSync(fd).size;
}

/** The last lines each test file's process wrote, shown when a file fails outside any test. */
/** @type {Map<string, string[]>} */
const tails = new Map();
/** @param {string} file @param {string} text */
function keepTail(file, text) {
  const lines = tails.get(file) ?? [];
  lines.push(...text.replace(/\n$/, '').split('\n'));
  tails.set(file, lines.slice(-20));
}

/** @param {number | undefined} ms */
const duration = (ms) => (ms === undefined ? '' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** @param {string} text @param {string} indent */
const indented = (text, indent) => text.replace(/\n$/, '').replace(/^/gm, indent);

/**
 * The error node reports for a failed test: the thrown error (assertion diff and stack), after
 * node's own words when they add something (a failed hook, a timeout, a cancelled test).
 * @param {any} error @param {boolean} colour
 */
function describeError(error, colour) {
  if (!error) return 'failed';
  const cause = error.code === 'ERR_TEST_FAILURE' ? error.cause : error;
  // Node's own failures (cancelled, timed out, a crashed file) carry their words as a string cause.
  if (cause === undefined || cause === null || typeof cause !== 'object') {
    const words = cause === undefined || cause === null ? '' : String(cause);
    const message = String(error.message ?? '');
    return words && words !== message ? `${message}: ${words}` : message || words || 'failed';
  }
  const shown = inspect(cause, { colors: colour, depth: 6 });
  if (error.code !== 'ERR_TEST_FAILURE' || error.failureType === 'testCodeFailure') return shown;
  return `${error.message}: ${shown}`;
}

/** @param {AsyncIterable<any>} source */
export default async function* reporter(source) {
  /** Names of the suites and tests enclosing the current one, by nesting depth, per file. */
  /** @type {Map<string, { name: string, failedBefore: number }[]>} */
  const stacks = new Map();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  /** @type {string[]} */
  const failures = [];
  /**
   * When each file started and ended: node reports a file's own dequeue (its process starting) and
   * complete events, named by its path, whatever the concurrency, so this is its wall time, hooks and
   * server starts included (where a slow `npm test` spends it).
   * @type {Map<string, { from: number, to?: number }>}
   */
  const fileTimes = new Map();

  for await (const { type, data } of source) {
    if (data?.file && data.name === data.file) {
      if (type === 'test:dequeue') fileTimes.set(data.file, { from: Date.now() });
      else if (type === 'test:complete' && fileTimes.has(data.file)) fileTimes.get(data.file).to = Date.now();
    }
    switch (type) {
      case 'test:stdout':
      case 'test:stderr': {
        const stream = type === 'test:stdout' ? 'stdout' : 'stderr';
        log(`${relative(data.file)} · ${stream}`, data.message);
        if (data.file) keepTail(data.file, data.message);
        break;
      }
      case 'test:diagnostic':
        log(`${relative(data.file)} · diagnostics`, `# ${data.message}`);
        break;
      case 'test:start': {
        const stack = stacks.get(data.file) ?? [];
        stack.length = data.nesting;
        stack.push({ name: data.name, failedBefore: failed });
        stacks.set(data.file, stack);
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        const stack = stacks.get(data.file) ?? [];
        const isFile = data.nesting === 0 && data.name === data.file;
        const title = isFile
          ? relative(data.file)
          : [...stack.slice(0, data.nesting).map((entry) => entry.name), data.name].join(' › ');
        const took = duration(data.details?.duration_ms);
        const isSuite = data.details?.type === 'suite';
        if (type === 'test:pass') {
          if (isSuite) break;
          if (data.skip !== undefined || data.todo !== undefined) {
            skipped += 1;
            const reason = data.skip ?? data.todo;
            const why = typeof reason === 'string' && reason ? `: ${reason}` : '';
            const line = `- ${title} (${data.skip !== undefined ? 'skipped' : 'todo'}${why})`;
            log(`${relative(data.file)} · results`, line);
            yield `${paint('33', line)}\n`;
          } else {
            passed += 1;
            log(`${relative(data.file)} · results`, `✔ ${title} (${took})`);
            yield `${paint('32', '✔')} ${title} ${paint('2', `(${took})`)}\n`;
          }
          break;
        }
        const error = data.details?.error;
        // A suite whose tests failed has been reported through them already.
        if (isSuite && error?.failureType === 'subtestsFailed') break;
        // A suite's own failure (a hook) counts once, unless tests inside it already failed for it.
        const entry = stack[data.nesting];
        if (!isSuite || entry === undefined || entry.failedBefore === failed) failed += 1;
        failures.push(title);
        // No line number: under tsx node reports the transpiled line, which misleads; the stack has the real one.
        const where = data.file && !isFile ? ` (${relative(data.file)})` : '';
        const tail = isFile && data.file ? tails.get(data.file) : undefined;
        const lastLines = tail ? `\nlast lines the file's process wrote:\n${indented(tail.join('\n'), '  ')}` : '';
        const logged = describeError(error, false) + lastLines;
        log(`${relative(data.file)} · results`, `✖ ${title}${where} (${took})\n${indented(logged, '  ')}`);
        const shown = describeError(error, colours) + lastLines;
        yield (
          `${paint('31', '✖')} ${title}${where} ${paint('2', `(${took})`)}\n${indented(shown, '    ')}\n` +
          `    Output and logs of ${relative(data.file)}: ${shownLogPath}\n`
        );
        break;
      }
      default:
        break;
    }
  }

  if (failures.length > 0) {
    yield `\nFailed:\n${failures.map((title) => `  ✖ ${title}\n`).join('')}Logs: ${shownLogPath}\n`;
  }
  const spans = [...fileTimes.entries()].flatMap(([file, t]) =>
    t.to === undefined ? [] : [/** @type {[string, number]} */ ([relative(file), t.to - t.from])],
  );
  if (spans.length > 1) {
    const slowest = spans.sort((a, b) => b[1] - a[1]).slice(0, 10);
    const lines = slowest.map(([file, ms]) => `  ${duration(ms).padStart(8)}  ${file}`).join('\n');
    const heading = `The slowest of ${spans.length} files (wall time of each, start to end):`;
    log('node --test · results', `${heading}\n${lines}`);
    yield paint('2', `\n${heading}\n${lines}\n`);
  }
  const summary = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  log('node --test · results', summary);
  yield `${summary}\n`;
}
