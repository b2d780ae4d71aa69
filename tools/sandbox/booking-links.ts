import { createHash } from 'node:crypto';
import type { CreateBookingLinkBody } from './api-schemas';
import type { AppointmentSummary, BookingLinkSummary } from './types';
import { escapeHtml, page } from './verify-page';

/** Booking link ids are numeric strings counting up from here (deterministic). */
export const FIRST_BOOKING_LINK_ID = 5001;

export interface StoredLink {
  id: string;
  code: string;
  request: CreateBookingLinkBody;
  createdAt: number;
  openCount: number;
  numberOfUses: number;
  /** The practice group whose key made it. */
  practiceGroupId?: string;
}

export class BookingLinkStore {
  #links: StoredLink[] = [];
  #next = FIRST_BOOKING_LINK_ID;

  create(request: CreateBookingLinkBody, now: number, practiceGroupId?: string): StoredLink {
    const id = String(this.#next++);
    const code = createHash('sha256').update(`hero-sandbox-link:${id}`).digest('base64url').slice(0, 10);
    const link: StoredLink = { id, code, request, createdAt: now, openCount: 0, numberOfUses: 0, practiceGroupId };
    this.#links.push(link);
    return link;
  }

  get(id: string): StoredLink | undefined {
    return this.#links.find((l) => l.id === id);
  }

  /** A patient opened the short link: counts towards `open_count`. */
  open(code: string): StoredLink | undefined {
    const link = this.byCode(code);
    if (link) link.openCount += 1;
    return link;
  }

  byCode(code: string): StoredLink | undefined {
    return this.#links.find((l) => l.code === code);
  }

  /** A booking was made through the link: counts towards `number_of_uses`. */
  recordUse(link: StoredLink): void {
    link.numberOfUses += 1;
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
  const expiry = expiryOf(link);
  const maximumUses = r.maximum_use_count ?? null;
  return {
    id: link.id,
    practice_group_id: link.practiceGroupId ?? practiceGroupId,
    short_link: shortLinkUrl(baseUrl, link.code),
    active: linkActive(link, now),
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

function expiryOf(link: StoredLink): string | null {
  return link.request.expiry_date === undefined ? null : `${link.request.expiry_date}T23:59:59.999Z`;
}

/** Not expired and not used up: the link can still be booked through. */
export function linkActive(link: StoredLink, now: number): boolean {
  const expiry = expiryOf(link);
  const max = link.request.maximum_use_count;
  return !(expiry !== null && Date.parse(expiry) < now) && !(max !== undefined && link.numberOfUses >= max);
}

/**
 * The times the booking page offers: 09:00 and 14:30 UTC on the link's `from_date`, or tomorrow if that is
 * sooner. Deterministic for a clock, so a test can name the slot it books.
 */
export function offeredSlots(link: StoredLink, now: number): [string, string] {
  const tomorrow = new Date(now + 86_400_000).toISOString().slice(0, 10);
  const from = link.request.from_date;
  const day = from !== undefined && from > tomorrow ? from : tomorrow;
  return [`${day}T09:00:00.000Z`, `${day}T14:30:00.000Z`];
}

/**
 * What a patient sees at an active short link: the offered slots and a Book button. Hero asks a
 * patient-specific link's patient for their date of birth first; the sandbox skips that and shows no patient data.
 */
export function bookingFormPage(link: StoredLink, now: number): string {
  const slots = offeredSlots(link, now)
    .map(
      (slot, i) =>
        `<p><label><input type="radio" name="start_time" value="${escapeHtml(slot)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(slotLabel(slot))}</label></p>`,
    )
    .join('\n');
  return page(
    'Book an appointment (Hero sandbox)',
    `<p>Sandbox booking page for link ${escapeHtml(link.id)}. Choose a time:</p>
<form method="post" action="/s/${escapeHtml(link.code)}/book">
${slots}
<p><label><input type="checkbox" name="notify" value="false"> For developers: book without sending
<code>appointment.confirmed</code> (as if Hero's webhook were lost; the run can still see the booking in the
link's <code>number_of_uses</code>)</label></p>
<button type="submit">Book</button>
</form>`,
  );
}

export function bookedPage(appointment: AppointmentSummary, subscriptions: number | undefined): string {
  const webhook =
    subscriptions === undefined
      ? 'No webhook was sent, as asked: a waiting run finds the booking at its next re-check of the link.'
      : `<code>appointment.confirmed</code> goes to ${subscriptions} subscription(s); see
<a href="/__sandbox/webhook-deliveries">/__sandbox/webhook-deliveries</a>.`;
  return page(
    'Appointment booked',
    `<p>Appointment ${escapeHtml(appointment.id)} at ${escapeHtml(slotLabel(appointment.startTime))}.</p>
<p>${webhook}</p>`,
  );
}

/** 410: the link exists but has expired or been used `maximum_use_count` times. */
export function linkInactivePage(): string {
  return page('Link no longer active', '<p>This booking link has expired or has already been used.</p>');
}

export function linkNotFoundPage(): string {
  return page('Link not found', '<p>This booking link is not valid.</p>');
}

export function badBookingPage(): string {
  return page('Cannot book', '<p>Choose one of the offered times.</p>');
}

function slotLabel(iso: string): string {
  return new Date(iso).toUTCString().replace(':00 GMT', ' UTC');
}
