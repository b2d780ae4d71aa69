import { Context } from '@temporalio/activity';
import type { HeroClient } from '../hero/client';
import type { SentWithLink } from '../hero/client';
import type {
  Appointment,
  BookingLink,
  BookingLinkState,
  MessageState,
  CreateBookingLinkRequest,
  SendMessageRequest,
  SentMessage,
  TraceRequest,
  TraceResult,
} from '../hero/schemas';
import { HeroApiError, type HeroEndpoint } from '../hero/errors';
import type { PracticeGroupScoped } from '../shared/campaign-ids';
import { recordHeroCall } from '../observability/hero-calls';
import { toApplicationFailure, uncertainAfterCutOff } from './failures';

/** How often an in-flight Hero call heartbeats, so a cancellation reaches it promptly. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * What a non-idempotent call records in its heartbeat. Only an attempt that recorded, with its
 * failure, that Hero did not process its request leaves the next attempt free to send again.
 */
type SendProgress = { phase: 'sending'; attempt: number } | { phase: 'not_processed'; attempt: number };

/**
 * Runs one Hero call as the body of an activity: heartbeats while it is in flight (cancellation
 * is delivered through heartbeats) and aborts the HTTP request when the activity is cancelled.
 *
 * For calls that are not idempotent, a retry is allowed only after the previous attempt said,
 * with its failure, that Hero did not process its request (429, refused connection, 4xx). Any
 * other way an attempt can end before the next one starts (worker killed, heartbeat or
 * start-to-close timeout) may have left a request at Hero, so the retry ends as
 * HeroOutcomeUncertain rather than perhaps sending a second SMS.
 */
async function heroCall<T>(
  endpoint: HeroEndpoint,
  idempotent: boolean,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  const { attempt } = ctx.info;
  if (!idempotent && attempt > 1) {
    const previous = ctx.info.heartbeatDetails as SendProgress | undefined;
    if (previous?.phase !== 'not_processed' || previous.attempt !== attempt - 1) throw uncertainAfterCutOff(endpoint);
  }
  const progress: SendProgress | undefined = idempotent ? undefined : { phase: 'sending', attempt };
  ctx.heartbeat(progress);
  const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
  try {
    const answer = await call(ctx.cancellationSignal);
    recordHeroCall(endpoint);
    return answer;
  } catch (err) {
    recordHeroCall(endpoint, err);
    // Recorded with the failure, so the retry of e.g. a 429 knows this request was not processed.
    if (!idempotent && err instanceof HeroApiError && err.processed === 'no') {
      ctx.heartbeat({ phase: 'not_processed', attempt } satisfies SendProgress);
    }
    throw toApplicationFailure(err, { idempotent });
  } finally {
    clearInterval(beat);
  }
}

/** The request without the practice group, which HeroClient's strict schemas refuse (it picks no client). */
function unscoped<T extends object>(input: T & PracticeGroupScoped): T {
  const { practiceGroupId: _group, ...request } = input;
  return request as T;
}

/**
 * Activities built around a Hero client; the worker registers the object this returns.
 *
 * Each activity throws, for a failed Hero call, the `ApplicationFailure` that {@link toApplicationFailure}
 * makes of it (its `type` a `FailureType`, retried or not by the workflow's retry policy), and
 * `HeroOutcomeUncertain` when it is a retry of `sendMessage` whose previous attempt was cut off after
 * sending. Cancellation aborts the HTTP request and passes through.
 */
export function createActivities(hero: HeroClient) {
  return {
    /** Traces the patient on PDS through Hero: a patient id, or a login URL for identity verification. */
    async tracePatient(input: TraceRequest & PracticeGroupScoped): Promise<TraceResult> {
      // register_pds finds or creates the patient: safe to repeat (docs/hero-api.md §6.6).
      return heroCall('register_pds', true, (signal) => hero.registerPds(unscoped(input), { signal }));
    },

    /**
     * Retried even when Hero may have made the link: a link that was made but never sent reaches no patient
     * (docs/workflow.md, reviews), so a second one costs nothing and needs no operator.
     */
    async createBookingLink(input: CreateBookingLinkRequest & PracticeGroupScoped): Promise<BookingLink> {
      return heroCall('create_booking_link', true, (signal) => hero.createBookingLink(unscoped(input), { signal }));
    },

    async sendMessage(input: SendMessageRequest & PracticeGroupScoped): Promise<SentMessage> {
      return heroCall('send_message', false, (signal) => hero.sendMessage(unscoped(input), { signal }));
    },

    /** How often the booking link was used: the fallback when no webhook says the patient booked. */
    async checkBookingLink(input: { bookingLinkId: string } & PracticeGroupScoped): Promise<BookingLinkState> {
      return heroCall('get_booking_link', true, (signal) => hero.getBookingLink(input.bookingLinkId, { signal }));
    },

    /** A message's delivery status (docs/hero-api.md §3.2). */
    async checkMessageStatus(input: { messageId: string } & PracticeGroupScoped): Promise<MessageState> {
      return heroCall('get_message', true, (signal) => hero.getMessage(input.messageId, { signal }));
    },

    /** The appointment an event names: the link it was booked through (docs/hero-api.md §2.6). */
    async getAppointment(input: { appointmentId: string } & PracticeGroupScoped): Promise<Appointment> {
      return heroCall('get_appointment', true, (signal) => hero.getAppointment(input.appointmentId, { signal }));
    },

    /**
     * How many of the patient's sent messages carry this booking link, when Hero can tell: how a run
     * reconciles an uncertain send before asking an operator (the endpoint is INFERRED).
     */
    async findSentMessages(
      input: { patientId: string; bookingLinkId: string } & PracticeGroupScoped,
    ): Promise<SentWithLink> {
      return heroCall('list_sent_messages', true, (signal) =>
        hero.sentMessagesWithLink(input.patientId, input.bookingLinkId, { signal }),
      );
    },
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
