import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { HeroApiError, type HeroEndpoint, HeroNotFoundError, HeroRateLimitedError } from '../hero/errors';
import { FailureType, type FailureTypeName } from '../shared/failure-types';

const typeByKind: Record<string, FailureTypeName> = {
  invalid_request: FailureType.InvalidRequest,
  unauthorized: FailureType.Unauthorized,
  forbidden: FailureType.Forbidden,
  not_found: FailureType.NotFound,
  rate_limited: FailureType.RateLimited,
  server_error: FailureType.ServerError,
  network: FailureType.Network,
  timeout: FailureType.Timeout,
  unexpected_response: FailureType.UnexpectedResponse,
  unexpected_status: FailureType.UnexpectedStatus,
};

/**
 * Maps a Hero client error to an ApplicationFailure with one stable `type` per class; for calls that
 * are not idempotent, an error after which Hero may have acted becomes `HeroOutcomeUncertain`.
 * Whether to retry is the workflow's retry policy's decision (`nonRetryableErrorTypes`);
 * a 429's `Retry-After` becomes `nextRetryDelay`, so the server waits, not the activity.
 */
export function toApplicationFailure(err: unknown, opts: { idempotent: boolean }): unknown {
  if (err instanceof HeroApiError && !opts.idempotent && err.processed !== 'no') {
    // Hero documents no idempotency key (REFERENCE §6.6) and no way to look up what a lost response
    // created, so repeating this request could create a second link or send a second SMS.
    return ApplicationFailure.create({
      type: FailureType.OutcomeUncertain,
      message: `${err.message}; Hero may have acted on the request, so it is not repeated`,
      details: [{ endpoint: err.endpoint, status: err.status ?? null, kind: err.kind }],
    });
  }
  if (err instanceof HeroApiError) {
    const type =
      err instanceof HeroNotFoundError && err.endpoint === 'register_pds'
        ? FailureType.PatientNotFound
        : (typeByKind[err.kind] ?? FailureType.UnexpectedStatus);
    return ApplicationFailure.create({
      type,
      message: err.message,
      nextRetryDelay: err instanceof HeroRateLimitedError ? err.retryAfterMs : undefined,
      details: [{ endpoint: err.endpoint, status: err.status ?? null }],
    });
  }
  if (err instanceof ZodError) {
    // Our own input validation, before any HTTP call: retrying cannot help.
    const problems = err.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    return ApplicationFailure.create({
      type: FailureType.InvalidRequest,
      message: `input rejected before calling Hero: ${problems}`,
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
    details: [{ endpoint, status: null, kind: 'cut_off' }],
  });
}
