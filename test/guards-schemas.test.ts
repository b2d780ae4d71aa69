import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awaitBookingSchema, MAX_REMINDERS, outreachInputSchema } from '../src/workflows/schemas';
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
