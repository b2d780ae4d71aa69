import { ActivityFailure, ApplicationFailure, condition, isCancellation, log, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import type { BookingLink, TraceResult } from '../hero/schemas';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { createBookingLink, tracePatient } from './activity-stubs';
import { awaitBooking, BookingEvents, indexBookingLink } from './booking-wait';
import {
  bookingEventSignal,
  confirmVerificationUpdate,
  isUnencryptedMarker,
  resolveReviewUpdate,
  statusQuery,
  unencryptedPayloadMessage,
  verificationCompletedSignal,
} from './definitions';
import { activityCauseType, isFailureOfType } from './failures';
import { recordFailure, recordOutcome, recordVerified } from './metrics';
import { takes } from './patches';
import { messagesOf, Reviews, type SendContext, sendWithReconcile } from './review';
import { RunState, STATE_IN_WORDS } from './run-state';
import {
  bookingEventSchema,
  type OutreachInput,
  type OutreachRequest,
  type OutreachResult,
  lenientOutreachInputSchema,
  outreachInputSchema,
  type ReviewResolved,
  reviewResolutionSchema,
  type VerificationAccepted,
  verificationCompletedSchema,
  type VerificationFinding,
} from './schemas';

/**
 * The summary of the timer a waiting run sleeps on. The UI shows it in the event history, on the run's
 * first tab (current details show only on its User Metadata tab, UI 2.42). It is a payload in history,
 * encrypted by the worker's codec, and the UI shows it as text decoded through the codec server without
 * sending it anywhere else, so it may carry the verify link. User metadata is not compared on replay, so
 * runs whose timers have none replay unchanged (test/histories).
 */
function waitSummary(loginUrl: string, ms: number): string {
  const recheck =
    ms >= 3600_000
      ? `${Math.round(ms / 360_000) / 10} h`
      : ms >= 60_000
        ? `${Math.round(ms / 60_000)} min`
        : `${Math.round(ms / 1000)} s`;
  return `State: awaiting_verification (${STATE_IN_WORDS.awaiting_verification}) · verify link: ${loginUrl} · re-check in ${recheck}`;
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
 * Traces a patient against NHS PDS through Hero, waits durably while the patient verifies their
 * identity, then creates a booking link and sends it to the patient. The parameter is typed for
 * callers; what arrives is still validated (other clients, other languages, older runs).
 */
export async function patientOutreachWorkflow(rawInput: OutreachRequest): Promise<OutreachResult> {
  const run = new RunState();
  const traces = new Traces();
  let verificationSignalled = false;

  // Registered before the first await, so a signal or update that arrives early is not lost.
  setHandler(statusQuery, () => run.status);
  setHandler(verificationCompletedSignal, (received) => {
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
      log.warn('Ignored a malformed verificationCompleted signal', { problems: payloadProblems(parsed.error) });
      return;
    }
    verificationSignalled = true;
  });
  setHandler(
    confirmVerificationUpdate,
    async (): Promise<VerificationAccepted> => {
      verificationSignalled = true;
      // Runs from before answered at once, and their history completes the update in the same task.
      if (!takes('awaitRetrace')) return { accepted: true, state: run.status.state };
      const answer = await traces.next();
      return { accepted: true, state: run.status.state, ...answer };
    },
    {
      validator: (payload) => {
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
              payloadProblems(parsed.error).join('; '),
          );
        }
        if (run.status.state !== 'tracing' && run.status.state !== 'awaiting_verification') {
          throw new Error(`this run is ${run.status.state}; it is no longer waiting for identity verification`);
        }
      },
    },
  );

  const bookingEvents = new BookingEvents();
  setHandler(bookingEventSignal, (received) => {
    const parsed = bookingEventSchema.safeParse(isUnencryptedMarker(received) ? undefined : received);
    if (!parsed.success) {
      log.warn('Ignored a malformed bookingEvent signal', { problems: describeProblems(parsed.error, '(payload)') });
      return;
    }
    bookingEvents.add(parsed.data);
  });
  const reviews = new Reviews();
  setHandler(
    resolveReviewUpdate,
    (resolution): Promise<ReviewResolved> =>
      new Promise((resolve) => {
        const action = reviewResolutionSchema.parse(resolution).action;
        reviews.pending = {
          resolution: reviewResolutionSchema.parse(resolution),
          applied: (state) => resolve({ accepted: true, action, state }),
        };
      }),
    {
      validator: (payload) => {
        if (isUnencryptedMarker(payload)) {
          throw ApplicationFailure.nonRetryable(
            unencryptedPayloadMessage('resolveReview'),
            FailureType.UnencryptedPayload,
          );
        }
        const parsed = reviewResolutionSchema.safeParse(payload);
        if (!parsed.success) {
          throw new Error(
            'malformed review resolution (expected { "action": "resend" | "mark_sent" | "abandon", "note"?: string }): ' +
              describeProblems(parsed.error, '(payload)', reviewResolutionSchema).join('; '),
          );
        }
        if (run.status.state !== 'needs_review' || !reviews.waiting) {
          throw new Error(`this run is ${run.status.state}, not waiting for a review decision`);
        }
        if (reviews.pending) throw new Error('this review already has a decision, being applied');
      },
    },
  );

  try {
    const input = parseInput(rawInput);
    run.set('tracing');
    const patient = await traceUntilVerified(input, run, traces, {
      consume: () => {
        const was = verificationSignalled;
        verificationSignalled = false;
        return was;
      },
      wait: (ms, summary) => condition(() => verificationSignalled, ms, { summary }),
    });
    if (patient.outcome !== 'patient') return recordOutcome(patient);
    return recordOutcome(await bookAndSend(input, patient.patientId, run, reviews, bookingEvents));
  } catch (err) {
    // Cancelled by the caller, while waiting or mid-activity (whose HTTP request is aborted): a clean outcome.
    if (isCancellation(err)) {
      run.set('cancelled');
      traces.ended('cancelled');
      return recordOutcome({ outcome: 'cancelled' });
    }
    run.set('failed');
    traces.ended('failed');
    throw recordFailure(err instanceof ActivityFailure ? explainFailure(err) : err);
  }
}

