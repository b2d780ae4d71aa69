import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration } from '../src/shared/duration';
import {
  awaitBookingSchema,
  bookingEventSchema,
  DEFAULT_BOOKING_WINDOW_MS,
  DEFAULT_REVIEW_DEADLINE_MS,
  lenientOutreachInputSchema,
  outreachInputSchema,
  reviewResolutionSchema,
  verificationCompletedSchema,
} from '../src/workflows/schemas';
import { newPatient, outreachRequest } from './support/fixtures';

/**
 * The workflow's request schemas at their edges (found by mutation testing, src/workflows/schemas.ts):
 * each duration's bounds to the millisecond, the re-check floor, the messages a caller reads, the defaults.
 */

type Issue = { code: string; path: PropertyKey[]; message: string };
type Parsed = { success: boolean; data?: unknown; error?: { issues: Issue[] } };
const DAY = 86_400_000;

/** The issues a caller gets, as code, path and message; [] when the value is accepted. */
const issues = (schema: { safeParse(v: unknown): Parsed }, value: unknown) =>
  (schema.safeParse(value).error?.issues ?? []).map(({ code, path, message }) => ({ code, path, message }));
const request = (extra: Record<string, unknown>) => outreachRequest(newPatient(), extra as never);
const custom = (path: PropertyKey[], message: string) => ({ code: 'custom', path, message });

describe('request durations at their bounds', () => {
  const timeout = (value: unknown) => issues(outreachInputSchema, request({ verification: { timeout: value } }));
  const lenientTimeout = (value: unknown) =>
    issues(lenientOutreachInputSchema, request({ verification: { timeout: value } }));
  const tooShortOrUnreadable = custom(
    ['verification', 'timeout'],
    'must be a duration of at least 60 s and at most 30 days, e.g. "6 hours"',
  );

  it('a verification timeout: one millisecond under a minute is refused, saying both bounds; a minute is accepted', () => {
    assert.deepEqual(timeout(59_999), [tooShortOrUnreadable]);
    assert.deepEqual(timeout('59999ms'), [tooShortOrUnreadable]);
    assert.deepEqual(timeout(60_000), []);
    assert.deepEqual(timeout('1 minute'), []);
  });

  it('a verification timeout that is not a duration is refused with the same message', () => {
    for (const value of ['banana', '7 fortnights', '', 'Infinity']) {
      assert.deepEqual(timeout(value), [tooShortOrUnreadable], String(value));
    }
  });

  it('a verification timeout of 30 days (2,592,000,000 ms) is accepted, one millisecond more is refused', () => {
    assert.deepEqual(timeout(2_592_000_000), []);
    assert.deepEqual(timeout('30 days'), []);
    assert.deepEqual(timeout(2_592_000_001), [custom(['verification', 'timeout'], 'must be at most 30 days')]);
    assert.deepEqual(timeout('31 days'), [custom(['verification', 'timeout'], 'must be at most 30 days')]);
  });

  it('the lenient schema (replaying runs from before the bounds) has the same floor, no upper bound, and says so', () => {
    assert.deepEqual(lenientTimeout(59_999), [
      custom(['verification', 'timeout'], 'must be a duration of at least 60 s, e.g. "6 hours"'),
    ]);
    assert.deepEqual(lenientTimeout('banana'), [
      custom(['verification', 'timeout'], 'must be a duration of at least 60 s, e.g. "6 hours"'),
    ]);
    // What the bounded schema refuses, past the bound or under the re-check floor, the lenient one accepts.
    const parsed = lenientOutreachInputSchema.parse(
      request({ verification: { timeout: '365 days', recheckEvery: '10s' }, awaitBooking: { recheckEvery: '10s' } }),
    );
    assert.deepEqual(parsed.verification, { timeout: 365 * DAY, recheckEvery: 10_000 });
    assert.equal(parsed.awaitBooking?.recheckEvery, 10_000);
  });

  it('a duration string is at most 64 characters: 64 is read, 65 is refused with that one problem', () => {
    const padded = (n: number) => `7${' '.repeat(n - 5)}days`;
    assert.equal(padded(64).length, 64);
    assert.equal(
      outreachInputSchema.parse(request({ verification: { timeout: padded(64) } })).verification.timeout,
      7 * DAY,
    );
    assert.deepEqual(timeout(padded(65)), [
      { code: 'too_big', path: ['verification', 'timeout'], message: 'must be at most 64 characters' },
    ]);
  });

  it('a duration string over 64 characters gets only its own problem, never one that repeats what was written', () => {
    const long = 'Jane Smith 943 476 5919 wants about three days'.padEnd(65, '.');
    const tooLong = 'must be at most 64 characters';
    assert.deepEqual(
      issues(outreachInputSchema, request({ verification: { timeout: long } })).map((i) => i.message),
      [tooLong],
    );
    assert.deepEqual(
      issues(outreachInputSchema, request({ verification: { recheckEvery: long } })).map((i) => i.message),
      [tooLong],
    );
    assert.deepEqual(issues(awaitBookingSchema, { window: long }), [
      { code: 'too_big', path: ['window'], message: tooLong },
    ]);
    assert.deepEqual(issues(awaitBookingSchema, { window: '3 days', recheckEvery: long }), [
      { code: 'too_big', path: ['recheckEvery'], message: tooLong },
    ]);
  });
});

