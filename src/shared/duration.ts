import { type Duration, msToNumber as sdkMsToNumber } from '@temporalio/common';

/**
 * Milliseconds in a Temporal `Duration`: a number of milliseconds, or an `ms`-style string ('90s',
 * '2 minutes', '1.5h'). It is the SDK's own reading (`msToNumber`, a top-level export of
 * @temporalio/common, marked there as meant for internal use), so a duration we check or compare is
 * read exactly as the SDK reads the same value when we hand it over (a worker's `shutdownGraceTime`, a
 * workflow's timers). The alternative, the `ms` package the SDK parses with, is not a dependency of
 * ours. The one place the package reads a Duration; safe in workflow code.
 *
 * @throws TypeError when `value` is a string that is not a duration.
 */
export function msToNumber(value: Duration): number {
  return sdkMsToNumber(value);
}
