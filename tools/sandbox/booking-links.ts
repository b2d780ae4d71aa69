import { createHash } from 'node:crypto';
import type { CreateBookingLinkBody } from './api-schemas';
import type { BookingLinkSummary } from './types';

/** Booking link ids are numeric strings counting up from here (deterministic). */
export const FIRST_BOOKING_LINK_ID = 5001;

interface StoredLink {
  id: string;
  code: string;
  request: CreateBookingLinkBody;
  createdAt: number;
  openCount: number;
  numberOfUses: number;
}

export class BookingLinkStore {
  #links: StoredLink[] = [];
  #next = FIRST_BOOKING_LINK_ID;

  create(request: CreateBookingLinkBody, now: number): StoredLink {
    const id = String(this.#next++);
    const code = createHash('sha256').update(`hero-sandbox-link:${id}`).digest('base64url').slice(0, 10);
    const link: StoredLink = { id, code, request, createdAt: now, openCount: 0, numberOfUses: 0 };
    this.#links.push(link);
    return link;
  }

  get(id: string): StoredLink | undefined {
    return this.#links.find((l) => l.id === id);
  }

  /** A patient opened the short link: counts towards `open_count`. */
  open(code: string): StoredLink | undefined {
    const link = this.#links.find((l) => l.code === code);
    if (link) link.openCount += 1;
    return link;
  }

  list(baseUrl: string): BookingLinkSummary[] {
    return this.#links.map((l) => ({
      id: l.id,
      ...(l.request.patient_id !== undefined && { patientId: l.request.patient_id }),
      url: shortLinkUrl(baseUrl, l.code),
      createdAt: l.createdAt,
    }));
  }

  reset(): void {
    this.#links = [];
    this.#next = FIRST_BOOKING_LINK_ID;
  }
}

export function shortLinkUrl(baseUrl: string, code: string): string {
  return `${baseUrl}/s/${code}`;
}

/**
 * docs/hero-api.md §2.3 fields (`GET /v1/booking_links/{id}`); the create response is NOT DOCUMENTED
 * and the sandbox returns the same shape. An expiry date means the end of that day (UTC).
 */
export function bookingLinkJson(link: StoredLink, baseUrl: string, practiceGroupId: string, now: number) {
  const r = link.request;
  const expiry = r.expiry_date === undefined ? null : `${r.expiry_date}T23:59:59.999Z`;
  const maximumUses = r.maximum_use_count ?? null;
  const expired = expiry !== null && Date.parse(expiry) < now;
  const usedUp = maximumUses !== null && link.numberOfUses >= maximumUses;
  return {
    id: link.id,
    practice_group_id: practiceGroupId,
    short_link: shortLinkUrl(baseUrl, link.code),
    active: !expired && !usedUp,
    expiry_date: expiry,
    maximum_uses: maximumUses,
    number_of_uses: link.numberOfUses,
    open_count: link.openCount,
    unlimited_use: maximumUses === null,
    meta: {
      appointment_type_id: [r.appointment_type_id],
      location_id: [r.location_id],
      practitioner_id: r.practitioner_id === undefined ? [] : [r.practitioner_id],
      patient_id: r.patient_id ?? null,
      from_date: r.from_date ?? null,
      to_date: r.to_date ?? null,
    },
  };
}

/** What a patient sees at a short link: a placeholder, since booking itself is not simulated. */
export function bookingPage(link: { id: string } | undefined): string {
  const [title, text] = link
    ? ['Book an appointment (Hero sandbox)', `<p>Sandbox booking page for link ${link.id}.</p>`]
    : ['Link not found', '<p>This booking link is not valid.</p>'];
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n<h1>${title}</h1>\n${text}\n</body>\n</html>\n`;
}
