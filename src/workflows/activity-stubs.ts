import type { Duration } from '@temporalio/common';
import { type ActivityOptions, ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { BookingEventActivities, OutreachActivities } from '../activities';
import { FailureType, NON_RETRYABLE } from '../shared/failure-types';

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

/** Reads (link use, delivery status, sent messages, appointments): safe to repeat, and none is vital. */
export const { checkBookingLink, checkMessageStatus, findSentMessages, getAppointment } =
  proxyActivities<OutreachActivities>(
    heroCall({ initialInterval: '2 seconds', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE }),
  );

/** A visibility query on the Temporal server: cheap, and safe to repeat. */
export const { findOutreachRunByBookingLink } = proxyActivities<BookingEventActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});
