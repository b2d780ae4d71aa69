import { z } from 'zod';
import { isIsoCalendarDate } from '../../src/hero/dob';
import { isValidNhsNumber } from '../../src/shared/nhs-number';

/**
 * Request bodies as the sandbox validates them. Documented fields follow docs/hero-api.md §1, §2.2
 * and §3.1; which booking link fields are required is INFERRED there, and the sandbox is
 * deliberately strict so client bugs show up here rather than against staging.
 */

const numericId = z.string().regex(/^\d+$/, 'numeric id string');
const isoDate = z.string().refine(isIsoCalendarDate, { message: 'date', params: { expected: 'ISO date YYYY-MM-DD' } });

export const registerPdsBodySchema = z.object({
  // Hero's own examples write NHS numbers with spaces ("123 456 7891"); nothing else is stripped.
  nhs_number: z
    .string()
    .transform((s) => s.replace(/ /g, ''))
    .pipe(
      z
        .string()
        .regex(/^\d{10}$/, { message: '10 digits', abort: true })
        .refine(isValidNhsNumber, { message: 'check digit', params: { expected: 'valid NHS number' } }),
    ),
  dob: isoDate.nullable(),
  ehr_partner: z.string().min(1).optional(),
  ehr_partner_id: z.string().min(1).optional(),
});

export const createBookingLinkBodySchema = z.object({
  appointment_type_id: numericId,
  location_id: numericId,
  patient_id: numericId.optional(),
  practitioner_id: numericId.optional(),
  from_date: isoDate.optional(),
  to_date: isoDate.optional(),
  expiry_date: isoDate.optional(),
  maximum_use_count: z.number().int().min(1).optional(),
});
export type CreateBookingLinkBody = z.infer<typeof createBookingLinkBodySchema>;

export const sendMessageBodySchema = z.object({
  patient_id: numericId,
  message_type: z.enum(['hero', 'sms', 'email', 'nhs_app']),
  message_string: z.string().min(1),
  recipient_contact_detail: z.string().optional(),
  fallback_contact_detail: z.string().optional(),
  fallback_message_type: z.enum(['sms', 'email']).optional(),
  write_to_record: z.boolean().optional(),
  auto_write_to_record: z.boolean().optional(),
  snomed_code: z.string().optional(),
  snomed_term: z.string().optional(),
  encrypted: z.union([z.boolean(), z.string()]).optional(),
  task_id: z.string().optional(),
  attachment_uuid: z.string().optional(),
  short_link_id: z.string().optional(),
  assignee_id: z.number().optional(),
  assignee_type: z.enum(['Admin', 'AdminTeam']).optional(),
  send_at: z.iso.datetime({ offset: true }).optional(),
});
export type SendMessageBody = z.infer<typeof sendMessageBodySchema>;

/** One entry of docs/hero-api.md §6.4's `message[]`: all three fields present. */
export interface HeroValidationIssue {
  code: string;
  expected: string;
  path: (string | number)[];
}

export function toHeroIssues(issues: readonly z.core.$ZodIssue[]): HeroValidationIssue[] {
  return issues.map((i) => ({ code: i.code, expected: expectedOf(i), path: i.path.map(pathKey) }));
}

export function validationErrorBody(issues: HeroValidationIssue[]) {
  return { error: true as const, statusCode: 400 as const, message: issues };
}

function pathKey(k: PropertyKey): string | number {
  return typeof k === 'number' ? k : String(k);
}

function expectedOf(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case 'invalid_type':
      return i.expected;
    case 'invalid_value':
      return i.values.map(String).join(' | ');
    case 'too_small':
      return `${i.origin} ${i.inclusive === false ? '>' : '>='} ${String(i.minimum)}`;
    case 'too_big':
      return `${i.origin} ${i.inclusive === false ? '<' : '<='} ${String(i.maximum)}`;
    case 'custom': {
      const expected = (i.params as { expected?: unknown } | undefined)?.expected;
      return typeof expected === 'string' ? expected : i.message;
    }
    default:
      // Messages above are written as the expected value ('10 digits', 'numeric id string').
      return i.message;
  }
}

/** A query-string number: digits only, then a range. */
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * `GET /v1/messages?…` (INFERRED, src/hero/inferred.ts): the list convention's `page_index` (zero-based) and
 * `page_size`, filtered by `patient_id`. Other parameters (`order_by`, …) are ignored.
 */
export const listSentMessagesQuerySchema = z.object({
  patient_id: numericId.optional(),
  page_index: queryInt(0, 1_000_000).default(0),
  page_size: queryInt(1, 100).default(20),
});

/** Hero's documented `event_type` enum for `POST /v1/webhooks` (docs/hero-api.md §5 names the appointment ones). */
export const WEBHOOK_EVENT_TYPES = [
  'appointment.confirmed',
  'appointment.cancelled',
  'appointment.rescheduled',
  'prescription.issued',
  'patient.medical-record-updated',
  'patient.added-to-sequence',
  'write-to-record.succeeded',
  'write-to-record.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Headers a subscription may not set: the signature's own, and the ones that frame the HTTP request. */
const RESERVED_HEADERS = new Set([
  'x-herohealth-timestamp',
  'x-herohealth-signature',
  'content-type',
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, 'HTTP header name')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), {
    message: 'header the sandbox sets itself',
    params: { expected: 'a custom header name' },
  });
const headerValue = z.string().regex(/^[\x20-\x7e]{0,1000}$/, 'printable ASCII header value');

/** docs/hero-api.md §5: one `event_type` per subscription, `url`, and optional `signing_key`, `headers`, `description`. */
export const createWebhookBodySchema = z.strictObject({
  event_type: z.enum(WEBHOOK_EVENT_TYPES),
  url: z.url({ protocol: /^https?$/ }),
  signing_key: z.string().min(1).max(512).optional(),
  headers: z.record(headerName, headerValue).optional(),
  description: z.string().max(500).optional(),
});
export type CreateWebhookBody = z.infer<typeof createWebhookBodySchema>;

/** `GET /v1/webhooks?event_type=…`; without it, every subscription. */
export const listWebhooksQuerySchema = z.object({ event_type: z.enum(WEBHOOK_EVENT_TYPES).optional() });
