import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OutreachStatus, VerificationAccepted, VerificationCompleted } from './schemas';

/** The patient says they have verified their identity (Hero has no webhook for it). */
export const verificationCompletedSignal = defineSignal<[VerificationCompleted?]>('verificationCompleted');

/** The run's state, with the login URL while awaiting verification. */
export const statusQuery = defineQuery<OutreachStatus>('status');

/**
 * The same as the signal, as an Update: the caller learns at once whether the run accepted it
 * (it is rejected, without touching history, when the run is not waiting for verification).
 */
export const confirmVerificationUpdate = defineUpdate<VerificationAccepted, [VerificationCompleted]>(
  'confirmVerification',
);
