import { createReadStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import {
  CancelledFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { generateKeySpec, loadCodecServerOptions, loadKeyRing, startCodecServer } from '../codec';
import { ConfigError } from '../hero/config';
import { BatchFileError, type BatchEntry, formatBytes, MAX_REQUEST_TEXT_BYTES, readBatch } from '../client/batch';
import { describeCounts, runBatch } from '../client/batch-run';
import {
  DEFAULT_START_CONCURRENCY,
  HeroFlowClient,
  InvalidOutreachRequestError,
  OutreachIdConflictError,
} from '../client/outreach-client';
import { outreachWorkflowId, WorkflowIdError } from '../client/workflow-id';
import { USAGE } from './usage';

class UsageError extends Error {}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Input larger than hero-flow accepts: refused before it is read whole, and before connecting. */
class InputTooLargeError extends Error {}

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report them. */
const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

const readError = (file: string, err: unknown) =>
  new UsageError(`cannot read --input ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/** A file's size when it is a regular file (a pipe or a device has none worth trusting). */
function regularFileSize(file: string): number | undefined {
  try {
    const stats = statSync(file);
    return stats.isFile() ? stats.size : undefined;
  } catch (err) {
    throw readError(file, err);
  }
}

/**
 * Reads a request file, or stdin for "-", refusing it past MAX_REQUEST_TEXT_BYTES: a file's size is checked
 * before reading (a 200 MB file was once read whole, for 42 s and 1.3 GB, then failed at Temporal), and
 * a stream of unknown size is read no further than the cap.
 */
async function readRequestText(file: string): Promise<string> {
  const tooLarge = (size?: number) =>
    new InputTooLargeError(
      `--input ${file} is too large (${size === undefined ? `over ${formatBytes(MAX_REQUEST_TEXT_BYTES)}` : formatBytes(size)}): ` +
        `a request may be at most ${formatBytes(MAX_REQUEST_TEXT_BYTES)} (a valid one is a few KiB); nothing was started`,
    );
  const size = file === '-' ? undefined : regularFileSize(file);
  if (size !== undefined && size > MAX_REQUEST_TEXT_BYTES) throw tooLarge(size);
  const source = file === '-' ? process.stdin : createReadStream(file);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_REQUEST_TEXT_BYTES) throw tooLarge();
      parts.push(chunk);
    }
  } catch (err) {
    throw err instanceof InputTooLargeError ? err : readError(file, err);
  }
  return Buffer.concat(parts, length).toString('utf8');
}

async function readInput(file: string): Promise<unknown> {
  const text = await readRequestText(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--input ${file} is not valid JSON`);
  }
}

/** A whole number of at least `min`, or a usage error naming the option. */
function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  return n;
}

/**
 * `start-batch`: streams the file, starting items as they are read (never more than `concurrency`
 * ahead), one JSON line per item on stdout, progress on stderr about once a second. SIGINT/SIGTERM stop
 * the reading; the starts in flight finish, and a summary says which index to resume from.
 */
