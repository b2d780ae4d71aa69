import { ApplicationFailure, getExternalWorkflowHandle, isCancellation, sleep } from '@temporalio/workflow';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { findOutreachRunByBookingLink, getAppointment } from './activity-stubs';
import { bookingEventSignal } from './definitions';
import { isFailureOfType } from './failures';
import { type BookingEventInput, bookingEventInputSchema, type BookingEventResult } from './schemas';

/**
 * How long an event looks for the run that made its link. The run indexes its link before it sends it,
 * so a booking through the link finds it at once unless visibility lags; an event for a link no run of
 * ours made (another integration's) ends after this with no effect.
 */
export const FIND_RUN_FOR_MS = 5 * 60_000;

/**
 * One appointment webhook delivery, made durable by the receiver (src/webhooks) before it answered Hero.
 * Its workflow ID is the event name and appointment id, so a redelivered event is processed once. Reads
 * the appointment for its link (docs/hero-api.md §2.6), finds the outreach run that created that link by
 * its HeroBookingLinkId search attribute, and signals it.
 */
export async function bookingEventWorkflow(raw: BookingEventInput): Promise<BookingEventResult> {
  const parsed = bookingEventInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `Invalid booking event: ${describeProblems(parsed.error, '(input)', bookingEventInputSchema).join('; ')}`,
      FailureType.InvalidWorkflowInput,
    );
  }
  const { event, appointmentId, practiceGroupId } = parsed.data;
  let appointment;
  try {
    // With the key of the group the delivery named; events from before groups name none: the default group's.
    appointment = await getAppointment({ appointmentId, ...(practiceGroupId !== undefined && { practiceGroupId }) });
  } catch (err) {
    // Hero does not know the appointment (another practice group's, or deleted): nothing to do.
    if (isFailureOfType(err, FailureType.NotFound)) return { outcome: 'no_link', bookingLinkId: null };
    throw err;
  }
  const bookingLinkId = appointment.linkId;
  if (bookingLinkId === null) return { outcome: 'no_link', bookingLinkId: null };

  const deadline = Date.now() + FIND_RUN_FOR_MS;
  for (let wait = 1_000; ; wait = Math.min(wait * 2, 60_000)) {
    const run = await findOutreachRunByBookingLink({ bookingLinkId });
    if (run && !run.running) return { outcome: 'run_closed', bookingLinkId, workflowId: run.workflowId };
    if (run) {
      try {
        await getExternalWorkflowHandle(run.workflowId).signal(bookingEventSignal, {
          event,
          appointmentId,
          bookingLinkId,
          confirmedAt: appointment.bookingConfirmedAt,
          startTime: appointment.startTime,
        });
        return { outcome: 'signalled', bookingLinkId, workflowId: run.workflowId };
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The run ended between the lookup and the signal.
        return { outcome: 'run_closed', bookingLinkId, workflowId: run.workflowId };
      }
    }
    if (Date.now() + wait > deadline) return { outcome: 'unknown_link', bookingLinkId };
    await sleep(wait);
  }
}
