import type { z } from 'zod';
import {
  createBookingLinkBodySchema,
  createWebhookBodySchema,
  listSentMessagesQuerySchema,
  listWebhooksQuerySchema,
  registerPdsBodySchema,
  sendMessageBodySchema,
  toHeroIssues,
  validationErrorBody,
} from './api-schemas';
import { type AppointmentStore, appointmentJson } from './appointments';
import { type BookingLinkStore, bookingLinkJson, linkActive } from './booking-links';
import { heroError, json, NOT_JSON, type Reply } from './http';
import { type MessageStore, messageJson, sentMessageJson, type StoredMessage } from './messages';
import type { PatientStore } from './patients';
import type { Route } from './routes';
import { type WebhookStore, webhookJson } from './webhooks';

export interface ApiContext {
  baseUrl: string;
  practiceGroupId: string;
  now: () => number;
  patients: PatientStore;
  links: BookingLinkStore;
  messages: MessageStore;
  appointments: AppointmentStore;
  webhooks: WebhookStore;
  /** false: `GET /v1/messages` answers 404, as a Hero without that (INFERRED) endpoint would. */
  sentMessagesList: boolean;
}

/** docs/hero-api.md §1: the guide's wording for the verification-required 200. */
export const VERIFY_MESSAGE = 'Patient must verify their identity before proceeding';

/** Normal handling of an authenticated, rate-limit-admitted /v1 request. */
export function handleApi(ctx: ApiContext, route: Route, body: unknown, query: URLSearchParams): Reply {
  switch (route.endpoint) {
    case 'register_pds':
      return registerPds(ctx, body);
    case 'create_booking_link':
      return createBookingLink(ctx, body);
    case 'get_booking_link': {
      const link = ctx.links.get(route.param ?? '');
      if (!link) return heroError(404, 'Booking link not found');
      return json(200, bookingLinkJson(link, ctx.baseUrl, ctx.practiceGroupId, ctx.now()));
    }
    case 'send_message':
      return sendMessage(ctx, body);
    case 'get_message': {
      const message = ctx.messages.get(route.param ?? '');
      if (!message) return heroError(404, 'Message not found');
      return json(200, messageJson(message, ctx.messages.read(message), messageLink(ctx, message)));
    }
    case 'list_sent_messages':
      return listSentMessages(ctx, query);
    case 'get_appointment': {
      const appointment = ctx.appointments.get(route.param ?? '');
      return appointment ? json(200, appointmentJson(appointment)) : heroError(404, 'Appointment not found');
    }
    case 'create_webhook': {
      const v = validate(createWebhookBodySchema, body);
      if (!v.ok) return v.reply;
      return json(200, webhookJson(ctx.webhooks.create(v.data, ctx.now(), ctx.practiceGroupId)));
    }
    case 'list_webhooks': {
      const q = validateQuery(listWebhooksQuerySchema, query);
      if (!q.ok) return q.reply;
      const data = ctx.webhooks.list(q.data.event_type, ctx.practiceGroupId).map(webhookJson);
      return json(200, { data, count: data.length });
    }
    default:
      return heroError(404, 'Not Found');
  }
}

function validate<S extends z.ZodType>(
  schema: S,
  body: unknown,
): { ok: true; data: z.output<S> } | { ok: false; reply: Reply } {
  if (body === NOT_JSON) {
    return {
      ok: false,
      reply: json(400, validationErrorBody([{ code: 'invalid_json', expected: 'a JSON object', path: [] }])),
    };
  }
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, reply: json(400, validationErrorBody(toHeroIssues(parsed.error.issues))) };
}

/** Query parameters are validated like bodies, with the same Hero 400 body (docs/hero-api.md §6.4). */
function validateQuery<S extends z.ZodType>(
  schema: S,
  query: URLSearchParams,
): { ok: true; data: z.output<S> } | { ok: false; reply: Reply } {
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, reply: json(400, validationErrorBody(toHeroIssues(parsed.error.issues))) };
}

function messageLink(ctx: ApiContext, m: StoredMessage) {
  const link = m.request.short_link_id === undefined ? undefined : ctx.links.get(m.request.short_link_id);
  return link && { id: link.id, active: linkActive(link, ctx.now()) };
}

/**
 * The sent-messages list (INFERRED, src/hero/inferred.ts): `{data, count}` of the `GET /v1/messages/{id}` shape,
 * oldest first. Listing reports each message's status without advancing its sequence (only reads by id do).
 */
function listSentMessages(ctx: ApiContext, query: URLSearchParams): Reply {
  if (!ctx.sentMessagesList) return heroError(404, 'Not Found');
  const q = validateQuery(listSentMessagesQuerySchema, query);
  if (!q.ok) return q.reply;
  const all = ctx.messages.byPatient(q.data.patient_id);
  const start = q.data.page_index * q.data.page_size;
  const data = all
    .slice(start, start + q.data.page_size)
    .map((m) => messageJson(m, ctx.messages.current(m), messageLink(ctx, m)));
  return json(200, { data, count: all.length });
}

function registerPds(ctx: ApiContext, body: unknown): Reply {
  const v = validate(registerPdsBodySchema, body);
  if (!v.ok) return v.reply;
  const patient = ctx.patients.byNhsNumber(v.data.nhs_number);
  // dob is "string or null" (docs/hero-api.md §1); null matches on the NHS number alone.
  if (!patient || (v.data.dob !== null && patient.dob !== v.data.dob)) return heroError(404, 'No patient found');
  if (patient.needsVerification && !patient.verified) {
    return json(200, { message: VERIFY_MESSAGE, login_url: `${ctx.baseUrl}/verify/${patient.verifyToken}` });
  }
  return json(200, { patient_id: patient.patientId });
}

function createBookingLink(ctx: ApiContext, body: unknown): Reply {
  const v = validate(createBookingLinkBodySchema, body);
  if (!v.ok) return v.reply;
  if (v.data.patient_id !== undefined && !ctx.patients.byPatientId(v.data.patient_id)) {
    return heroError(404, 'Patient not found');
  }
  const now = ctx.now();
  const link = ctx.links.create(v.data, now, ctx.practiceGroupId);
  return json(200, bookingLinkJson(link, ctx.baseUrl, ctx.practiceGroupId, now));
}

function sendMessage(ctx: ApiContext, body: unknown): Reply {
  const v = validate(sendMessageBodySchema, body);
  if (!v.ok) return v.reply;
  if (!ctx.patients.byPatientId(v.data.patient_id)) return heroError(404, 'Patient not found');
  // What short_link_id refers to is NOT DOCUMENTED (docs/hero-api.md §3.1). The sandbox insists on
  // the id of a booking link it issued, so a client passing anything else is caught in tests.
  if (v.data.short_link_id !== undefined && !ctx.links.get(v.data.short_link_id)) {
    return json(
      400,
      validationErrorBody([{ code: 'custom', expected: 'id of an existing link', path: ['short_link_id'] }]),
    );
  }
  return json(200, sentMessageJson(ctx.messages.create(v.data, ctx.now())));
}
