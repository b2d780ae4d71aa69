import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { OutreachActivities } from '../activities/outreach';
import type { BookingLink, TraceResult } from '../hero/schemas';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { HERO_FLOW_STATE } from '../shared/search-attributes';
import {
  confirmVerificationUpdate,
  isUnencryptedMarker,
  statusQuery,
  unencryptedPayloadMessage,
  verificationCompletedSignal,
} from './definitions';
import {
  BOOKING_LINK_PLACEHOLDER,
  type OutreachInput,
  type OutreachRequest,
  type OutreachResult,
  type OutreachState,
  type OutreachStatus,
  outreachInputSchema,
  type VerificationAccepted,
  verificationCompletedSchema,
  type VerificationFinding,
} from './schemas';

/** Hero errors that no retry can fix. */
const NON_RETRYABLE = [
  FailureType.InvalidRequest,
  FailureType.Unauthorized,
  FailureType.Forbidden,
  FailureType.PatientNotFound,
  FailureType.NotFound,
  FailureType.UnexpectedStatus,
];

/**
 * register_pds is an upsert (docs/hero-api.md §6.6), so retrying it is safe: retry transient failures
 * with backoff, 25 attempts at most. A 429 overrides the backoff with its Retry-After.
 *
 * No schedule-to-close timeout, here or below: it would count the time a call waits in the task
 * queue, and behind a practice list at Hero's rate limit that is hours (150,000 calls at 20/s).
 * The attempt count bounds the retrying instead.
 */
const { tracePatient } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '30 seconds',
  // A cancelled run ends only once the activity has aborted its HTTP request.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 25,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/**
 * Creating a link and sending a message are not idempotent and Hero documents no idempotency
 * key (docs/hero-api.md §6.6): only failures Hero cannot have acted on (429, refused connections) are
 * retried; the rest arrive as HeroOutcomeUncertain and end the run for review.
 */
const { createBookingLink, sendMessage } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE, FailureType.OutcomeUncertain],
  },
});

/** Each state in words, for the run's current details and the wait's timer summary in the Temporal UI. */
const STATE_IN_WORDS: Record<OutreachState, string> = {
  tracing: 'tracing the patient on NHS PDS through Hero',
  awaiting_verification: 'waiting for the patient to verify their identity',
  creating_booking_link: 'creating the booking link',
  sending_message: 'sending the message with the booking link',
  completed: 'completed: the booking link was sent',
  verification_expired: 'ended: the patient did not verify their identity in time',
  patient_not_found: 'ended: NHS PDS has no such patient',
  needs_review: 'needs review: check in Hero whether the booking link or message went out',
  cancelled: 'cancelled',
  failed: 'failed',
};

/**
 * The run's current details (Markdown, on the UI's User Metadata tab). They reach the UI encrypted (the
 * answer of the `__temporal_workflow_metadata` query, encoded by the worker's codec, never in history),
 * but the UI 2.42 renders Markdown by loading `/render?content=<decoded text>` from the UI server, so
 * they leave the browser in plaintext, to Temporal Cloud's servers for a Cloud namespace: no patient
 * data here, hence no login URL (test/ui.test.ts checks). The verify link is in the wait's timer summary.
 */