describe('the re-check floor: at most 250 re-checks per wait', () => {
  const verification = (v: Record<string, unknown>) => issues(outreachInputSchema, request({ verification: v }));

  it('a 30-day verification timeout takes a re-check every 2.88 hours (10,368,000 ms), not a millisecond less', () => {
    assert.deepEqual(verification({ timeout: '30 days', recheckEvery: 10_368_000 }), []);
    assert.deepEqual(verification({ timeout: '30 days', recheckEvery: 10_367_999 }), [
      custom(
        ['verification', 'recheckEvery'],
        'must be at least 2.88 hours for a verification timeout of 30 days (at most 250 re-checks: verification timeout / 250)',
      ),
    ]);
    assert.deepEqual(verification({ timeout: '30 days', recheckEvery: '10s' }).length, 1);
  });

  it('a short wait still takes a re-check interval of 10 s, never less', () => {
    assert.deepEqual(verification({ timeout: '1 minute', recheckEvery: 10_000 }), []);
    assert.deepEqual(verification({ timeout: '1 minute', recheckEvery: 9_999 }), [
      custom(
        ['verification', 'recheckEvery'],
        'must be a duration of at least 10 s and at most 30 days, e.g. "6 hours"',
      ),
    ]);
  });

  it('a 90-day booking window takes a re-check every 8.64 hours (31,104,000 ms), not a millisecond less', () => {
    assert.deepEqual(issues(awaitBookingSchema, { window: '90 days', recheckEvery: 31_104_000 }), []);
    assert.deepEqual(issues(awaitBookingSchema, { window: '90 days', recheckEvery: 31_103_999 }), [
      custom(
        ['recheckEvery'],
        'must be at least 8.64 hours for a booking window of 90 days (at most 250 re-checks: booking window / 250)',
      ),
    ]);
  });

  it('without a window, the re-check interval must suit the longest window, and the message says why', () => {
    assert.deepEqual(issues(awaitBookingSchema, { recheckEvery: 31_104_000 }), []);
    assert.deepEqual(issues(awaitBookingSchema, { recheckEvery: '10s' }), [
      custom(
        ['recheckEvery'],
        'must be at least 8.64 hours for a booking window of 90 days (at most 250 re-checks: booking window / 250), ' +
          'the longest window without one given',
      ),
    ]);
    // A short window given lets the interval be short too.
    assert.deepEqual(issues(awaitBookingSchema, { window: '40 minutes', recheckEvery: '10s' }), []);
  });

  it('the re-check problems through the whole request name the field', () => {
    assert.deepEqual(
      issues(outreachInputSchema, request({ awaitBooking: { window: '90 days', recheckEvery: '1 hour' } })),
      [
        custom(
          ['awaitBooking', 'recheckEvery'],
          'must be at least 8.64 hours for a booking window of 90 days (at most 250 re-checks: booking window / 250)',
        ),
      ],
    );
  });
});

