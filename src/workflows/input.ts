import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { isUnencryptedMarker, unencryptedPayloadMessage } from './definitions';
import { takes } from './patches';
import { lenientOutreachInputSchema, type OutreachInput, outreachInputSchema } from './schemas';

/**
 * How the run reads what reaches it: its input, and the payloads of its signals and updates. Older runs
 * read them as they did then (src/workflows/patches.ts): the patches are consulted only where the
 * readings differ, so the commands of every valid run stay as they were.
 */

/** False only when replaying a run from before strict payloads, and the problems are unknown keys alone. */
export function refusesUnknownKeys(error: z.ZodError): boolean {
  return !error.issues.every((i) => i.code === 'unrecognized_keys') || takes('strictPayloads');
}

/** False only when replaying a run from before the refusal: it then goes on with the plaintext value. */
export function refusesPlaintext(): boolean {
  return takes('refusePlaintext');
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
 * Strict, as on the client's path: a run started by another client (another language's SDK, the
 * Temporal CLI) with an unknown or misspelt key, or a duration past its bound, fails at once with
 * InvalidWorkflowInput, naming it; one started without the payload codec fails with
 * HeroUnencryptedPayload, before any Hero call.
 */
export function parseInput(received: unknown): OutreachInput {
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
