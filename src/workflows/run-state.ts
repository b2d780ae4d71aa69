import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { HERO_FLOW_STATE } from '../shared/search-attributes';
import type { OutreachState, OutreachStatus } from './schemas';

/** Each state in words, for the run's current details and its timers' summaries in the Temporal UI. */
export const STATE_IN_WORDS: Record<OutreachState, string> = {
  tracing: 'tracing the patient on NHS PDS through Hero',
  awaiting_verification: 'waiting for the patient to verify their identity',
  creating_booking_link: 'creating the booking link',
  sending_message: 'sending the message with the booking link',
  completed: 'completed: the booking link was sent',
  verification_expired: 'ended: the patient did not verify their identity in time',
  patient_not_found: 'ended: NHS PDS has no such patient',
  needs_review: 'needs review: an operator decides whether the message went out (hero-flow review resolve)',
  cancelled: 'cancelled',
  failed: 'failed',
  awaiting_booking: 'waiting for the patient to book through the link',
  sending_reminder: 'sending a reminder with the booking link',
  booked: 'the patient booked; following the appointment until the booking window closes',
  not_booked: 'ended: the booking window closed without a booking',
  checking_with_hero: 'asking Hero whether a message whose answer was lost went out',
  needs_review_expired: 'ended: nobody resolved the review before its deadline',
  abandoned: 'ended: an operator abandoned the run in review',
};

/**
 * The run's current details (Markdown, on the UI's User Metadata tab). They reach the UI encrypted (the
 * answer of the `__temporal_workflow_metadata` query, encoded by the worker's codec, never in history),
 * but the UI 2.42 renders Markdown by loading `/render?content=<decoded text>` from the UI server, so
 * they leave the browser in plaintext, to Temporal Cloud's servers for a Cloud namespace: no patient
 * data here, hence no login URL (test/ui.test.ts checks). The verify link is in the wait's timer summary.
 * Hero's ids (link, appointment) are not patient data.
 */
function currentDetails(status: OutreachStatus): string {
  const lines = [`**State: ${status.state}** (${STATE_IN_WORDS[status.state]})`];
  if (status.state === 'awaiting_verification') {
    lines.push("Verify link: the wait's timer on the History tab, or the status query");
  }
  if (status.bookingLinkId !== undefined && status.bookingWindowEndsAt !== undefined) {
    lines.push(`Booking link ${status.bookingLinkId}; the booking window closes ${status.bookingWindowEndsAt}`);
  }
  if (status.appointment)
    lines.push(`Appointment: ${status.appointment.id ?? 'booked through the link (id not yet known)'}`);
  for (const m of status.messages ?? []) {
    lines.push(
      `${m.kind === 'message' ? 'Message' : 'Reminder'} ${m.messageId ?? '(marked sent)'}: ${m.deliveryStatus ?? 'status not read yet'}`,
    );
  }
  if (status.review) {
    lines.push(`Review of ${status.review.step}, until ${status.review.deadline}: ${status.review.reason}`);
  }
  return lines.join('\n\n');
}

/** The run's state, as the status query, the search attribute and the UI's current details show it. */
export class RunState {
  status: OutreachStatus = { state: 'tracing', attempts: 0, updatedAt: new Date().toISOString() };
  private indexed: OutreachState | undefined;

  set(state: OutreachState, loginUrl?: string): void {
    if (state !== this.indexed) {
      this.indexed = state;
      upsertSearchAttributes([{ key: HERO_FLOW_STATE, value: state }]);
    }
    this.status = { ...this.status, state, loginUrl, updatedAt: new Date().toISOString() };
    if (loginUrl === undefined) delete this.status.loginUrl;
    if (state !== 'needs_review') delete this.status.review;
    this.refresh();
  }

  /** Changes fields other than the state (messages, appointment, review). */
  update(fields: Partial<Omit<OutreachStatus, 'state' | 'loginUrl'>>): void {
    this.status = { ...this.status, ...fields, updatedAt: new Date().toISOString() };
    this.refresh();
  }

  countTrace(): void {
    this.status = { ...this.status, attempts: this.status.attempts + 1 };
  }

  private refresh(): void {
    // Not a command (no history event), so it may change on every call.
    setCurrentDetails(currentDetails(this.status));
  }
}
