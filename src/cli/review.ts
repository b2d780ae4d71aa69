import {
  InvalidReviewResolutionError,
  OutreachRunFinishedError,
  prepareReviewResolution,
} from '../client/outreach-client';
import { type ReviewResolution, reviewResolutionSchema } from '../workflows/schemas';
import { EXIT_OK, UsageError } from './errors';
import { emit, forPeople, resolvedText, reviewLineText } from './present';
import { reportFinished } from './runs';
import { type ClientOptions, uiUrlOf, withClient } from './session';

/** `review list` and `review resolve`: the runs waiting for an operator. */

/** `review list`: one JSON line per run in review. */
export async function reviewList(opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const reviews = await client.listReviews();
    const people = forPeople(opts);
    if (people && !reviews.length) process.stdout.write('No runs in review.\n');
    for (const review of reviews) {
      const line = people
        ? reviewLineText({ ...review, uiUrl: uiUrlOf(client, review.workflowId) })
        : JSON.stringify(review);
      process.stdout.write(`${line}\n`);
    }
    if (people && reviews.length) {
      process.stdout.write(
        `${reviews.length} run${reviews.length === 1 ? '' : 's'} in review. Resolve one: ` +
          'hero-flow review resolve ID --action resend|mark_sent|abandon\n',
      );
    }
    return EXIT_OK;
  });
}

/**
 * `review resolve ID --action A [--note T]`: the decision is parsed once, before connecting, and sent
 * as it is. The note is never printed.
 * @throws {UsageError} an unknown action (not echoed) or a note too long: exit 2, nothing connected.
 */
export async function reviewResolve(
  workflowId: string,
  opts: ClientOptions & { action?: string; note?: string },
): Promise<number> {
  const actions: readonly string[] = reviewResolutionSchema.shape.action.options;
  if (!opts.action || !actions.includes(opts.action)) {
    throw new UsageError(`--action must be one of ${actions.join(', ')}`);
  }
  let resolution: ReviewResolution;
  try {
    resolution = prepareReviewResolution({ action: opts.action, note: opts.note });
  } catch (err) {
    if (!(err instanceof InvalidReviewResolutionError)) throw err;
    throw new UsageError(err.problems.map((p) => `--${p}`).join('; '));
  }
  return withClient(opts, async (client, session) => {
    try {
      const answer = await client.resolveReview(workflowId, resolution);
      emit({ workflowId, ...answer }, opts, resolvedText);
      return EXIT_OK;
    } catch (err) {
      if (err instanceof OutreachRunFinishedError) return reportFinished(session, workflowId, 'resolve', opts);
      throw err;
    }
  });
}
