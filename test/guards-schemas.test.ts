import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awaitBookingSchema, MAX_REMINDERS, outreachInputSchema } from '../src/workflows/schemas';
import {
  appointmentResponseSchema,
  bookingLinkOptionsSchema,
  bookingLinkStateResponseSchema,
  createBookingLinkRequestSchema,
  createWebhookRequestSchema,
  messageStateResponseSchema,
  registerPdsResponseSchema,
  sendMessageRequestSchema,
  traceRequestSchema,
  sendMessageResponseSchema,
  validationErrorBodySchema,
  webhookSubscriptionSchema,
} from '../src/hero/schemas';
import { newPatient, outreachRequest } from './support/fixtures';

/**
 * The reminder rules of `awaitBooking` at their edges (issue 18, item 11): each reminder strictly later
 * than the one before (two set for the same moment would both go out at once) and inside the window.
 */
describe('awaitBooking reminders at their edges', () => {
  const reminder = (after: string | number) => ({ after, text: 'Reminder: {booking_link}' });
  const problems = (awaitBooking: unknown) => {
    const parsed = outreachInputSchema.safeParse(outreachRequest(newPatient(), { awaitBooking } as never));
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('refuses two reminders set for the same moment, however each is written, naming the second', () => {
    for (const [first, second] of [
      ['3 days', '3 days'],
      ['3 days', '72 hours'],
      [259_200_000, '3 days'],
    ] as const) {
      assert.deepEqual(
        problems({ window: '14 days', reminders: [reminder(first), reminder(second)] }),
        ['awaitBooking.reminders.1.after: must be later than the reminder before it'],
        `${first} then ${second}`,
      );
    }
    assert.deepEqual(
      problems({ window: '14 days', reminders: [reminder('2 days'), reminder('5 days'), reminder('5 days')] }),
      ['awaitBooking.reminders.2.after: must be later than the reminder before it'],
    );
  });

  it('refuses a reminder earlier than the one before it, and accepts one a minute later', () => {
    assert.deepEqual(problems({ window: '14 days', reminders: [reminder('7 days'), reminder('3 days')] }), [
      'awaitBooking.reminders.1.after: must be later than the reminder before it',
    ]);
    assert.deepEqual(problems({ window: '14 days', reminders: [reminder('3 days'), reminder(259_260_000)] }), []);
  });

  it('keeps reminders inside the window: one at the window itself is refused, a minute before is accepted', () => {
    assert.deepEqual(problems({ window: '3 days', reminders: [reminder('3 days')] }), [
      'awaitBooking.reminders.0.after: must be within the booking window',
    ]);
    assert.deepEqual(problems({ window: '3 days', reminders: [reminder(3 * 86_400_000 - 60_000)] }), []);
    // Without a window (it comes from the link's expiry date) the reminders are not checked against one.
    assert.deepEqual(problems({ reminders: [reminder('30 days')] }), []);
  });

  it(`allows at most ${MAX_REMINDERS} reminders`, () => {
    assert.equal(MAX_REMINDERS, 3);
    const four = ['1 day', '2 days', '3 days', '4 days'].map(reminder);
    assert.deepEqual(problems({ window: '14 days', reminders: four.slice(0, 3) }), []);
    assert.deepEqual(problems({ window: '14 days', reminders: four }), ['awaitBooking.reminders: at most 3 reminders']);
  });

  it('reads durations to milliseconds, with the defaults documented for awaitBooking', () => {
    const parsed = awaitBookingSchema.parse({ window: '2 days', reminders: [reminder('1 day')] });
    assert.deepEqual(parsed, {
      window: 2 * 86_400_000,
      recheckEvery: 12 * 3_600_000,
      reminders: [{ after: 86_400_000, text: 'Reminder: {booking_link}' }],
    });
  });
});

/**
 * Hero's request and answer schemas at their edges (found by mutation testing, src/hero/schemas.ts): what a
 * request may carry, and how an answer's absent fields read.
 */
describe('Hero schemas at their edges', () => {
  const ok = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown) => schema.safeParse(v).success;
  const messages = (
    schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } },
    v: unknown,
  ) => schema.safeParse(v).error?.issues.map((i) => i.message) ?? [];

  it('booking link options: numeric ids of at most 20 digits, a positive whole use count, no unknown key', () => {
    const base = { appointmentTypeId: '12', locationId: '34' };
    assert.ok(ok(bookingLinkOptionsSchema, { ...base, practitionerId: '9'.repeat(20), maximumUseCount: 1 }));
    assert.deepEqual(messages(bookingLinkOptionsSchema, { ...base, locationId: '9'.repeat(21) }), [
      'must be at most 20 characters',
    ]);
    assert.deepEqual(messages(bookingLinkOptionsSchema, { ...base, locationId: '12a' }), [
      'must be a numeric id string',
    ]);
    for (const maximumUseCount of [0, -1, 1.5]) assert.ok(!ok(bookingLinkOptionsSchema, { ...base, maximumUseCount }));
    assert.ok(!ok(bookingLinkOptionsSchema, { ...base, expiryDte: '2026-01-01' }));
    assert.ok(!ok(createBookingLinkRequestSchema, { ...base, patientId: 'p1' }));
    assert.ok(ok(createBookingLinkRequestSchema, { ...base, patientId: '123456789012345678901234' }));
  });

  it('a message needs text and a known channel, and takes no unknown key', () => {
    const base = { patientId: '1', messageType: 'nhs_app', text: 'x' };
    assert.ok(ok(sendMessageRequestSchema, base));
    assert.deepEqual(messages(sendMessageRequestSchema, { ...base, text: '' }), ['message text must not be empty']);
    assert.ok(!ok(sendMessageRequestSchema, { ...base, messageType: 'fax' }));
    assert.ok(!ok(sendMessageRequestSchema, { ...base, extra: 1 }));
  });

  it('answers read absent fields as null, and refuse a negative or fractional use count', () => {
    assert.deepEqual(bookingLinkStateResponseSchema.parse({ id: 7, number_of_uses: 0 }), {
      id: '7',
      numberOfUses: 0,
      active: null,
      expiryDate: null,
    });
    assert.deepEqual(
      bookingLinkStateResponseSchema.parse({ id: '7', number_of_uses: 2, active: false, expiry_date: '2026-01-01' }),
      { id: '7', numberOfUses: 2, active: false, expiryDate: '2026-01-01' },
    );
    for (const n of [-1, 0.5]) assert.ok(!ok(bookingLinkStateResponseSchema, { id: '7', number_of_uses: n }));
    assert.deepEqual(appointmentResponseSchema.parse({ id: '5' }), {
      id: '5',
      linkId: null,
      bookingConfirmedAt: null,
      startTime: null,
    });
    assert.deepEqual(messageStateResponseSchema.parse({ id: '3' }), { id: '3', status: null });
    assert.ok(ok(messageStateResponseSchema, { id: '3', status: 'x'.repeat(64) }));
    assert.ok(!ok(messageStateResponseSchema, { id: '3', status: 'x'.repeat(65) }));
  });

  it('a webhook subscription: http(s) URL, a signing key of 16 or more, a description of 200 at most', () => {
    const base = { eventType: 'appointment.rescheduled', url: 'https://h.example/hook', signingKey: 'k'.repeat(16) };
    assert.ok(ok(createWebhookRequestSchema, { ...base, description: 'd'.repeat(200) }));
    assert.ok(ok(createWebhookRequestSchema, { ...base, url: 'http://h.example/hook' }));
    assert.ok(!ok(createWebhookRequestSchema, { ...base, url: 'ftp://h.example/hook' }));
    assert.deepEqual(messages(createWebhookRequestSchema, { ...base, signingKey: 'k'.repeat(15) }), [
      'must be at least 16 characters',
    ]);
    assert.ok(!ok(createWebhookRequestSchema, { ...base, description: 'd'.repeat(201) }));
    assert.ok(!ok(createWebhookRequestSchema, { ...base, eventType: 'appointment.created' }));
  });

  it('answers map to their camel-case form: a trace either way, a sent message, a subscription, a 400 body', () => {
    assert.deepEqual(registerPdsResponseSchema.parse({ patient_id: '42' }), { kind: 'patient', patientId: '42' });
    assert.deepEqual(registerPdsResponseSchema.parse({ login_url: 'https://login.example/x', message: 'verify' }), {
      kind: 'verification_required',
      loginUrl: 'https://login.example/x',
      message: 'verify',
    });
    assert.ok(!ok(registerPdsResponseSchema, { login_url: 'not a url' }));
    assert.ok(!ok(registerPdsResponseSchema, {}));
    assert.deepEqual(sendMessageResponseSchema.parse({ message_id: 9 }), { messageId: '9' });
    assert.ok(!ok(sendMessageResponseSchema, {}));
    assert.deepEqual(
      webhookSubscriptionSchema.parse({ id: 1, event_type: 'appointment.cancelled', url: 'https://h/x' }),
      {
        id: '1',
        eventType: 'appointment.cancelled',
        url: 'https://h/x',
      },
    );
    assert.ok(!ok(webhookSubscriptionSchema, { id: 1, url: 'https://h/x' }));
    const body = { error: true, statusCode: 400, message: [{ code: 'invalid_type', path: ['a', 0] }] };
    assert.ok(ok(validationErrorBodySchema, body));
    assert.ok(!ok(validationErrorBodySchema, { ...body, error: false }));
    assert.ok(!ok(validationErrorBodySchema, { ...body, message: [{ path: ['a'] }] }));
  });

  it('a Hero patient id is digits only, with its own message, and a link request needs one', () => {
    const base = { appointmentTypeId: '12', locationId: '34' };
    for (const patientId of ['1p', 'p1', '']) {
      assert.deepEqual(messages(createBookingLinkRequestSchema, { ...base, patientId }), [
        'must be a numeric id string',
      ]);
    }
    assert.ok(!ok(createBookingLinkRequestSchema, base));
    const hook = { eventType: 'appointment.confirmed', signingKey: 'k'.repeat(16) };
    for (const url of ['httpx://h.example/hook', 'xhttp://h.example/hook']) {
      assert.ok(!ok(createWebhookRequestSchema, { ...hook, url }), url);
    }
  });

  it('a trace request is the NHS number and date of birth; an id both too long and not numeric gets one message', () => {
    const patient = newPatient();
    assert.deepEqual(traceRequestSchema.parse({ nhsNumber: patient.nhsNumber, dob: patient.dob }), {
      nhsNumber: patient.nhsNumber,
      dob: patient.dob,
    });
    assert.ok(!ok(traceRequestSchema, { nhsNumber: patient.nhsNumber, dob: patient.dob, name: 'x' }));
    assert.deepEqual(messages(bookingLinkOptionsSchema, { appointmentTypeId: 'x'.repeat(21), locationId: '1' }), [
      'must be at most 20 characters',
    ]);
  });
});
