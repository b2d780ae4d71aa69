import { FailureType, type FailureTypeName, NON_RETRYABLE } from '../shared/failure-types';

/**
 * One class per row of Hero's status table. Messages name the endpoint and the problem,
 * never request values (NHS numbers, dates of birth) nor the API key.
 */
export type HeroEndpoint =
  | 'register_pds'
  | 'create_booking_link'
  | 'send_message'
  | 'get_booking_link'
  | 'get_appointment'
  | 'get_message'
  | 'list_sent_messages'
  | 'list_webhooks'
  | 'create_webhook';

export abstract class HeroApiError extends Error {
  /**
   * The `ApplicationFailure.type` this error becomes in Temporal: the one classification of Hero
   * failures, which the workflow's retry policies and callers match on. The strings never change.
   */
  abstract readonly failureType: FailureTypeName;
  /**
   * Whether Hero may have acted on the request anyway. It matters for calls that are not
   * idempotent (booking links, messages): Hero documents no idempotency key (docs/hero-api.md §6.6),
   * so repeating a request that was perhaps processed may create a duplicate.
   */
  abstract readonly processed: 'no' | 'maybe' | 'yes';
  constructor(
    readonly endpoint: HeroEndpoint,
    message: string,
    readonly status?: number,
  ) {
    super(`Hero ${endpoint}: ${message}`);
    this.name = new.target.name;
  }
  /** Whether repeating the same call later may succeed: what the workflow's retry policies decide, by type. */
  get transient(): boolean {
    return !NON_RETRYABLE.includes(this.failureType);
  }
}

export interface ValidationIssue {
  path: string;
  code: string;
}

export class HeroInvalidRequestError extends HeroApiError {
  readonly failureType = FailureType.InvalidRequest;
  readonly processed = 'no' as const;
  constructor(
    endpoint: HeroEndpoint,
    readonly issues: ValidationIssue[],
  ) {
    const detail = issues.length ? issues.map((i) => `${i.path || '(body)'}: ${i.code}`).join('; ') : 'no details';
    super(endpoint, `400 invalid request (${detail})`, 400);
  }
}

export class HeroUnauthorizedError extends HeroApiError {
  readonly failureType = FailureType.Unauthorized;
  readonly processed = 'no' as const;
  constructor(endpoint: HeroEndpoint) {
    super(endpoint, '401 unauthorised: check HERO_API_KEY (staging and production keys differ)', 401);
  }
}

export class HeroForbiddenError extends HeroApiError {
  readonly failureType = FailureType.Forbidden;
  readonly processed = 'no' as const;
  constructor(endpoint: HeroEndpoint) {
    super(
      endpoint,
      '403 forbidden: the API key has no access to HERO_PRACTICE_GROUP_ID, or lacks the scope for this call',
      403,
    );
  }
}

export class HeroNotFoundError extends HeroApiError {
  /**
   * On register_pds a 404 is an answer, "no patient found in PDS" (docs/hero-api.md §1), and ends the
   * run `patient_not_found`; on the other endpoints it means an id we sent is unknown to Hero.
   */
  readonly failureType: typeof FailureType.PatientNotFound | typeof FailureType.NotFound;
  readonly processed = 'no' as const;
  constructor(endpoint: HeroEndpoint) {
    const noPatient = endpoint === 'register_pds';
    super(endpoint, noPatient ? '404 no patient found in PDS' : '404 not found', 404);
    this.failureType = noPatient ? FailureType.PatientNotFound : FailureType.NotFound;
  }
}

export class HeroRateLimitedError extends HeroApiError {
  readonly failureType = FailureType.RateLimited;
  readonly processed = 'no' as const;
  /** From `Retry-After`; undefined means "use the retry policy's backoff". */
  constructor(
    endpoint: HeroEndpoint,
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      endpoint,
      `429 rate limited${retryAfterMs === undefined ? ' (no Retry-After)' : `, retry after ${retryAfterMs} ms`}`,
      429,
    );
  }
}

export class HeroServerError extends HeroApiError {
  readonly failureType = FailureType.ServerError;
  readonly processed = 'maybe' as const;
  constructor(endpoint: HeroEndpoint, status: number) {
    super(endpoint, `${status} server error`, status);
  }
}

export class HeroUnexpectedStatusError extends HeroApiError {
  readonly failureType = FailureType.UnexpectedStatus;
  readonly processed = 'maybe' as const;
  constructor(endpoint: HeroEndpoint, status: number) {
    super(endpoint, `unexpected HTTP status ${status}`, status);
  }
}

/** Connection failures that happen before any byte of the request can have reached Hero. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class HeroNetworkError extends HeroApiError {
  readonly failureType = FailureType.Network;
  readonly processed: 'no' | 'maybe';
  constructor(endpoint: HeroEndpoint, cause: unknown) {
    const code = describeCause(cause);
    super(endpoint, `network error: ${code}`);
    this.processed = NOT_SENT.has(code) ? 'no' : 'maybe';
  }
}

export class HeroTimeoutError extends HeroApiError {
  readonly failureType = FailureType.Timeout;
  readonly processed = 'maybe' as const;
  constructor(
    endpoint: HeroEndpoint,
    readonly timeoutMs: number,
  ) {
    super(endpoint, `no response within ${timeoutMs} ms`);
  }
}

/** A 2xx whose body is not JSON or does not match the schema: typed here, not a crash later. */
export class HeroUnexpectedResponseError extends HeroApiError {
  readonly failureType = FailureType.UnexpectedResponse;
  readonly processed = 'yes' as const;
  constructor(
    endpoint: HeroEndpoint,
    status: number,
    readonly problem: string,
  ) {
    super(endpoint, `unexpected ${status} response body: ${problem}`, status);
  }
}

/**
 * A system error code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ...) only: fetch's own messages
 * can quote request headers, and so the API key.
 */
function describeCause(cause: unknown): string {
  const codeOf = (e: unknown) => (e as { code?: unknown } | undefined)?.code;
  const code = codeOf(cause) ?? codeOf((cause as { cause?: unknown } | undefined)?.cause);
  return typeof code === 'string' ? code : 'the request could not be sent';
}
