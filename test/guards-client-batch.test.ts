import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BatchEntry, BatchFileError, formatBytes, parseBatch, readBatch, splitLines } from '../src/client/batch';
import { describeCounts, runBatch } from '../src/client/batch-run';
import { OutreachAlreadyFinishedError } from '../src/client/outreach-client';
import {
  checkRequestShape,
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  isPreparedOutreach,
  isPreparedResolution,
  MAX_REQUEST_BYTES,
  MAX_REQUEST_DEPTH,
  prepareOutreach,
  prepareOutreachRequest,
  prepareReviewResolution,
} from '../src/client/prepare';

/**
 * Batch files, batch runs and request preparation at their edges (found by mutation testing,
 * src/client/batch.ts, batch-run.ts, prepare.ts): exact size limits, byte order marks, early stops,
 * the result line of each kind of outcome, and the wording a caller reads.
 */

const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Resolves to 'hung' if `p` has not settled within `ms`: a hang fails the test instead of timing it out. */
async function within<T>(p: Promise<T>, ms = 2000): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)));
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

const chunksOf = (...parts: (string | Buffer)[]) => parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
async function* fromChunks(chunks: Buffer[]) {
  for (const c of chunks) yield c;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const read = (chunks: Buffer[], opts?: Parameters<typeof readBatch>[1]) => collect(readBatch(fromChunks(chunks), opts));
/** A byte source with `next` only, as a hand-written iterator may be (no `return` to close it). */
const withoutReturn = (chunks: Buffer[]): AsyncIterable<Buffer> => ({
  [Symbol.asyncIterator]: () => {
    let i = 0;
    return {
      next: () =>
        Promise.resolve(i < chunks.length ? { done: false, value: chunks[i++]! } : { done: true, value: undefined }),
    };
  },
});

const request = { nhsNumber: '9434765919', dob: '1990-01-01' };
const line = (r: unknown = request, workflowId?: string) => JSON.stringify({ workflowId, request: r });
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('formatBytes (sizes in batch messages)', () => {
  it('says bytes below 1 KiB, KiB from 1,024 bytes, MiB from 1,048,576 bytes', () => {
    assert.equal(formatBytes(5), '5 bytes');
    assert.equal(formatBytes(1023), '1023 bytes');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(1024 * 1024 - 1024), '1023 KiB');
    assert.equal(formatBytes(1024 * 1024), '1 MiB');
  });

  it('rounds a fraction up to one decimal, so a size just over a limit never reads as the limit', () => {
    assert.equal(formatBytes(1025), '1.1 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(16 * 1024 * 1024 + 1), '16.1 MiB');
  });
});

describe('parseBatch: what each unreadable item says', () => {
  it('names the field and the limit, never the value', () => {
    const entries = parseBatch(
      [line(request, 'x'.repeat(201)), '5', JSON.stringify({ workflowId: 5 }), '{"request":[1]}'].join('\n'),
    );
    assert.deepEqual(entries, [
      { index: 0, error: 'item 0: workflowId: must be at most 200 characters' },
      { index: 1, error: 'item 1: (item): Invalid input: expected object, received number' },
      {
        index: 2,
        error:
          'item 2: workflowId: Invalid input: expected string, received number; request: must be an object (the outreach request)',
      },
      { index: 3, error: 'item 3: request: must be an object (the outreach request)' },
    ]);
  });

  it('reads a JSON array that has whitespace before its "["', () => {
    assert.deepEqual(parseBatch(`  \n ${JSON.stringify([{ request }])}`), [
      { index: 0, item: { request, workflowId: undefined } },
    ]);
  });

  it('refuses a broken JSON array as a BatchFileError, and a text of blank lines as having no items', () => {
    assert.throws(
      () => parseBatch('[{"request": {}'),
      (e: unknown) =>
        e instanceof BatchFileError && e.message === 'the batch starts with "[" but is not a valid JSON array',
    );
    assert.throws(
      () => parseBatch('\n  \n'),
      (e: unknown) => e instanceof BatchFileError && e.message === 'the batch has no items',
    );
  });
});

describe('splitLines (JSON Lines read as a stream)', () => {
  const lines = (max: number, ...parts: string[]) => collect(splitLines(fromChunks(chunksOf(...parts)), max));

  it('accepts a line of exactly the limit and cuts one a byte longer, as tooLong: true', async () => {
    assert.deepEqual(await lines(3, 'abc\nabcd\n'), [
      { lineNo: 1, text: 'abc' },
      { lineNo: 2, tooLong: true },
    ]);
  });

  it('counts a line split across chunks as one line, and measures a line that starts mid-chunk from its start', async () => {
    assert.deepEqual(await lines(3, 'ab', 'cd\n'), [{ lineNo: 1, tooLong: true }]);
    assert.deepEqual(await lines(3, 'a\nbcd\n'), [
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: 'bcd' },
    ]);
  });
});

