import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { CreateWebhookBody, WebhookEventType } from './api-schemas';
import { mulberry32 } from './faults';
import { recordBySeq, wakeableSleep } from './shared';
import type {
  AppointmentEventType,
  WebhookDeliveryOptions,
  WebhookDeliveryRecord,
  WebhookFaultKind,
  WebhookFaultRates,
  WebhookSigningOptions,
  WebhookSummary,
} from './types';

/** Webhook subscription ids are numeric strings counting up from here (deterministic). */
export const FIRST_WEBHOOK_ID = 3001;

export const WEBHOOK_FAULT_KINDS = [
  'lost',
  'duplicated',
  'reordered',
  'forged',
] as const satisfies readonly WebhookFaultKind[];
export const webhookFaultKindSchema = z.enum(WEBHOOK_FAULT_KINDS);

const rate = z.number().min(0).max(1);
export const webhookFaultRatesSchema = z
  .strictObject({
    seed: z.number().int().optional(),
    rates: z.strictObject(
      Object.fromEntries(WEBHOOK_FAULT_KINDS.map((k) => [k, rate.optional()])) as Record<
        WebhookFaultKind,
        z.ZodOptional<typeof rate>
      >,
    ),
  })
  .refine((r) => Object.values(r.rates).reduce((sum: number, x) => sum + (x ?? 0), 0) <= 1 + 1e-9, {
    message: 'the rates must sum to at most 1',
    path: ['rates'],
  });

export const webhookSigningSchema = z.strictObject({
  encoding: z.enum(['hex', 'base64']).optional(),
  timestamp: z.enum(['unix-seconds', 'unix-ms', 'iso']).optional(),
});

export const webhookDeliveryOptionsSchema = z.strictObject({
  attempts: z.number().int().min(1).max(20).optional(),
  backoffMs: z.number().int().min(0).max(60_000).optional(),
  timeoutMs: z.number().int().min(1).max(120_000).optional(),
  maxHoldMs: z.number().int().min(0).max(120_000).optional(),
});

export interface StoredWebhook {
  id: string;
  request: CreateWebhookBody;
  createdAt: number;
  /** The practice group whose key subscribed it: Hero lists a key's own subscriptions only. */
  practiceGroupId?: string;
}

export class WebhookStore {
  #webhooks: StoredWebhook[] = [];
  #next = FIRST_WEBHOOK_ID;

  create(request: CreateWebhookBody, now: number, practiceGroupId?: string): StoredWebhook {
    const webhook: StoredWebhook = { id: String(this.#next++), request, createdAt: now, practiceGroupId };
    this.#webhooks.push(webhook);
    return webhook;
  }

  /** Oldest first; every subscription when `eventType` is undefined; only `practiceGroupId`'s when given. */
  list(eventType?: WebhookEventType | AppointmentEventType, practiceGroupId?: string): StoredWebhook[] {
    return this.#webhooks.filter(
      (w) =>
        (eventType === undefined || w.request.event_type === eventType) &&
        (practiceGroupId === undefined || w.practiceGroupId === practiceGroupId),
    );
  }

  summaries(): WebhookSummary[] {
    return this.#webhooks.map((w) => ({
      id: w.id,
      eventType: w.request.event_type,
      url: w.request.url,
      hasSigningKey: w.request.signing_key !== undefined,
      headers: { ...w.request.headers },
      ...(w.request.description !== undefined && { description: w.request.description }),
      createdAt: w.createdAt,
      ...(w.practiceGroupId !== undefined && { practiceGroupId: w.practiceGroupId }),
    }));
  }

  reset(): void {
    this.#webhooks = [];
    this.#next = FIRST_WEBHOOK_ID;
  }
}

/** docs/hero-api.md §5: the create response's fields; listing returns the same per subscription. */
export function webhookJson(w: StoredWebhook) {
  const at = new Date(w.createdAt).toISOString();
  return {
    id: w.id,
    event_type: w.request.event_type,
    url: w.request.url,
    signing_key: w.request.signing_key ?? null,
    headers: w.request.headers ?? {},
    created_at: at,
    updated_at: at,
  };
}

/** `X-Herohealth-Timestamp` in the configured form (docs/hero-api.md §5: NOT DOCUMENTED). */
export function formatTimestamp(ms: number, form: NonNullable<WebhookSigningOptions['timestamp']>): string {
  switch (form) {
    case 'unix-seconds':
      return String(Math.floor(ms / 1000));
    case 'unix-ms':
      return String(Math.floor(ms));
    case 'iso':
      return new Date(ms).toISOString();
  }
}

