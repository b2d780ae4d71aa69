import { z } from 'zod';
import { dobSchema } from '../hero/dob';
import { nhsNumberSchema } from '../shared/nhs-number';
import {
  appointmentEventTypeSchema,
  bookingLinkOptionsSchema,
  bookingLinkSchema,
  messageTypeSchema,
} from '../hero/schemas';
import { formatDuration, parseDuration } from '../shared/duration';
import { practiceGroupIdSchema } from '../shared/campaign-ids';
import { acceptedSendWindowSchema, sendWindowSchema } from '../shared/send-window';

/** Placeholder in message text that is replaced by the booking link's URL. */
export const BOOKING_LINK_PLACEHOLDER = '{booking_link}';

const DAY_MS = 24 * 3600_000;

/**
 * The longest durations a request may carry: what the product supports, and what keeps a run's history
 * far below Temporal's limits (docs/schemas say so too). Runs started before these bounds replay with
 * the lenient parse (the bounded-durations patch, src/workflows/patches.ts).
 */
export const DURATION_BOUNDS = {
  verificationTimeout: 30 * DAY_MS,
  bookingWindow: 90 * DAY_MS,
  reviewDeadline: 30 * DAY_MS,
  reconcileAfter: DAY_MS,
} as const;
/**
 * At most this many re-checks per wait: `recheckEvery` must be at least the wait (verification timeout,
 * booking window) divided by it. Each re-check adds about a dozen events to the run's history, so a
 * request at every bound stays below Temporal's 10,240-event warning with margin (test/history-size.test.ts).
 */
export const MAX_RECHECKS = 250;
/** The shortest re-check interval, whatever the wait. */
export const MIN_RECHECK_MS = 10_000;

/**
 * A duration string such as "7 days" or "6 hours", or milliseconds, from `min` to `max` ms. `max` is
 * undefined only in the lenient schema that replays runs from before the bounds.
 */
const durationSchema = (min: number, max: number | undefined) =>
  z
    .union([
      z.string().max(64, 'must be at most 64 characters'),
      // The bounds in the JSON Schema; the transform checks them, with messages that say them.
      max === undefined ? z.number() : z.number().meta({ minimum: min, maximum: max }),
    ])
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (!Number.isFinite(ms) || ms < min) {
        ctx.addIssue({
          code: 'custom',
          message:
            `must be a duration of at least ${min / 1000} s` +
            (max === undefined ? '' : ` and at most ${formatDuration(max)}`) +
            ', e.g. "6 hours"',
        });
        return z.NEVER;
      }
      if (max !== undefined && ms > max) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${formatDuration(max)}` });
        return z.NEVER;
      }
      return ms;
    });

/** The re-check interval's floor for a wait of `waitMs`: at most MAX_RECHECKS re-checks. */
export function recheckFloor(waitMs: number): number {
  return Math.max(MIN_RECHECK_MS, Math.ceil(waitMs / MAX_RECHECKS));
}

function recheckProblem(recheckEvery: unknown, waitMs: unknown, waitName: string): string | undefined {
  // A duration string over 64 characters is refused by the union but reaches this check unparsed: its own
  // issue says so, and a message built from it would echo what the caller wrote (patient data, maybe).
  if (typeof recheckEvery !== 'number' || typeof waitMs !== 'number') return undefined;
  if (recheckEvery >= recheckFloor(waitMs)) return undefined;
  return (
    `must be at least ${formatDuration(recheckFloor(waitMs))} for a ${waitName} of ${formatDuration(waitMs)} ` +
    `(at most ${MAX_RECHECKS} re-checks: ${waitName} / ${MAX_RECHECKS})`
  );
}

/** Message text: the first message's and each reminder's. */
const messageTextSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2000, 'must be at most 2000 characters')
  .describe(`Message text; ${BOOKING_LINK_PLACEHOLDER} is replaced by the booking link's URL`);

/** At most this many reminders per run. */
export const MAX_REMINDERS = 3;
/** How long a run waits for the booking when the request gives no window and the link no expiry date. */
export const DEFAULT_BOOKING_WINDOW_MS = 14 * 24 * 3600_000;
/** How long a run in review waits for an operator's decision when the request does not say. */
export const DEFAULT_REVIEW_DEADLINE_MS = 7 * 24 * 3600_000;

/**
 * The request schemas, bounded (what clients validate and new runs parse) or lenient (durations without
 * an upper bound or re-check floor: how runs from before the bounds parsed their input, kept for replay).
 */