describe('readBatch: telling a JSON array from JSON Lines', () => {
  const array = JSON.stringify([{ request }, { workflowId: 'w-1', request }]);
  const both: BatchEntry[] = [
    { index: 0, item: { request, workflowId: undefined } },
    { index: 1, item: { request, workflowId: 'w-1' } },
  ];

  it('reads a JSON array, with or without a UTF-8 byte order mark, and after blank lines', async () => {
    assert.deepEqual(await read(chunksOf(array)), both);
    assert.deepEqual(await read(chunksOf(Buffer.concat([BOM, Buffer.from(array)]))), both);
    assert.deepEqual(await read(chunksOf('\r\n\t \n', array)), both);
    assert.deepEqual(await read(chunksOf(`\n \t${array}`)), both);
  });

  it('keeps a U+FEFF inside a value of a JSON array: only a leading byte order mark is dropped', async () => {
    const withMark = { ...request, note: '\uFEFFx' };
    assert.deepEqual(await read(chunksOf(JSON.stringify([{ request: withMark }]))), [
      { index: 0, item: { request: withMark, workflowId: undefined } },
    ]);
  });

  it('skips the entries of a JSON array before `from`', async () => {
    assert.deepEqual(await read(chunksOf(array), { from: 1 }), [both[1]]);
  });

  it('says a file with nothing but blanks has no items', async () => {
    await assert.rejects(
      read(chunksOf('  \n', '\n')),
      (e: unknown) => e instanceof BatchFileError && e.message === 'the batch has no items',
    );
  });
});

describe('readBatch: the JSON array size limit', () => {
  const array = JSON.stringify([{ request }]);
  const exact = array.length;

  it('reads an array of exactly the limit, known size or not, and refuses one byte more', async () => {
    assert.equal((await read(chunksOf(array), { maxArrayBytes: exact, knownSize: exact })).length, 1);
    assert.equal((await read(chunksOf(array), { maxArrayBytes: exact })).length, 1);
    await assert.rejects(read(chunksOf(array), { maxArrayBytes: exact - 1 }), BatchFileError);
    await assert.rejects(read(chunksOf(array), { maxArrayBytes: exact - 1, knownSize: exact }), BatchFileError);
  });

  it('refuses by its known size without reading, even from a source that cannot be closed', async () => {
    await assert.rejects(
      collect(readBatch(withoutReturn(chunksOf(array)), { maxArrayBytes: 10, knownSize: exact })),
      (e: unknown) => e instanceof BatchFileError && /at most 10 bytes \(this one is \d+ bytes\)/.test(e.message),
    );
  });
});

describe('readBatch: stopping early', () => {
  it('stops reading JSON Lines when its caller stops, also from a source without `return`', async () => {
    const source = withoutReturn(chunksOf(`${line()}\n${line()}\n`));
    const got: BatchEntry[] = [];
    for await (const entry of readBatch(source)) {
      got.push(entry);
      break;
    }
    assert.equal(got.length, 1);
  });

  it('closes a source that can be closed when its caller stops', async () => {
    let closed = false;
    async function* source() {
      try {
        yield Buffer.from(`${line()}\n`);
        yield Buffer.from(`${line()}\n`);
        yield Buffer.from(`${line()}\n`);
      } finally {
        closed = true;
      }
    }
    for await (const _ of readBatch(source())) break;
    assert.equal(closed, true);
  });
});

