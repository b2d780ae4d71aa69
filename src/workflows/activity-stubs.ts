import type { Duration } from '@temporalio/common';
import { type ActivityOptions, ActivityCancellationType, proxyActivities, sleep } from '@temporalio/workflow';
import type { BookingEventActivities, OutreachActivities } from '../activities';
import type { PracticeGroupScoped } from '../shared/campaign-ids';
import { FailureType, NON_RETRYABLE } from '../shared/failure-types';
import { PRIORITY } from '../shared/priority';
import { isFailureOfType } from './failures';

/** What every Hero call shares; the retry's start, attempts and non-retryable types differ by call. */
function heroCall(retry: {
  initialInterval: Duration;
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}): ActivityOptions {
  return {
    startToCloseTimeout: '30 seconds',
    // A cancelled run ends only once the activity has aborted its HTTP request.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    heartbeatTimeout: '20 seconds',
    retry: { backoffCoefficient: 2, maximumInterval: '1 minute', ...retry },
  };
}

/**
 * register_pds is an upsert (docs/hero-api.md §6.6), so retrying it is safe: retry transient failures
 * with backoff, 25 attempts at most. A 429 overrides the backoff with its Retry-After.
 *
 * No schedule-to-close timeout, here or below: it would count the time a call waits in the task
 * queue, and behind a practice list at Hero's rate limit that is hours (150,000 calls at 20/s).
 * The attempt count bounds the retrying instead.
 */
export const { tracePatient } = proxyActivities<OutreachActivities>(
  heroCall({ initialInterval: '1 second', maximumAttempts: 25, nonRetryableErrorTypes: NON_RETRYABLE }),
);

/**
 * Sending a message is not idempotent and Hero documents no idempotency key (docs/hero-api.md §6.6):
 * only failures Hero cannot have acted on (429, refused connections) are retried; the rest arrive as
 * HeroOutcomeUncertain, which the run reconciles with Hero before asking an operator. A booking link is
 * retried whatever failed (the activity says so): one made but never sent reaches nobody. Runs from
 * before that ended for review on an uncertain link, hence OutcomeUncertain here still.
 */
export const { createBookingLink, sendMessage } = proxyActivities<OutreachActivities>(
  heroCall({
    initialInterval: '2 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE, FailureType.OutcomeUncertain],
  }),
);

/**
 * Reads (link use, delivery status, sent messages, appointments): safe to repeat, and none is vital. They
 * keep the books, so they queue behind every run's outcome calls (which inherit the run's priority) and
 * take the capacity those leave; the practice group's fairness key is inherited.
 */
const readOptions = heroCall({
  initialInterval: '2 seconds',
  maximumAttempts: 6,
  nonRetryableErrorTypes: NON_RETRYABLE,
});
export const { checkBookingLink, checkMessageStatus, findSentMessages, getAppointment } =
  proxyActivities<OutreachActivities>({ ...readOptions, priority: { priorityKey: PRIORITY.bookkeeping } });

/**
 * The link read just before a reminder is sent decides whether the patient gets it: at the run's own
 * priority, like the reminder, so a booking made meanwhile is seen as late as possible before sending.
 */
const { checkBookingLink: checkBookingLinkBeforeReminder } = proxyActivities<OutreachActivities>(readOptions);

/** A visibility query on the Temporal server: cheap, and safe to repeat. */
export const { findOutreachRunByBookingLink } = proxyActivities<BookingEventActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * How long a run waits before calling an activity again after its retries ran out while its campaign was
 * paused: 1 minute, doubling to an hour. Each re-call adds about a dozen events whatever the activity's
 * attempts (retries add none), so a campaign paused for weeks keeps its runs' histories small, and one
 * resumed soon after the pause goes on within minutes.
 */
export const PAUSED_RECALL_AFTER_MS = { first: 60_000, max: 3600_000 } as const;

/**
 * Calls `call` until it ends otherwise than with a campaign pause. A campaign's worker refuses Hero work
 * while the campaign is paused (or its credentials were refused: the worker pauses it), failing the
 * activity retryably with CampaignPaused; an activity whose retries ran out that way failed for the pause,
 * not for the patient, so the run calls it again instead of failing. A cancelled campaign cancels its runs.
 */
async function untilNotPaused<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let recalls = 0; ; recalls++) {
    try {
      return await call();
    } catch (err) {
      if (!isFailureOfType(err, FailureType.CampaignPaused)) throw err;
      const ms = Math.min(PAUSED_RECALL_AFTER_MS.first * 2 ** recalls, PAUSED_RECALL_AFTER_MS.max);
      await sleep(ms, { summary: `Campaign paused: ${what} again at ${new Date(Date.now() + ms).toISOString()}` });
    }
  }
}

/**
 * The Hero activities of one run: each input carries the run's practice group when its request names one,
 * and the calls a campaign's pause can refuse (trace, booking link, message and reminder) are made again
 * until the campaign lets them through. The reads need not be: each already tolerates a failure.
 */
export function heroActivities(practiceGroupId: string | undefined) {
  const scope: PracticeGroupScoped = practiceGroupId === undefined ? {} : { practiceGroupId };
  return {
    tracePatient: (input: Parameters<typeof tracePatient>[0]) =>
      untilNotPaused('trace', () => tracePatient({ ...input, ...scope })),
    createBookingLink: (input: Parameters<typeof createBookingLink>[0]) =>
      untilNotPaused('create the booking link', () => createBookingLink({ ...input, ...scope })),
    sendMessage: (input: Parameters<typeof sendMessage>[0]) =>
      untilNotPaused('send', () => sendMessage({ ...input, ...scope })),
    checkBookingLink: (input: Parameters<typeof checkBookingLink>[0], opts: { beforeReminder?: boolean } = {}) =>
      (opts.beforeReminder ? checkBookingLinkBeforeReminder : checkBookingLink)({ ...input, ...scope }),
    checkMessageStatus: (input: Parameters<typeof checkMessageStatus>[0]) => checkMessageStatus({ ...input, ...scope }),
    findSentMessages: (input: Parameters<typeof findSentMessages>[0]) => findSentMessages({ ...input, ...scope }),
    getAppointment: (input: Parameters<typeof getAppointment>[0]) => getAppointment({ ...input, ...scope }),
  };
}
export type HeroActivities = ReturnType<typeof heroActivities>;