/** docs/hero-api.md §5: HMAC-SHA256 with the signing key over `"{timestamp}.{raw body}"`. */
export function signDelivery(
  key: string,
  timestamp: string,
  rawBody: string,
  encoding: NonNullable<WebhookSigningOptions['encoding']>,
): string {
  return createHmac('sha256', key).update(`${timestamp}.${rawBody}`).digest(encoding);
}

/** Where one event goes: a subscription as it was when the event happened. */
export interface DeliveryTarget {
  webhookId: string;
  url: string;
  signingKey: string | undefined;
  headers: Record<string, string>;
}

export function deliveryTarget(w: StoredWebhook): DeliveryTarget {
  return { webhookId: w.id, url: w.request.url, signingKey: w.request.signing_key, headers: { ...w.request.headers } };
}

type Base = Pick<WebhookDeliveryRecord, 'eventSeq' | 'event' | 'appointmentId' | 'webhookId' | 'url'>;

/**
 * Sends appointment events to subscriptions, off the caller's path: emit() returns at once and each delivery
 * (one event to one subscription) runs on its own, retried with a doubling backoff on a non-2xx or a
 * connection error. Hero documents no retry policy, ordering or de-duplication (docs/hero-api.md §5), so faults
 * can lose, duplicate, reorder or forge deliveries. reset() and close() abort what is in flight, unrecorded.
 */
export class WebhookDispatcher {
  readonly #now: () => number;
  readonly #practiceGroupId: string;
  readonly #onFault: (kind: WebhookFaultKind) => void;
  readonly #delivery: Required<WebhookDeliveryOptions>;
  #signing: Required<WebhookSigningOptions> = { encoding: 'hex', timestamp: 'unix-seconds' };
  #random: (() => WebhookFaultKind | undefined) | undefined;
  #scripted: WebhookFaultKind[] = [];
  #records: WebhookDeliveryRecord[] = [];
  #seq = 0;
  #eventSeq = 0;
  #pending = 0;
  #idle: (() => void)[] = [];
  /** Reordered deliveries waiting for a later event's delivery to finish. */
  readonly #held = new Set<{ eventSeq: number; release: () => void }>();
  /** Backoffs and holds, which reset() and close() cut short. */
  readonly #wakes = new Set<() => void>();
  #generation = 0;
  #abort = new AbortController();

