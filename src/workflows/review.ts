import { ActivityFailure, ApplicationFailure, isCancellation, sleep } from '@temporalio/workflow';
import type { BookingLink } from '../hero/schemas';
import { FailureType } from '../shared/failure-types';
import { nextOpening, type SendWindow } from '../shared/send-window';
import type { HeroActivities } from './activity-stubs';
import { followDelivery } from './delivery';
import { isFailureOfType } from './failures';
import { recordReview } from './metrics';
import { takes } from './patches';
import { type OutreachRun, STATE_IN_WORDS } from './run-state';
import {
  BOOKING_LINK_PLACEHOLDER,
  DEFAULT_REVIEW_DEADLINE_MS,
  DURATION_BOUNDS,
  type OutreachInput,
  type OutreachResult,
  type OutreachState,
  type ReviewResolution,
  type ReviewStep,
} from './schemas';

/**
 * How long after an uncertain send the run waits before asking Hero what it holds: a request that
 * timed out may still be processed by Hero after our client gave up. Four times the activity's
 * start-to-close timeout (30 s), which bounds the worker's HTTP timeout.
 */
export const RECONCILE_AFTER_MS = 120_000;

/** How often a run re-sends by itself when Hero says it did not act, before asking an operator. */
const MAX_AUTOMATIC_RESENDS = 3;

/** The operator's answer, handed from the resolveReview update to the run. */
export interface PendingDecision {
  resolution: ReviewResolution;
  /** Answers the update with the state the run moved to. */
  applied(state: OutreachState): void;
}

export interface SendContext {
  run: OutreachRun;
  /** The run's Hero activities (its practice group, calls made again through a campaign's pause). */
  hero: HeroActivities;
  input: OutreachInput;
  patientId: string;
  bookingLink: BookingLink;
  /** Background reads of delivery status, awaited before the run returns. */
  deliveries: Promise<void>[];
  /** The last operator decision that let a message count as sent or go again. */
  resolution?: ReviewResolution;
}

export type SendOutcome =
  | { sent: true; index: number }
  | { sent: false; result: OutreachResult }
  /**
   * A reminder not sent: the patient booked, or the window closed, while it was in doubt; or its link had
   * been used more often than `linkUsesKnown` by the time of the send (`linkUses`, Hero's count then).
   */
  | { sent: 'skipped'; linkUses?: number };

/**
 * Sends the first message or a reminder with the booking link. An uncertain send is reconciled with
 * Hero's list of the patient's sent messages (INFERRED, src/hero/inferred.ts): a message that carries
 * this link beyond those the run knows of means it went out; a list that shows none means Hero did not
 * act, and the run sends again; a list that cannot tell puts the run in review.
 */
export async function sendWithReconcile(
  ctx: SendContext,
  kind: 'message' | 'reminder',
  template: string,
  /** Asked before a send is repeated (by itself or on an operator's resend): false skips it. */
  stillWanted?: () => Promise<boolean>,
  /** For a reminder: the link's uses that are no booking (cancelled ones); a send finding more sends nothing. */
  linkUsesKnown?: () => number,
): Promise<SendOutcome> {
  const { run, input, patientId, bookingLink } = ctx;
  const step: ReviewStep = kind === 'message' ? 'send_message' : 'send_reminder';
  const sending: OutreachState = kind === 'message' ? 'sending_message' : 'sending_reminder';
  let automaticResends = 0;
  let resolution: ReviewResolution;
  for (;;) {
    // Outside the sending hours, a send (first, again, or resent) waits for them; a reminder then goes
    // only if it is still wanted.
    if ((await awaitSendWindow(run, input.sendWindow)) && stillWanted && !(await stillWanted())) {
      return { sent: 'skipped' };
    }
    run.set(sending);
    let reason: string;
    try {
      const sent = await ctx.hero.sendMessage({
        patientId,
        messageType: input.message.type,
        text: template.split(BOOKING_LINK_PLACEHOLDER).join(bookingLink.url),
        shortLinkId: bookingLink.id,
        // The activity reads the link again just before a reminder: the run's own read may be long past.
        ...(linkUsesKnown && { unlessLinkUsedMoreThan: linkUsesKnown() }),
      });
      const follow = kind === 'reminder' || takes('reconcile');
      return { sent: true, index: recordSent(ctx, kind, sent.messageId, follow) };
    } catch (err) {
      if (linkUsesKnown && isFailureOfType(err, FailureType.LinkUsed))
        return { sent: 'skipped', linkUses: linkUsesOf(err) };
      if (!isFailureOfType(err, FailureType.OutcomeUncertain)) throw err;
      reason = (err as ActivityFailure).cause?.message ?? 'Hero may have acted on the request';
      if (kind === 'message' && !takes('reconcile')) {
        run.set('needs_review');
        return { sent: false, result: { outcome: 'needs_review', step, patientId, bookingLink, reason } };
      }
    }

    run.set('checking_with_hero');
    const known = await askHero(ctx);
    if (known.sent) return { sent: true, index: recordSent(ctx, kind, known.messageId, true) };
    if (known.notSent && automaticResends < MAX_AUTOMATIC_RESENDS) {
      automaticResends++;
      if (stillWanted && !(await stillWanted())) return { sent: 'skipped' };
      continue;
    }
    if (known.notSent)
      reason += `; Hero holds no such message, but ${MAX_AUTOMATIC_RESENDS} sends again were uncertain too`;
    else reason += `; Hero's list of sent messages cannot tell (${known.why})`;

    const decided = await review(ctx, step, reason);
    if (!decided) {
      run.set('needs_review_expired');
      return {
        sent: false,
        result: { outcome: 'needs_review_expired', step, patientId, bookingLink, messages: [...run.messages], reason },
      };
    }
    resolution = decided.resolution;
    switch (resolution.action) {
      case 'abandon':
        run.set('abandoned');
        decided.applied('abandoned');
        return {
          sent: false,
          result: {
            outcome: 'abandoned',
            step,
            patientId,
            bookingLink,
            messages: [...run.messages],
            review: resolution,
          },
        };
      case 'mark_sent': {
        ctx.resolution = resolution;
        const index = recordSent(ctx, kind, undefined, false);
        // The state the run goes on in, so the operator's answer says it.
        const next: OutreachState = kind === 'reminder' || input.awaitBooking ? 'awaiting_booking' : 'completed';
        run.set(next);
        decided.applied(next);
        return { sent: true, index };
      }
      case 'resend':
        ctx.resolution = resolution;
        if (stillWanted && !(await stillWanted())) {
          if (run.status.state === 'needs_review') run.set('awaiting_booking');
          decided.applied(run.status.state);
          return { sent: 'skipped' };
        }
        run.set(sending);
        decided.applied(sending);
        automaticResends = 0;
        continue;
    }
  }
}