function currentDetails(status: OutreachStatus): string {
  const lines = [`**State: ${status.state}** (${STATE_IN_WORDS[status.state]})`];
  if (status.state === 'awaiting_verification') {
    lines.push("Verify link: the wait's timer on the History tab, or the status query");
  }
  return lines.join('\n\n');
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

/** The run's state, as the status query, the search attribute and the UI's current details show it. */
class RunState {
  status: OutreachStatus = { state: 'tracing', attempts: 0, updatedAt: new Date().toISOString() };
  private indexed: OutreachState | undefined;

  set(state: OutreachState, loginUrl?: string): void {
    if (state !== this.indexed) {
      this.indexed = state;
      upsertSearchAttributes([{ key: HERO_FLOW_STATE, value: state }]);
    }
    this.status = { state, loginUrl, attempts: this.status.attempts, updatedAt: new Date().toISOString() };
    // Not a command (no history event), so it may change on every call.
    setCurrentDetails(currentDetails(this.status));
  }

  countTrace(): void {
    this.status = { ...this.status, attempts: this.status.attempts + 1 };
  }
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
      if (!patched(AWAIT_RETRACE_PATCH)) return { accepted: true, state: run.status.state };
      const answer = await traces.next();
      return { accepted: true, state: run.status.state, ...answer };
    },
    {
      validator: (payload) => {
        // Rejected updates never reach history and validators do not run on replay: no patch needed.
        if (isUnencryptedMarker(payload)) {
          throw ApplicationFailure.nonRetryable(unencryptedPayloadMessage('update'), FailureType.UnencryptedPayload);
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
    if (patient.outcome !== 'patient') return patient;
    return await bookAndSend(input, patient.patientId, run);
  } catch (err) {
    // Cancelled by the caller, while waiting or mid-activity (whose HTTP request is aborted): a clean outcome.
    if (isCancellation(err)) {
      run.set('cancelled');
      traces.ended('cancelled');
      return { outcome: 'cancelled' };
    }
    run.set('failed');
    traces.ended('failed');
    throw err instanceof ActivityFailure ? explainFailure(err) : err;
  }
}

/**
 * confirmVerification once answered at once, before the run re-traced, so its caller learnt nothing.
 * Its handler now waits for the trace after it (Traces). An update completed in a later workflow task
 * than the one that accepted it changes the run's commands, so a run whose history shows the old,
 * immediate answer must give it again on replay: this patch marks the updates that wait. A waiting
 * update is answered (Traces.ended) in the same activation as the run closes, before the SDK checks for
 * unfinished handlers, so its caller never sees the run close under it.
 */
const AWAIT_RETRACE_PATCH = 'await-verification-retrace';

/**
 * Input and signal payloads were once parsed leniently: unknown keys were dropped. A run started then
 * with an unknown key (the library passed the caller's request through as it was) would, parsed
 * strictly on replay, fail where its history shows it went on: a nondeterminism error. This patch
 * marks the runs that refuse unknown keys. It is consulted only for a payload whose only problem is
 * unknown keys, so the commands of every valid run stay as they were (the committed histories replay
 * unchanged); a new run gains one marker, before failing on such input or ignoring such a signal.
 */
const STRICT_PAYLOADS_PATCH = 'strict-payloads';

/** False only when replaying a run from before strict payloads, and the problems are unknown keys alone. */
function refusesUnknownKeys(error: z.ZodError): boolean {
  return !error.issues.every((i) => i.code === 'unrecognized_keys') || patched(STRICT_PAYLOADS_PATCH);
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

/**
 * While the worker has keys, its codec hands the workflow a marker in place of a payload that arrived
 * unencrypted (workerDataConverter, src/codec/data-converter.ts): the run refuses such an input, and
 * ignores such a signal. A run that a client started or signalled in plaintext before this refusal
 * (the worker then decoded it silently) and that is still open would, refused on replay, fail where its
 * history shows it went on: a nondeterminism error. This patch marks the runs that refuse plaintext;
 * it is consulted only when a marker arrives, so every encrypted run, and every replay without a codec,
 * issues the same commands as before.
 */
const REFUSE_PLAINTEXT_PATCH = 'refuse-plaintext';

/** False only when replaying a run from before the refusal: it then goes on with the plaintext value. */
function refusesPlaintext(): boolean {
  return patched(REFUSE_PLAINTEXT_PATCH);
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
  if (!parsed.success && !refusesUnknownKeys(parsed.error)) {
    const legacy = outreachInputSchema.safeParse(withoutUnknownKeys(rawInput, parsed.error));
    if (legacy.success) return legacy.data;
  }
  if (!parsed.success) {
    const problems = describeProblems(parsed.error, '(input)', outreachInputSchema);
    throw ApplicationFailure.nonRetryable(
      `Invalid outreach input: ${problems.join('; ')}`,
      FailureType.InvalidWorkflowInput,
    );
  }
  return parsed.data;
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

async function bookAndSend(input: OutreachInput, patientId: string, run: RunState): Promise<OutreachResult> {
  run.set('creating_booking_link');
  let bookingLink: BookingLink | undefined;
  try {
    bookingLink = await createBookingLink({ ...input.booking, patientId });
    run.set('sending_message');
    const sent = await sendMessage({
      patientId,
      messageType: input.message.type,
      text: input.message.text.split(BOOKING_LINK_PLACEHOLDER).join(bookingLink.url),
      shortLinkId: bookingLink.id,
    });
    run.set('completed');
    return { outcome: 'completed', patientId, bookingLink, messageId: sent.messageId };
  } catch (err) {
    if (!isFailureOfType(err, FailureType.OutcomeUncertain)) throw err;
    run.set('needs_review');
    return {
      outcome: 'needs_review',
      step: bookingLink ? 'send_message' : 'create_booking_link',
      patientId,
      bookingLink,
      reason: (err as ActivityFailure).cause?.message ?? 'Hero may have acted on the request',
    };
  }
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

function isFailureOfType(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;
}

function activityCauseType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure
    ? (err.cause.type ?? undefined)
    : undefined;
}
