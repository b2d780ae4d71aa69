import type { z } from 'zod';
import {
  createBookingLinkBodySchema,
  registerPdsBodySchema,
  sendMessageBodySchema,
  toHeroIssues,
  validationErrorBody,
} from './api-schemas';
import { type BookingLinkStore, bookingLinkJson } from './booking-links';
import { heroError, json, NOT_JSON, type Reply } from './http';
import { type MessageStore, messageJson, sentMessageJson } from './messages';
import type { PatientStore } from './patients';
import type { Route } from './routes';

export interface ApiContext {
  baseUrl: string;
  practiceGroupId: string;
  now: () => number;
  patients: PatientStore;
  links: BookingLinkStore;
  messages: MessageStore;
}

/** docs/hero-api.md §1: the guide's wording for the verification-required 200. */
export const VERIFY_MESSAGE = 'Patient must verify their identity before proceeding';

/** Normal handling of an authenticated, rate-limit-admitted /v1 request. */
export function handleApi(ctx: ApiContext, route: Route, body: unknown): Reply {
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
      return message ? json(200, messageJson(message)) : heroError(404, 'Message not found');
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
  const link = ctx.links.create(v.data, now);
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