function requestSchemas(bounded: boolean) {
  const B = bounded ? DURATION_BOUNDS : undefined;
  const bound = (what: string, max: number) => (bounded ? `; at most ${formatDuration(max)}` : '') + what;

  /**
   * `awaitBooking`: after the message, wait for the patient to book. Reminders are timed from the first
   * message, each later than the one before, and must fall inside an explicit window.
   */
  const awaitBooking = z
    .strictObject({
      window: durationSchema(60_000, B?.bookingWindow)
        .optional()
        .describe(
          "How long after the message to wait for the booking: a duration or milliseconds; default: until the link's " +
            'expiryDate ends, else 14 days' +
            bound(' (a window taken from expiryDate is cut to that too)', DURATION_BOUNDS.bookingWindow),
        ),
      recheckEvery: durationSchema(MIN_RECHECK_MS, B?.bookingWindow)
        .default(12 * 3600_000)
        .describe(
          'How often to ask Hero whether the link was used, in case no webhook arrives; default 12 hours' +
            (bounded ? `; at least the window / ${MAX_RECHECKS} (at most ${MAX_RECHECKS} re-checks)` : ''),
        ),
      reminders: z
        .array(
          z.strictObject({
            after: durationSchema(60_000, B?.bookingWindow).describe(
              'Time since the first message: a duration ("3 days") or milliseconds, within the booking window',
            ),
            text: messageTextSchema,
          }),
        )
        .max(MAX_REMINDERS, `at most ${MAX_REMINDERS} reminders`)
        .default([])
        .describe('Reminders sent while the patient has not booked, each later than the one before'),
    })
    .superRefine((b, ctx) => {
      b.reminders.forEach((r, i) => {
        if (i > 0 && r.after <= b.reminders[i - 1]!.after) {
          ctx.addIssue({
            code: 'custom',
            path: ['reminders', i, 'after'],
            message: 'must be later than the reminder before it',
          });
        }
        if (b.window !== undefined && r.after >= b.window) {
          ctx.addIssue({
            code: 'custom',
            path: ['reminders', i, 'after'],
            message: 'must be within the booking window',
          });
        }
      });
      const problem =
        bounded && recheckProblem(b.recheckEvery, b.window ?? DURATION_BOUNDS.bookingWindow, 'booking window');
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          path: ['recheckEvery'],
          message: b.window === undefined ? `${problem}, the longest window without one given` : problem,
        });
      }
    });

  /**
   * The workflow's input, and what every client path validates before starting a run. Strict at every
   * level: an unknown key is refused, not dropped, so a misspelt optional field (`verifcation`,
   * `booking.expiryDte`) cannot silently fall back to a default, and fields the workflow does not know
   * (`patientName`, `address`) never reach history.
   */
  const input = z.strictObject({
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
        text: messageTextSchema,
      })
      .describe('The message that carries the booking link'),
    verification: z
      .strictObject({
        timeout: durationSchema(60_000, B?.verificationTimeout)
          .default(7 * DAY_MS)
          .describe(
            'How long to wait for identity verification: a duration ("7 days") or milliseconds; default 7 days' +
              bound('', DURATION_BOUNDS.verificationTimeout),
          ),
        recheckEvery: durationSchema(MIN_RECHECK_MS, B?.verificationTimeout)
          .default(6 * 3600_000)
          .describe(
            'How often to re-check with Hero while waiting: a duration or milliseconds; default 6 hours' +
              (bounded ? `; at least the timeout / ${MAX_RECHECKS} (at most ${MAX_RECHECKS} re-checks)` : ''),
          ),
      })
      .superRefine((v, ctx) => {
        const problem = bounded && recheckProblem(v.recheckEvery, v.timeout, 'verification timeout');
        if (problem) ctx.addIssue({ code: 'custom', path: ['recheckEvery'], message: problem });
      })
      .prefault({}),
    // Optional with no default object, unlike `verification`: a default would change the fingerprint of
    // every request (src/client/fingerprint.ts), and runs already started would no longer match it.
    review: z
      .strictObject({
        deadline: durationSchema(60_000, B?.reviewDeadline)
          .optional()
          .describe(
            'How long a run in needs_review waits for an operator before it ends needs_review_expired; default 7 days' +
              bound('', DURATION_BOUNDS.reviewDeadline),
          ),
        reconcileAfter: durationSchema(MIN_RECHECK_MS, B?.reconcileAfter)
          .optional()
          .describe(
            "How long after an uncertain send to ask Hero's list of sent messages whether it went out: longer than " +
              "the worker's Hero HTTP timeout, since a request that timed out may still land; default 2 minutes" +
              bound('', DURATION_BOUNDS.reconcileAfter),
          ),
      })
      .optional()
      .describe('Reviews an operator resolves (hero-flow review resolve)'),
    awaitBooking: awaitBooking
      .optional()
      .describe('Wait after the message until the patient books (or the window closes), with reminders'),
    // Both optional with no default, like `review`: a request without them keeps its fingerprint and ID.
    // The same shape either way; the lenient one takes an end past 24:00, as runs from before its refusal hold.
    sendWindow: (bounded ? sendWindowSchema : (acceptedSendWindowSchema as typeof sendWindowSchema))
      .optional()
      .describe(
        'Sending hours: the first message and each reminder due outside them wait for the next opening; ' +
          'absent: no restriction (campaigns default to 08:00-18:00, mon-fri, Europe/London)',
      ),
    practiceGroupId: practiceGroupIdSchema
      .optional()
      .describe("The Hero practice group the run's calls are made for; default: the worker's HERO_PRACTICE_GROUP_ID"),
  });
  return { awaitBooking, input };
}

