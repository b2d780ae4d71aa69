import { metricMeter, TemporalFailure, workflowInfo } from '@temporalio/workflow';
import { METRICS } from '../observability/metric-names';
import type { OutreachResult, ReviewStep } from './schemas';

/**
 * Business metrics recorded from workflow code through the SDK's workflow metric meter
 * (src/observability/metric-names.ts). Recording is not a command: nothing reaches history, and the
 * SDK drops what a replaying workflow records, so a run counts once however often it is replayed, and
 * every committed history replays unchanged (test/replay.test.ts). The meter may only be used inside
 * a workflow, so metrics are created on use. The SDK tags each with the namespace, task queue and
 * workflow type; the labels added here are closed sets of words, never patient data.
 */

const secondsSince = (ms: number): number => Math.max(0, (Date.now() - ms) / 1000);

/** Counts the run's outcome and how long it took; returns `result` unchanged. */
export function recordOutcome<R extends OutreachResult>(result: R): R {
  countOutcome(result.outcome);
  return result;
}

/**
 * Counts a run that fails with `err`. Only a Temporal failure fails the run; any other error fails the
 * workflow task, which the server retries, so it is no outcome (yet). Returns `err` unchanged.
 */
export function recordFailure(err: unknown): unknown {
  if (err instanceof TemporalFailure) countOutcome('failed');
  return err;
}

function countOutcome(outcome: string): void {
  const tags = { outcome };
  metricMeter.createCounter(METRICS.runs, undefined, 'Outreach runs ended, by outcome').add(1, tags);
  metricMeter
    .createHistogram(METRICS.timeToOutcome, 'float', 's', "From the run's start to its outcome")
    .record(secondsSince(workflowInfo().startTime.getTime()), tags);
}

/**
 * How long the patient took to verify their identity: from the trace that first asked (the wait's
 * `deadline` less its `timeout`) to the trace that found the patient.
 */
export function recordVerified(deadline: number, timeout: number): void {
  metricMeter
    .createHistogram(
      METRICS.timeToVerification,
      'float',
      's',
      'From Hero first asking for identity verification to the trace that found the patient',
    )
    .record(secondsSince(deadline - timeout));
}

/** A review opened, or how it closed: the operator's action, or `expired` when its deadline passed. */
export function recordReview(
  action: 'opened' | 'resend' | 'mark_sent' | 'abandon' | 'expired',
  step: ReviewStep,
): void {
  metricMeter
    .createCounter(METRICS.reviews, undefined, 'Reviews opened, and closed by action')
    .add(1, { action, step });
}
