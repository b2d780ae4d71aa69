import { ConfigError } from '../shared/errors';
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

/** Hosts that reach only this machine: a local sandbox's subscription may use plain http there. */
function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * Refuses a receiver URL that Hero would reach in clear: `http://` off loopback. The receiver speaks plain
 * HTTP and belongs behind TLS; an http URL means deliveries (appointment ids, and a signature an eavesdropper
 * could replay within the tolerance) cross the internet unencrypted, so it is refused rather than warned
 * about: a warning scrolls past, a subscription stays. Loopback is allowed for a local sandbox.
 */
export function checkWebhookUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new ConfigError(['url: must be an https URL, e.g. https://hooks.example.com/hero/webhooks'], 'webhook URL');
  }
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname)) {
    throw new ConfigError(
      [
        'url: must be https:// (put TLS in front of the receiver), e.g. https://hooks.example.com/hero/webhooks; ' +
          'http:// is accepted only on loopback (localhost, 127.0.0.1, ::1), for a local sandbox',
      ],
      'webhook URL',
    );
  }
}

/**
 * Subscribes `url` to the appointment events, signed with `signingKey`. Each event's subscriptions are
 * listed first (`GET /v1/webhooks`) and one for the same URL is kept as it is, so running it again
 * creates nothing. Hero's list does not tell which key an existing subscription signs with: after
 * changing the key, delete the old subscriptions in Hero first. `onResult` sees each event as it is done.
 * An `http://` URL off loopback is refused before Hero is asked (checkWebhookUrl).
 */
export async function registerWebhooks(opts: {
  hero: HeroClient;
  url: string;
  signingKey: string;
  events?: readonly AppointmentEventType[];
  description?: string;
  onResult?: (registration: WebhookRegistration) => void;
}): Promise<WebhookRegistration[]> {
  checkWebhookUrl(opts.url);
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
