import type { z } from 'zod';
import { HERO_ID, VISIBLE_ASCII } from '../shared/patterns';
import { describeProblems } from '../shared/problems';
import type { HeroConfig } from './config';
import {
  type HeroEndpoint,
  HeroForbiddenError,
  HeroInvalidRequestError,
  HeroNetworkError,
  HeroNotFoundError,
  HeroRateLimitedError,
  HeroServerError,
  HeroTimeoutError,
  HeroUnauthorizedError,
  HeroUnexpectedResponseError,
  HeroUnexpectedStatusError,
} from './errors';
import {
  CREATE_BOOKING_LINK_PATH,
  createBookingLinkResponseSchema,
  LIST_SENT_MESSAGES_MAX_PAGES,
  LIST_SENT_MESSAGES_PAGE_SIZE,
  LIST_SENT_MESSAGES_PATH,
  sentMessagesPageSchema,
  webhookListShape,
} from './inferred';
import { parseRetryAfter } from './retry-after';
import {
  type Appointment,
  appointmentResponseSchema,
  type AppointmentEventType,
  appointmentEventTypeSchema,
  type BookingLink,
  type BookingLinkState,
  bookingLinkStateResponseSchema,
  type CreateWebhookRequest,
  createWebhookRequestSchema,
  type MessageState,
  messageStateResponseSchema,
  type WebhookSubscription,
  webhookSubscriptionSchema,
  type CreateBookingLinkRequest,
  createBookingLinkRequestSchema,
  registerPdsResponseSchema,
  type SendMessageRequest,
  sendMessageRequestSchema,
  sendMessageResponseSchema,
  type SentMessage,
  type TraceRequest,
  traceRequestSchema,
  type TraceResult,
  validationErrorBodySchema,
} from './schemas';

function pathId(id: string, what: string): string {
  if (!HERO_ID.test(id)) throw new TypeError(`${what} must be 1 to 64 letters, digits, '-' or '_'`);
  return encodeURIComponent(id);
}

/** What the list of a patient's sent messages tells about a booking link (docs/hero-api.md §3.2, INFERRED). */
export type SentWithLink = { known: true; count: number; messageIds: string[] } | { known: false; why: string };

export interface CallOptions {
  /**
   * Aborts the request, e.g. when the Temporal activity is cancelled; the call then rejects with the
   * signal's reason. Independent of the client's `timeoutMs`, which applies either way.
   * @default undefined (only the timeout ends the request)
   */
  signal?: AbortSignal;
}

/**
 * Hero Health partner API over HTTP. Validates inputs before any request and every response
 * body after; turns each status of Hero's table into a typed error. Knows nothing of Temporal.
 *
 * What every call throws (each method's `@throws` names its own input check):
 * - a {@link HeroApiError} subclass (src/hero/errors.ts) when Hero answers with a failure status or
 *   a 2xx body that does not match its schema (`HeroUnexpectedResponseError`), gives no answer within
 *   `timeoutMs` (`HeroTimeoutError`), or cannot be reached (`HeroNetworkError`). Its `failureType`
 *   says which, its `processed` whether Hero may have acted on the request;
 * - `opts.signal`'s reason, when the caller aborts the call.
 * Redirects are never followed: a 3xx is a `HeroUnexpectedStatusError`.
 */
export class HeroClient {
  readonly #apiKey: string;
  readonly baseUrl: string;
  readonly practiceGroupId: string;
  readonly timeoutMs: number;

  /**
   * Makes no request: the configuration is checked when a call is made (a wrong key is a 401 then).
   * @throws TypeError when `apiKey` or `practiceGroupId` is not printable ASCII without spaces (it
   *   could not be sent as an HTTP header).
   */
  constructor(config: HeroConfig) {
    if (!VISIBLE_ASCII.test(config.apiKey) || !VISIBLE_ASCII.test(config.practiceGroupId)) {
      throw new TypeError('Hero API key and practice group id must be printable ASCII without spaces or line breaks');
    }
    this.#apiKey = config.apiKey;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.practiceGroupId = config.practiceGroupId;
    this.timeoutMs = config.timeoutMs;
  }

