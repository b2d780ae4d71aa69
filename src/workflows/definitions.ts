import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { OutreachStatus, VerificationCompleted } from './schemas';

/** The patient says they have verified their identity (Hero has no webhook for it). */
export const verificationCompletedSignal = defineSignal<[VerificationCompleted?]>('verificationCompleted');

/** The run's state, with the login URL while awaiting verification. */
export const statusQuery = defineQuery<OutreachStatus>('status');