/** What Hero's list tells about the send in doubt. */
async function askHero(
  ctx: SendContext,
): Promise<{ sent: true; messageId: string } | { sent: false; notSent: boolean; why: string }> {
  await sleep(ctx.input.review?.reconcileAfter ?? RECONCILE_AFTER_MS);
  const knownSent = ctx.run.messages.length;
  try {
    const found = await ctx.hero.findSentMessages({ patientId: ctx.patientId, bookingLinkId: ctx.bookingLink.id });
    if (!found.known) return { sent: false, notSent: false, why: found.why };
    if (found.count > knownSent) return { sent: true, messageId: found.messageIds[found.messageIds.length - 1]! };
    return { sent: false, notSent: true, why: 'no such message' };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { sent: false, notSent: false, why: 'the list could not be read' };
  }
}

/** Waits in `needs_review` for an operator's decision, or its deadline (then undefined). */
async function review(ctx: SendContext, step: ReviewStep, reason: string): Promise<PendingDecision | undefined> {
  const { run, input } = ctx;
  const openedAt = Date.now();
  let waitMs = input.review?.deadline ?? DEFAULT_REVIEW_DEADLINE_MS;
  // Only older runs get here with more (one of 1e16 ms could not even be written as a date).
  if (waitMs > DURATION_BOUNDS.reviewDeadline && takes('boundedDurations')) waitMs = DURATION_BOUNDS.reviewDeadline;
  const deadline = openedAt + waitMs;
  run.reviewOpened({
    step,
    reason,
    openedAt: new Date(openedAt).toISOString(),
    deadline: new Date(deadline).toISOString(),
  });
  recordReview('opened', step);
  const decided = await run.awaitDecision(
    deadline - openedAt,
    `State: needs_review (${step}) · resolve with: hero-flow review resolve <workflow ID> --action resend|mark_sent|abandon · deadline ${new Date(deadline).toISOString()}`,
  );
  recordReview(decided?.resolution.action ?? 'expired', step);
  run.reviewEnded(decided?.resolution.action ?? 'expired');
  return decided;
}

/**
 * Waits in `awaiting_send_window` until the sending hours `window` open, durably (a timer whose summary
 * says until when: no patient data). Returns whether it waited: without a window, or inside the hours, not.
 */
export async function awaitSendWindow(run: OutreachRun, window: SendWindow | undefined): Promise<boolean> {
  if (!window) return false;
  const now = Date.now();
  const opensAt = nextOpening(now, window);
  if (opensAt <= now) return false;
  run.awaitingSendWindow(opensAt);
  await sleep(opensAt - now, { summary: sendWindowSummary(opensAt, window) });
  return true;
}

/** The summary of a wait for the sending hours (also the booking wait's, for a reminder held for them). */
export function sendWindowSummary(opensAt: number, window: SendWindow): string {
  return (
    `State: awaiting_send_window (${STATE_IN_WORDS.awaiting_send_window}) · opens ${new Date(opensAt).toISOString()} ` +
    `· sending hours ${window.between} ${window.days} ${window.timezone}`
  );
}

/** Adds a sent message to the run's status and starts following its delivery. */
function recordSent(
  ctx: SendContext,
  kind: 'message' | 'reminder',
  messageId: string | undefined,
  follow: boolean,
): number {
  const index = ctx.run.messageSent(kind, messageId);
  if (follow && messageId !== undefined) ctx.deliveries.push(followDelivery(ctx.hero, ctx.run, index));
  return index;
}

/** Hero's count of the link's uses that a HeroBookingLinkUsed failure reports (src/activities/outreach.ts). */
function linkUsesOf(err: unknown): number {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  const uses = (details?.[0] as { numberOfUses?: unknown } | undefined)?.numberOfUses;
  return typeof uses === 'number' ? uses : Number.POSITIVE_INFINITY;
}
