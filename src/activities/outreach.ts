import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { HeroClient } from '../hero/client';
import { type CampaignGateKeeper, campaignPausedFailure, gateClosedWhy } from './campaign-gate';
import { HeroClients } from './hero-clients';
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
import { campaignOfWorkflowId, type PracticeGroupScoped } from '../shared/campaign-ids';
import { FailureType } from '../shared/failure-types';
import { recordHeroCall } from '../observability/hero-calls';
import { toApplicationFailure, uncertainAfterCutOff } from './failures';

/** How often an in-flight Hero call heartbeats, so a cancellation reaches it promptly. */
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * What a non-idempotent call records in its heartbeat. Only an attempt that recorded, with its
 * failure, that Hero did not process its request leaves the next attempt free to send again.
 */
type SendProgress = { phase: 'sending'; attempt: number } | { phase: 'not_processed'; attempt: number };

/** Called by {@link heroCall} around the HTTP request: the campaign gate and the credentials count. */
interface CallHooks {
  /** Before the request, after the retry check: throws to make no call (the campaign is paused). */
  before?: () => Promise<void>;
  /** What to throw for the call's error instead of {@link toApplicationFailure}'s failure, if anything. */
  onError?: (err: unknown, mapped: unknown) => Promise<unknown>;
  onSuccess?: () => void;
}

/**
 * Runs one Hero call as the body of an activity: heartbeats while it is in flight (cancellation
 * is delivered through heartbeats) and aborts the HTTP request when the activity is cancelled.
 *
 * For calls that are not idempotent, a retry is allowed only after the previous attempt said,
 * with its failure, that Hero did not process its request (429, refused connection, 4xx, or no call
 * made because the campaign was paused). Any other way an attempt can end before the next one starts
 * (worker killed, heartbeat or start-to-close timeout) may have left a request at Hero, so the retry
 * ends as HeroOutcomeUncertain rather than perhaps sending a second SMS.
 */
async function heroCall<T>(
  endpoint: HeroEndpoint,
  idempotent: boolean,
  call: (signal: AbortSignal) => Promise<T>,
  hooks: CallHooks = {},
): Promise<T> {
  const ctx = Context.current();
  const { attempt } = ctx.info;
  if (!idempotent && attempt > 1) {
    const previous = ctx.info.heartbeatDetails as SendProgress | undefined;
    if (previous?.phase !== 'not_processed' || previous.attempt !== attempt - 1) throw uncertainAfterCutOff(endpoint);
  }
  if (hooks.before) {
    try {
      await hooks.before();
    } catch (err) {
      // Nothing was sent: recorded first, so the retry of a message is allowed to send.
      if (!idempotent) ctx.heartbeat({ phase: 'not_processed', attempt } satisfies SendProgress);
      throw err;
    }
  }
  const progress: SendProgress | undefined = idempotent ? undefined : { phase: 'sending', attempt };
  ctx.heartbeat(progress);
  const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
  try {
    const answer = await call(ctx.cancellationSignal);
    recordHeroCall(endpoint);
    hooks.onSuccess?.();
    return answer;
  } catch (err) {
    recordHeroCall(endpoint, err);
    // Recorded with the failure, so the retry of e.g. a 429 knows this request was not processed.
    if (!idempotent && err instanceof HeroApiError && err.processed === 'no') {
      ctx.heartbeat({ phase: 'not_processed', attempt } satisfies SendProgress);
    }
    const mapped = toApplicationFailure(err, { idempotent });
    throw hooks.onError ? await hooks.onError(err, mapped) : mapped;
  } finally {
    clearInterval(beat);
  }
}

/** Hero calls a paused or cancelled campaign stops: new work for a patient (not reads of what was done). */
const GATED: ReadonlySet<HeroEndpoint> = new Set(['register_pds', 'create_booking_link', 'send_message']);

/** What createActivities is given besides the Hero client(s). */
export interface ActivityCollaborators {
  /**
   * The campaign gate (src/activities/campaign-gate.ts, createCampaignGate): campaign runs make no trace,
   * link or message while their campaign is paused, and refused credentials pause the campaign.
   * @default undefined: no gate, campaign runs call Hero like any run
   */
  campaignGate?: CampaignGateKeeper;
}

