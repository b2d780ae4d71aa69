import { z } from 'zod';
import { describeProblems } from '../shared/problems';

/**
 * The most text one request may take, as a `start --input` file or as one line of a batch, checked
 * before it is read whole. Looser than the parsed request's own cap (prepare.ts), so whitespace and
 * pretty-printing never matter; without it a 200 MB file was read whole, then refused by Temporal.
 */
export const MAX_REQUEST_TEXT_BYTES = 64 * 1024;

/** A JSON array batch is parsed whole, so it is capped; JSON Lines are streamed and have no limit. */
export const MAX_JSON_ARRAY_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * "64 KiB", "16 MiB", "200.5 MiB": sizes in messages, rounded up so a size over a limit never reads as
 * the limit itself (and never a long digit run, which log redaction would take for a date).
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KiB'] : [bytes / (1024 * 1024), 'MiB'];
  return `${Number.isInteger(value) ? value : (Math.ceil(value * 10) / 10).toFixed(1)} ${unit}`;
}

/** One item of a batch file: the outreach request, and the caller's business workflow ID if any. */
const batchItemSchema = z.strictObject({
  workflowId: z.string().max(200, 'must be at most 200 characters').optional(),
  request: z.record(z.string(), z.unknown(), { error: 'must be an object (the outreach request)' }),
});

/**
 * One item as read from the file: the request not parsed yet (the client parses it once, when it
 * starts it), and the caller's business workflow ID if any.
 */
export interface BatchItem {
  request: unknown;
  workflowId?: string;
}

/** An item of the file (its position, from 0), or why it could not be read. */
export type BatchEntry = { index: number; item: BatchItem } | { index: number; error: string };

export class BatchFileError extends Error {}

/** Error texts name the position and the field, never a value (the values are patient data). */
function toEntry(index: number, value: unknown): BatchEntry {
  const item = batchItemSchema.safeParse(value);
  if (item.success) return { index, item: { request: item.data.request, workflowId: item.data.workflowId } };
  const problems = describeProblems(item.error, '(item)', batchItemSchema);
  return { index, error: `item ${index}: ${problems.join('; ')}` };
}

function parseJsonArray(text: string): BatchEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BatchFileError('the batch starts with "[" but is not a valid JSON array');
  }
  if (!Array.isArray(parsed)) throw new BatchFileError('the batch starts with "[" but is not a valid JSON array');
  return parsed.map((value, index) => toEntry(index, value));
}

function parseLine(index: number, lineNo: number, line: string): BatchEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { index, error: `line ${lineNo} is not valid JSON` };
  }
  return toEntry(index, value);
}

/**
 * Reads a batch held in memory: a JSON array of `{ "workflowId"?, "request" }`, or the same objects as
 * JSON Lines (blank lines skipped). An unreadable item becomes an error entry and the others still go.
 * Files are read with `readBatch`, which streams.
 * @throws {BatchFileError} no items, or a broken JSON array.
 */
export function parseBatch(text: string): BatchEntry[] {
  let entries: BatchEntry[];
  if (text.trimStart().startsWith('[')) {
    entries = parseJsonArray(text);
  } else {
    entries = text
      .split('\n')
      .map((line, lineNo) => ({ line: line.trim(), lineNo }))
      .filter(({ line }) => line !== '')
      .map(({ line, lineNo }, index) => parseLine(index, lineNo + 1, line));
  }
  if (entries.length === 0) throw new BatchFileError('the batch has no items');
  return entries;
}

type Line = { lineNo: number; text: string } | { lineNo: number; tooLong: true };

const NEWLINE = 0x0a;
const isBlank = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a;

/**
 * Splits a byte stream into lines without holding more than `maxLineBytes` of any one line: past it,
 * the rest of the line is skipped and the line comes out as `tooLong`, so one huge line costs no memory.
 * Blank lines are dropped. Pulling lines pulls chunks, so the reader never runs far ahead of its caller.
 */