describe('runBatch: the result line of each outcome', () => {
  const item = (index: number): BatchEntry => ({ index, item: { request, workflowId: `w-${index}` } });
  async function* entries(list: BatchEntry[]) {
    yield* list;
  }

  it('reports an unreadable item as failed without starting it', async () => {
    const results: Record<string, unknown>[] = [];
    let starts = 0;
    const outcome = await runBatch({
      entries: entries([{ index: 0, error: 'line 1 is not valid JSON' }]),
      start: async () => {
        starts += 1;
        return { workflowId: 'w', runId: 'r' };
      },
      concurrency: 1,
      onResult: (l) => results.push(l),
    });
    assert.equal(starts, 0);
    assert.deepEqual(results, [{ index: 0, error: 'line 1 is not valid JSON' }]);
    assert.deepEqual(outcome.counts, { read: 1, started: 0, alreadyThere: 0, failed: 1 });
  });

  it('counts a run already running, or already finished, as already there; any other failure as failed', async () => {
    const results: Record<string, unknown>[] = [];
    const outcome = await runBatch({
      entries: entries([item(0), item(1), item(2), item(3), item(4)]),
      start: async ({ workflowId }) => {
        if (workflowId === 'w-0') return { workflowId, runId: 'r-0' };
        if (workflowId === 'w-1') return { workflowId, runId: 'r-1', alreadyRunning: true };
        if (workflowId === 'w-2') throw new OutreachAlreadyFinishedError(workflowId);
        if (workflowId === 'w-3') throw new Error('Temporal is unavailable');
        throw 'not an Error';
      },
      concurrency: 1,
      onResult: (l) => results.push(l),
    });
    assert.deepEqual(results, [
      { index: 0, workflowId: 'w-0', runId: 'r-0' },
      { index: 1, workflowId: 'w-1', runId: 'r-1', alreadyRunning: true },
      { index: 2, workflowId: 'w-2', alreadyFinished: true },
      { index: 3, error: 'Temporal is unavailable' },
      { index: 4, error: 'not an Error' },
    ]);
    assert.deepEqual(outcome.counts, { read: 5, started: 1, alreadyThere: 2, failed: 2 });
    assert.equal(outcome.stoppedBy, undefined);
  });

  it('waits for the starts in flight before it returns, and reports progress on time while they run', async () => {
    const results: Record<string, unknown>[] = [];
    const progress: number[] = [];
    const outcome = await runBatch({
      entries: entries([item(0), item(1)]),
      start: async ({ workflowId }) => {
        await tick(80);
        return { workflowId: workflowId!, runId: 'r' };
      },
      concurrency: 2,
      onResult: (l) => results.push(l),
      onProgress: (_counts, seconds) => progress.push(seconds),
      progressEveryMs: 10,
    });
    assert.equal(results.length, 2);
    assert.equal(outcome.counts.started, 2);
    assert.ok(progress.length >= 1, 'progress was reported while the starts ran');
    for (const s of [...progress, outcome.seconds]) assert.ok(s > 0 && s < 10, `seconds ${s}`);
    const reported = progress.length;
    await tick(40);
    assert.equal(progress.length, reported, 'no progress after the batch returned');
  });
});

