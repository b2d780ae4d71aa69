import { Context } from '@temporalio/activity';
import type { HeroClient } from '../hero/client';
import type {
  BookingLink,
  CreateBookingLinkRequest,
  SendMessageRequest,
  SentMessage,
  TraceRequest,
  TraceResult,
} from '../hero/schemas';
import { toApplicationFailure } from './failures';

/** How often an in-flight Hero call heartbeats, so a cancellation reaches it promptly. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Runs one Hero call as the body of an activity: heartbeats while it is in flight (cancellation
 * is delivered through heartbeats) and aborts the HTTP request when the activity is cancelled.
 */
async function heroCall<T>(idempotent: boolean, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await call(ctx.cancellationSignal);
  } catch (err) {
    throw toApplicationFailure(err, { idempotent });
  } finally {
    clearInterval(beat);
  }
}

/** Activities built around a Hero client; the worker registers the object this returns. */
export function createActivities(hero: HeroClient) {
  return {
    /** Traces the patient on PDS through Hero: a patient id, or a login URL for identity verification. */
    async tracePatient(input: TraceRequest): Promise<TraceResult> {
      // register_pds finds or creates the patient: safe to repeat (REFERENCE §6.6).
      return heroCall(true, (signal) => hero.registerPds(input, { signal }));
    },

    async createBookingLink(input: CreateBookingLinkRequest): Promise<BookingLink> {
      return heroCall(false, (signal) => hero.createBookingLink(input, { signal }));
    },

    async sendMessage(input: SendMessageRequest): Promise<SentMessage> {
      return heroCall(false, (signal) => hero.sendMessage(input, { signal }));
    },
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
