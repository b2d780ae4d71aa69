/** What the sandbox server (server.ts) and its webhook dispatcher (webhooks.ts) both need. */

/** The oldest records are dropped beyond this, so a long-running sandbox stays small. */
const MAX_RECORDED = 10_000;

/**
 * Adds `r` to `log`, kept sorted by seq: work finishes out of order (delays, concurrent deliveries). Drops
 * the oldest beyond MAX_RECORDED.
 */
export function recordBySeq<T extends { seq: number }>(log: T[], r: T): void {
  let i = log.length;
  while (i > 0 && (log[i - 1] as T).seq > r.seq) i--;
  log.splice(i, 0, r);
  if (log.length > MAX_RECORDED) log.splice(0, log.length - MAX_RECORDED);
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
