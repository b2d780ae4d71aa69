import {
  ApplicationFailure,
  condition,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { campaignOfWorkflowId } from '../shared/campaign-ids';
import {
  HERO_BOOKED_AT,
  HERO_DELIVERY_STATUS,
  HERO_FLOW_STATE,
  HERO_REMINDERS_SENT,
  HERO_REVIEW,
} from '../shared/search-attributes';
import {
  bookingEventSignal,
  confirmVerificationUpdate,
  isUnencryptedMarker,
  resolveReviewUpdate,
  statusQuery,
  unencryptedPayloadMessage,
  verificationCompletedSignal,
} from './definitions';
import { refusesPlaintext, refusesUnknownKeys } from './input';
import { takes } from './patches';
import type { PendingDecision } from './review';
import {
  type AppointmentSummary,
  type BookingEvent,
  bookingEventSchema,
  type OutreachState,
  type OutreachStatus,
  type ReviewResolved,
  reviewResolutionSchema,
  type SentMessageStatus,
  type VerificationAccepted,
  verificationCompletedSchema,
  type VerificationFinding,
} from './schemas';

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
  awaiting_send_window: 'waiting for the sending hours to open before sending',
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
  if (status.sendWindowOpensAt !== undefined) lines.push(`Sending hours open ${status.sendWindowOpensAt}`);
  return lines.join('\n\n');
}

type TraceAnswer = Required<Pick<VerificationAccepted, 'retraced' | 'found'>>;

/**
 * The traces a run sends, for confirmVerification updates that wait for what the next one finds.
 * An update waits for a trace sent after it was accepted; a trace already in flight settles it only
 * when the run traces no more after it (patient found, not found, failed), since otherwise the run
 * re-traces at once for the confirmation.
 */
class Traces {
  private sent = 0;
  private waiting: { after: number; resolve: (answer: TraceAnswer) => void }[] = [];

  sending(): void {
    this.sent++;
  }

  /** A trace answered: call it after the run's state has been set from the answer. */
  answered(found: VerificationFinding): void {
    this.settle(found, (w) => this.sent > w.after || found !== 'verification_required');
  }

  /** The run traces no more (it expired, or is cancelled or failed): every waiting update is answered. */
  ended(found: VerificationFinding): void {
    this.settle(found, () => true);
  }

  next(): Promise<TraceAnswer> {
    return new Promise((resolve) => this.waiting.push({ after: this.sent, resolve }));
  }

  private settle(found: VerificationFinding, settles: (w: { after: number }) => boolean): void {
    this.waiting = this.waiting.filter((w) => {
      if (!settles(w)) return true;
      w.resolve({ retraced: this.sent > w.after, found });
      return false;
    });
  }
}

/**
 * One run of patientOutreachWorkflow: its state, and the query, signals and updates that read or change
 * it (as in Temporal's safe-message-handlers sample). The state changes only through this class's
 * methods; the status query, the HeroFlowState search attribute and the UI's current details show it.
 * Constructed before the workflow's first await, so a signal or update that arrives early is not lost.
 */
export class OutreachRun {
  #status: OutreachStatus = { state: 'tracing', attempts: 0, updatedAt: new Date().toISOString() };
  #indexed: OutreachState | undefined;
  #verificationSignalled = false;
  readonly traces = new Traces();
  /** Appointment events for this run's link, in the order they arrived, until the booking wait takes them. */
  #bookingEvents: BookingEvent[] = [];
  /** Whether a review waits for a decision, and the decision resolveReview handed over. */
  #reviewOpen = false;
  #decision: PendingDecision | undefined;
  /**
   * Campaign runs only: what their search attributes last said (for a campaign's report). Other runs set
   * none, so histories from before campaigns replay unchanged.
   */
  readonly #report:
    Partial<Record<'bookedAt' | 'reminders' | 'delivery' | 'review', string | number | null>> | undefined =
    campaignOfWorkflowId(workflowInfo().workflowId) === undefined ? undefined : {};