/**
 * Activities built around the Hero clients of the served practice groups; the worker registers the object
 * this returns. Each picks its client by the input's `practiceGroupId` (the default group's when absent) and
 * passes the input on without it (HeroClient parses strictly).
 *
 * Each activity throws, for a failed Hero call, the `ApplicationFailure` that {@link toApplicationFailure}
 * makes of it (its `type` a `FailureType`, retried or not by the workflow's retry policy), and
 * `HeroOutcomeUncertain` when it is a retry of `sendMessage` whose previous attempt was cut off after
 * sending. Cancellation aborts the HTTP request and passes through. Also:
 * - HeroConfiguration (non-retryable) for a practice group this worker does not serve;
 * - for a run of a campaign (its workflow ID says so) with a gate: HeroCampaignPaused (retryable, with a
 *   `nextRetryDelay`) when the campaign is paused or cancelled, before any call, and for a 401/403.
 * A 401/403's message names the practice group and where its key came from.
 *
 * @param hero one HeroClient (one practice group: the original form) or the HeroClients of several.
 * @param collaborators @default {}: no campaign gate
 */
export function createActivities(hero: HeroClient | HeroClients, collaborators: ActivityCollaborators = {}) {
  const clients = HeroClients.of(hero);
  const gate = collaborators.campaignGate;

  /** Strips practiceGroupId, picks the group's client, and wraps the call with the campaign's gate. */
  function scoped<I extends PracticeGroupScoped, T>(
    endpoint: HeroEndpoint,
    idempotent: boolean,
    input: I,
    call: (client: HeroClient, rest: Omit<I, 'practiceGroupId'>, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { practiceGroupId, ...rest } = input;
    const client = clients.for(practiceGroupId);
    const group = client.practiceGroupId;
    const info = Context.current().info;
    const campaignId = gate && info.workflowExecution && campaignOfWorkflowId(info.workflowExecution.workflowId);
    const credentials = (err: unknown, mapped: unknown): unknown => {
      if (!(err instanceof HeroApiError) || (err.status !== 401 && err.status !== 403)) return mapped;
      if (!(mapped instanceof ApplicationFailure)) return mapped;
      const source = clients.keySource(group);
      // Rebuilt with the group in its message: which practice's key to look at.
      return ApplicationFailure.create({
        type: mapped.type ?? undefined,
        message: `${mapped.message} (practice group ${group}${source ? `, key from ${source}` : ''})`,
        nonRetryable: mapped.nonRetryable ?? undefined,
        details: [{ endpoint: err.endpoint, status: err.status ?? null, practiceGroupId: group }],
      });
    };
    if (!gate || !campaignId) {
      return heroCall(endpoint, idempotent, (signal) => call(client, rest, signal), {
        onError: async (err, mapped) => credentials(err, mapped),
      });
    }
    return heroCall(endpoint, idempotent, (signal) => call(client, rest, signal), {
      before: GATED.has(endpoint)
        ? async () => {
            let why: string | undefined;
            let attempt = info.attempt;
            try {
              why = gateClosedWhy(await gate.read(campaignId));
            } catch (err) {
              why = `could not be asked whether it is paused (${err instanceof Error ? err.name : 'error'})`;
              // Not known to be paused (its worker restarting, say): asked again soon, not after a growing wait.
              attempt = 1;
            }
            if (why) throw campaignPausedFailure(campaignId, why, attempt);
          }
        : undefined,
      onSuccess: () => gate.succeeded(campaignId),
      onError: async (err, mapped) => {
        const named = credentials(err, mapped);
        if (named === mapped || !(err instanceof HeroApiError)) return mapped;
        try {
          await gate.credentialsRefused(campaignId, group, err.status!);
        } catch (signalErr) {
          // No campaign workflow to pause: a run of no campaign after all, failed as any run's.
          if (signalErr instanceof WorkflowNotFoundError) return named;
        }
        // Not a failure of the run: the campaign pauses (here, or at the third refusal in a row) and resumes.
        return campaignPausedFailure(
          campaignId,
          `cannot call Hero: it refused the credentials of practice group ${group} (HTTP ${err.status})`,
          info.attempt,
        );
      },
    });
  }

  /** The booking link's state: checkBookingLink's call, and a reminder's read just before its send. */
  const readLink = (input: { bookingLinkId: string } & PracticeGroupScoped): Promise<BookingLinkState> =>
    scoped('get_booking_link', true, input, (hero, req, signal) => hero.getBookingLink(req.bookingLinkId, { signal }));

  return {
    /** Traces the patient on PDS through Hero: a patient id, or a login URL for identity verification. */
    async tracePatient(input: TraceRequest & PracticeGroupScoped): Promise<TraceResult> {
      // register_pds finds or creates the patient: safe to repeat (docs/hero-api.md §6.6).
      return scoped('register_pds', true, input, (hero, req, signal) => hero.registerPds(req, { signal }));
    },

    /**
     * Retried even when Hero may have made the link: a link that was made but never sent reaches no patient
     * (docs/workflow.md, reviews), so a second one costs nothing and needs no operator.
     */
    async createBookingLink(input: CreateBookingLinkRequest & PracticeGroupScoped): Promise<BookingLink> {
      return scoped('create_booking_link', true, input, (hero, req, signal) => hero.createBookingLink(req, { signal }));
    },

    /**
     * Sends a message. With `unlessLinkUsedMoreThan` (a reminder: the link's uses the run knows were
     * cancelled), reads the booking link (`shortLinkId`) first, in the same attempt, and sends nothing when it
     * was used more often than that: the run's own read before the reminder may be long past by the time of
     * the send (its worker restarted, or cut off from Temporal, in between), and a patient who booked
     * meanwhile is not reminded. A failed read records that nothing was sent, so a retry may send.
     * @throws {ApplicationFailure} HeroBookingLinkUsed (non-retryable, details `[{ numberOfUses }]`) when the
     *   link was used more often: nothing sent
     */
    async sendMessage(
      input: SendMessageRequest & PracticeGroupScoped & { unlessLinkUsedMoreThan?: number },
    ): Promise<SentMessage> {
      const { unlessLinkUsedMoreThan, ...send } = input;
      if (unlessLinkUsedMoreThan !== undefined && send.shortLinkId !== undefined) {
        const { practiceGroupId, shortLinkId } = send;
        let uses: number;
        try {
          uses = (await readLink({ practiceGroupId, bookingLinkId: shortLinkId })).numberOfUses;
        } catch (err) {
          const { attempt } = Context.current().info;
          Context.current().heartbeat({ phase: 'not_processed', attempt } satisfies SendProgress);
          throw err;
        }
        if (uses > unlessLinkUsedMoreThan) {
          throw ApplicationFailure.create({
            type: FailureType.LinkUsed,
            nonRetryable: true,
            message: `not sent: the booking link was used ${uses} time(s) by now (the patient booked)`,
            details: [{ numberOfUses: uses }],
          });
        }
      }
      return scoped('send_message', false, send, (hero, req, signal) => hero.sendMessage(req, { signal }));
    },

    /** How often the booking link was used: the fallback when no webhook says the patient booked. */
    async checkBookingLink(input: { bookingLinkId: string } & PracticeGroupScoped): Promise<BookingLinkState> {
      return readLink(input);
    },

    /** A message's delivery status (docs/hero-api.md §3.2). */
    async checkMessageStatus(input: { messageId: string } & PracticeGroupScoped): Promise<MessageState> {
      return scoped('get_message', true, input, (hero, req, signal) => hero.getMessage(req.messageId, { signal }));
    },

    /** The appointment an event names: the link it was booked through (docs/hero-api.md §2.6). */
    async getAppointment(input: { appointmentId: string } & PracticeGroupScoped): Promise<Appointment> {
      return scoped('get_appointment', true, input, (hero, req, signal) =>
        hero.getAppointment(req.appointmentId, { signal }),
      );
    },

    /**
     * How many of the patient's sent messages carry this booking link, when Hero can tell: how a run
     * reconciles an uncertain send before asking an operator (the endpoint is INFERRED).
     */
    async findSentMessages(
      input: { patientId: string; bookingLinkId: string } & PracticeGroupScoped,
    ): Promise<SentWithLink> {
      return scoped('list_sent_messages', true, input, (hero, req, signal) =>
        hero.sentMessagesWithLink(req.patientId, req.bookingLinkId, { signal }),
      );
    },
  };
}

export type OutreachActivities = ReturnType<typeof createActivities>;
