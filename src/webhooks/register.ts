import type { HeroClient } from '../hero/client';
import { type AppointmentEventType, appointmentEventTypeSchema } from '../hero/schemas';

/** The events hero-flow subscribes to (docs/hero-api.md §5): one subscription per event. */
export const APPOINTMENT_EVENTS: readonly AppointmentEventType[] = appointmentEventTypeSchema.options;

export interface WebhookRegistration {
  event: AppointmentEventType;
  /** Hero's id of the subscription. */
  id: string;
  /** Set when this call subscribed it. */
  created?: true;
  /** Set when a subscription for this event and URL was there already (nothing was changed). */
  existing?: true;
}

/** A receiver URL as Hero compares it: the WHATWG form, so `HTTP://Host:443/x` and `http://host:443/x` match. */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

/**
 * Subscribes `url` to the appointment events, signed with `signingKey`. Each event's subscriptions are
 * listed first (`GET /v1/webhooks`) and one for the same URL is kept as it is, so running it again
 * creates nothing. Hero's list does not tell which key an existing subscription signs with: after
 * changing the key, delete the old subscriptions in Hero first. `onResult` sees each event as it is done.
 */
export async function registerWebhooks(opts: {
  hero: HeroClient;
  url: string;
  signingKey: string;
  events?: readonly AppointmentEventType[];
  description?: string;
  onResult?: (registration: WebhookRegistration) => void;
}): Promise<WebhookRegistration[]> {
  const results: WebhookRegistration[] = [];
  for (const event of opts.events ?? APPOINTMENT_EVENTS) {
    const existing = (await opts.hero.listWebhooks(event)).find(
      (w) => w.eventType === event && sameUrl(w.url, opts.url),
    );
    const result: WebhookRegistration = existing
      ? { event, id: existing.id, existing: true }
      : {
          event,
          id: (
            await opts.hero.createWebhook({
              eventType: event,
              url: opts.url,
              signingKey: opts.signingKey,
              description: opts.description ?? 'hero-flow: appointment events for booking links',
            })
          ).id,
          created: true,
        };
    results.push(result);
    opts.onResult?.(result);
  }
  return results;
}