const bounded = requestSchemas(true);
/** `awaitBooking`, bounded. */
export const awaitBookingSchema = bounded.awaitBooking;
export type AwaitBooking = z.output<typeof awaitBookingSchema>;
/** The workflow's input, with every duration bounded (DURATION_BOUNDS, MAX_RECHECKS). */
export const outreachInputSchema = bounded.input;
/**
 * The input as runs from before the bounds parsed it: only the workflow uses it, to replay them
 * (src/workflows/patches.ts, bounded-durations).
 */
export const lenientOutreachInputSchema = requestSchemas(false).input;

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
  // Runs that wait for the booking (awaitBooking), and reviews an operator resolves.
  'awaiting_booking',
  'sending_reminder',
  'booked',
  'not_booked',
  'checking_with_hero',
  'needs_review_expired',
  'abandoned',
  // Runs with sending hours (sendWindow): a message or reminder waits for the next opening.
  'awaiting_send_window',
]);
export type OutreachState = z.infer<typeof outreachStateSchema>;

/** A message the run sent (the first one, or a reminder), with what Hero last said of its delivery. */
export const sentMessageStatusSchema = z.object({
  kind: z.enum(['message', 'reminder']),
  /** Absent when an operator marked the message sent (resolveReview mark_sent). */
  messageId: z.string().optional(),
  sentAt: z.string(),
  /** Hero's delivery status (docs/hero-api.md §3.2); null until read. Unknown values are kept as they are. */
  deliveryStatus: z.string().nullable(),
  /** Whether the status is final (delivered, failed, ...): the run stops asking. */
  deliveryFinal: z.boolean(),
  /** A final status that says the message did not reach the patient. */
  deliveryFailed: z.boolean(),
});
export type SentMessageStatus = z.infer<typeof sentMessageStatusSchema>;

export const appointmentSummarySchema = z.object({
  /** Null when the run learnt of the booking from the link's use count, not from a webhook. */
  id: z.string().nullable(),
  confirmedAt: z.string().nullable(),
  startTime: z.string().nullable(),
});
export type AppointmentSummary = z.infer<typeof appointmentSummarySchema>;

export const reviewStepSchema = z.enum(['create_booking_link', 'send_message', 'send_reminder']);
export type ReviewStep = z.infer<typeof reviewStepSchema>;

/** What an operator decides for a run in review (update resolveReview). */
export const reviewResolutionSchema = z.strictObject({
  action: z
    .enum(['resend', 'mark_sent', 'abandon'])
    .describe('resend: send the message again; mark_sent: Hero did send it; abandon: end the run'),
  note: z.string().trim().max(500, 'must be at most 500 characters').optional().describe("The operator's note"),
});
export type ReviewResolution = z.infer<typeof reviewResolutionSchema>;

/** The open review of a run in `needs_review`. */
export const openReviewSchema = z.object({
  step: reviewStepSchema,
  reason: z.string(),
  openedAt: z.string(),
  /** When an unanswered review ends the run as `needs_review_expired`. */
  deadline: z.string(),
});

