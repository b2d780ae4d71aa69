import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import {
  HeroApiError,
  type HeroEndpoint,
  HeroNetworkError,
  HeroRateLimitedError,
  HeroTimeoutError,
  HeroUnexpectedResponseError,
} from '../hero/errors';
import { METRICS } from './metric-names';

/**
 * The `status` label of a Hero call that ended with `err` (none: it succeeded), or undefined when no
 * request was made (our own input check refused it first). A closed set of words and HTTP statuses.
 */
export function heroCallStatus(err?: unknown): string | undefined {
  if (err === undefined) return 'ok';
  if (err instanceof HeroUnexpectedResponseError) return 'bad_response';
  if (err instanceof HeroTimeoutError) return 'timeout';
  if (err instanceof HeroNetworkError) return 'network_error';
  if (err instanceof HeroApiError) return err.status === undefined ? 'error' : String(err.status);
  if (err instanceof CancelledFailure || (err instanceof Error && err.name === 'AbortError')) return 'cancelled';
  return undefined;
}

/**
 * Counts one Hero call made by the current activity (src/activities/outreach.ts), by endpoint and
 * status, and a 429 once more on its own counter. Through the activity's metric meter, which tags it
 * with the namespace, task queue and activity type. Never throws: metrics must not fail a call.
 */
export function recordHeroCall(endpoint: HeroEndpoint, err?: unknown): void {
  const status = heroCallStatus(err);
  if (status === undefined) return;
  try {
    const meter = Context.current().metricMeter;
    meter.createCounter(METRICS.heroCalls, undefined, 'Hero API calls, by endpoint and status').add(1, {
      endpoint,
      status,
    });
    if (err instanceof HeroRateLimitedError) {
      meter
        .createCounter(METRICS.heroRateLimited, undefined, 'Hero API calls answered 429 (rate limited)')
        .add(1, { endpoint });
    }
  } catch {
    // Outside an activity (a unit test calling the body directly) there is no meter: nothing to count.
  }
}