describe('runBatch: stopping', () => {
  it('stops before reading when already aborted, resuming from `from`, and closes the entries', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<BatchEntry> {
      try {
        yield { index: 7, error: 'x' };
      } finally {
        closed = true;
      }
    }
    const gen = source();
    await gen.next(); // started, so `return` runs its finally
    const controller = new AbortController();
    controller.abort('SIGINT');
    const outcome = await runBatch({
      entries: { [Symbol.asyncIterator]: () => gen },
      start: async () => ({ workflowId: 'w', runId: 'r' }),
      concurrency: 1,
      onResult: () => undefined,
      from: 7,
      signal: controller.signal,
    });
    assert.equal(outcome.stoppedBy, 'SIGINT');
    assert.equal(outcome.firstNotStarted, 7);
    assert.equal(closed, true);
  });

  it('says "stopped" for an abort without a text reason, and copes with entries that cannot be closed', async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await runBatch({
      entries: {
        [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<BatchEntry>>(() => undefined) }),
      },
      start: async () => ({ workflowId: 'w', runId: 'r' }),
      concurrency: 1,
      onResult: () => undefined,
      signal: controller.signal,
    });
    assert.equal(outcome.stoppedBy, 'stopped');
    assert.equal(outcome.firstNotStarted, 0);
  });

  it('an abort during a read that never ends returns at once, after the starts in flight, without waiting for the read', async () => {
    const controller = new AbortController();
    const results: Record<string, unknown>[] = [];
    async function* stdin(): AsyncGenerator<BatchEntry> {
      yield { index: 0, item: { request, workflowId: 'w-0' } };
      await new Promise(() => undefined); // no more lines, and the stream never ends
    }
    const run = runBatch({
      entries: stdin(),
      start: async ({ workflowId }) => {
        await tick(30);
        return { workflowId: workflowId!, runId: 'r' };
      },
      concurrency: 2,
      onResult: (l) => results.push(l),
      signal: controller.signal,
    });
    await tick(5);
    controller.abort('SIGTERM');
    const outcome = await within(run);
    assert.notEqual(outcome, 'hung');
    if (outcome === 'hung') return;
    assert.equal(outcome.stoppedBy, 'SIGTERM');
    assert.equal(outcome.firstNotStarted, 1);
    assert.deepEqual(outcome.counts, { read: 1, started: 1, alreadyThere: 0, failed: 0 });
    assert.deepEqual(results, [{ index: 0, workflowId: 'w-0', runId: 'r' }]);
  });
});

describe('describeCounts (progress and summary)', () => {
  it('gives every count and the rate of items done (started, already there, failed) per second', () => {
    assert.equal(
      describeCounts({ read: 12, started: 6, alreadyThere: 3, failed: 1 }, 2),
      'read 12, started 6, already there 3, failed 1, 5.0/s',
    );
  });

  it('says 0.0/s before any time has passed', () => {
    assert.equal(
      describeCounts({ read: 1, started: 1, alreadyThere: 0, failed: 0 }, 0),
      'read 1, started 1, already there 0, failed 0, 0.0/s',
    );
  });
});