export const outreachStatusSchema = z.object({
  state: outreachStateSchema,
  /** Only while awaiting verification. */
  loginUrl: z.string().optional(),
  /** Trace calls the workflow has made (each may have been retried by Temporal). */
  attempts: z.number().int(),
  updatedAt: z.string(),
  /** Once the link exists. */
  bookingLinkId: z.string().optional(),
  /** Messages sent so far, with their delivery status. */
  messages: z.array(sentMessageStatusSchema).optional(),
  /** Runs that wait for the booking: the appointment, once booked. */
  appointment: appointmentSummarySchema.optional(),
  /** When the booking window closes (runs that wait for the booking). */
  bookingWindowEndsAt: z.string().optional(),
  /** While in `needs_review`. */
  review: openReviewSchema.optional(),
  /** While in `awaiting_send_window`: when the sending hours open and the message or reminder goes. */
  sendWindowOpensAt: z
    .string()
    .optional()
    .describe('While awaiting_send_window: when the sending hours open (ISO 8601) and the message or reminder goes'),
});
export type OutreachStatus = z.infer<typeof outreachStatusSchema>;

export const outreachResultSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('completed'),
    patientId: z.string(),
    bookingLink: bookingLinkSchema,
    /** Absent only when an operator marked the message sent (resolveReview mark_sent). */
    messageId: z.string().optional(),
    /** Absent from older runs (src/workflows/patches.ts). */
    messages: z.array(sentMessageStatusSchema).optional(),
    review: reviewResolutionSchema.optional(),
  }),
  /** awaitBooking: the patient booked within the window (and had not cancelled when it closed). */
  z.object({
    outcome: z.literal('booked'),
    patientId: z.string(),
    bookingLink: bookingLinkSchema,
    appointment: appointmentSummarySchema,
    messages: z.array(sentMessageStatusSchema),
    remindersSent: z.number().int(),
  }),
  /** awaitBooking: the window closed without a booking. */
  z.object({
    outcome: z.literal('not_booked'),
    patientId: z.string(),
    bookingLink: bookingLinkSchema,
    messages: z.array(sentMessageStatusSchema),
    remindersSent: z.number().int(),
  }),
  /** An operator ended a run in review (resolveReview abandon). */
  z.object({
    outcome: z.literal('abandoned'),
    step: reviewStepSchema,
    patientId: z.string(),
    bookingLink: bookingLinkSchema.optional(),
    messages: z.array(sentMessageStatusSchema),
    review: reviewResolutionSchema,
  }),
  /** Nobody resolved the review before its deadline. */
  z.object({
    outcome: z.literal('needs_review_expired'),
    step: reviewStepSchema,
    patientId: z.string(),
    bookingLink: bookingLinkSchema.optional(),
    messages: z.array(sentMessageStatusSchema),
    reason: z.string(),
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
    step: reviewStepSchema,
    patientId: z.string(),
    bookingLink: bookingLinkSchema.optional(),
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

/** The answer of update resolveReview. */
export const reviewResolvedSchema = z.object({
  accepted: z.literal(true),
  action: reviewResolutionSchema.shape.action,
  /** The run's state right after the decision (e.g. sending_message for resend, completed for mark_sent). */
  state: outreachStateSchema,
});
export type ReviewResolved = z.infer<typeof reviewResolvedSchema>;

/**
 * Signal bookingEvent: what an appointment webhook told about this run's booking link (sent by the
 * booking-event workflow, src/workflows/booking-event.ts). No patient data: Hero's ids and times.
 */
export const bookingEventSchema = z.strictObject({
  event: appointmentEventTypeSchema,
  appointmentId: z.string().min(1).max(64),
  bookingLinkId: z.string().min(1).max(64),
  confirmedAt: z.string().max(64).nullable().optional(),
  startTime: z.string().max(64).nullable().optional(),
});
export type BookingEvent = z.infer<typeof bookingEventSchema>;

/** Input of the booking-event workflow: one webhook delivery, as the receiver accepted it. */
export const bookingEventInputSchema = z.strictObject({
  event: bookingEventSchema.shape.event,
  appointmentId: bookingEventSchema.shape.appointmentId,
  /** The group the delivery named, when the worker serves several: the appointment is read with its key. */
  practiceGroupId: practiceGroupIdSchema.optional(),
});
export type BookingEventInput = z.infer<typeof bookingEventInputSchema>;

/** What the booking-event workflow did with an event. */
export const bookingEventResultSchema = z.object({
  /** signalled: the run got it; no_link: the appointment has no link; unknown_link: no run made that link; run_closed: its run had ended. */
  outcome: z.enum(['signalled', 'no_link', 'unknown_link', 'run_closed']),
  bookingLinkId: z.string().nullable(),
  workflowId: z.string().optional(),
});
export type BookingEventResult = z.infer<typeof bookingEventResultSchema>;
