import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CAMPAIGN_DEFAULT_SEND_WINDOW,
  nextOpening,
  acceptedSendWindowSchema,
  openingsBetween,
  parseDays,
  sendWindowSchema,
  spreadSlot,
} from '../src/shared/send-window';

/**
 * Sending hours (src/shared/send-window.ts), the pure functions the runs' durable waits and the campaign's
 * spread are computed with: weekends, day lists, the Europe/London clock changes, and the messages that
 * refuse a bad window.
 */
const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const window = (w: object = {}) => sendWindowSchema.parse(w);
const london = window(CAMPAIGN_DEFAULT_SEND_WINDOW);

describe('sending hours: nextOpening', () => {
  it('sends at once inside the hours, and without a window', () => {
    // Wednesday 2026-01-14 10:00 GMT.
    assert.equal(nextOpening(at('2026-01-14T10:00:00Z'), london), at('2026-01-14T10:00:00Z'));
    assert.equal(nextOpening(at('2026-01-14T08:00:00Z'), london), at('2026-01-14T08:00:00Z'), 'the opening itself');
    assert.equal(nextOpening(at('2026-01-17T02:00:00Z'), undefined), at('2026-01-17T02:00:00Z'));
  });

  it('holds a Saturday 02:00 message until Monday 08:00, and one at 18:00 until the next morning', () => {
    assert.equal(iso(nextOpening(at('2026-01-17T02:00:00Z'), london)), '2026-01-19T08:00:00.000Z');
    // In British Summer Time: Saturday 2026-06-13 02:00 BST is 01:00Z; Monday 08:00 BST is 07:00Z.
    assert.equal(iso(nextOpening(at('2026-06-13T01:00:00Z'), london)), '2026-06-15T07:00:00.000Z');
    // The end is not inside: 18:00 Wednesday goes at 08:00 Thursday; Friday 18:00 at Monday 08:00.
    assert.equal(iso(nextOpening(at('2026-01-14T18:00:00Z'), london)), '2026-01-15T08:00:00.000Z');
    assert.equal(iso(nextOpening(at('2026-01-16T17:59:59Z'), london)), '2026-01-16T17:59:59.000Z');
    assert.equal(iso(nextOpening(at('2026-01-16T18:00:00Z'), london)), '2026-01-19T08:00:00.000Z');
    // Before the opening on a weekday: that morning.
    assert.equal(iso(nextOpening(at('2026-01-14T06:59:00Z'), london)), '2026-01-14T08:00:00.000Z');
  });

  it('follows the March clock change (last Sunday, 01:00 GMT becomes 02:00 BST)', () => {
    // Friday 2026-03-27 19:00 GMT, after hours: Monday 2026-03-30 08:00 BST = 07:00Z.
    assert.equal(iso(nextOpening(at('2026-03-27T19:00:00Z'), london)), '2026-03-30T07:00:00.000Z');
    // Every day: Saturday's opening is 08:00 GMT, Sunday's (the change) 08:00 BST.
    const daily = window({ days: 'mon-sun' });
    assert.equal(iso(nextOpening(at('2026-03-28T03:00:00Z'), daily)), '2026-03-28T08:00:00.000Z');
    assert.equal(iso(nextOpening(at('2026-03-28T19:00:00Z'), daily)), '2026-03-29T07:00:00.000Z');
    // Sunday 07:30Z is 08:30 BST: open.
    assert.equal(iso(nextOpening(at('2026-03-29T07:30:00Z'), daily)), '2026-03-29T07:30:00.000Z');
  });

  it('follows the October clock change (last Sunday, 02:00 BST becomes 01:00 GMT)', () => {
    // Friday 2026-10-23 18:30 BST (17:30Z), after hours: Monday 2026-10-26 08:00 GMT.
    assert.equal(iso(nextOpening(at('2026-10-23T17:30:00Z'), london)), '2026-10-26T08:00:00.000Z');
    const daily = window({ days: 'mon-sun' });
    // Saturday 08:00 BST (07:00Z), Sunday 08:00 GMT (08:00Z).
    assert.deepEqual(
      openingsBetween(at('2026-10-24T00:00:00Z'), at('2026-10-26T00:00:00Z'), daily).map(([a, b]) => [iso(a), iso(b)]),
      [
        ['2026-10-24T07:00:00.000Z', '2026-10-24T17:00:00.000Z'],
        ['2026-10-25T08:00:00.000Z', '2026-10-25T18:00:00.000Z'],
      ],
    );
    // The repeated hour 01:00-02:00: a 01:30-03:00 window opens at the first 01:30 (BST, 00:30Z), and the
    // second 01:30 (GMT) is inside it.
    const night = window({ between: '01:30-03:00', days: 'mon-sun' });
    assert.equal(nextOpening(at('2026-10-25T00:10:00Z'), night), at('2026-10-25T00:30:00Z'), 'the first 01:30');
    assert.equal(nextOpening(at('2026-10-25T01:30:00Z'), night), at('2026-10-25T01:30:00Z'), '01:30 GMT');
  });

  it('opens a window that starts inside the spring-forward gap when the clocks jump', () => {
    // 2026-03-29 01:00 GMT becomes 02:00 BST: 01:30 never happens; the window opens at 01:00Z (02:00 BST).
    const night = window({ between: '01:30-03:00', days: 'mon-sun' });
    assert.equal(iso(nextOpening(at('2026-03-29T00:10:00Z'), night)), '2026-03-29T01:00:00.000Z');
  });

  it('reads day lists: single days, ranges, lists, and ranges through Sunday', () => {
    assert.deepEqual(parseDays('mon-fri'), [1, 2, 3, 4, 5]);
    assert.deepEqual(parseDays('mon,wed,fri'), [1, 3, 5]);
    assert.deepEqual(parseDays('sat-sun'), [0, 6]);
    assert.deepEqual(parseDays('fri-mon'), [0, 1, 5, 6]);
    assert.deepEqual(parseDays('mon-sun'), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(parseDays('TUE'), [2]);
    assert.equal(parseDays('weekdays'), undefined);
    assert.equal(parseDays('mon-tue-wed'), undefined);
    // Tuesday 2026-01-13 10:00, Monday/Wednesday/Friday only: Wednesday 08:00.
    assert.equal(
      iso(nextOpening(at('2026-01-13T10:00:00Z'), window({ days: 'mon,wed,fri' }))),
      '2026-01-14T08:00:00.000Z',
    );
    // Weekends only, from Monday: Saturday.
    assert.equal(iso(nextOpening(at('2026-01-12T10:00:00Z'), window({ days: 'sat-sun' }))), '2026-01-17T08:00:00.000Z');
  });

  it('reads other time zones and hours', () => {
    // 09:00-17:00 New York (EST, UTC-5) on Wednesday 2026-01-14 at 12:00Z (07:00 local): 14:00Z.
    const ny = window({ between: '09:00-17:00', timezone: 'America/New_York' });
    assert.equal(iso(nextOpening(at('2026-01-14T12:00:00Z'), ny)), '2026-01-14T14:00:00.000Z');
    // Until midnight.
    const late = window({ between: '20:00-24:00' });
    assert.equal(nextOpening(at('2026-01-14T23:59:00Z'), late), at('2026-01-14T23:59:00Z'));
  });
});

describe('sending hours: the schema', () => {
  it('defaults to 08:00-18:00, Monday to Friday, Europe/London', () => {
    assert.deepEqual(window(), {
      between: '08:00-18:00',
      days: 'mon-fri',
      timezone: 'Europe/London',
    });
  });

  for (const [bad, message] of [
    [
      { between: '18:00-08:00' },
      'must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"',
    ],
    [{ between: '8-18' }, 'must be HH:MM-HH:MM, e.g. "08:00-18:00"'],
    [
      { between: '25:00-26:00' },
      'must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"',
    ],
    [
      { between: '08:00-24:30' },
      'must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"',
    ],
    [
      { between: '24:00-24:30' },
      'must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"',
    ],
    [{ days: 'weekdays' }, 'must name weekdays, e.g. "mon-fri", "mon,wed,fri" or "mon-sun"'],
    [{ days: '' }, 'must name weekdays, e.g. "mon-fri", "mon,wed,fri" or "mon-sun"'],
    [{ timezone: 'Mars/Olympus' }, 'must be an IANA time zone, e.g. "Europe/London"'],
    [{ hours: '08:00-18:00' }, 'Unrecognized key: "hours"'],
  ] as const) {
    it(`refuses ${JSON.stringify(bad)}: ${message}`, () => {
      const parsed = sendWindowSchema.safeParse(bad);
      assert.equal(parsed.success, false);
      assert.ok(
        parsed.error!.issues.some((i) => i.message === message),
        parsed.error!.issues.map((i) => i.message).join('; '),
      );
    });
  }
});

describe('sending hours: what runs from before the end bound hold', () => {
  it('reads back an end up to 24:59 (then taken as that time after midnight), and nothing the bound did not change', () => {
    assert.equal(acceptedSendWindowSchema.parse({ between: '08:00-24:30' }).between, '08:00-24:30');
    assert.equal(sendWindowSchema.safeParse({ between: '08:00-24:30' }).success, false);
    for (const between of ['24:00-24:30', '18:00-08:00', '08:00-25:00'])
      assert.equal(acceptedSendWindowSchema.safeParse({ between }).success, false, between);
    // Open until 00:30 the next day (Monday 2026-01-19, London on GMT).
    const late = acceptedSendWindowSchema.parse({ between: '08:00-24:30', days: 'mon-sun' });
    assert.deepEqual(
      openingsBetween(at('2026-01-19T12:00:00Z'), at('2026-01-20T12:00:00Z'), late).map(([a, b]) => [iso(a), iso(b)]),
      [
        ['2026-01-19T12:00:00.000Z', '2026-01-20T00:30:00.000Z'],
        ['2026-01-20T08:00:00.000Z', '2026-01-20T12:00:00.000Z'],
      ],
    );
  });
});

describe('sending hours: spreading over a period', () => {
  it('spreads first messages over the open hours only, the first at the first opening', () => {
    // From Saturday 2026-01-17 02:00 over 3 days: Monday's ten hours are the only open ones.
    const start = at('2026-01-17T02:00:00Z');
    const spread = 3 * 24 * 3600_000;
    assert.equal(iso(spreadSlot(start, spread, 0, 10, london)), '2026-01-19T08:00:00.000Z');
    assert.equal(iso(spreadSlot(start, spread, 5, 10, london)), '2026-01-19T13:00:00.000Z');
    assert.equal(iso(spreadSlot(start, spread, 9, 10, london)), '2026-01-19T17:00:00.000Z');
    // Without a window, evenly over the period itself.
    assert.equal(spreadSlot(start, spread, 5, 10, undefined), start + spread / 2);
  });
});
