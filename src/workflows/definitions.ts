import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { UNENCRYPTED_MARKER_KEY } from '../shared/unencrypted-marker';
import type {
  BookingEvent,
  OutreachStatus,
  ReviewResolution,
  ReviewResolved,
  VerificationAccepted,
  VerificationCompleted,
} from './schemas';

/** The workflow type other clients start: the name of `patientOutreachWorkflow` (src/workflows/patient-outreach.ts). */
export const OUTREACH_WORKFLOW_TYPE = 'patientOutreachWorkflow';

/** The patient says they have verified their identity (Hero has no webhook for it). */
export const verificationCompletedSignal = defineSignal<[VerificationCompleted?]>('verificationCompleted');

/** The run's state, with the login URL while awaiting verification. */
export const statusQuery = defineQuery<OutreachStatus>('status');

/**
 * The same as the signal, as an Update that answers once the run has traced the patient again: what
 * that trace found and the run's state after it (VerificationAccepted). It is rejected at once, without
 * touching history, when the run is not waiting for verification.
 */
export const confirmVerificationUpdate = defineUpdate<VerificationAccepted, [VerificationCompleted]>(
  'confirmVerification',
);

/**
 * An operator's decision for a run in `needs_review`: resend, mark_sent or abandon. Rejected (nothing
 * in history) unless the run is in review, or when the payload is malformed.
 */
export const resolveReviewUpdate = defineUpdate<ReviewResolved, [ReviewResolution]>('resolveReview');

/** An appointment webhook about this run's booking link, sent by the booking-event workflow. */
export const bookingEventSignal = defineSignal<[BookingEvent]>('bookingEvent');

/** The workflow type the webhook receiver starts, one run per delivered event. */
export const BOOKING_EVENT_WORKFLOW_TYPE = 'bookingEventWorkflow';

/**
 * One workflow ID per delivery: the event, the appointment id and `delivery`, a hex hash the receiver makes of
 * what Hero signed (src/hero/inferred.ts), so the same delivery again is processed once and a second event
 * about the appointment (a second reschedule) anew. Without `delivery`, the form before it (one per event and
 * appointment), which older runs carry. None of the parts is patient data.
 */
export function bookingEventWorkflowId(event: string, appointmentId: string, delivery?: string): string {
  return `hero-webhook.${event}.${appointmentId}${delivery === undefined ? '' : `.${delivery}`}`;
}

/**
 * What the worker's payload codec delivers in place of a payload that arrived unencrypted while the
 * worker has keys (`EncryptionCodec` with `unencrypted: 'mark'`, src/codec/encryption-codec.ts, whose
 * UNENCRYPTED_MARKER_KEY is this same string; that module uses node:crypto, so the workflow cannot
 * import it). `value` is the payload's value, kept for the replay of runs from before the refusal.
 */
export { UNENCRYPTED_MARKER_KEY };

export interface UnencryptedMarker {
  [UNENCRYPTED_MARKER_KEY]: true;
  value?: unknown;
}

export function isUnencryptedMarker(value: unknown): value is UnencryptedMarker {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[UNENCRYPTED_MARKER_KEY] === true &&
    Object.keys(value).every((k) => k === UNENCRYPTED_MARKER_KEY || k === 'value')
  );
}

/**
 * Why a run or an update (named, so its caller knows which) was refused, and how to send it correctly.
 * Names no value: the payload is patient data.
 */
export function unencryptedPayloadMessage(what: 'input' | 'confirmVerification' | 'resolveReview'): string {
  const payload = what === 'input' ? 'The workflow input' : `The ${what} update payload`;
  return (
    `${payload} was not encrypted. This worker has encryption keys (HERO_CODEC_KEYS) and refuses patient data ` +
    `sent in plaintext: ${what === 'input' ? 'the run was stopped before any call to Hero' : 'the update was rejected'}. ` +
    'Send it through the hero-flow library or CLI (HeroFlowClient, `hero-flow start`), which encrypt with ' +
    'HERO_CODEC_KEYS, or from another language or the Temporal CLI through the codec server ' +
    '(`hero-flow codec-server`), e.g. `temporal workflow start --codec-endpoint <codec server URL> ' +
    '--codec-auth "Bearer <token>" ...`; see docs/codec-wire-format.md.' +
    (what === 'input'
      ? " The input is stored unencrypted in this run's history: delete the run " +
        '(`temporal workflow delete --workflow-id <id>`) once it has been started again correctly.'
      : '')
  );
}
