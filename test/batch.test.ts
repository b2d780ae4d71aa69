import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { concurrencyLimit, HeroFlowClient, type StartedOutreach } from '../src/client';
import { type BatchEntry, BatchFileError, MAX_REQUEST_TEXT_BYTES, parseBatch, readBatch } from '../src/client/batch';
import { runBatch } from '../src/client/batch-run';

const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('concurrencyLimit (batch starts)', () => {
  it('never runs more than the limit at once, and runs every task in the order given', async () => {
    const limit = concurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const began: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limit(async () => {
          began.push(i);
          active += 1;
          peak = Math.max(peak, active);
          await tick(5 + (i % 3) * 5);
          active -= 1;
          return i * 2;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(began, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(results, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('frees the slot of a failed task, and the failure reaches only its caller', async () => {
    const limit = concurrencyLimit(1);
    const failed = limit(() => Promise.reject(new Error('refused')));
    const next = limit(async () => 'ran');
    await assert.rejects(failed, /refused/);
    assert.equal(await next, 'ran');
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    assert.throws(() => concurrencyLimit(0), /concurrency must be a whole number ≥ 1, not 0/);
    assert.throws(() => concurrencyLimit(2.5), RangeError);
  });
});

describe('parseBatch (start-batch files)', () => {
  const request = { nhsNumber: '9434765919', dob: '1990-01-01' };

  it('reads JSON Lines, skipping blank lines, and a JSON array the same way', () => {
    const items = [{ workflowId: 'a-1', request }, { request }];
    const fromLines = parseBatch(`${JSON.stringify(items[0])}\n\n${JSON.stringify(items[1])}\n`);
    assert.deepEqual(fromLines, [
      { index: 0, item: { workflowId: 'a-1', request } },
      { index: 1, item: { workflowId: undefined, request } },
    ]);
    assert.deepEqual(parseBatch(JSON.stringify(items)), fromLines);
  });

  it('turns each unreadable item into an error entry that names no value, and keeps the rest', () => {
    const entries = parseBatch(
      [
        '{"request": ',
        JSON.stringify({ workflowId: 7, request }),
        JSON.stringify({ request: 'x' }),
        '{"request":{}}',
      ].join('\n'),
    );
    assert.deepEqual(entries, [
      { index: 0, error: 'line 1 is not valid JSON' },
      { index: 1, error: 'item 1: workflowId: Invalid input: expected string, received number' },
      { index: 2, error: 'item 2: request: must be an object (the outreach request)' },
      { index: 3, item: { workflowId: undefined, request: {} } },
    ]);
  });

  it('refuses an item with a misspelt key, suggesting the known one, instead of dropping it', () => {
    const [entry] = parseBatch(JSON.stringify({ workflowID: 'a-1', request }));
    assert.deepEqual(entry, { index: 0, error: 'item 0: workflowID: unknown field; did you mean "workflowId"?' });
  });

  it('reads examples/batch.jsonl (the example of docs/library-and-cli.md) into valid requests', () => {
    const entries = parseBatch(readFileSync(join(__dirname, '..', 'examples', 'batch.jsonl'), 'utf8'));
    assert.equal(entries.length, 3);
    for (const e of entries) {
      assert.ok('item' in e, JSON.stringify(e));
      assert.equal(HeroFlowClient.validate(e.item.request).booking.locationId, '5');
    }
  });

  it('refuses a file that is empty or a broken JSON array, as a whole', () => {
    assert.throws(() => parseBatch('\n \n'), BatchFileError);
    assert.throws(() => parseBatch('[{"request": {}}'), /not a valid JSON array/);
  });
});

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

describe('readBatch (start-batch streams its file)', () => {
  const request = { nhsNumber: '9434765919', dob: '1990-01-01' };
  const line = (workflowId: string) => JSON.stringify({ workflowId, request });
  /** A byte stream cut into chunks of `size`, so lines straddle chunk boundaries. */
  const chunked = (text: string, size: number) => {
    const bytes = Buffer.from(text);
    return Readable.from(
      Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)),
    );
  };

  it('reads JSON Lines cut at any byte into the same entries as the whole text', async () => {
    const text = `\uFEFF${line('a-1')}\r\n\n   \n${line('b-2')}\n{"request": \n${line('c-3')}`;
    const whole = parseBatch(text.replace(/^\uFEFF/, ''));
    for (const size of [1, 2, 7, 64, 4096]) assert.deepEqual(await collect(readBatch(chunked(text, size))), whole);
    assert.deepEqual(
      whole.map((e) => ('error' in e ? e.error : e.item.workflowId)),
      ['a-1', 'b-2', 'line 5 is not valid JSON', 'c-3'],
    );
  });

  it("reports a line over the request cap as that line's error, without holding it, and reads on", async () => {
    // 256 MiB on one line, made as it is read: held whole, it would show in the process's buffers.
    const chunk = 1024 * 1024;
    let peak = 0;
    async function* source() {
      yield Buffer.from(`${line('a-1')}\n`);
      for (let i = 0; i < 256; i++) {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        yield Buffer.alloc(chunk, 0x41);
      }
      yield Buffer.from(`\n${line('c-3')}\n`);
    }
    const before = process.memoryUsage().arrayBuffers;
    const entries = await collect(readBatch(source()));
    assert.deepEqual(
      entries.map((e) => ('error' in e ? e.error : e.item.workflowId)),
      ['a-1', `line 2 is longer than 64 KiB, the most one request may take (each line holds one request)`, 'c-3'],
    );
    assert.ok(
      peak - before < 128 * chunk,
      `held ${Math.round((peak - before) / chunk)} MiB while reading the long line`,
    );
    assert.equal(MAX_REQUEST_TEXT_BYTES, 64 * 1024);
  });

  it('skips the items before `from` (a resumed batch), keeping their positions', async () => {
    const text = ['a-0', 'a-1', 'a-2', 'a-3'].map(line).join('\n');
    const entries = await collect(readBatch(chunked(text, 5), { from: 2 }));
    assert.deepEqual(
      entries.map((e) => [e.index, 'item' in e && e.item.workflowId]),
      [
        [2, 'a-2'],
        [3, 'a-3'],
      ],
    );
  });

  it('reads a JSON array under the cap, and refuses one over it by its size before reading it', async () => {
    const text = JSON.stringify([{ workflowId: 'a-1', request }, { request }]);
    assert.deepEqual(await collect(readBatch(chunked(text, 3))), parseBatch(text));
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled += 1;
        yield Buffer.from(pulled === 1 ? '  [' : ' '.repeat(1024));
      }
    }
    await assert.rejects(
      collect(readBatch(endless(), { knownSize: 17 * 1024 * 1024 })),
      /a JSON array batch is read whole, so it may be at most 16 MiB \(this one is 17 MiB\); write one .* per line \(JSON Lines\)/,
    );
    assert.equal(pulled, 1, 'only the first chunk was read');
    // Of unknown size (stdin): read no further than the cap.
    pulled = 0;
    await assert.rejects(collect(readBatch(endless(), { maxArrayBytes: 64 * 1024 })), /at most 64 KiB;/);
    assert.ok(pulled <= 66, `read ${pulled} chunks of 1 KiB`);
  });

  it('refuses a stream with no items, as a whole', async () => {
    await assert.rejects(collect(readBatch(chunked(' \n\r\n', 2))), BatchFileError);
    await assert.rejects(collect(readBatch(chunked('[]', 2))), /the batch has no items/);
  });
});

describe('runBatch (start-batch schedules starts as it reads)', () => {
  /** A start that waits until the test releases it, to see what the runner does meanwhile. */
  function heldStarts() {
    const waiting: (() => void)[] = [];
    const start = (item: { workflowId?: string }) =>
      new Promise<StartedOutreach & { alreadyRunning?: boolean }>((resolve) =>
        waiting.push(() => resolve({ workflowId: item.workflowId!, runId: `run-${item.workflowId}` })),
      );
    return { start, waiting };
  }
  function entries(count: number, pulled: { n: number }): AsyncIterable<BatchEntry> {
    return (async function* () {
      for (let index = 0; index < count; index++) {
        pulled.n += 1;
        yield { index, item: { workflowId: `w-${index}`, request: {} as never } };
      }
    })();
  }
  const until = async (condition: () => boolean) => {
    while (!condition()) await new Promise<void>((resolve) => setImmediate(resolve));
  };

  it('reads the next item only when a start slot is free', { timeout: 10_000 }, async () => {
    const { start, waiting } = heldStarts();
    const pulled = { n: 0 };
    const lines: Record<string, unknown>[] = [];
    const run = runBatch({ entries: entries(100, pulled), start, concurrency: 3, onResult: (l) => lines.push(l) });
    await until(() => waiting.length >= 3);
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(pulled.n, 3, 'no item read beyond the three in flight');
    waiting.shift()!();
    await until(() => waiting.length >= 3);
    assert.equal(pulled.n, 4);
    while (lines.length < 100) {
      waiting.shift()?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const outcome = await run;
    assert.deepEqual(outcome.counts, { read: 100, started: 100, alreadyThere: 0, failed: 0 });
    assert.equal(outcome.stoppedBy, undefined);
  });

  it(
    'on stop, reads nothing more, lets the starts in flight finish, and names the first item not started',
    {
      timeout: 10_000,
    },
    async () => {
      const { start, waiting } = heldStarts();
      const pulled = { n: 0 };
      const lines: Record<string, unknown>[] = [];
      const stop = new AbortController();
      const run = runBatch({
        entries: entries(100, pulled),
        start,
        concurrency: 4,
        onResult: (l) => lines.push(l),
        signal: stop.signal,
      });
      await until(() => waiting.length >= 4);
      stop.abort('SIGINT');
      for (const release of waiting.splice(0)) release();
      const outcome = await run;
      assert.equal(pulled.n, 4);
      assert.deepEqual(
        lines.map((l) => l.index),
        [0, 1, 2, 3],
      );
      assert.equal(outcome.stoppedBy, 'SIGINT');
      assert.equal(outcome.firstNotStarted, 4);
      assert.equal(outcome.counts.started, 4);
    },
  );
});