  /**
   * POST /v1/patients/register_pds: a patient id, or a login URL when identity must be verified.
   * @throws ZodError when `input` is invalid, before any request.
   * @throws HeroNotFoundError (failure type `HeroPatientNotFound`) when PDS has no such patient.
   */
  async registerPds(input: TraceRequest, opts: CallOptions = {}): Promise<TraceResult> {
    const req = traceRequestSchema.parse(input);
    return this.#call(
      'register_pds',
      '/v1/patients/register_pds',
      { nhs_number: req.nhsNumber, dob: req.dob },
      registerPdsResponseSchema,
      opts,
    );
  }

  /**
   * CreateBookingLink (path INFERRED, see inferred.ts) for one patient. Not idempotent: a retry may
   * make a second link.
   * @throws ZodError when `input` is invalid, before any request.
   */
  async createBookingLink(input: CreateBookingLinkRequest, opts: CallOptions = {}): Promise<BookingLink> {
    const req = createBookingLinkRequestSchema.parse(input);
    const body = {
      appointment_type_id: req.appointmentTypeId,
      location_id: req.locationId,
      patient_id: req.patientId,
      practitioner_id: req.practitionerId,
      from_date: req.fromDate,
      to_date: req.toDate,
      expiry_date: req.expiryDate,
      maximum_use_count: req.maximumUseCount,
    };
    return this.#call('create_booking_link', CREATE_BOOKING_LINK_PATH, body, createBookingLinkResponseSchema, opts);
  }

  /**
   * POST /v1/messages/send. Not idempotent: a retry after an error whose `processed` is not `'no'` may
   * send the message twice.
   * @throws ZodError when `input` is invalid, before any request.
   */
  async sendMessage(input: SendMessageRequest, opts: CallOptions = {}): Promise<SentMessage> {
    const req = sendMessageRequestSchema.parse(input);
    const body = {
      patient_id: req.patientId,
      message_type: req.messageType,
      message_string: req.text,
      short_link_id: req.shortLinkId,
    };
    return this.#call('send_message', '/v1/messages/send', body, sendMessageResponseSchema, opts);
  }

  /**
   * GET /v1/booking_links/{id}: how often the link was used (docs/hero-api.md §2.3).
   * @throws TypeError when `id` is not 1 to 64 letters, digits, '-' or '_', before any request.
   */
  async getBookingLink(id: string, opts: CallOptions = {}): Promise<BookingLinkState> {
    const path = `/v1/booking_links/${pathId(id, 'booking link id')}`;
    return this.#call('get_booking_link', path, undefined, bookingLinkStateResponseSchema, opts);
  }

  /**
   * GET /v1/appointments/{id}: the link it was booked through and when (docs/hero-api.md §2.6).
   * @throws TypeError when `id` is not 1 to 64 letters, digits, '-' or '_', before any request.
   */
  async getAppointment(id: string, opts: CallOptions = {}): Promise<Appointment> {
    const path = `/v1/appointments/${pathId(id, 'appointment id')}`;
    return this.#call('get_appointment', path, undefined, appointmentResponseSchema, opts);
  }

  /**
   * GET /v1/messages/{id}: the delivery status (docs/hero-api.md §3.2).
   * @throws TypeError when `id` is not 1 to 64 letters, digits, '-' or '_', before any request.
   */
  async getMessage(id: string, opts: CallOptions = {}): Promise<MessageState> {
    const path = `/v1/messages/${pathId(id, 'message id')}`;
    return this.#call('get_message', path, undefined, messageStateResponseSchema, opts);
  }

  /**
   * The patient's sent messages that carry `bookingLinkId` (the endpoint is INFERRED, src/hero/inferred.ts).
   * A 404, a shape we do not know, or more pages than we read give `{ known: false }`: never "not sent".
   * @throws TypeError when `patientId` is not 1 to 64 letters, digits, '-' or '_', before any request.
   */
  async sentMessagesWithLink(patientId: string, bookingLinkId: string, opts: CallOptions = {}): Promise<SentWithLink> {
    pathId(patientId, 'patient id');
    const messageIds: string[] = [];
    for (let page = 0; page < LIST_SENT_MESSAGES_MAX_PAGES; page++) {
      const query = new URLSearchParams({
        patient_id: patientId,
        page_index: String(page),
        page_size: String(LIST_SENT_MESSAGES_PAGE_SIZE),
      });
      let body: z.output<typeof sentMessagesPageSchema>;
      try {
        body = await this.#call(
          'list_sent_messages',
          `${LIST_SENT_MESSAGES_PATH}?${query}`,
          undefined,
          sentMessagesPageSchema,
          opts,
        );
      } catch (err) {
        if (err instanceof HeroNotFoundError) return { known: false, why: 'the list endpoint answered 404' };
        if (err instanceof HeroUnexpectedResponseError) return { known: false, why: 'the list has an unknown shape' };
        throw err;
      }
      for (const m of body.data) if (m.short_link?.id === bookingLinkId) messageIds.push(m.id);
      const seen = page * LIST_SENT_MESSAGES_PAGE_SIZE + body.data.length;
      if (body.data.length < LIST_SENT_MESSAGES_PAGE_SIZE || seen >= body.count) {
        return { known: true, count: messageIds.length, messageIds };
      }
    }
    return { known: false, why: `the patient has more than ${LIST_SENT_MESSAGES_MAX_PAGES} pages of messages` };
  }

  /**
   * GET /v1/webhooks?event_type=…: the practice group's subscriptions to one event (docs/hero-api.md §5).
   * @throws ZodError when `eventType` is not an appointment event, before any request.
   */
  async listWebhooks(eventType: AppointmentEventType, opts: CallOptions = {}): Promise<WebhookSubscription[]> {
    const query = new URLSearchParams({ event_type: appointmentEventTypeSchema.parse(eventType) });
    return this.#call(
      'list_webhooks',
      `/v1/webhooks?${query}`,
      undefined,
      webhookListShape(webhookSubscriptionSchema),
      opts,
    );
  }

  /**
   * POST /v1/webhooks: subscribes `url` to one event, signed with `signingKey` (docs/hero-api.md §5).
   * @throws ZodError when `input` is invalid, before any request.
   */
  async createWebhook(input: CreateWebhookRequest, opts: CallOptions = {}): Promise<WebhookSubscription> {
    const req = createWebhookRequestSchema.parse(input);
    const body = {
      event_type: req.eventType,
      url: req.url,
      signing_key: req.signingKey,
      description: req.description,
    };
    return this.#call('create_webhook', '/v1/webhooks', body, webhookSubscriptionSchema, opts);
  }

  async #call<S extends z.ZodType>(
    endpoint: HeroEndpoint,
    path: string,
    body: unknown,
    schema: S,
    opts: CallOptions,
  ): Promise<z.output<S>> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      // A body means POST; reads (GET) have none.
      const res = await fetch(this.baseUrl + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          accept: 'application/json',
          'x-api-key': this.#apiKey,
          'x-practice-group-id': this.practiceGroupId,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        // Never follow a redirect: it would re-send the API key to wherever it points.
        redirect: 'manual',
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      if (timeout.aborted) throw new HeroTimeoutError(endpoint, this.timeoutMs);
      throw new HeroNetworkError(endpoint, err);
    }

    if (status >= 200 && status < 300) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new HeroUnexpectedResponseError(endpoint, status, 'not JSON');
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const problems = describeProblems(parsed.error, '(body)', schema).join('; ');
        throw new HeroUnexpectedResponseError(endpoint, status, problems);
      }
      return parsed.data;
    }
    switch (status) {
      case 400:
        throw new HeroInvalidRequestError(endpoint, validationIssues(text));
      case 401:
        throw new HeroUnauthorizedError(endpoint);
      case 403:
        throw new HeroForbiddenError(endpoint);
      case 404:
        throw new HeroNotFoundError(endpoint);
      case 429:
        throw new HeroRateLimitedError(endpoint, parseRetryAfter(retryAfter));
    }
    // 3xx lands here too (redirects are not followed).
    if (status >= 500) throw new HeroServerError(endpoint, status);
    throw new HeroUnexpectedStatusError(endpoint, status);
  }
}

/** A code is a short identifier; a path element a field name or an index. Anything else may be a value. */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_ISSUES = 20;

/**
 * Field paths and codes from a 400 body (docs/hero-api.md, "Errors"); never values. Hero may echo
 * what it was sent, anywhere in the body, so the message and `expected` texts are dropped, and a code
 * or path element that is not shaped like an identifier is replaced by "?".
 */
function validationIssues(text: string) {
  try {
    const parsed = validationErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      return parsed.data.message.slice(0, MAX_ISSUES).map((m) => ({
        path: m.path.map((k) => (typeof k === 'number' || SAFE_KEY.test(k) ? String(k) : '?')).join('.'),
        code: SAFE_CODE.test(m.code) ? m.code : '?',
      }));
    }
  } catch {
    // A 400 without the documented body is still a 400.
  }
  return [];
}
