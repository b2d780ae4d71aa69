/** What the sandbox server (server.ts) and its webhook dispatcher (webhooks.ts) both need. */

/** The oldest records are dropped beyond this (by default), so a long-running sandbox stays small. */
export const DEFAULT_MAX_RECORDED = 10_000;

/**
 * Adds `r` to `log`, kept sorted by seq: work finishes out of order (delays, concurrent deliveries). Drops
 * the oldest beyond `max`; returns how many it dropped.
 */
export function recordBySeq<T extends { seq: number }>(log: T[], r: T, max = DEFAULT_MAX_RECORDED): number {
  let i = log.length;
  while (i > 0 && (log[i - 1] as T).seq > r.seq) i--;
  log.splice(i, 0, r);
  const over = log.length - max;
  if (over > 0) log.splice(0, over);
  return Math.max(0, over);
}

/** Waits `ms`. Meanwhile its wake-up is in `wakes`, for the owner's reset() and close() to cut the wait short. */
export function wakeableSleep(ms: number, wakes: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      wakes.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    wakes.add(wake);
  });
}
