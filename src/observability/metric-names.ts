/**
 * hero-flow's business metrics, recorded through the Temporal SDK's metric meter beside the SDK's own
 * (`temporal_*`) and served with them on the worker's Prometheus endpoint (HERO_METRICS_PORT). The
 * names are written as Prometheus shows them: the SDK adds no prefix or suffix to a custom metric.
 * docs/grafana-dashboard.json queries them; test/observability.test.ts checks every name it uses
 * against a real scrape.
 *
 * Labels carry closed sets of words only (outcome, action, step, endpoint, status), never patient
 * data, workflow IDs or Hero's ids. No imports: workflow code uses these names too.
 */
export const METRICS = {
  /** Counter; label `outcome`: the run's outcome (`completed`, `patient_not_found`, ...) or `failed`. */
  runs: 'hero_flow_runs_total',
  /**
   * Counter; labels `action` (`opened`, or how it closed: `resend`, `mark_sent`, `abandon`, `expired`)
   * and `step` (`send_message`, `send_reminder`).
   */
  reviews: 'hero_flow_reviews_total',
  /**
   * Counter; labels `endpoint` (`register_pds`, `send_message`, ...) and `status`: `2xx`, Hero's HTTP
   * status for any other answer, or `timeout`, `network_error`, `bad_response` (a 2xx body not as
   * documented), `cancelled`.
   */
  heroCalls: 'hero_flow_hero_calls_total',
  /** Counter; label `endpoint`: Hero calls answered 429 (retried after Retry-After). */
  heroRateLimited: 'hero_flow_hero_rate_limited_total',
  /** Histogram, seconds; label `outcome`: from the run's start to its outcome. */
  timeToOutcome: 'hero_flow_time_to_outcome_seconds',
  /** Histogram, seconds: from Hero first asking for identity verification to the trace that found the patient. */
  timeToVerification: 'hero_flow_time_to_verification_seconds',
} as const;

/**
 * Bucket bounds (seconds) of the two histograms: a run takes seconds when Hero answers at once, and up
 * to the 7-day verification timeout (or a booking window) when it waits; the SDK's default buckets
 * are milliseconds-sized. Passed to the Prometheus exporter (histogramBucketOverrides).
 */
export const DURATION_BUCKETS_SECONDS = [
  1,
  5,
  15,
  30,
  60,
  300,
  900,
  1800,
  3600,
  6 * 3600,
  12 * 3600,
  86400,
  2 * 86400,
  3 * 86400,
  7 * 86400,
  14 * 86400,
  30 * 86400,
];
