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
import { HeroApiError, type HeroEndpoint } from '../hero/errors';
import { toApplicationFailure, uncertainAfterCutOff } from './failures';

/** How often an in-flight Hero call heartbeats, so a cancellation reaches it promptly. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * What a non-idempotent call records in its heartbeat. If an attempt dies after recording
 * `sending` (worker killed, heartbeat timeout), Temporal starts another attempt that cannot know
 * whether Hero acted: it must not repeat the request.
 */
interface SendProgress {
  phase: 'sending' | 'not_processed';
}

/**
 * Runs one Hero call as the body of an activity: heartbeats while it is in flight (cancellation
 * is delivered through heartbeats) and aborts the HTTP request when the activity is cancelled.
 * For calls that are not idempotent, a retry after an attempt that was cut off mid-request ends
 * as HeroOutcomeUncertain instead of sending again.
 */
async function heroCall<T>(
  endpoint: HeroEndpoint,
  idempotent: boolean,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as SendProgress | undefined;
  if (!idempotent && ctx.info.attempt > 1 && previous?.phase === 'sending') {
    throw uncertainAfterCutOff(endpoint);
  }
  const progress: SendProgress | undefined = idempotent ? undefined : { phase: 'sending' };
  ctx.heartbeat(progress);
  const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
  try {
    return await call(ctx.cancellationSignal);
  } catch (err) {
    // Recorded with the failure, so the retry of e.g. a 429 knows this request was not processed.
    if (!idempotent && err instanceof HeroApiError && err.processed === 'no') ctx.heartbeat({ phase: 'not_processed' });
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
      return heroCall('register_pds', true, (signal) => hero.registerPds(input, { signal }));
    },

    async createBookingLink(input: CreateBookingLinkRequest): Promise<BookingLink> {
      return heroCall('create_booking_link', false, (signal) => hero.createBookingLink(input, { signal }));
    },

    async sendMessage(input: SendMessageRequest): Promise<SentMessage> {
      return heroCall('send_message', false, (signal) => hero.sendMessage(input, { signal }));
    },
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
