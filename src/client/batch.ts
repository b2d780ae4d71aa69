import { z } from 'zod';
import type { BatchOutreach } from './outreach-client';

/** One item of a batch file: the outreach request, and the caller's business workflow ID if any. */
const batchItemSchema = z.object({
  workflowId: z.string().optional(),
  request: z.record(z.string(), z.unknown(), { error: 'must be an object (the outreach request)' }),
});

/** An item of the file (its position, from 0), or why it could not be read. */
export type BatchEntry = { index: number; item: BatchOutreach } | { index: number; error: string };

export class BatchFileError extends Error {}

/**
 * Reads a batch: a JSON array of `{ "workflowId"?, "request" }`, or the same objects as JSON Lines
 * (blank lines skipped). An unreadable item becomes an error entry and the others still go; error
 * texts name the position and the field, never a value (the values are patient data).
 */
export function parseBatch(text: string): BatchEntry[] {
  let raw: { index: number; value?: unknown; error?: string }[];
  if (text.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BatchFileError('the batch starts with "[" but is not a valid JSON array');
    }
    raw = (parsed as unknown[]).map((value, index) => ({ index, value }));
  } else {
    raw = text
      .split('\n')
      .map((line, lineNo) => ({ line: line.trim(), lineNo }))
      .filter(({ line }) => line !== '')
      .map(({ line, lineNo }, index) => {
        try {
          return { index, value: JSON.parse(line) as unknown };
        } catch {
          return { index, error: `line ${lineNo + 1} is not valid JSON` };
        }
      });
  }
  if (raw.length === 0) throw new BatchFileError('the batch has no items');
  return raw.map(({ index, value, error }): BatchEntry => {
    if (error) return { index, error };
    const item = batchItemSchema.safeParse(value);
    if (item.success) return { index, item: { request: item.data.request as never, workflowId: item.data.workflowId } };
    const problems = item.error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`);
    return { index, error: `item ${index}: ${problems.join('; ')}` };
  });
}
