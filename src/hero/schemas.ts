import { z } from 'zod';
import { dobSchema, isoDateSchema } from './dob';
import { heroId } from './inferred';
import { nhsNumberSchema } from '../shared/nhs-number';

/**
 * Request schemas are strict: an unknown key is refused, never dropped, so a misspelt optional field
 * (`expiryDte`) cannot silently weaken a booking link. Response schemas stay open: Hero may add fields.
 */

/** The patient identity a trace needs (docs/hero-api.md §1, variant A). */
export const traceRequestSchema = z.strictObject({ nhsNumber: nhsNumberSchema, dob: dobSchema });
export type TraceRequest = z.infer<typeof traceRequestSchema>;

/** docs/hero-api.md §1: 200 is either `{patient_id}` or `{message, login_url}` (no patient_id). */
export const registerPdsResponseSchema = z.union([
  z.object({ patient_id: heroId }).transform((b) => ({ kind: 'patient' as const, patientId: b.patient_id })),
  z
    .object({ login_url: z.url(), message: z.string().optional() })
    .transform((b) => ({ kind: 'verification_required' as const, loginUrl: b.login_url, message: b.message })),
]);
export type TraceResult = z.infer<typeof registerPdsResponseSchema>;

/** A patient id as Hero returned it: numeric, not capped (a cap could only fail a run whose input was valid). */
const heroNumericId = z.string().regex(/^\d+$/, 'must be a numeric id string');
/** An id the caller supplies. Hero's ids are integers: 20 digits hold any 64-bit one. */
const NUMERIC_ID_MAX_LENGTH = 20;
const numericId = z
  .string()
  .max(NUMERIC_ID_MAX_LENGTH, { message: `must be at most ${NUMERIC_ID_MAX_LENGTH} characters`, abort: true })
  .regex(/^\d+$/, 'must be a numeric id string');

/** docs/hero-api.md §2.2 body fields (DOC); which are required is partly INFERRED. */
export const bookingLinkOptionsSchema = z.strictObject({
  appointmentTypeId: numericId,
  locationId: numericId,
  practitionerId: numericId.optional(),
  fromDate: isoDateSchema.optional(),
  toDate: isoDateSchema.optional(),
  expiryDate: isoDateSchema.optional(),
  maximumUseCount: z.number().int().positive().optional(),
});
export type BookingLinkOptions = z.infer<typeof bookingLinkOptionsSchema>;

export const createBookingLinkRequestSchema = bookingLinkOptionsSchema.extend({ patientId: heroNumericId });
export type CreateBookingLinkRequest = z.infer<typeof createBookingLinkRequestSchema>;

export const bookingLinkSchema = z.object({ id: z.string(), url: z.string() });
export type BookingLink = z.infer<typeof bookingLinkSchema>;

/** docs/hero-api.md §3.1: message_type enum (the newer spec adds nhs_app). */
export const messageTypeSchema = z.enum(['hero', 'sms', 'email', 'nhs_app']);
export type MessageType = z.infer<typeof messageTypeSchema>;

/**
 * `text` and `shortLinkId` carry no length cap here: the text is the caller's (capped at 2000
 * characters in the outreach request) with each placeholder replaced by Hero's own URL, and the id is
 * Hero's; a cap could only fail a run whose input was valid.
 */
export const sendMessageRequestSchema = z.strictObject({
  patientId: heroNumericId,
  messageType: messageTypeSchema,
  text: z.string().min(1, 'message text must not be empty'),
  shortLinkId: z.string().optional(),
});
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;

/** docs/hero-api.md §3.1: only `message_id` is common to both spec generations' samples. */
export const sendMessageResponseSchema = z
  .object({ message_id: heroId })
  .transform((b) => ({ messageId: b.message_id }));
export type SentMessage = z.infer<typeof sendMessageResponseSchema>;

/** docs/hero-api.md §6.4: the 400 validation body. */
export const validationErrorBodySchema = z.object({
  error: z.literal(true),
  statusCode: z.literal(400),
  message: z.array(
    z.object({ code: z.string(), expected: z.string().optional(), path: z.array(z.union([z.string(), z.number()])) }),
  ),
});
export type ValidationErrorBody = z.infer<typeof validationErrorBodySchema>;

/**
 * docs/hero-api.md §2.3: `GET /v1/booking_links/{id}`. `number_of_uses > 0` is how the run learns, without
 * a webhook, that the patient booked through the link (§8.4).
 */
export const bookingLinkStateResponseSchema = z
  .object({
    id: heroId,
    active: z.boolean().optional(),
    number_of_uses: z.number().int().nonnegative(),
    expiry_date: z.string().nullable().optional(),
  })
  .transform((b) => ({
    id: b.id,
    numberOfUses: b.number_of_uses,
    active: b.active ?? null,
    expiryDate: b.expiry_date ?? null,
  }));
export type BookingLinkState = z.infer<typeof bookingLinkStateResponseSchema>;

/** docs/hero-api.md §2.6: `GET /v1/appointments/{id}`; `link_id` ties the appointment to a booking link. */
export const appointmentResponseSchema = z
  .object({
    id: heroId,
    link_id: heroId.nullable().optional(),
    booking_confirmed_at: z.string().nullable().optional(),
    start_time: z.string().nullable().optional(),
  })
  .transform((b) => ({
    id: b.id,
    linkId: b.link_id ?? null,
    bookingConfirmedAt: b.booking_confirmed_at ?? null,
    startTime: b.start_time ?? null,
  }));
export type Appointment = z.infer<typeof appointmentResponseSchema>;

/**
 * docs/hero-api.md §3.2: `GET /v1/messages/{id}` carries a delivery `status` (the sample says "delivered");
 * the list of values is NOT DOCUMENTED, so any string is accepted and only known final ones end the
 * polling (src/hero/inferred.ts).
 */
export const messageStateResponseSchema = z
  .object({ id: heroId, status: z.string().max(64).nullable().optional() })
  .transform((b) => ({ id: b.id, status: b.status ?? null }));
export type MessageState = z.infer<typeof messageStateResponseSchema>;

/** docs/hero-api.md §5: the appointment events hero-flow subscribes to. */
export const appointmentEventTypeSchema = z.enum([
  'appointment.confirmed',
  'appointment.cancelled',
  'appointment.rescheduled',
]);
export type AppointmentEventType = z.infer<typeof appointmentEventTypeSchema>;

/** docs/hero-api.md §5: the body of `POST /v1/webhooks`, one event per subscription. */
export const createWebhookRequestSchema = z.strictObject({
  eventType: appointmentEventTypeSchema,
  url: z.url({ protocol: /^https?$/ }),
  signingKey: z.string().min(16, 'must be at least 16 characters'),
  description: z.string().max(200).optional(),
});
export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;

export const webhookSubscriptionSchema = z
  .object({ id: heroId, event_type: z.string(), url: z.string() })
  .transform((b) => ({ id: b.id, eventType: b.event_type, url: b.url }));
export type WebhookSubscription = z.infer<typeof webhookSubscriptionSchema>;
