import type { Priority } from '@temporalio/common';
import { z } from 'zod';
import { practiceGroupIdSchema } from './campaign-ids';

/**
 * Task-queue priority keys (lower is served first; Temporal's default is 3 of 5). A run's workflow
 * tasks and its outcome calls (trace, booking link, first message, reminders) inherit the run's key;
 * reads that only keep the books (delivery status, booking-link re-checks, reconciliation) take
 * `bookkeeping`, so they fill the capacity the outcome calls leave. docs/priority.md says why.
 */
export const PRIORITY = {
  /** The most urgent a caller can ask for. */
  urgent: 1,
  /**
   * A campaign's own workflow and its pages (not its runs): they answer the hand-off the caller waits on,
   * pause, resume and cancel, and start the runs, in a few tasks per hundred runs that must not queue
   * behind the runs (a page waiting behind its runs' backlog started them minutes late).
   */
  campaignControl: 1,
  /** A run started on its own (`start`, `startMany`, the CLI, a booking event). @default for those */
  single: 2,
  /** A campaign's runs. @default for campaigns */
  campaign: 3,
  /** The lowest a caller can ask for: still ahead of bookkeeping. */
  lowest: 4,
  /** Reads that decide nothing for the patient. */
  bookkeeping: 5,
} as const;

/** The priority a caller may give a run or a campaign: 1 (first) to 4; 5 is the bookkeeping reads'. */
export const runPrioritySchema = z.coerce
  .number({ error: 'must be a whole number from 1 to 4' })
  .int('must be a whole number from 1 to 4')
  .min(PRIORITY.urgent, 'must be a whole number from 1 to 4 (1 is served first)')
  .max(PRIORITY.lowest, 'must be at most 4 (5 is kept for bookkeeping reads, behind every run)');
export type RunPriority = z.infer<typeof runPrioritySchema>;

/** Temporal bounds a fairness weight to [0.001, 1000]. */
const fairnessWeightSchema = z.coerce
  .number({ error: 'must be a number' })
  .finite('must be a finite number')
  .min(0.001, 'must be at least 0.001')
  .max(1000, 'must be at most 1000');

/**
 * HERO_FAIRNESS_WEIGHTS: `group=weight` pairs, comma-separated (`practice-a=2,practice-b=1`). A practice
 * group's share of Hero's rate, among the groups with work waiting, is its weight over theirs; a group
 * not named weighs 1.
 */
export const fairnessWeightsSchema = z.string().transform((text, ctx) => {
  const weights: Record<string, number> = {};
  for (const [i, pair] of text.split(',').entries()) {
    if (pair.trim() === '') continue;
    const [group, weight, ...rest] = pair.split('=');
    if (rest.length > 0 || weight === undefined) {
      ctx.addIssue({ code: 'custom', message: `pair ${i + 1}: expected group=weight` });
      continue;
    }
    const g = practiceGroupIdSchema.safeParse(group);
    const w = fairnessWeightSchema.safeParse(weight);
    if (!g.success || !w.success) {
      const why = !g.success ? `the group ${g.error.issues[0]!.message}` : `the weight ${w.error!.issues[0]!.message}`;
      ctx.addIssue({ code: 'custom', message: `pair ${i + 1}: ${why}` });
      continue;
    }
    if (g.data in weights) ctx.addIssue({ code: 'custom', message: `pair ${i + 1}: ${g.data} is given twice` });
    weights[g.data] = w.data;
  }
  return weights;
});
export type FairnessWeights = z.infer<typeof fairnessWeightsSchema>;

/**
 * The Temporal priority of a run (or campaign) of `practiceGroupId`: its key, and its practice group as
 * the fairness key with that group's weight. Runs without a practice group share Temporal's default
 * fairness key: they all call Hero as the worker's default group.
 */
export function runTaskPriority(opts: {
  priorityKey: RunPriority;
  practiceGroupId?: string;
  weights?: FairnessWeights;
}): Priority {
  const { priorityKey, practiceGroupId, weights } = opts;
  if (practiceGroupId === undefined) return { priorityKey };
  const fairnessWeight = weights?.[practiceGroupId];
  return { priorityKey, fairnessKey: practiceGroupId, ...(fairnessWeight !== undefined && { fairnessWeight }) };
}

/**
 * A caller's run priority, checked; `fallback` when not given.
 * @throws {RangeError} naming what is allowed (1-4), never a patient value.
 */
export function checkRunPriority(value: unknown, fallback: RunPriority): RunPriority {
  if (value === undefined) return fallback;
  const parsed = runPrioritySchema.safeParse(value);
  if (!parsed.success) throw new RangeError(`priority: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
