import { z } from 'zod';
import type { Fault, SandboxEndpoint } from './types';

export const sandboxEndpointSchema = z.enum([
  'register_pds',
  'create_booking_link',
  'get_booking_link',
  'send_message',
  'get_message',
  'verify_page',
  'verify_submit',
  'admin',
  'unknown',
]);

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), status: z.number().int().min(200).max(599), body: z.unknown().optional() }),
  z.object({ kind: z.literal('rate_limit'), retryAfter: z.string().optional() }),
  z.object({ kind: z.literal('malformed_json') }),
  z.object({ kind: z.literal('schema_violation') }),
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(120_000) }),
  z.object({ kind: z.literal('reset_before') }),
  z.object({ kind: z.literal('reset_after') }),
]);

export const timesSchema = z.number().int().min(1).max(10_000);

/** Per-endpoint FIFO of pending faults; each injected fault is used by exactly one request. */
export class FaultQueue {
  #queues = new Map<SandboxEndpoint, Fault[]>();

  inject(endpoint: SandboxEndpoint, fault: Fault, times = 1): void {
    sandboxEndpointSchema.parse(endpoint);
    const parsed = faultSchema.parse(fault) as Fault;
    timesSchema.parse(times);
    const queue = this.#queues.get(endpoint) ?? [];
    for (let i = 0; i < times; i++) queue.push(parsed);
    this.#queues.set(endpoint, queue);
  }

  take(endpoint: SandboxEndpoint): Fault | undefined {
    return this.#queues.get(endpoint)?.shift();
  }

  clear(): void {
    this.#queues.clear();
  }
}

/** A 200 body that parses as JSON but breaks the endpoint's documented shape. */
export function schemaViolationBody(endpoint: SandboxEndpoint): unknown {
  switch (endpoint) {
    case 'register_pds':
      return { patient_id: null };
    case 'create_booking_link':
      return { id: '5001' }; // no short_link
    case 'send_message':
      return { message_id: null };
    default:
      return { unexpected: true };
  }
}

export const MALFORMED_JSON_BODY = '{"patient_id": "1001", <html>Gateway says hello';
