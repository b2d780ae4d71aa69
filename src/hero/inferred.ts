import { z } from 'zod';

/**
 * Every Hero API fact tagged INFERRED or NOT DOCUMENTED in docs/hero-api.md that
 * this code depends on lives here, so a correction is a one-file change.
 */

/** docs/hero-api.md §2.2: CreateBookingLink's method and path are INFERRED from its sibling operations. */
export const CREATE_BOOKING_LINK_PATH = '/v1/booking_links';

/**
 * docs/hero-api.md §6.3: Hero sets rate limits per partner agreement and publishes neither numbers nor
 * their scope. INFERRED: one limit covers all of a partner's keys, whatever the practice group, so a
 * worker spends one budget (HERO_RATE_LIMIT_PER_SECOND, on the task queue) across every group it serves,
 * shared between groups by Temporal's fairness (docs/priority.md). Were it per key, each group could
 * be given its own budget instead.
 */
export const HERO_RATE_LIMIT_SCOPE: 'partner' | 'key' = 'partner';

/** Hero ids are documented as numeric strings; tolerate JSON numbers too. */
const heroId = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);

/**
 * docs/hero-api.md §2.2: the CreateBookingLink response is NOT DOCUMENTED. We expect the fields of
 * `GET /v1/booking_links/{id}` (§2.3): `id` and `short_link`; `url` is accepted as a fallback name.
 */
export const createBookingLinkResponseSchema = z
  .object({ id: heroId, short_link: z.url().optional(), url: z.url().optional() })
  .refine((b) => b.short_link !== undefined || b.url !== undefined, {
    message: 'expected short_link (or url) in the booking link response',
    path: ['short_link'],
  })
  .transform((b) => ({ id: b.id, url: (b.short_link ?? b.url) as string }));

/**
 * docs/hero-api.md §3.1: what `short_link_id` expects is NOT DOCUMENTED; we pass the booking link's `id`,
 * and put the URL into the message text ourselves since Hero is not documented to add it.
 */
export const SHORT_LINK_ID_FROM = 'booking_link.id' as const;

/**
 * docs/hero-api.md §3.2: delivery `status` values are NOT DOCUMENTED beyond the sample "delivered". These are
 * the final values that mean the message did not reach the patient.
 */
export const FAILED_DELIVERY_STATUSES: ReadonlySet<string> = new Set([
  'failed',
  'undelivered',
  'rejected',
  'bounced',
  'expired',
  'cancelled',
]);
/**
 * The values taken as final (INFERRED, as above): these and the failed ones. Any other value (or none) means
 * "not final yet", and the run asks again.
 */
export const FINAL_DELIVERY_STATUSES: ReadonlySet<string> = new Set([
  'delivered',
  'read',
  'seen',
  ...FAILED_DELIVERY_STATUSES,
]);

/**
 * docs/hero-api.md §3.2: "List Sent Messages" exists, but its path, filters and fields are NOT DOCUMENTED.
 * We ask `GET /v1/messages?patient_id=…` (the list convention of §6.5: `{data, count}`, `page_index`,
 * `page_size`) and read each message's `short_link.id` (the shape of `GET /v1/messages/{id}`, §8.1). A 404,
 * or any other shape, means "cannot tell" and never "not sent".
 */
export const LIST_SENT_MESSAGES_PATH = '/v1/messages';
export const LIST_SENT_MESSAGES_PAGE_SIZE = 100;
/** At most this many pages are read; a patient with more messages than that is "cannot tell". */
export const LIST_SENT_MESSAGES_MAX_PAGES = 10;
export const sentMessagesPageSchema = z.object({
  data: z.array(
    z.object({
      id: heroId,
      short_link: z.object({ id: heroId }).nullable().optional(),
    }),
  ),
  count: z.number().int().nonnegative(),
});

/**
 * docs/hero-api.md §5: the response of `GET /v1/webhooks?event_type=…` is NOT DOCUMENTED; `{data, count}` (the
 * list convention) is expected, and a bare array accepted.
 */
export const webhookListShape = <T extends z.ZodType>(item: T) =>
  z.union([z.object({ data: z.array(item) }).transform((b) => b.data), z.array(item)]);

/** docs/hero-api.md §6.4 documents only the 400 body; other error bodies are read as text at most. */
export { heroId };

/**
 * docs/hero-api.md §5 and §6.6: Hero documents no delivery id, no idempotency key, and nothing about retries or
 * duplicates. A payload is thin (`{object, id, practice_group_id, event}`), so a second event of the same kind
 * about the same appointment (the patient moves it again) has the very same body as the first. What tells one
 * delivery from another is then what Hero signs: the `X-Herohealth-Timestamp` header ("when the request was
 * sent") and the body, byte for byte. A redelivery of the same request is taken to repeat both; one that Hero
 * signs anew, with a new timestamp, is processed again, which is harmless: the booking-event workflow reads the
 * appointment's current state. Should Hero document a delivery id, it belongs here.
 */
export function heroDeliveryIdentity(delivery: { timestamp: string; body: Uint8Array }): (string | Uint8Array)[] {
  return [delivery.timestamp, '.', delivery.body];
}
