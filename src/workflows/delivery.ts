import { isCancellation, sleep } from '@temporalio/workflow';
import { FAILED_DELIVERY_STATUSES, FINAL_DELIVERY_STATUSES } from '../hero/inferred';
import type { HeroActivities } from './activity-stubs';
import type { OutreachRun } from './run-state';

/**
 * When to read a sent message's delivery status, counted from the send: at once, then backing off.
 * Bounded (five reads over about 7 minutes): Hero reports delivery through no webhook
 * (docs/hero-api.md §3.2), and a status that is not final by then stays as last read.
 */
export const DELIVERY_READS_AFTER_MS = [0, 10_000, 30_000, 90_000, 300_000];

/**
 * Reads the delivery status of the message at `index` of the run's messages until Hero reports a final
 * one or the reads run out. Never throws: a status it cannot read is not a reason to fail the run, and a
 * cancelled run ends through its main path.
 */
export async function followDelivery(hero: HeroActivities, run: OutreachRun, index: number): Promise<void> {
  let waited = 0;
  for (const at of DELIVERY_READS_AFTER_MS) {
    try {
      if (at > waited) await sleep(at - waited);
      waited = at;
      const messageId = run.messages[index]?.messageId;
      if (messageId === undefined) return;
      const { status } = await hero.checkMessageStatus({ messageId });
      const normalised = status?.toLowerCase() ?? null;
      const final = normalised !== null && FINAL_DELIVERY_STATUSES.has(normalised);
      run.deliveryRead(index, {
        deliveryStatus: status,
        deliveryFinal: final,
        deliveryFailed: final && FAILED_DELIVERY_STATUSES.has(normalised),
      });
      if (final) return;
    } catch (err) {
      if (isCancellation(err)) return;
      // Unreadable this time (Hero down, unknown id): ask again at the next read.
    }
  }
}