  constructor(opts: {
    now: () => number;
    practiceGroupId: string;
    onFault: (kind: WebhookFaultKind) => void;
    delivery?: WebhookDeliveryOptions;
  }) {
    this.#now = opts.now;
    this.#practiceGroupId = opts.practiceGroupId;
    this.#onFault = opts.onFault;
    const d = webhookDeliveryOptionsSchema.parse(opts.delivery ?? {});
    this.#delivery = {
      attempts: d.attempts ?? 4,
      backoffMs: d.backoffMs ?? 200,
      timeoutMs: d.timeoutMs ?? 5_000,
      maxHoldMs: d.maxHoldMs ?? 1_000,
    };
  }

  setSigning(opts: WebhookSigningOptions | undefined): void {
    const s = webhookSigningSchema.parse(opts ?? {});
    this.#signing = { encoding: s.encoding ?? 'hex', timestamp: s.timestamp ?? 'unix-seconds' };
  }

  setFaultRates(rates: WebhookFaultRates | undefined): void {
    if (!rates) {
      this.#random = undefined;
      return;
    }
    const parsed = webhookFaultRatesSchema.parse(rates);
    const random = mulberry32(parsed.seed ?? 1);
    const kinds = WEBHOOK_FAULT_KINDS.flatMap((k) => {
      const r = parsed.rates[k] ?? 0;
      return r > 0 ? [[k, r] as const] : [];
    });
    this.#random = () => {
      const u = random();
      let acc = 0;
      for (const [kind, r] of kinds) {
        acc += r;
        if (u < acc) return kind;
      }
      return undefined;
    };
  }

  inject(kind: WebhookFaultKind, times = 1): void {
    const parsed = webhookFaultKindSchema.parse(kind);
    z.number().int().min(1).max(10_000).parse(times);
    for (let i = 0; i < times; i++) this.#scripted.push(parsed);
  }

  /** Starts one delivery per target; returns at once. */
  /** `practiceGroupId`: the group the event is about (its booking link's); default the sandbox's own. */
  emit(
    event: AppointmentEventType,
    appointmentId: string,
    targets: readonly DeliveryTarget[],
    practiceGroupId = this.#practiceGroupId,
  ): void {
    const eventSeq = ++this.#eventSeq;
    const generation = this.#generation;
    for (const target of targets) {
      const base: Base = { eventSeq, event, appointmentId, webhookId: target.webhookId, url: target.url };
      this.#pending += 1;
      this.#deliver(generation, base, target, practiceGroupId)
        .catch(() => undefined)
        .finally(() => {
          this.#pending -= 1;
          if (this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }

  records(): WebhookDeliveryRecord[] {
    return structuredClone(this.#records);
  }

  settle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops pending deliveries (unrecorded), records, scripted faults and counters. */
  reset(): void {
    this.#stop();
    this.#scripted = [];
    this.#records = [];
    this.#seq = 0;
    this.#eventSeq = 0;
  }

  close(): void {
    this.#stop();
  }

  #stop(): void {
    this.#generation += 1;
    this.#abort.abort();
    this.#abort = new AbortController();
    for (const wake of [...this.#wakes]) wake();
  }

  async #deliver(generation: number, base: Base, target: DeliveryTarget, practiceGroupId: string): Promise<void> {
    const fault = this.#scripted.shift() ?? this.#random?.();
    if (fault) this.#onFault(fault);
    // The exact bytes that are signed and sent: receivers must verify these, not a re-serialisation.
    const body = JSON.stringify({
      object: 'Appointment',
      id: base.appointmentId,
      practice_group_id: practiceGroupId,
      event: base.event,
    });
    const { attempts } = this.#delivery;
    switch (fault) {
      case 'lost':
        this.#record(generation, { ...base, seq: ++this.#seq, attempt: 0, status: 0, fault, at: this.#now() });
        return;
      case 'forged': {
        // An attacker's copy does not retry. A key no subscription uses, whether or not this one has a key.
        const wrongKey = `forged:${target.signingKey ?? ''}`;
        await this.#send(generation, base, body, { ...target, signingKey: wrongKey }, 1, fault);
        break;
      }
      case 'reordered':
        await this.#hold(base.eventSeq);
        break;
    }
    if (generation !== this.#generation) return;
    const deliveredAt = await this.#send(
      generation,
      base,
      body,
      target,
      attempts,
      fault === 'reordered' ? fault : undefined,
    );
    this.#releaseBefore(base.eventSeq);
    // The copy is the delivered request again, timestamp and signature included (a redelivery); its retries, if
    // it is refused, are signed afresh.
    if (fault === 'duplicated') await this.#send(generation, base, body, target, attempts, fault, deliveredAt);
  }

  /**
   * Up to `attempts` POSTs until one gets a 2xx, each signed afresh with its own timestamp (the first with
   * `signedAt`'s when given). Resolves with the timestamp (sandbox ms) of the 2xx attempt, if one got it.
   */
  async #send(
    generation: number,
    base: Base,
    body: string,
    target: DeliveryTarget,
    attempts: number,
    fault: WebhookFaultKind | undefined,
    signedAt?: number,
  ): Promise<number | undefined> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (generation !== this.#generation) return undefined;
      const seq = ++this.#seq;
      const at = this.#now();
      const stamp = attempt === 1 && signedAt !== undefined ? signedAt : at;
      const status = await this.#post(target, body, stamp);
      this.#record(generation, { ...base, seq, attempt, status, ...(fault && { fault }), at });
      if (status >= 200 && status < 300) return stamp;
      if (attempt < attempts) await this.#sleep(this.#delivery.backoffMs * 2 ** (attempt - 1));
    }
    return undefined;
  }

  /** The receiver's status, or 0 when the connection failed or the attempt timed out. */
  async #post(target: DeliveryTarget, body: string, at: number): Promise<number> {
    const timestamp = formatTimestamp(at, this.#signing.timestamp);
    const headers: Record<string, string> = {
      ...target.headers,
      'Content-Type': 'application/json',
      'X-Herohealth-Timestamp': timestamp,
    };
    if (target.signingKey !== undefined) {
      headers['X-Herohealth-Signature'] = signDelivery(target.signingKey, timestamp, body, this.#signing.encoding);
    }
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#delivery.timeoutMs)]),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  #record(generation: number, r: WebhookDeliveryRecord): void {
    if (generation !== this.#generation) return;
    recordBySeq(this.#records, r);
  }

  /** Waits until a later event's delivery has finished, or `maxHoldMs`. */
  #hold(eventSeq: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { eventSeq, release: () => wake() };
      const wake = () => {
        clearTimeout(timer);
        this.#held.delete(entry);
        this.#wakes.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.#delivery.maxHoldMs);
      this.#held.add(entry);
      this.#wakes.add(wake);
    });
  }

  #releaseBefore(eventSeq: number): void {
    for (const h of [...this.#held]) if (h.eventSeq < eventSeq) h.release();
  }

  #sleep(ms: number): Promise<void> {
    return wakeableSleep(ms, this.#wakes);
  }
}