  constructor() {
    setHandler(statusQuery, () => this.#status);
    setHandler(verificationCompletedSignal, (payload) => this.#onVerificationCompleted(payload));
    setHandler(confirmVerificationUpdate, () => this.#confirmVerification(), {
      validator: (payload) => this.#validateConfirmVerification(payload),
    });
    setHandler(bookingEventSignal, (payload) => this.#onBookingEvent(payload));
    setHandler(resolveReviewUpdate, (resolution) => this.#resolveReview(resolution), {
      validator: (payload) => this.#validateResolveReview(payload),
    });
  }

  get status(): Readonly<OutreachStatus> {
    return this.#status;
  }

  get messages(): readonly SentMessageStatus[] {
    return this.#status.messages ?? [];
  }

  set(state: OutreachState, loginUrl?: string): void {
    if (state !== this.#indexed) {
      this.#indexed = state;
      upsertSearchAttributes([{ key: HERO_FLOW_STATE, value: state }]);
    }
    this.#status = { ...this.#status, state, loginUrl, updatedAt: new Date().toISOString() };
    if (loginUrl === undefined) delete this.#status.loginUrl;
    if (state !== 'needs_review') delete this.#status.review;
    if (state !== 'awaiting_send_window') delete this.#status.sendWindowOpensAt;
    this.#refresh();
  }

  /** In `awaiting_send_window` until `opensAt` (epoch ms), when the sending hours open. */
  awaitingSendWindow(opensAt: number): void {
    const at = new Date(opensAt).toISOString();
    if (this.#status.state === 'awaiting_send_window' && this.#status.sendWindowOpensAt === at) return;
    this.set('awaiting_send_window');
    this.#update({ sendWindowOpensAt: at });
  }

  countTrace(): void {
    this.#status = { ...this.#status, attempts: this.#status.attempts + 1 };
    this.traces.sending();
  }

  /** Whether a verification signal or update came since the last call. */
  takeVerificationSignal(): boolean {
    const was = this.#verificationSignalled;
    this.#verificationSignalled = false;
    return was;
  }

  /** Waits for a verification signal or update, or `ms`. */
  async waitForVerification(ms: number, summary: string): Promise<void> {
    await condition(() => this.#verificationSignalled, ms, { summary });
  }

  linkCreated(bookingLinkId: string): void {
    this.#update({ bookingLinkId });
  }

  bookingWindowOpened(endsAt: number, bookingLinkId: string): void {
    this.#update({ bookingWindowEndsAt: new Date(endsAt).toISOString(), bookingLinkId });
  }

  /** The appointment the patient booked, or none (cancelled): in `booked`, else `awaiting_booking`. */
  booked(appointment: AppointmentSummary | undefined): void {
    // When the patient booked: the confirmation's time (a valid one), else when the run learnt of it.
    const confirmed = appointment?.confirmedAt ? Date.parse(appointment.confirmedAt) : NaN;
    const bookedAt = Number.isFinite(confirmed)
      ? new Date(confirmed).toISOString()
      : (this.#reportedBookedAt() ?? new Date().toISOString());
    this.#reportValue('bookedAt', appointment ? bookedAt : null);
    if (appointment) this.#update({ appointment });
    else {
      const { appointment: _dropped, ...rest } = this.#status;
      this.#status = rest;
    }
    this.set(appointment ? 'booked' : 'awaiting_booking');
  }

  /** A message the run sent (or an operator marked sent); returns its index in `messages`. */
  messageSent(kind: SentMessageStatus['kind'], messageId: string | undefined): number {
    const messages = [...this.messages];
    messages.push({
      kind,
      ...(messageId !== undefined && { messageId }),
      sentAt: new Date().toISOString(),
      deliveryStatus: null,
      deliveryFinal: false,
      deliveryFailed: false,
    });
    this.#update({ messages });
    if (kind === 'reminder') this.#reportValue('reminders', messages.filter((m) => m.kind === 'reminder').length);
    return messages.length - 1;
  }

  /** What Hero last said of the delivery of the message at `index`. */
  deliveryRead(
    index: number,
    fields: Pick<SentMessageStatus, 'deliveryStatus' | 'deliveryFinal' | 'deliveryFailed'>,
  ): void {
    const messages = [...this.messages];
    const current = messages[index];
    if (!current) return;
    messages[index] = { ...current, ...fields };
    this.#update({ messages });
    if (current.kind === 'message' && fields.deliveryStatus !== null)
      this.#reportValue('delivery', fields.deliveryStatus);
  }

  /** In `needs_review` until an operator decides or the deadline passes. */
  reviewOpened(review: NonNullable<OutreachStatus['review']>): void {
    this.set('needs_review');
    this.#update({ review });
    this.#reportValue('review', 'open');
  }

  /** How the last review ended: the operator's action, or `expired`. */
  reviewEnded(how: ReviewResolved['action'] | 'expired'): void {
    this.#reportValue('review', how);
  }

  get bookingEventsPending(): boolean {
    return this.#bookingEvents.length > 0;
  }

  takeBookingEvents(): BookingEvent[] {
    const taken = this.#bookingEvents;
    this.#bookingEvents = [];
    return taken;
  }

  /** Waits in the open review for resolveReview's decision, at most `ms`; undefined when none came. */
  async awaitDecision(ms: number, summary: string): Promise<PendingDecision | undefined> {
    this.#reviewOpen = true;
    try {
      await condition(() => this.#decision !== undefined, ms, { summary });
    } finally {
      this.#reviewOpen = false;
    }
    const decided = this.#decision;
    this.#decision = undefined;
    return decided;
  }

  /** Changes fields other than the state. */
  #update(fields: Partial<Omit<OutreachStatus, 'state' | 'loginUrl'>>): void {
    this.#status = { ...this.#status, ...fields, updatedAt: new Date().toISOString() };
    this.#refresh();
  }

  #reportedBookedAt(): string | undefined {
    const v = this.#report?.bookedAt;
    return typeof v === 'string' ? v : undefined;
  }

  /**
   * Sets a campaign run's report search attribute when its value changed (each upsert is an event); null
   * removes it. Values are Hero's statuses, counts, times and review actions: no patient data.
   */
  #reportValue(field: 'bookedAt' | 'reminders' | 'delivery' | 'review', value: string | number | null): void {
    if (!this.#report || this.#report[field] === value) return;
    if (this.#report[field] === undefined && value === null) return;
    this.#report[field] = value;
    switch (field) {
      case 'bookedAt':
        upsertSearchAttributes([{ key: HERO_BOOKED_AT, value: value === null ? null : new Date(value) }]);
        break;
      case 'reminders':
        upsertSearchAttributes([{ key: HERO_REMINDERS_SENT, value: value as number }]);
        break;
      case 'delivery':
        upsertSearchAttributes([{ key: HERO_DELIVERY_STATUS, value: value as string }]);
        break;
      case 'review':
        upsertSearchAttributes([{ key: HERO_REVIEW, value: value as string }]);
        break;
    }
  }

  #refresh(): void {
    // Not a command (no history event), so it may change on every call.
    setCurrentDetails(currentDetails(this.#status));
  }

  #onVerificationCompleted(received: unknown): void {
    let payload: unknown = received;
    if (isUnencryptedMarker(received)) {
      if (refusesPlaintext()) {
        // No content, not even the payload's shape: it is patient data sent in plaintext.
        log.warn(
          'Ignored a verificationCompleted signal whose payload was not encrypted: this worker has encryption keys ' +
            'and accepts signals only through the codec (see docs/codec-wire-format.md)',
        );
        return;
      }
      payload = received.value;
    }
    const parsed = verificationCompletedSchema.safeParse(payload);
    if (!parsed.success && refusesUnknownKeys(parsed.error)) {
      // The problems name fields (at most), never values.
      log.warn('Ignored a malformed verificationCompleted signal', { problems: verificationProblems(parsed.error) });
      return;
    }
    this.#verificationSignalled = true;
  }

  async #confirmVerification(): Promise<VerificationAccepted> {
    this.#verificationSignalled = true;
    if (!takes('awaitRetrace')) return { accepted: true, state: this.#status.state };
    const answer = await this.traces.next();
    return { accepted: true, state: this.#status.state, ...answer };
  }

  #validateConfirmVerification(payload: unknown): void {
    // Rejected updates never reach history and validators do not run on replay: no patch needed.
    if (isUnencryptedMarker(payload)) {
      throw ApplicationFailure.nonRetryable(
        unencryptedPayloadMessage('confirmVerification'),
        FailureType.UnencryptedPayload,
      );
    }
    const parsed = verificationCompletedSchema.safeParse(payload);
    if (!parsed.success) {
      throw new Error(
        `malformed verification payload (expected nothing or { "source": string }): ` +
          verificationProblems(parsed.error).join('; '),
      );
    }
    if (this.#status.state !== 'tracing' && this.#status.state !== 'awaiting_verification') {
      throw new Error(`this run is ${this.#status.state}; it is no longer waiting for identity verification`);
    }
  }

  #onBookingEvent(received: unknown): void {
    const parsed = bookingEventSchema.safeParse(isUnencryptedMarker(received) ? undefined : received);
    if (!parsed.success) {
      log.warn('Ignored a malformed bookingEvent signal', { problems: describeProblems(parsed.error, '(payload)') });
      return;
    }
    this.#bookingEvents.push(parsed.data);
  }

  #resolveReview(resolution: unknown): Promise<ReviewResolved> {
    return new Promise((resolve) => {
      const parsed = reviewResolutionSchema.parse(resolution);
      this.#decision = {
        resolution: parsed,
        applied: (state) => resolve({ accepted: true, action: parsed.action, state }),
      };
    });
  }

  #validateResolveReview(payload: unknown): void {
    if (isUnencryptedMarker(payload)) {
      throw ApplicationFailure.nonRetryable(unencryptedPayloadMessage('resolveReview'), FailureType.UnencryptedPayload);
    }
    const parsed = reviewResolutionSchema.safeParse(payload);
    if (!parsed.success) {
      throw new Error(
        'malformed review resolution (expected { "action": "resend" | "mark_sent" | "abandon", "note"?: string }): ' +
          describeProblems(parsed.error, '(payload)', reviewResolutionSchema).join('; '),
      );
    }
    if (this.#status.state !== 'needs_review' || !this.#reviewOpen) {
      throw new Error(`this run is ${this.#status.state}, not waiting for a review decision`);
    }
    if (this.#decision) throw new Error('this review already has a decision, being applied');
  }
}

function verificationProblems(error: z.ZodError): string[] {
  return describeProblems(error, '(payload)', verificationCompletedSchema);
}
