import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { BookingLink, TraceResult } from '../hero/schemas';
import { FailureType } from '../shared/failure-types';
import { type HeroActivities, heroActivities } from './activity-stubs';
import { awaitBooking, indexBookingLink } from './booking-wait';
import { activityCauseType, isFailureOfType } from './failures';
import { parseInput } from './input';
import { recordFailure, recordOutcome, recordVerified } from './metrics';
import { type SendContext, sendWithReconcile } from './review';
import { OutreachRun, STATE_IN_WORDS } from './run-state';
import type { OutreachInput, OutreachRequest, OutreachResult } from './schemas';

/**
 * Traces a patient against NHS PDS through Hero, waits durably while the patient verifies their
 * identity, then creates a booking link, sends it to the patient, and (awaitBooking) waits for the
 * booking. The parameter is typed for callers; what arrives is still validated (other clients, other
 * languages, older runs).
 */
export async function patientOutreachWorkflow(rawInput: OutreachRequest): Promise<OutreachResult> {
  // Its state, query, signals and updates: registered here, before the first await.
  const run = new OutreachRun();
  let practiceGroupId: string | undefined;
  try {
    const input = parseInput(rawInput);
    practiceGroupId = input.practiceGroupId;
    const hero = heroActivities(practiceGroupId);

    // Trace, waiting while Hero asks the patient to verify their identity.
    run.set('tracing');
    const traced = await traceUntilVerified(input, run, hero);
    if (traced.outcome !== 'patient') return recordOutcome(traced);
    const { patientId } = traced;

    // The booking link.
    const link = await createLink(input, patientId, run, hero);
    if ('result' in link) return recordOutcome(link.result);
    const { bookingLink } = link;

    // The message that carries it.
    const send: SendContext = { run, hero, input, patientId, bookingLink, deliveries: [] };
    const first = await sendWithReconcile(send, 'message', input.message.text);
    if (first.sent === false) return recordOutcome(await settled(send, first.result));
    // Only a send given a stillWanted check can be skipped: reminders, never the first message.
    if (first.sent === 'skipped') throw new Error('the first message was skipped');

    // The wait for the booking, when asked for.
    if (input.awaitBooking) {
      return recordOutcome(await settled(send, await awaitBooking(send, input.awaitBooking, Date.now())));
    }
    const messageId = run.messages[first.index]?.messageId;
    run.set('completed');
    return recordOutcome(
      await settled(
        send,
        {
          outcome: 'completed',
          patientId,
          bookingLink,
          ...(messageId !== undefined && { messageId }),
          ...(send.resolution && { review: send.resolution }),
        },
        true,
      ),
    );
  } catch (err) {
    // Cancelled by the caller, while waiting or mid-activity (whose HTTP request is aborted): a clean outcome.
    if (isCancellation(err)) {
      run.set('cancelled');
      run.traces.ended('cancelled');
      return recordOutcome({ outcome: 'cancelled' });
    }
    run.set('failed');
    run.traces.ended('failed');
    throw recordFailure(err instanceof ActivityFailure ? explainFailure(err, practiceGroupId) : err);
  }
}

/**
 * Traces until Hero returns a patient id. While Hero asks for identity verification, waits for the
 * verification signal or the re-check interval (Hero has no webhook), until the timeout.
 */
async function traceUntilVerified(
  input: OutreachInput,
  run: OutreachRun,
  hero: HeroActivities,
): Promise<{ outcome: 'patient'; patientId: string } | OutreachResult> {
  let deadline: number | undefined;
  for (;;) {
    run.countTrace();
    let result: TraceResult;
    try {
      result = await hero.tracePatient({ nhsNumber: input.nhsNumber, dob: input.dob });
    } catch (err) {
      if (isFailureOfType(err, FailureType.PatientNotFound)) {
        run.set('patient_not_found');
        run.traces.answered('patient_not_found');
        return { outcome: 'patient_not_found' };
      }
      throw err;
    }
    if (result.kind === 'patient') {
      // Set here rather than in createLink (the same command, in the same place) so that an update
      // answered by this trace reports the state the run is now in.
      run.set('creating_booking_link');
      run.traces.answered('patient');
      if (deadline !== undefined) recordVerified(deadline, input.verification.timeout);
      return { outcome: 'patient', patientId: result.patientId };
    }

    deadline ??= Date.now() + input.verification.timeout;
    if (Date.now() >= deadline) {
      run.set('verification_expired');
      run.traces.ended('verification_required');
      return { outcome: 'verification_expired', attempts: run.status.attempts };
    }
    run.set('awaiting_verification', result.loginUrl);
    run.traces.answered('verification_required');
    // A signal that came while tracing counts: re-trace at once.
    if (!run.takeVerificationSignal()) {
      const ms = Math.min(input.verification.recheckEvery, deadline - Date.now());
      await run.waitForVerification(ms, waitSummary(result.loginUrl, ms));
      run.takeVerificationSignal();
    }
    run.set('tracing');
  }
}

/** Creates the booking link (an uncertain creation ends in review only for older runs: src/workflows/patches.ts). */
async function createLink(
  input: OutreachInput,
  patientId: string,
  run: OutreachRun,
  hero: HeroActivities,
): Promise<{ bookingLink: BookingLink } | { result: OutreachResult }> {
  run.set('creating_booking_link');
  let bookingLink: BookingLink;
  try {
    bookingLink = await hero.createBookingLink({ ...input.booking, patientId });
  } catch (err) {
    if (!isFailureOfType(err, FailureType.OutcomeUncertain)) throw err;
    run.set('needs_review');
    return {
      result: {
        outcome: 'needs_review',
        step: 'create_booking_link',
        patientId,
        reason: (err as ActivityFailure).cause?.message ?? 'Hero may have acted on the request',
      },
    };
  }
  run.linkCreated(bookingLink.id);
  // Only runs that wait for the booking are looked up by their link (and none of them predates this).
  if (input.awaitBooking) indexBookingLink(bookingLink.id);
  return { bookingLink };
}

/**
 * Waits for the delivery reads still running, then gives the result with the messages' last statuses.
 * Runs without delivery reads return what they did (src/workflows/patches.ts, reconcile).
 */
async function settled(ctx: SendContext, result: OutreachResult, addMessages = false): Promise<OutreachResult> {
  if (!ctx.deliveries.length) return result;
  await Promise.all(ctx.deliveries);
  const messages = ctx.run.messages;
  if ('messages' in result || addMessages) return { ...result, messages } as OutreachResult;
  return result;
}

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

/**
 * A failed Hero call ends the run as `failed`; rejected credentials say what to fix, naming the practice
 * group they were refused for (a group ID is Hero's, not patient data).
 */
function explainFailure(err: ActivityFailure, practiceGroupId: string | undefined): unknown {
  if (isFailureOfType(err, FailureType.Unauthorized) || isFailureOfType(err, FailureType.Forbidden)) {
    const group =
      practiceGroupId === undefined
        ? "for the worker's HERO_PRACTICE_GROUP_ID: check HERO_API_KEY and HERO_PRACTICE_GROUP_ID"
        : `for practice group ${practiceGroupId} (the request's practiceGroupId): check that group's key ` +
          '(HERO_API_KEYS_FILE, HERO_API_KEY_<GROUP> or HERO_API_KEY) and HERO_PRACTICE_GROUP_IDS';
    return ApplicationFailure.nonRetryable(
      `Hero rejected the worker's credentials ${group} (and the key's scopes) ` +
        "in the worker's environment, restart the worker, then start this outreach again",
      FailureType.Configuration,
      { cause: activityCauseType(err) },
    );
  }
  return err;
}