describe('awaitBooking: reminder problems and defaults', () => {
  const reminder = (after: string | number) => ({ after, text: 'Reminder: {booking_link}' });

  it('reminder problems are custom issues at the reminder, as callers read them', () => {
    assert.deepEqual(
      issues(awaitBookingSchema, { window: '14 days', reminders: [reminder('3 days'), reminder('2 days')] }),
      [custom(['reminders', 1, 'after'], 'must be later than the reminder before it')],
    );
    assert.deepEqual(issues(awaitBookingSchema, { window: '3 days', reminders: [reminder('3 days')] }), [
      custom(['reminders', 0, 'after'], 'must be within the booking window'),
    ]);
  });

  it('with nothing given: re-check every 12 hours, no reminders, the window left to the link', () => {
    assert.deepEqual(awaitBookingSchema.parse({}), { recheckEvery: 43_200_000, reminders: [] });
  });

  it('the default booking window is 14 days (1,209,600,000 ms), the default review deadline 7 days (604,800,000 ms)', () => {
    assert.equal(DEFAULT_BOOKING_WINDOW_MS, 1_209_600_000);
    assert.equal(formatDuration(DEFAULT_BOOKING_WINDOW_MS), '14 days');
    assert.equal(DEFAULT_REVIEW_DEADLINE_MS, 604_800_000);
    assert.equal(formatDuration(DEFAULT_REVIEW_DEADLINE_MS), '7 days');
  });
});

describe('message text', () => {
  const text = (t: string) => issues(outreachInputSchema, request({ message: { type: 'sms', text: t } }));

  it('is trimmed: blank text is refused as empty, surrounding spaces are dropped', () => {
    assert.deepEqual(text('   '), [{ code: 'too_small', path: ['message', 'text'], message: 'must not be empty' }]);
    const parsed = outreachInputSchema.parse(request({ message: { type: 'sms', text: '  Book: {booking_link}  ' } }));
    assert.equal(parsed.message.text, 'Book: {booking_link}');
  });

  it('is at most 2000 characters, counted after trimming', () => {
    assert.deepEqual(text(` ${'x'.repeat(2000)} `), []);
    assert.deepEqual(text('x'.repeat(2001)), [
      { code: 'too_big', path: ['message', 'text'], message: 'must be at most 2000 characters' },
    ]);
  });
});

describe('update and signal payloads', () => {
  it("an operator's note is trimmed and at most 500 characters", () => {
    assert.deepEqual(reviewResolutionSchema.parse({ action: 'mark_sent', note: '  checked in Hero  ' }), {
      action: 'mark_sent',
      note: 'checked in Hero',
    });
    assert.deepEqual(issues(reviewResolutionSchema, { action: 'abandon', note: ` ${'n'.repeat(500)} ` }), []);
    assert.deepEqual(issues(reviewResolutionSchema, { action: 'abandon', note: 'n'.repeat(501) }), [
      { code: 'too_big', path: ['note'], message: 'must be at most 500 characters' },
    ]);
  });

  it('a verification source is at most 200 characters', () => {
    assert.deepEqual(issues(verificationCompletedSchema, { source: 's'.repeat(200) }), []);
    assert.deepEqual(issues(verificationCompletedSchema, { source: 's'.repeat(201) }), [
      { code: 'too_big', path: ['source'], message: 'must be at most 200 characters' },
    ]);
  });

  it("a booking event: a link id of 1 to 64 characters, Hero's times (or null) of at most 64", () => {
    const base = { event: 'appointment.confirmed', appointmentId: '5' };
    const ok = (v: Record<string, unknown>) => issues(bookingEventSchema, { ...base, ...v }).length === 0;
    assert.ok(ok({ bookingLinkId: '7' }));
    assert.ok(ok({ bookingLinkId: '7'.repeat(64) }));
    assert.ok(!ok({ bookingLinkId: '' }));
    assert.ok(!ok({ bookingLinkId: '7'.repeat(65) }));
    for (const field of ['confirmedAt', 'startTime']) {
      assert.ok(ok({ bookingLinkId: '7', [field]: '2026-12-07T10:00:00Z' }), field);
      assert.ok(ok({ bookingLinkId: '7', [field]: null }), field);
      assert.ok(ok({ bookingLinkId: '7', [field]: 't'.repeat(64) }), field);
      assert.ok(!ok({ bookingLinkId: '7', [field]: 't'.repeat(65) }), field);
    }
  });
});
