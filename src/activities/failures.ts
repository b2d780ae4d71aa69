import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ZodError } from 'zod';
import { HeroApiError, type HeroEndpoint, HeroRateLimitedError } from '../hero/errors';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';

/** Failure types that are outcomes a run reports, not faults an operator must look at. */
const EXPECTED_FAILURES: ReadonlySet<string> = new Set([FailureType.PatientNotFound, FailureType.RateLimited]);

/**
 * Maps a Hero client error to an ApplicationFailure of the type the error carries
 * (`HeroApiError.failureType`); for calls that are not idempotent, an error after which Hero may have
 * acted becomes `HeroOutcomeUncertain`. Whether to retry is the workflow's retry policy's decision
 * (`nonRetryableErrorTypes`); a 429's `Retry-After` becomes `nextRetryDelay`, so the server waits,
 * not the activity.
 *
 * Never throws: returns what to throw. A `ZodError` (input refused before calling Hero) becomes a
 * non-retryable `HeroInvalidRequest`; anything else (cancellation included) is returned unchanged.
 */
export function toApplicationFailure(err: unknown, opts: { idempotent: boolean }): unknown {
  if (err instanceof HeroApiError && !opts.idempotent && err.processed !== 'no') {
    // Hero documents no idempotency key (docs/hero-api.md §6.6) and no way to look up what a lost
    // response created, so repeating this request could create a second link or send a second SMS.
    return ApplicationFailure.create({
      type: FailureType.OutcomeUncertain,
      message: `${err.message}; Hero may have acted on the request, so it is not repeated`,
      details: [{ endpoint: err.endpoint, status: err.status ?? null, cause: err.failureType }],
    });
  }
  if (err instanceof HeroApiError) {
    return ApplicationFailure.create({
      type: err.failureType,
      message: err.message,
      nextRetryDelay: err instanceof HeroRateLimitedError ? err.retryAfterMs : undefined,
      details: [{ endpoint: err.endpoint, status: err.status ?? null }],
      // An answer (patient_not_found ends the run so; an appointment Hero does not know is none of ours) or Hero's pacing (a 429 is retried after its
      // Retry-After), not a fault: BENIGN makes the SDK log it at debug level, without the WARN and
      // stack trace of a failed activity.
      category:
        EXPECTED_FAILURES.has(err.failureType) || (err.endpoint === 'get_appointment' && err.status === 404)
          ? ApplicationFailureCategory.BENIGN
          : undefined,
    });
  }
  if (err instanceof ZodError) {
    // Our own input validation, before any HTTP call: retrying cannot help.
    return ApplicationFailure.create({
      type: FailureType.InvalidRequest,
      message: `input rejected before calling Hero: ${describeProblems(err, '(input)').join('; ')}`,
      nonRetryable: true,
    });
  }
  // Cancellation and anything unforeseen pass through unchanged.
  return err;
}

/** A retry of a non-idempotent call whose previous attempt was cut off after sending its request. */
export function uncertainAfterCutOff(endpoint: HeroEndpoint): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.OutcomeUncertain,
    message:
      `Hero ${endpoint}: the previous attempt ended without saying Hero did not get its request (worker stopped or timed out); ` +
      'Hero may have acted on the request, so it is not repeated',
    details: [{ endpoint, status: null, cause: 'cut_off' }],
  });
}
