import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { BatchFileError, type BatchEntry, readBatch } from '../client/batch';
import { describeCounts, runBatch } from '../client/batch-run';
import { DEFAULT_START_CONCURRENCY } from '../client/outreach-client';
import { UsageError } from './errors';
import { PRIORITY, type RunPriority } from '../shared/priority';
import { priorityOption, readError, regularFileSize, wholeNumber } from './input';
import { batchLineText, forPeople } from './present';
import { type ClientOptions, SIGNAL_EXIT_CODES, withClient } from './session';

/**
 * `start-batch`: streams the file, starting items as they are read (never more than `concurrency`
 * ahead), one JSON line per item on stdout, progress on stderr about once a second. SIGINT/SIGTERM stop
 * the reading; the starts in flight finish, and a summary says which index to resume from.
 */
async function startBatch(
  file: string,
  opts: { concurrency: number; from: number; priority: RunPriority; client: ClientOptions },
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
  const people = forPeople(opts.client);
  const line = (value: Record<string, unknown>) =>
    process.stdout.write((people ? batchLineText(value) : JSON.stringify(value)) + '\n');
  try {
    return await withClient(opts.client, async (client) => {
      const outcome = await runBatch({
        entries,
        // Each line's request is parsed once, here, with the workflow ID derived from it.
        start: (item) =>
          client.startOrFind(client.prepare(item.request, { workflowId: item.workflowId }), {
            priority: opts.priority,
          }),
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

/**
 * `start-batch --input FILE [--concurrency N] [--from INDEX] [--priority N]`.
 * @default concurrency DEFAULT_START_CONCURRENCY (50); from 0; priority PRIORITY.single (2)
 * @throws {UsageError} no --input, a bad number, an empty or unusable file (exit 2, nothing connected).
 */
export async function startBatchCommand(
  opts: ClientOptions & { input?: string; concurrency?: string; from?: string; priority?: string },
): Promise<number> {
  if (!opts.input) throw new UsageError('start-batch needs --input FILE (JSON Lines of {"workflowId", "request"})');
  const concurrency = wholeNumber('concurrency', opts.concurrency, DEFAULT_START_CONCURRENCY, 1);
  const from = wholeNumber('from', opts.from, 0, 0);
  const priority = priorityOption(opts.priority, PRIORITY.single);
  return startBatch(opts.input, { concurrency, from, priority, client: opts });
}