/** False only when replaying a run from before strict payloads, and the problems are unknown keys alone. */
function refusesUnknownKeys(error: z.ZodError): boolean {
  return !error.issues.every((i) => i.code === 'unrecognized_keys') || takes('strictPayloads');
}

/** A copy of `value` without the keys `error` reports as unknown: what the lenient parse once kept. */
function withoutUnknownKeys(value: unknown, error: z.ZodError): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target = copy as Record<PropertyKey, unknown> | undefined;
    for (const segment of issue.path) target = target?.[segment] as Record<PropertyKey, unknown> | undefined;
    for (const key of issue.keys) if (target) delete target[key];
  }
  return copy;
}

/** False only when replaying a run from before the refusal: it then goes on with the plaintext value. */
function refusesPlaintext(): boolean {
  return takes('refusePlaintext');
}

/**
 * Strict, as on the client's path: a run started by another client (another language's SDK, the
 * Temporal CLI) with an unknown or misspelt key fails at once with InvalidWorkflowInput, naming it;
 * one started without the payload codec fails with HeroUnencryptedPayload, before any Hero call.
 */
function parseInput(received: unknown): OutreachInput {
  let rawInput = received;
  if (isUnencryptedMarker(received)) {
    if (refusesPlaintext()) {
      throw ApplicationFailure.nonRetryable(unencryptedPayloadMessage('input'), FailureType.UnencryptedPayload);
    }
    rawInput = received.value;
  }
  const parsed = outreachInputSchema.safeParse(rawInput);
  if (parsed.success) return parsed.data;
  // Valid but for the duration bounds: refused, unless replaying a run started before them.
  const lenient = lenientOutreachInputSchema.safeParse(rawInput);
  if (lenient.success && !takes('boundedDurations')) return lenient.data;
  if (!lenient.success && !refusesUnknownKeys(lenient.error)) {
    const legacy = lenientOutreachInputSchema.safeParse(withoutUnknownKeys(rawInput, lenient.error));
    if (legacy.success) return legacy.data;
  }
  const problems = describeProblems(parsed.error, '(input)', outreachInputSchema);
  throw ApplicationFailure.nonRetryable(
    `Invalid outreach input: ${problems.join('; ')}`,
    FailureType.InvalidWorkflowInput,
  );
}

function payloadProblems(error: z.ZodError): string[] {
  return describeProblems(error, '(payload)', verificationCompletedSchema);
}

/**
 * Traces until Hero returns a patient id. While Hero asks for identity verification, waits for the
 * verification signal or the re-check interval (Hero has no webhook), until the timeout.
 */
