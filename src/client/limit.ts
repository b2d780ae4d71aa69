/** Start requests in flight at once by default: measured in BENCHMARKS.md (1,000 runs at 20 calls/s). */
export const DEFAULT_START_CONCURRENCY = 50;

/**
 * Runs at most `max` of the tasks given to it at once; the rest wait their turn in order. Used to
 * start a practice list of runs without flooding the Temporal frontend: thousands of concurrent
 * start requests queue ahead of the workers' own requests and delay every run's first step.
 * @throws {RangeError} `max` is not a whole number of at least 1.
 */
export function concurrencyLimit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, not ${max}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next in line, so no newcomer can slip past.
    if (active < max) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}