export async function* splitLines(chunks: AsyncIterable<Buffer>, maxLineBytes: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  let lineNo = 1;
  const finish = (): Line | undefined => {
    const line: Line | undefined = tooLong
      ? { lineNo, tooLong: true }
      : (() => {
          const text = Buffer.concat(parts, length).toString('utf8').trim();
          return text === '' ? undefined : { lineNo, text };
        })();
    parts = [];
    length = 0;
    tooLong = false;
    lineNo += 1;
    return line;
  };
  for await (const chunk of chunks) {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(NEWLINE, start);
      const stop = end === -1 ? chunk.length : end;
      if (!tooLong) {
        if (length + (stop - start) > maxLineBytes) {
          tooLong = true;
          parts = [];
          length = 0;
        } else if (stop > start) {
          parts.push(chunk.subarray(start, stop));
          length += stop - start;
        }
      }
      if (end === -1) break;
      const line = finish();
      if (line) yield line;
      start = end + 1;
    }
  }
  const last = finish();
  if (last) yield last;
}

/**
 * Streams a batch file: JSON Lines are read line by line as the caller pulls entries (a file of any
 * length, in constant memory); a line over `MAX_REQUEST_TEXT_BYTES` is that item's error. A JSON array is
 * parsed whole, so it is refused over `MAX_JSON_ARRAY_BATCH_BYTES` (checked against `knownSize` before
 * reading, when the size is known). Entries before `from` are skipped without being parsed.
 * @default opts.from 0; opts.maxLineBytes MAX_REQUEST_TEXT_BYTES (64 KiB); opts.maxArrayBytes
 * MAX_JSON_ARRAY_BATCH_BYTES (16 MiB)
 * @throws {BatchFileError} a file that is empty, or a broken or oversized JSON array.
 */
export async function* readBatch(
  source: AsyncIterable<Buffer>,
  opts: { knownSize?: number; from?: number; maxLineBytes?: number; maxArrayBytes?: number } = {},
): AsyncGenerator<BatchEntry> {
  const maxLineBytes = opts.maxLineBytes ?? MAX_REQUEST_TEXT_BYTES;
  const maxArrayBytes = opts.maxArrayBytes ?? MAX_JSON_ARRAY_BATCH_BYTES;
  const from = opts.from ?? 0;
  const iterator = source[Symbol.asyncIterator]();
  // Look at the first non-blank byte to tell a JSON array from JSON Lines.
  const head: Buffer[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = next.value;
    head.push(chunk);
    let i = 0;
    // A UTF-8 byte order mark is not content.
    if (head.length === 1 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
    while (i < chunk.length && isBlank(chunk[i]!)) i++;
    if (i < chunk.length) first = chunk[i];
  }
  if (first === undefined) throw new BatchFileError('the batch has no items');
  const rest: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => {
      let replay = 0;
      return {
        next: () => (replay < head.length ? Promise.resolve({ done: false, value: head[replay++]! }) : iterator.next()),
        return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true, value }),
      };
    },
  };

  if (first === 0x5b /* [ */) {
    const tooBig = () =>
      new BatchFileError(
        `a JSON array batch is read whole, so it may be at most ${formatBytes(maxArrayBytes)}` +
          (opts.knownSize !== undefined ? ` (this one is ${formatBytes(opts.knownSize)})` : '') +
          '; write one {"workflowId", "request"} object per line (JSON Lines) instead: those are streamed, of any length',
      );
    if (opts.knownSize !== undefined && opts.knownSize > maxArrayBytes) {
      await iterator.return?.();
      throw tooBig();
    }
    const parts: Buffer[] = [];
    let length = 0;
    for await (const chunk of rest) {
      length += chunk.length;
      if (length > maxArrayBytes) throw tooBig();
      parts.push(chunk);
    }
    const entries = parseJsonArray(
      Buffer.concat(parts, length)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    );
    if (entries.length === 0) throw new BatchFileError('the batch has no items');
    yield* entries.slice(from);
    return;
  }

  let index = 0;
  for await (const line of splitLines(rest, maxLineBytes)) {
    const current = index++;
    if (current < from) continue;
    if ('tooLong' in line) {
      yield {
        index: current,
        error:
          `line ${line.lineNo} is longer than ${formatBytes(maxLineBytes)}, the most one request may take ` +
          '(each line holds one request)',
      };
    } else {
      yield parseLine(current, line.lineNo, current === 0 ? line.text.replace(/^\uFEFF/, '') : line.text);
    }
  }
}
