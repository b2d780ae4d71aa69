import { z } from 'zod';
import type { Fault, FaultRates, RandomFaultKind, SandboxEndpoint } from './types';

export const sandboxEndpointSchema = z.enum([
  'register_pds',
  'create_booking_link',
  'get_booking_link',
  'send_message',
  'get_message',
  'get_appointment',
  'list_sent_messages',
  'create_webhook',
  'list_webhooks',
  'verify_page',
  'verify_submit',
  'booking_page',
  'booking_submit',
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
    case 'list_sent_messages':
      return { data: 'none', count: -1 };
    default:
      return { unexpected: true };
  }
}

export const MALFORMED_JSON_BODY = '{"patient_id": "1001", <html>Gateway says hello';

/** Endpoints that random faults apply to unless `FaultRates.endpoints` says otherwise. */
export const API_ENDPOINTS: readonly SandboxEndpoint[] = [
  'register_pds',
  'create_booking_link',
  'get_booking_link',
  'send_message',
  'get_message',
  'get_appointment',
  'list_sent_messages',
  'create_webhook',
  'list_webhooks',
];

export const RANDOM_FAULT_KINDS = [
  'server_error',
  'latency',
  'timeout',
  'reset_before',
  'reset_after',
  'malformed_json',
  'schema_violation',
  'rate_limit_storm',
] as const satisfies readonly RandomFaultKind[];

const rate = z.number().min(0).max(1);

export const faultRatesSchema = z
  .object({
    seed: z.number().int().optional(),
    rates: z.strictObject(
      Object.fromEntries(RANDOM_FAULT_KINDS.map((k) => [k, rate.optional()])) as Record<
        RandomFaultKind,
        z.ZodOptional<typeof rate>
      >,
    ),
    latencyMs: z.number().int().min(0).max(120_000).optional(),
    timeoutMs: z.number().int().min(0).max(120_000).optional(),
    endpoints: z.array(sandboxEndpointSchema).min(1).optional(),
  })
  .strict()
  .refine((r) => Object.values(r.rates).reduce((sum: number, x) => sum + (x ?? 0), 0) <= 1 + 1e-9, {
    message: 'the rates must sum to at most 1',
    path: ['rates'],
  });

/** mulberry32: a small, fast, seeded PRNG with uniform output in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SERVER_ERROR_STATUSES = [500, 502, 503] as const;

/** Draws random faults by rate; deterministic for a seed and a sequence of requests. */
export class RandomFaults {
  readonly #rates: [RandomFaultKind, number][];
  readonly #endpoints: ReadonlySet<SandboxEndpoint>;
  readonly #latencyMs: number;
  readonly #timeoutMs: number;
  readonly #random: () => number;

  constructor(config: FaultRates) {
    const parsed = faultRatesSchema.parse(config);
    this.#rates = RANDOM_FAULT_KINDS.flatMap((k) => {
      const r = parsed.rates[k] ?? 0;
      return r > 0 ? [[k, r] as [RandomFaultKind, number]] : [];
    });
    this.#endpoints = new Set(parsed.endpoints ?? API_ENDPOINTS);
    this.#latencyMs = parsed.latencyMs ?? 200;
    this.#timeoutMs = parsed.timeoutMs ?? 15_000;
    this.#random = mulberry32(parsed.seed ?? 1);
  }

  /** At most one fault for one request: its kind, and the scripted fault that plays it. */
  draw(endpoint: SandboxEndpoint): { kind: RandomFaultKind; fault: Fault } | undefined {
    if (!this.#endpoints.has(endpoint)) return undefined;
    const u = this.#random();
    let acc = 0;
    for (const [kind, r] of this.#rates) {
      acc += r;
      if (u < acc) return { kind, fault: this.#faultFor(kind, u) };
    }
    return undefined;
  }

  #faultFor(kind: RandomFaultKind, u: number): Fault {
    switch (kind) {
      case 'server_error': {
        // Reuses the draw (not a second one) so each request consumes exactly one number.
        const status = SERVER_ERROR_STATUSES[Math.floor(u * 1e6) % SERVER_ERROR_STATUSES.length] ?? 500;
        return { kind: 'status', status };
      }
      case 'latency':
        return { kind: 'delay', ms: this.#latencyMs };
      case 'timeout':
        return { kind: 'delay', ms: this.#timeoutMs };
      case 'rate_limit_storm':
        return { kind: 'rate_limit', retryAfter: '1' };
      default:
        return { kind };
    }
  }
}
