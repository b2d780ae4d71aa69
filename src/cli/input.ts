import { createReadStream, statSync } from 'node:fs';
import { formatBytes, MAX_REQUEST_TEXT_BYTES } from '../client/batch';
import { type RunPriority, runPrioritySchema } from '../shared/priority';
import { UsageError } from './errors';

/** Input larger than hero-flow accepts: refused before it is read whole, and before connecting. */
export class InputTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputTooLargeError';
  }
}

export const readError = (file: string, err: unknown) =>
  new UsageError(`cannot read --input ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/**
 * A file's size when it is a regular file (a pipe or a device has none worth trusting).
 * @throws {UsageError} when the file cannot be looked at (missing, no permission).
 */
export function regularFileSize(file: string): number | undefined {
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
 * @throws {InputTooLargeError} past the cap. @throws {UsageError} when it cannot be read.
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

/**
 * The JSON in `--input FILE` ("-": stdin).
 * @throws {UsageError} unreadable or not JSON. @throws {InputTooLargeError} past MAX_REQUEST_TEXT_BYTES.
 */
export async function readInput(file: string): Promise<unknown> {
  const text = await readRequestText(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--input ${file} is not valid JSON`);
  }
}

/**
 * A whole number of at least `min` (`fallback` when the option is absent).
 * @throws {UsageError} naming the option.
 */
export function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  return n;
}

/**
 * `--priority N`: a run's task-queue priority, 1 (first) to 4; `fallback` when not given.
 * @throws {UsageError} anything else, saying what is allowed.
 */
export function priorityOption(value: string | undefined, fallback: RunPriority): RunPriority {
  if (value === undefined) return fallback;
  const parsed = runPrioritySchema.safeParse(value.trim() === '' ? Number.NaN : value);
  if (!parsed.success) throw new UsageError(`--priority ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
