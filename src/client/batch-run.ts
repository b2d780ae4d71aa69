import type { BatchEntry, BatchItem } from './batch';
import { OutreachAlreadyFinishedError, type StartedOutreach } from './outreach-client';

/** Running counts of a batch: items read, started now, already there (running or finished), failed. */
export interface BatchCounts {
  read: number;
  started: number;
  alreadyThere: number;
  failed: number;
}

export interface BatchRunOutcome {
  counts: BatchCounts;
  /** Why reading stopped early (a signal), or undefined when every item was read and tried. */
  stoppedBy?: string;
  /**
   * When stopped early: the index of the first item not tried (every item before it was tried and has
   * its result line).
   */
  firstNotStarted?: number;
  seconds: number;
}

export interface BatchRunOptions {
  entries: AsyncIterable<BatchEntry>;
  start: (item: BatchItem) => Promise<StartedOutreach & { alreadyRunning?: boolean }>;
  concurrency: number;
  /** One result per item, as it happens (the CLI's stdout line). */
  onResult: (line: Record<string, unknown>) => void;
  /** Awaited before each read, e.g. for stdout to drain, so output never piles up in memory. */
  beforeRead?: () => Promise<void>;
  /** Index of the first entry (`--from`), for the resume point when stopped before reading any. */
  from?: number;
  /** Called about every `progressEveryMs` (default 1 s) while the batch runs: progress on stderr. */
  onProgress?: (counts: BatchCounts, seconds: number) => void;
  progressEveryMs?: number;
  /** Aborting stops reading; the starts in flight finish and are reported. Its reason names the cause. */
  signal?: AbortSignal;
}

/**
 * Starts a stream of batch entries, at most `concurrency` at a time, reading the next entry only when
 * a start slot is free: a file of any length runs in constant memory and nothing is read far ahead of
 * what is being started, so a stop leaves a clean cut (everything before one index tried, nothing after).
 * @default opts.from 0; opts.progressEveryMs 1000
 * @throws only what reading `entries` throws (a failed start is that item's result line, not thrown).
 */
export async function runBatch(opts: BatchRunOptions): Promise<BatchRunOutcome> {
  const began = Date.now();
  const counts: BatchCounts = { read: 0, started: 0, alreadyThere: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  const iterator = opts.entries[Symbol.asyncIterator]();
  const stopped = new Promise<'stopped'>((resolve) => {
    if (opts.signal?.aborted) resolve('stopped');
    opts.signal?.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  let nextIndex = opts.from ?? 0;
  let exhausted = false;
  let abandonedRead = false;

  const tryOne = async (entry: BatchEntry): Promise<void> => {
    if ('error' in entry) {
      counts.failed += 1;
      opts.onResult({ index: entry.index, error: entry.error });
      return;
    }
    try {
      const started = await opts.start(entry.item);
      if (started.alreadyRunning) {
        counts.alreadyThere += 1;
        opts.onResult({
          index: entry.index,
          workflowId: started.workflowId,
          runId: started.runId,
          alreadyRunning: true,
        });
      } else {
        counts.started += 1;
        opts.onResult({ index: entry.index, workflowId: started.workflowId, runId: started.runId });
      }
    } catch (err) {
      // Already done is not a failure when the same list is run again.
      if (err instanceof OutreachAlreadyFinishedError) {
        counts.alreadyThere += 1;
        opts.onResult({ index: entry.index, workflowId: err.workflowId, alreadyFinished: true });
        return;
      }
      counts.failed += 1;
      opts.onResult({ index: entry.index, error: err instanceof Error ? err.message : String(err) });
    }
  };

  const progress = opts.onProgress
    ? setInterval(() => opts.onProgress!(counts, (Date.now() - began) / 1000), opts.progressEveryMs ?? 1000)
    : undefined;
  try {
    while (!opts.signal?.aborted) {
      while (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
      await opts.beforeRead?.();
      if (opts.signal?.aborted) break;
      const pending = iterator.next();
      const next = await Promise.race([pending, stopped]);
      if (next === 'stopped') {
        // A read in progress is abandoned; whatever it brings is not started.
        pending.catch(() => undefined);
        abandonedRead = true;
        break;
      }
      if (next.done) {
        exhausted = true;
        break;
      }
      counts.read += 1;
      nextIndex = next.value.index + 1;
      const task: Promise<void> = tryOne(next.value).finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
  } finally {
    await Promise.all(inFlight);
    clearInterval(progress);
    // With a read still pending, `return` would wait for it (stdin may never bring more): the caller
    // closes the source instead.
    if (!exhausted && !abandonedRead) await iterator.return?.(undefined).catch(() => undefined);
  }
  const seconds = (Date.now() - began) / 1000;
  if (exhausted) return { counts, seconds };
  const reason = opts.signal?.reason as unknown;
  return {
    counts,
    seconds,
    stoppedBy: typeof reason === 'string' ? reason : 'stopped',
    firstNotStarted: nextIndex,
  };
}

/** "read 1200, started 1100, already there 50, failed 3, 85.0/s": the progress and summary wording. */
export function describeCounts(counts: BatchCounts, seconds: number): string {
  const done = counts.started + counts.alreadyThere + counts.failed;
  const rate = seconds > 0 ? done / seconds : 0;
  return (
    `read ${counts.read}, started ${counts.started}, already there ${counts.alreadyThere}, ` +
    `failed ${counts.failed}, ${rate.toFixed(1)}/s`
  );
}
