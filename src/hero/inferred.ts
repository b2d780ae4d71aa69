import { z } from 'zod';

/**
 * Every Hero API fact tagged INFERRED or NOT DOCUMENTED in docs/hero-api.md that
 * this code depends on lives here, so a correction is a one-file change.
 */

/** docs/hero-api.md §2.2: CreateBookingLink's method and path are INFERRED from its sibling operations. */
export const CREATE_BOOKING_LINK_PATH = '/v1/booking_links';

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

/** docs/hero-api.md §6.4 documents only the 400 body; other error bodies are read as text at most. */
export { heroId };
