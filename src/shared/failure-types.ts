/**
 * `ApplicationFailure.type` values. Each Hero error class carries its own (`HeroApiError.failureType`
 * in src/hero/errors.ts), so this is the only list of them. Retry policies, callers and recorded
 * histories match on these strings, so they never change once released.
 */
export const FailureType = {
  InvalidRequest: 'HeroInvalidRequest',
  Unauthorized: 'HeroUnauthorized',
  Forbidden: 'HeroForbidden',
  PatientNotFound: 'HeroPatientNotFound',
  NotFound: 'HeroNotFound',
  RateLimited: 'HeroRateLimited',
  ServerError: 'HeroServerError',
  Network: 'HeroNetworkError',
  Timeout: 'HeroTimeout',
  UnexpectedResponse: 'HeroUnexpectedResponse',
  UnexpectedStatus: 'HeroUnexpectedStatus',
  /** A non-idempotent call (booking link, message) failed in a way Hero may have acted on anyway. */
  OutcomeUncertain: 'HeroOutcomeUncertain',
  /** Workflow-level: Hero rejected our credentials or practice; an operator must fix configuration. */
  Configuration: 'HeroConfiguration',
  InvalidWorkflowInput: 'InvalidWorkflowInput',
  /** Workflow-level: the input or update arrived without the payload codec while the worker has keys. */
  UnencryptedPayload: 'HeroUnencryptedPayload',
  /**
   * Activity-level: the run's campaign is paused or cancelled (or paused itself on refused credentials),
   * so no Hero call was made. Retried, with a growing delay, until the campaign resumes.
   */
  CampaignPaused: 'HeroCampaignPaused',
  /**
   * Activity-level, never retried: a reminder was not sent because its booking link had been used by the
   * time of the send (the patient booked). The run takes it as booked.
   */
  LinkUsed: 'HeroBookingLinkUsed',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/**
 * The Hero failures no retry can fix. The one statement of which Hero calls are worth repeating: the
 * workflow's retry policies give it as `nonRetryableErrorTypes` (src/workflows/activity-stubs.ts), so
 * every other Hero failure is retried, and `HeroApiError.transient` is read from it.
 */
export const NON_RETRYABLE: FailureTypeName[] = [
  FailureType.InvalidRequest,
  FailureType.Unauthorized,
  FailureType.Forbidden,
  FailureType.PatientNotFound,
  FailureType.NotFound,
  FailureType.UnexpectedStatus,
];
