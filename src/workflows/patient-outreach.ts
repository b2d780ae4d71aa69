import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OutreachActivities } from '../activities/outreach';
import type { TraceResult } from '../hero/schemas';
import { FailureType } from '../shared/failure-types';
import { HERO_FLOW_STATE } from '../shared/search-attributes';
import { statusQuery, verificationCompletedSignal } from './definitions';
import {
  BOOKING_LINK_PLACEHOLDER,
  type OutreachResult,
  type OutreachState,
  type OutreachStatus,
  outreachInputSchema,
  verificationCompletedSchema,
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
 * register_pds is an upsert (REFERENCE §6.6), so retrying it is safe: retry transient failures
 * with backoff for up to an hour. A 429 overrides the backoff with its Retry-After.
 */
const { tracePatient } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '1 hour',
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
 * key (REFERENCE §6.6): a retry after a timeout may duplicate, so blind retries are few.
 */
const { createBookingLink, sendMessage } = proxyActivities<OutreachActivities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '20 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/**
 * Traces a patient against NHS PDS through Hero, waits durably while the patient verifies their
 * identity, then creates a booking link and sends it to the patient.
 */
export async function patientOutreachWorkflow(rawInput: unknown): Promise<OutreachResult> {
  const parsed = outreachInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    throw ApplicationFailure.nonRetryable(
      `Invalid outreach input: ${problems.join('; ')}`,
      FailureType.InvalidWorkflowInput,
    );
  }
  const input = parsed.data;

  let status: OutreachStatus = { state: 'tracing', attempts: 0, updatedAt: new Date().toISOString() };
  let indexedState: OutreachState | undefined;
  let verificationSignalled = false;

  const setState = (state: OutreachState, loginUrl?: string) => {
    if (state !== indexedState) {
      indexedState = state;
      upsertSearchAttributes([{ key: HERO_FLOW_STATE, value: state }]);
      setCurrentDetails(`State: ${state}`);
    }
    status = { state, loginUrl, attempts: status.attempts, updatedAt: new Date().toISOString() };
  };

  setHandler(statusQuery, () => status);
  // Registered before the first await, so a signal that arrives early is not lost.
  setHandler(verificationCompletedSignal, (payload) => {
    if (!verificationCompletedSchema.safeParse(payload).success) {
      log.warn('Ignored a malformed verificationCompleted signal');
      return;
    }
    verificationSignalled = true;
  });
  setState('tracing');

  const trace = async (): Promise<TraceResult | 'not_found'> => {
    status = { ...status, attempts: status.attempts + 1 };
    try {
      return await tracePatient({ nhsNumber: input.nhsNumber, dob: input.dob });
    } catch (err) {
      if (isFailureOfType(err, FailureType.PatientNotFound)) return 'not_found';
      throw failRun(err);
    }
  };

  const failRun = (err: unknown): unknown => {
    setState('failed');
    if (isFailureOfType(err, FailureType.Unauthorized) || isFailureOfType(err, FailureType.Forbidden)) {
      return ApplicationFailure.nonRetryable(
        "Hero rejected the worker's credentials: check HERO_API_KEY and HERO_PRACTICE_GROUP_ID (and the key's scopes) in the worker's environment, restart the worker, then start this outreach again",
        FailureType.Configuration,
        { cause: activityCauseType(err) },
      );
    }
    return err;
  };

  let result = await trace();
  let deadline: number | undefined;
  while (result !== 'not_found' && result.kind === 'verification_required') {
    deadline ??= Date.now() + input.verification.timeout;
    if (Date.now() >= deadline) {
      setState('verification_expired');
      return { outcome: 'verification_expired', attempts: status.attempts };
    }
    setState('awaiting_verification', result.loginUrl);
    // Hero has no verification webhook: wake on the signal or re-check on our own.
    await condition(() => verificationSignalled, Math.min(input.verification.recheckEvery, deadline - Date.now()));
    verificationSignalled = false;
    setState('tracing');
    result = await trace();
  }
  if (result === 'not_found') {
    setState('patient_not_found');
    return { outcome: 'patient_not_found' };
  }
  const patientId = result.patientId;

  setState('creating_booking_link');
  let bookingLink;
  try {
    bookingLink = await createBookingLink({ ...input.booking, patientId });
  } catch (err) {
    throw failRun(err);
  }

  setState('sending_message');
  let sent;
  try {
    sent = await sendMessage({
      patientId,
      messageType: input.message.type,
      text: input.message.text.split(BOOKING_LINK_PLACEHOLDER).join(bookingLink.url),
      shortLinkId: bookingLink.id,
    });
  } catch (err) {
    throw failRun(err);
  }

  setState('completed');
  return { outcome: 'completed', patientId, bookingLink, messageId: sent.messageId };
}

function isFailureOfType(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;
}

function activityCauseType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure
    ? (err.cause.type ?? undefined)
    : undefined;
}