describe('checkRequestShape: nesting and size limits, exact', () => {
  const tooDeep = '(request): nested deeper than 8 levels of objects or arrays (a valid request has 2)';
  const tooLarge = '(request): larger than 16 KiB as JSON (16384 bytes), the most an outreach request may be';
  const nestedObjects = (levels: number): unknown => (levels === 1 ? {} : { a: nestedObjects(levels - 1) });
  const nestedArrays = (levels: number): unknown => (levels === 1 ? [] : [nestedArrays(levels - 1)]);
  /** `{"s":"xxx…"}` of exactly `bytes` bytes as JSON. */
  const ofSize = (bytes: number, extra: Record<string, unknown> = {}) => {
    const base = JSON.stringify({ ...extra, s: '' }).length;
    return { ...extra, s: 'x'.repeat(bytes - base) };
  };

  it('accepts 8 levels of objects or arrays and refuses 9', () => {
    assert.equal(MAX_REQUEST_DEPTH, 8);
    assert.equal(checkRequestShape(nestedObjects(8)), undefined);
    assert.equal(checkRequestShape(nestedArrays(8)), undefined);
    assert.equal(checkRequestShape(nestedObjects(9)), tooDeep);
    assert.equal(checkRequestShape(nestedArrays(9)), tooDeep);
    assert.equal(checkRequestShape({ a: [{ b: [{ c: [{ d: [] }] }] }] }), undefined);
    assert.equal(checkRequestShape({ a: [{ b: [{ c: [{ d: [{}] }] }] }] }), tooDeep);
  });

  it('does not count a value inside the deepest level as a level: null, numbers and booleans at level 8 pass', () => {
    const withLeaves = (levels: number): unknown =>
      levels === 1 ? { n: null, x: 1, t: true } : { a: withLeaves(levels - 1) };
    assert.equal(checkRequestShape(withLeaves(8)), undefined);
    assert.equal(checkRequestShape(withLeaves(9)), tooDeep);
  });

  it('accepts a request of exactly 16 KiB as JSON and refuses one byte more', () => {
    assert.equal(MAX_REQUEST_BYTES, 16_384);
    // Strings, one-digit numbers, arrays and objects: the check counts each of them to the byte.
    const extra = { list: [1, 'ab', [2, 3], { k: 4 }], obj: { n: 5, m: 'cd', e: {}, l: [] } };
    const exact = ofSize(MAX_REQUEST_BYTES, extra);
    assert.equal(JSON.stringify(exact).length, MAX_REQUEST_BYTES);
    assert.equal(checkRequestShape(exact), undefined);
    assert.equal(checkRequestShape(ofSize(MAX_REQUEST_BYTES + 1, extra)), tooLarge);
    assert.equal(checkRequestShape(ofSize(MAX_REQUEST_BYTES + 1)), tooLarge);
  });

  it('counts bytes, not characters: 16 KiB of JSON text holding multi-byte characters is too large', () => {
    const text = 'é'.repeat(MAX_REQUEST_BYTES / 2); // 16 KiB of UTF-8, half that in characters
    assert.equal(checkRequestShape({ t: text }), tooLarge);
  });

  it('does not count what JSON leaves out: undefined, functions, symbols, inherited keys', () => {
    const exact = ofSize(MAX_REQUEST_BYTES);
    const withHidden = Object.assign(Object.create({ inherited: 'x'.repeat(MAX_REQUEST_BYTES) }) as object, exact, {
      u: undefined,
      f: () => 1,
      y: Symbol('y'),
    });
    assert.equal(checkRequestShape(withHidden), undefined);
  });

  it('counts true, false and null as at least one byte each, and a value JSON cannot hold is left to the schema', () => {
    const flags = Array.from({ length: MAX_REQUEST_BYTES / 2 }, () => true); // 5 bytes each as JSON
    assert.equal(checkRequestShape(flags), tooLarge);
    assert.equal(checkRequestShape({ big: 1n }), undefined);
    assert.equal(checkRequestShape(null), undefined);
    assert.equal(checkRequestShape(undefined), undefined);
    assert.equal(checkRequestShape('text'), undefined);
  });

  it('counts strings, other values and containers as it meets them, so a huge part after 16 KiB is never read', () => {
    // The parts are looked at last to first: the short ones below bring the count to 16,385 bytes (one
    // over) before the huge array is reached, so none of its items is read.
    let reads = 0;
    const huge = new Proxy(new Array<string>(100_000).fill('x'), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    // `[huge, "xxx…"]`: brackets and separators 3 bytes, the string its length + 2.
    assert.equal(checkRequestShape([huge, 'x'.repeat(MAX_REQUEST_BYTES - 4)]), tooLarge);
    // `[huge, "xxx…", 0]` and `[huge, "xxx…", {}]`: 4 bytes, the string, and 1 byte for the 0 or the {}.
    assert.equal(checkRequestShape([huge, 'x'.repeat(MAX_REQUEST_BYTES - 6), 0]), tooLarge);
    assert.equal(checkRequestShape([huge, 'x'.repeat(MAX_REQUEST_BYTES - 6), {}]), tooLarge);
    assert.equal(reads, 0);
  });

  it('stops reading a huge array or object as soon as it is known to be too large', () => {
    let reads = 0;
    const items = new Proxy(new Array<string>(200_000).fill('0123456789'), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    assert.equal(checkRequestShape({ items }), tooLarge);
    // Each item is counted as at least one byte before it is looked at: at most 16 KiB of items are read.
    assert.ok(reads <= MAX_REQUEST_BYTES, `read ${reads} items of 200,000`);

    let gets = 0;
    const wide: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) {
      Object.defineProperty(wide, `k${i}`, {
        enumerable: true,
        get: () => {
          gets++;
          return 'v';
        },
      });
    }
    assert.equal(checkRequestShape(wide), tooLarge);
    assert.ok(gets < 3_000, `read ${gets} keys of 100,000`);
  });
});

describe('prepareOutreachRequest / prepareOutreach', () => {
  const valid = {
    nhsNumber: '9434765919',
    dob: '1990-01-01',
    booking: { appointmentTypeId: '1', locationId: '5' },
    message: { type: 'sms', text: 'Book: {booking_link}' },
  };

  it('names every problem, one per line, under "Invalid outreach request"', () => {
    assert.throws(
      () => prepareOutreachRequest({ ...valid, nhsNumbr: 1 }),
      (err: unknown) =>
        err instanceof InvalidOutreachRequestError &&
        err.name === 'InvalidOutreachRequestError' &&
        err.message === 'Invalid outreach request:\n  - nhsNumbr: unknown field; did you mean "nhsNumber"?' &&
        err.problems.length === 1,
    );
    assert.throws(
      () => prepareOutreachRequest({ ...valid, nhsNumbr: 1, dobb: 2 }),
      (err: unknown) =>
        err instanceof InvalidOutreachRequestError &&
        err.message ===
          'Invalid outreach request:\n  - nhsNumbr: unknown field; did you mean "nhsNumber"?\n  - dobb: unknown field; did you mean "dob"?',
    );
    assert.throws(
      () => prepareOutreachRequest(5),
      (err: unknown) => err instanceof InvalidOutreachRequestError && /^\(request\): /.test(err.problems[0]!),
    );
  });

  it('refuses an oversized request by its size alone, before the schema', () => {
    assert.throws(
      () => prepareOutreachRequest({ ...valid, nhsNumbr: 'x'.repeat(MAX_REQUEST_BYTES) }),
      (err: unknown) =>
        err instanceof InvalidOutreachRequestError &&
        err.problems.length === 1 &&
        err.problems[0]!.startsWith('(request): larger than 16 KiB'),
    );
  });

  it('returns the parsed request, with defaults, frozen all the way down, and recognised as prepared', () => {
    const prepared = prepareOutreach(valid, { workflowId: 'my-id-1' });
    assert.equal(prepared.workflowId, 'my-id-1');
    assert.equal(prepared.input.nhsNumber, '9434765919');
    assert.ok(prepared.input.verification, 'defaults filled in');
    assert.ok(Object.isFrozen(prepared) && Object.isFrozen(prepared.input) && Object.isFrozen(prepared.input.booking));
    assert.equal(isPreparedOutreach(prepared), true);
    assert.equal(isPreparedOutreach({ ...prepared }), false);
    assert.equal(isPreparedOutreach(null), false);
    assert.equal(isPreparedOutreach('x'), false);
  });

  it('derives the workflow ID from the secret when none is given', () => {
    const a = prepareOutreach(valid, { secret: 's'.repeat(32) });
    assert.match(a.workflowId, /^outreach-[0-9a-f]{32}$/);
    assert.equal(prepareOutreach(valid, { secret: 's'.repeat(32) }).workflowId, a.workflowId);
  });
});

describe('prepareReviewResolution', () => {
  it('returns the parsed decision, frozen and recognised, and takes it back as it is', () => {
    const decision = prepareReviewResolution({ action: 'resend', note: '  called the patient  ' });
    assert.deepEqual(decision, { action: 'resend', note: 'called the patient' });
    assert.ok(Object.isFrozen(decision));
    assert.equal(isPreparedResolution(decision), true);
    assert.equal(prepareReviewResolution(decision), decision);
    assert.equal(isPreparedResolution({ action: 'resend' }), false);
    assert.equal(isPreparedResolution(null), false);
  });

  it('names every problem under "Invalid review decision", never the note', () => {
    const note = 'private note '.repeat(50);
    assert.throws(
      () => prepareReviewResolution({ action: 'x', note }),
      (err: unknown) =>
        err instanceof InvalidReviewResolutionError &&
        err.name === 'InvalidReviewResolutionError' &&
        err.message ===
          'Invalid review decision:\n  - action: Invalid option: expected one of "resend"|"mark_sent"|"abandon"\n  - note: must be at most 500 characters' &&
        !err.message.includes('private note'),
    );
    assert.throws(
      () => prepareReviewResolution('resend'),
      (err: unknown) => err instanceof InvalidReviewResolutionError && /^\(decision\): /.test(err.problems[0]!),
    );
  });
});