async function startBatch(
  file: string,
  opts: { concurrency: number; from: number; insecure: boolean },
): Promise<number> {
  const knownSize = file === '-' ? undefined : regularFileSize(file);
  const source = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 64 * 1024 });
  const iterator = readBatch(source as AsyncIterable<Buffer>, { knownSize, from: opts.from })[Symbol.asyncIterator]();
  // The first entry is read before connecting: an empty or unusable file is refused without Temporal.
  let first: IteratorResult<BatchEntry>;
  try {
    first = await iterator.next();
  } catch (err) {
    source.destroy();
    if (err instanceof BatchFileError) throw new UsageError(`--input ${file}: ${err.message}`);
    throw readError(file, err);
  }
  let head: IteratorResult<BatchEntry> | undefined = first;
  const entries: AsyncIterable<BatchEntry> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const value = head;
        head = undefined;
        return value ? Promise.resolve(value) : iterator.next();
      },
      return: (value?: unknown) => iterator.return(value),
    }),
  };

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      process.stderr.write(`hero-flow: ${signal} again: exiting without waiting for the starts in flight\n`);
      process.exit(SIGNAL_EXIT_CODES[signal] ?? 1);
    }
    process.stderr.write(`hero-flow: ${signal}: stopped reading; waiting for the starts in flight to finish\n`);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const line = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');
  try {
    return await withClient(opts.insecure, async (client) => {
      const outcome = await runBatch({
        entries,
        start: (item) => client.startOrFind(item.request, { workflowId: item.workflowId }),
        concurrency: opts.concurrency,
        from: opts.from,
        onResult: line,
        // stdout is asynchronous on some platforms: reading waits while output is backed up.
        beforeRead: async () => {
          if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
        },
        onProgress: (counts, seconds) =>
          process.stderr.write(`hero-flow: progress: ${describeCounts(counts, seconds)}\n`),
        signal: stop.signal,
      });
      const { counts } = outcome;
      const there = counts.started + counts.alreadyThere;
      process.stderr.write(
        `hero-flow: ${outcome.stoppedBy ? `stopped by ${outcome.stoppedBy}` : 'done'}: ` +
          `${describeCounts(counts, outcome.seconds)} in ${outcome.seconds.toFixed(1)} s\n`,
      );
      if (outcome.stoppedBy) {
        const resume = outcome.firstNotStarted!;
        process.stderr.write(
          `hero-flow: interrupted: started or already there: ${there} of ${counts.read} read` +
            (counts.failed ? `; ${counts.failed} not started (the lines with "error")` : '') +
            `. Items from index ${resume} on were not started; to resume: start-batch --input ${file} --from ${resume} ` +
            '(re-running the whole file also starts nothing twice)\n',
        );
        return SIGNAL_EXIT_CODES[outcome.stoppedBy as NodeJS.Signals] ?? 1;
      }
      process.stderr.write(
        `hero-flow: started or already there: ${there} of ${counts.read}` +
          (counts.failed ? `; ${counts.failed} not started (the lines with "error")\n` : '\n'),
      );
      return counts.failed ? 1 : 0;
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    source.destroy();
  }
}

async function withClient<T>(insecure: boolean, fn: (client: HeroFlowClient) => Promise<T>): Promise<T> {
  const client = await HeroFlowClient.connect(process.env, { insecureNoEncryption: insecure });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      input: { type: 'string', short: 'i' },
      'workflow-id': { type: 'string' },
      wait: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'insecure-no-encryption': { type: 'boolean', default: false },
      signal: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      from: { type: 'string' },
    },
  });
  const insecure = values['insecure-no-encryption'] ?? false;
  const id = () => {
    if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one workflow ID`);
    return positionals[0]!;
  };

  switch (command) {
    case 'worker': {
      // Loaded only here: the worker (and its native bridge) is heavy for the other commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runWorker } = require('../worker/run') as typeof import('../worker/run');
      await runWorker(process.env, { insecureNoEncryption: insecure });
      return 0;
    }
    case 'codec-server': {
      const ring = loadKeyRing();
      if (!ring)
        throw new ConfigError(
          ['HERO_CODEC_KEYS must be set: the codec server decrypts with it'],
          'codec server configuration',
        );
      const options = loadCodecServerOptions();
      const server = await startCodecServer({ ring, ...options });
      process.stderr.write(
        `hero-flow codec server on ${server.url} (origins: ${options.allowedOrigins.join(', ') || 'none'}; ` +
          `auth: ${options.authToken ? 'bearer token' : 'none'}). Temporal UI: --ui-codec-endpoint ${server.url}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      return 0;
    }
    case 'keys':
      if (positionals[0] !== 'generate') throw new UsageError('usage: hero-flow keys generate');
      print({
        key: generateKeySpec(),
        howTo: 'Prepend to HERO_CODEC_KEYS (comma-separated) to rotate; keep old keys while their runs are retained.',
      });
      return 0;
    case 'start': {
      if (!values.input) throw new UsageError('start needs --input FILE (a JSON outreach request)');
      const request = await readInput(values.input);
      // Fail before connecting: the request, and the workflow ID it will run under.
      outreachWorkflowId(HeroFlowClient.validate(request), {
        businessId: values['workflow-id'],
        secret: process.env.HERO_WORKFLOW_ID_SECRET || undefined,
      });
      return withClient(insecure, async (client) => {
        const started = await client.start(request as never, { workflowId: values['workflow-id'] });
        print(values.wait ? { ...started, result: await client.result(started.workflowId) } : started);
        return 0;
      });
    }
    case 'start-batch': {
      if (!values.input)
        throw new UsageError('start-batch needs --input FILE (JSON Lines of {"workflowId", "request"})');
      const concurrency = wholeNumber('concurrency', values.concurrency, DEFAULT_START_CONCURRENCY, 1);
      const from = wholeNumber('from', values.from, 0, 0);
      return startBatch(values.input, { concurrency, from, insecure });
    }
    case 'status': {
      const workflowId = id();
      return withClient(insecure, async (c) => (print(await c.status(workflowId)), 0));
    }
    case 'verify': {
      const workflowId = id();
      return withClient(insecure, async (c) => {
        if (values.signal) {
          await c.signalVerification(workflowId);
          print({ workflowId, signalled: 'verificationCompleted' });
        } else {
          print({ workflowId, ...(await c.confirmVerification(workflowId)) });
        }
        return 0;
      });
    }
    case 'result': {
      const workflowId = id();
      return withClient(insecure, async (c) => (print(await c.result(workflowId)), 0));
    }
    case 'cancel': {
      const workflowId = id();
      return withClient(insecure, async (c) => {
        await c.cancel(workflowId);
        print({ workflowId, cancelRequested: true });
        return 0;
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** One clear line (or list) on stderr per failure; never a stack trace for expected errors. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: `${err.message}\n\n${USAGE}`, code: 2 };
  if (
    err instanceof InvalidOutreachRequestError ||
    err instanceof ConfigError ||
    err instanceof WorkflowIdError ||
    err instanceof InputTooLargeError
  ) {
    return { message: err.message, code: 2 };
  }
  if (err instanceof OutreachIdConflictError) return { message: err.message, code: 1 };
  if (err instanceof WorkflowNotFoundError) {
    return { message: `No hero-flow run with that workflow ID: ${err.message}`, code: 1 };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    return { message: `The run did not accept it: ${err.cause?.message ?? err.message}`, code: 1 };
  }
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    return { message: 'The run was cancelled', code: 1 };
  }
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { message?: string; type?: string } | undefined;
    const detail = cause?.message ? `: ${cause.type ? `[${cause.type}] ` : ''}${cause.message}` : '';
    return { message: `The run failed${detail}`, code: 1 };
  }
  const e = err as Error & { code?: string };
  if (
    /ECONNREFUSED|UNAVAILABLE|transport error|Connection refused|Failed to connect before the deadline/i.test(
      String(e?.message),
    )
  ) {
    return {
      message: `Cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? 'localhost:7233'}: is the server running (npm run dev), and is TEMPORAL_ADDRESS right?`,
      code: 1,
    };
  }
  return { message: e?.message ?? String(err), code: 1 };
}
