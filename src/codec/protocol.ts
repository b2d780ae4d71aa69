import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { describeProblems } from '../shared/problems';

/**
 * Temporal's remote codec protocol body: `{ "payloads": [ { "metadata": { k: base64 }, "data": base64 } ] }`,
 * the proto3 JSON form of Payload (standard or URL-safe base64).
 */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

export const codecRequestSchema = z.strictObject({
  // proto3 JSON leaves an empty list out: a call without arguments (a query, a signal) arrives as `{}`.
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).optional(),
        data: base64.optional(),
      }),
    )
    .default([]),
});

export type CodecRequest = z.infer<typeof codecRequestSchema>;
export type JsonPayload = CodecRequest['payloads'][number];

const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
const b64 = (u8: Uint8Array): string => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');

export function fromJsonPayload(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
    data: bytes(p.data ?? ''),
  };
}

export function toJsonPayload(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
    data: b64(p.data ?? new Uint8Array(0)),
  };
}

/** Problems as "payloads.0.data: must be base64": paths and messages only, never the values. */
export function describeIssues(error: z.ZodError): string {
  return describeProblems(error, '(body)', codecRequestSchema).join('; ');
}
