import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
import { dobSchema } from '../hero/dob';
import { nhsNumberSchema } from '../hero/nhs-number';
import { bookingLinkOptionsSchema, messageTypeSchema } from '../hero/schemas';

/** Placeholder in message text that is replaced by the booking link's URL. */
export const BOOKING_LINK_PLACEHOLDER = '{booking_link}';

/** A Temporal duration string such as "7 days" or "6 hours", or milliseconds. */
const durationSchema = (min: number) =>
  z.union([z.string().max(64, 'must be at most 64 characters'), z.number()]).transform((value, ctx) => {
    let ms: number;
    try {
      ms = msToNumber(value as never);
    } catch {
      ms = Number.NaN;
    }
    if (!Number.isFinite(ms) || ms < min) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration of at least ${min / 1000} s, e.g. "6 hours"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/**
 * The workflow's input, and what every client path validates before starting a run. Strict at every
 * level: an unknown key is refused, not dropped, so a misspelt optional field (`verifcation`,
 * `booking.expiryDte`) cannot silently fall back to a default, and fields the workflow does not know
 * (`patientName`, `address`) never reach history.
 */
export const outreachInputSchema = z.strictObject({
  nhsNumber: nhsNumberSchema.describe(
    'NHS number: 10 digits, the last a Modulus 11 check digit; spaces or hyphens allowed',
  ),
  dob: dobSchema.describe('Date of birth, YYYY-MM-DD, a real date not in the future'),
  booking: bookingLinkOptionsSchema.describe(
    'The booking link to create: numeric id strings, YYYY-MM-DD dates, maximumUseCount a positive integer',
  ),
  message: z
    .strictObject({
      type: messageTypeSchema,
      text: z
        .string()
        .trim()
        .min(1, 'must not be empty')
        .max(2000, 'must be at most 2000 characters')
        .describe(`Message text; ${BOOKING_LINK_PLACEHOLDER} is replaced by the booking link's URL`),
    })
    .describe('The message that carries the booking link'),
  verification: z
    .strictObject({
      timeout: durationSchema(60_000)
        .default(7 * 24 * 3600_000)
        .describe('How long to wait for identity verification: a duration ("7 days") or milliseconds; default 7 days'),
      recheckEvery: durationSchema(10_000)
        .default(6 * 3600_000)
        .describe('How often to re-check with Hero while waiting: a duration or milliseconds; default 6 hours'),
    })
    .prefault({}),
});
/** What callers pass (durations as strings); the workflow parses it into `OutreachInput`. */
export type OutreachRequest = z.input<typeof outreachInputSchema>;
export type OutreachInput = z.output<typeof outreachInputSchema>;

export const outreachStateSchema = z.enum([
  'tracing',
  'awaiting_verification',
  'creating_booking_link',
  'sending_message',
  'completed',
  'verification_expired',
  'patient_not_found',
  'needs_review',
  'cancelled',
  'failed',
]);
export type OutreachState = z.infer<typeof outreachStateSchema>;

export const outreachStatusSchema = z.object({
  state: outreachStateSchema,
  /** Only while awaiting verification. */
  loginUrl: z.string().optional(),
  /** Trace calls the workflow has made (each may have been retried by Temporal). */
  attempts: z.number().int(),
  updatedAt: z.string(),
});
export type OutreachStatus = z.infer<typeof outreachStatusSchema>;

export const outreachResultSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('completed'),
    patientId: z.string(),
    bookingLink: z.object({ id: z.string(), url: z.string() }),
    messageId: z.string(),
  }),
  z.object({ outcome: z.literal('patient_not_found') }),
  z.object({ outcome: z.literal('verification_expired'), attempts: z.number().int() }),
  z.object({ outcome: z.literal('cancelled') }),
  /**
   * Creating the link or sending the message failed in a way Hero may have acted on anyway (timeout,
   * dropped connection, 5xx, unreadable 2xx). Not repeated, to never send an SMS twice: an operator
   * checks in Hero whether the patient got it.
   */
  z.object({
    outcome: z.literal('needs_review'),
    step: z.enum(['create_booking_link', 'send_message']),
    patientId: z.string(),
    bookingLink: z.object({ id: z.string(), url: z.string() }).optional(),
    reason: z.string(),
  }),
]);
export type OutreachResult = z.infer<typeof outreachResultSchema>;

/**
 * Signal and update payload: nothing, or `{ source }`. Strict, as requests are; a signal that does not
 * parse is ignored rather than failing the run, an update is rejected by its validator.
 */
export const verificationCompletedSchema = z
  .strictObject({ source: z.string().max(200, 'must be at most 200 characters').optional() })
  .optional();
export type VerificationCompleted = z.infer<typeof verificationCompletedSchema>;

/**
 * What the re-trace that followed a confirmVerification update found: Hero's answer (`patient`,
 * `verification_required`, `patient_not_found`), or why there was none (`failed`: the trace failed for
 * good and so did the run; `cancelled`: the run was cancelled first).
 */
export const verificationFindingSchema = z.enum([
  'patient',
  'verification_required',
  'patient_not_found',
  'failed',
  'cancelled',
]);
export type VerificationFinding = z.infer<typeof verificationFindingSchema>;

/**
 * The answer of update confirmVerification, given once the run has asked Hero again. `retraced` and
 * `found` are absent only from runs that answered at once, before the update waited (the
 * await-verification-retrace patch, src/workflows/patient-outreach.ts).
 */
export const verificationAcceptedSchema = z.object({
  accepted: z.literal(true),
  state: outreachStateSchema.describe("The run's state once the trace after the confirmation answered"),
  retraced: z
    .boolean()
    .optional()
    .describe(
      'true when the run sent Hero a trace after accepting the confirmation; false when a trace already in ' +
        'flight settled it (it found the patient, or the run ended) or the run ended before tracing again',
    ),
  found: verificationFindingSchema
    .optional()
    .describe(
      "What that trace found: Hero's answer (patient, verification_required, patient_not_found), or failed / cancelled",
    ),
});
export type VerificationAccepted = z.infer<typeof verificationAcceptedSchema>;