async function traceUntilVerified(
  input: OutreachInput,
  run: RunState,
  traces: Traces,
  verification: { consume: () => boolean; wait: (ms: number, summary: string) => Promise<boolean> },
): Promise<{ outcome: 'patient'; patientId: string } | OutreachResult> {
  let deadline: number | undefined;
  for (;;) {
    run.countTrace();
    traces.sending();
    let result: TraceResult;
    try {
      result = await tracePatient({ nhsNumber: input.nhsNumber, dob: input.dob });
    } catch (err) {
      if (isFailureOfType(err, FailureType.PatientNotFound)) {
        run.set('patient_not_found');
        traces.answered('patient_not_found');
        return { outcome: 'patient_not_found' };
      }
      throw err;
    }
    if (result.kind === 'patient') {
      // Set here rather than in bookAndSend (the same command, in the same place) so that an update
      // answered by this trace reports the state the run is now in.
      run.set('creating_booking_link');
      traces.answered('patient');
      if (deadline !== undefined) recordVerified(deadline, input.verification.timeout);
      return { outcome: 'patient', patientId: result.patientId };
    }

    deadline ??= Date.now() + input.verification.timeout;
    if (Date.now() >= deadline) {
      run.set('verification_expired');
      traces.ended('verification_required');
      return { outcome: 'verification_expired', attempts: run.status.attempts };
    }
    run.set('awaiting_verification', result.loginUrl);
    traces.answered('verification_required');
    // A signal that came while tracing counts: re-trace at once.
    if (!verification.consume()) {
      const ms = Math.min(input.verification.recheckEvery, deadline - Date.now());
      await verification.wait(ms, waitSummary(result.loginUrl, ms));
      verification.consume();
    }
    run.set('tracing');
  }
}

async function bookAndSend(
  input: OutreachInput,
  patientId: string,
  run: RunState,
  reviews: Reviews,
  bookingEvents: BookingEvents,
): Promise<OutreachResult> {
  run.set('creating_booking_link');
  let bookingLink: BookingLink;
  try {
    bookingLink = await createBookingLink({ ...input.booking, patientId });
  } catch (err) {
    // Only runs from before links were retried whatever failed get here (src/workflows/activity-stubs.ts).
    if (!isFailureOfType(err, FailureType.OutcomeUncertain)) throw err;
    run.set('needs_review');
    return {
      outcome: 'needs_review',
      step: 'create_booking_link',
      patientId,
      reason: (err as ActivityFailure).cause?.message ?? 'Hero may have acted on the request',
    };
  }
  run.update({ bookingLinkId: bookingLink.id });
  // Only runs that wait for the booking are looked up by their link (and none of them predates this).
  if (input.awaitBooking) indexBookingLink(bookingLink.id);

  const ctx: SendContext = { run, reviews, input, patientId, bookingLink, deliveries: [] };
  const first = await sendWithReconcile(ctx, 'message', input.message.text);
  if (first.sent === false) return await settled(ctx, first.result);
  // Only a send given a stillWanted check can be skipped: reminders, never the first message.
  if (first.sent === 'skipped') throw new Error('the first message was skipped');
  const firstSentAt = Date.now();
  const message = messagesOf(run)[first.index];
  const review = ctx.resolution;

  if (input.awaitBooking) {
    return await settled(ctx, await awaitBooking(ctx, input.awaitBooking, bookingEvents, firstSentAt));
  }
  run.set('completed');
  return await settled(
    ctx,
    {
      outcome: 'completed',
      patientId,
      bookingLink,
      ...(message?.messageId !== undefined && { messageId: message.messageId }),
      ...(review && { review }),
    },
    true,
  );
}

/**
 * Waits for the delivery reads still running, then gives the result with the messages' last statuses.
 * Runs from before delivery status read none, and return what they did.
 */
async function settled(ctx: SendContext, result: OutreachResult, addMessages = false): Promise<OutreachResult> {
  if (!ctx.deliveries.length) return result;
  await Promise.all(ctx.deliveries);
  const messages = messagesOf(ctx.run);
  if ('messages' in result || addMessages) return { ...result, messages } as OutreachResult;
  return result;
}

/** A failed Hero call ends the run as `failed`; rejected credentials say what to fix. */
function explainFailure(err: ActivityFailure): unknown {
  if (isFailureOfType(err, FailureType.Unauthorized) || isFailureOfType(err, FailureType.Forbidden)) {
    return ApplicationFailure.nonRetryable(
      "Hero rejected the worker's credentials: check HERO_API_KEY and HERO_PRACTICE_GROUP_ID (and the key's scopes) " +
        "in the worker's environment, restart the worker, then start this outreach again",
      FailureType.Configuration,
      { cause: activityCauseType(err) },
    );
  }
  return err;
}
