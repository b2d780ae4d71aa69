import { parseDuration } from '../../src/shared/duration';
import type { OutreachResult } from '../../src/workflows/schemas';

/**
 * What the reliability suite asks of the runs that wait for the booking, and how it tells the messages
 * apart in the sandbox's records: each send (the first message, each reminder) has its own text, so a
 * patient who holds two messages of one kind got that send twice.
 */

/** The first message's text (as test/support/fixtures.ts outreachRequest sends it). */
export const MESSAGE_TEXT = 'Book your appointment: {booking_link}';

/**
 * Short enough for the suite's wall time: reminders at 60 s and 120 s (the shortest `after` allowed is 60 s),
 * the window closing at 150 s (30 s after the last reminder; the suite books 5-80 s after the message), the
 * link re-checked every 20 s.
 */
export const AWAIT_BOOKING: { window: string; recheckEvery: string; reminders: { after: string; text: string }[] } = {
  window: '150 seconds',
  recheckEvery: '20 seconds',
  reminders: [
    { after: '60 seconds', text: 'Reminder: you can still book: {booking_link}' },
    { after: '120 seconds', text: 'Last reminder, book here: {booking_link}' },
  ],
};

/** An unanswered review ends the run `needs_review_expired` after this: the suite answers within seconds. */
export const REVIEW_DEADLINE = '5 minutes';

/**
 * How long after an uncertain send a run asks Hero's sent-messages list (`review.reconcileAfter`), for
 * every run of the suite: 60 s, so that a send uncertain a few times over still closes inside the suite's
 * wall time (the default, 2 minutes in src/workflows/review.ts RECONCILE_AFTER_MS, made the suite's last
 * runs up to 3 minutes later). Far longer than the worker's 2 s HTTP timeout and the sandbox's 3 s
 * 'timeout' fault, after which a request still lands.
 */
export const RECONCILE_AFTER = '60 seconds';
export const RECONCILE_AFTER_MS = parseDuration(RECONCILE_AFTER);

export type MessageKind = 'message' | 'reminder1' | 'reminder2';
export const MESSAGE_KINDS: readonly MessageKind[] = ['message', 'reminder1', 'reminder2'];

const prefix = (template: string) => template.slice(0, template.indexOf('{booking_link}'));
const PREFIXES: [MessageKind, string][] = [
  ['message', prefix(MESSAGE_TEXT)],
  ['reminder1', prefix(AWAIT_BOOKING.reminders[0]!.text)],
  ['reminder2', prefix(AWAIT_BOOKING.reminders[1]!.text)],
];

/** Which send a message in the sandbox is, from its text; undefined for a text the suite never sends. */
export function kindOfText(text: string): MessageKind | undefined {
  return PREFIXES.find(([, p]) => text.startsWith(p))?.[0];
}

/** The send a review is about: the first message, or the reminder after the `remindersSent` already sent. */
export function kindOfReview(step: string, remindersSent: number): MessageKind | undefined {
  if (step === 'send_message') return 'message';
  if (step === 'send_reminder')
    return remindersSent === 0 ? 'reminder1' : remindersSent === 1 ? 'reminder2' : undefined;
  return undefined;
}

/** When and how the suite's "patient" books through the link of the message they got. */
export interface BookingPlan {
  book: boolean;
  /** false: no webhook; only the run's re-check of the link's use count can see it. */
  notify: boolean;
  /** After the first message reached the sandbox. */
  bookAfterMs: number;
  cancel: boolean;
  /**
   * After the booking. A cancellation always fires its webhook: a run learns of one from the webhook only
   * (a link's use count does not go down), so a silent one would test nothing but that.
   */
  cancelAfterMs: number;
}

export type Kind = 'plain' | 'verification' | 'not_found';

export interface RunSpec {
  workflowId: string;
  kind: Kind;
  nhsNumber: string;
  dob: string;
  patientId?: string;
  startAt: number;
  /** Verification: how long after the login URL appears the "patient" verifies, and how we tell the run. */
  verifyAfterMs: number;
  useUpdate: boolean;
  /** The request carries AWAIT_BOOKING. */
  awaitBooking: boolean;
  booking: BookingPlan;
  /** Seeded draws for the run's reviews, in order: below the abandon share, the operator abandons. */
  reviewUnits: number[];
}

export interface RunRecord {
  spec: RunSpec;
  outcome: string;
  /** ms since epoch: the start was acknowledged, and the outcome known. */
  openedAt?: number;
  closedAt?: number;
  /** The run's result, when it completed. */
  result?: OutreachResult;
  failureType?: string;
  message?: string;
  verifiedBy?: string;
}
