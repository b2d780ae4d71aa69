import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { dobSchema, isIsoCalendarDate, isoDateSchema } from '../src/hero/dob';
import {
  HeroInvalidRequestError,
  HeroNetworkError,
  HeroNotFoundError,
  HeroRateLimitedError,
  HeroServerError,
  HeroUnauthorizedError,
  HeroUnexpectedStatusError,
} from '../src/hero/errors';
import {
  createBookingLinkResponseSchema,
  FAILED_DELIVERY_STATUSES,
  FINAL_DELIVERY_STATUSES,
  sentMessagesPageSchema,
  webhookListShape,
} from '../src/hero/inferred';
import { isValidNhsNumber, nhsNumberSchema, normaliseNhsNumber } from '../src/shared/nhs-number';
import { parseRetryAfter } from '../src/hero/retry-after';

/** Edges of the Hero input checks that the mutation run (npm run test:mutation -- hero) found untested. */
describe('Retry-After: delta-seconds or an HTTP-date', () => {
  const NOW = Date.parse('2026-06-10T06:13:20Z');
  it('reads whole seconds, trimmed', () => {
    assert.equal(parseRetryAfter('5', NOW), 5000);
    assert.equal(parseRetryAfter(' 7 ', NOW), 7000);
    assert.equal(parseRetryAfter('0', NOW), 0);
  });
  it('reads an HTTP-date as the time until it, and a past one as no wait', () => {
    assert.equal(parseRetryAfter('Wed, 10 Jun 2026 06:13:50 GMT', NOW), 30_000);
    assert.equal(parseRetryAfter('Wed, 10 Jun 2026 06:00:00 GMT', NOW), 0);
  });
  it('gives undefined (use the backoff) for nothing, blanks, fractions, signs and dates without a weekday', () => {
    for (const bad of [
      null,
      undefined,
      '',
      '   ',
      '1.5',
      '-5',
      '5s',
      '2026-06-10T06:13:50Z',
      'Wed 10 Jun 2026',
      // V8 ignores a parenthesised comment: the weekday must lead.
      '10 Jun 2026 06:13:50 GMT (Wed,)',
      'Wed, nonsense',
    ])
      assert.equal(parseRetryAfter(bad, NOW), undefined, String(bad));
  });
});

describe('ISO calendar dates and dates of birth', () => {
  it('accepts real dates only, written YYYY-MM-DD exactly', () => {
    for (const good of ['2024-02-29', '2023-12-31', '2023-01-01', '1900-03-01'])
      assert.ok(isIsoCalendarDate(good), good);
    for (const bad of [
      '2023-02-29',
      '2023-13-01',
      '2023-00-10',
      '2023-04-31',
      '2023-01-00',
      '2023-1-01',
      ' 2023-01-01',
      '2023-01-01x',
      '0050-01-01', // Date.UTC would read the year 50 as 1950

      '02023-01-01',
    ])
      assert.equal(isIsoCalendarDate(bad), false, bad);
  });
  it('refuses a value over 32 characters before any date check, with its own message', () => {
    const long = '2023-01-01'.padEnd(33, ' ');
    const message = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
      r.error?.issues.map((i) => i.message);
    assert.deepEqual(message(isoDateSchema.safeParse(long)), ['must be at most 32 characters']);
    assert.deepEqual(message(dobSchema.safeParse(long)), ['must be at most 32 characters']);
    assert.deepEqual(message(isoDateSchema.safeParse('2023-02-30')), [
      'must be a real calendar date written YYYY-MM-DD',
    ]);
    assert.deepEqual(message(dobSchema.safeParse('2023-02-30')), ['must be a real calendar date written YYYY-MM-DD']);
    assert.deepEqual(message(dobSchema.safeParse(19920101)), ['must be a string']);
    assert.deepEqual(message(isoDateSchema.safeParse(null)), ['must be a string']);
  });
  it('takes as "today" the date in UTC+14: that day is a valid date of birth, the next is in the future', () => {
    const day = (offsetH: number) => new Date(Date.now() + offsetH * 3600_000).toISOString().slice(0, 10);
    assert.ok(dobSchema.safeParse(day(14)).success, 'today in UTC+14');
    assert.ok(dobSchema.safeParse(day(-24)).success, 'yesterday');
    const future = dobSchema.safeParse(day(14 + 24));
    assert.deepEqual(
      future.error?.issues.map((i) => i.message),
      ['must not be in the future'],
    );
  });
});

describe('NHS numbers', () => {
  it('checks the Modulus 11 digit, a remainder of 0 giving check digit 0', () => {
    assert.ok(isValidNhsNumber('9434765919'));
    assert.ok(isValidNhsNumber('4000000020'), 'check digit 11 is written 0');
    assert.equal(isValidNhsNumber('4000000021'), false);
    assert.equal(isValidNhsNumber('9434765918'), false);
    for (const d of '0123456789') assert.equal(isValidNhsNumber(`400000008${d}`), false, 'check 10: no valid number');
    for (const bad of ['943476591', '94347659190', '943476591a', ' 9434765919'])
      assert.equal(isValidNhsNumber(bad), false);
  });
  it('accepts spaces and hyphens (any whitespace) and normalises them away; the messages never echo it', () => {
    assert.equal(normaliseNhsNumber('943 476\t5919'), '9434765919');
    assert.equal(nhsNumberSchema.parse('943-476-5919'), '9434765919');
    assert.equal(nhsNumberSchema.parse(' 943 476 5919 '), '9434765919');
    const messages = (v: string) => nhsNumberSchema.safeParse(v).error?.issues.map((i) => i.message);
    assert.deepEqual(messages('943 476 591'), ['must be 10 digits (spaces or hyphens allowed)']);
    assert.deepEqual(messages('x943 476 5919'), ['must be 10 digits (spaces or hyphens allowed)']);
    assert.deepEqual(messages('943 476 5919 0'), ['must be 10 digits (spaces or hyphens allowed)']);
    assert.deepEqual(messages('943 476 5918'), ['fails the NHS Modulus 11 check digit']);
    assert.deepEqual(messages('9434765919'.padEnd(33, ' ')), ['must be at most 32 characters']);
    assert.deepEqual(messages('1'.repeat(33)), ['must be at most 32 characters']);
    assert.deepEqual(
      nhsNumberSchema.safeParse(9434765919).error?.issues.map((i) => i.message),
      ['must be a string'],
    );
    assert.equal(nhsNumberSchema.parse('9434765919'.padEnd(32, ' ')), '9434765919');
  });
});

describe('Hero errors: the message each names, and whether the request may have been acted on', () => {
  it('says which fields a 400 refused, or that Hero gave none', () => {
    const e = new HeroInvalidRequestError('create_booking_link', [
      { path: 'expiry_date', code: 'invalid' },
      { path: '', code: 'required' },
    ]);
    assert.equal(e.message, 'Hero create_booking_link: 400 invalid request (expiry_date: invalid; (body): required)');
    assert.equal(
      new HeroInvalidRequestError('send_message', []).message,
      'Hero send_message: 400 invalid request (no details)',
    );
  });
  it('names each status', () => {
    assert.match(new HeroUnauthorizedError('register_pds').message, /401 unauthorised: check HERO_API_KEY/);
    assert.equal(new HeroNotFoundError('register_pds').message, 'Hero register_pds: 404 no patient found in PDS');
    assert.equal(new HeroNotFoundError('get_appointment').message, 'Hero get_appointment: 404 not found');
    assert.equal(
      new HeroRateLimitedError('send_message', 1500).message,
      'Hero send_message: 429 rate limited, retry after 1500 ms',
    );
    assert.equal(
      new HeroRateLimitedError('send_message', undefined).message,
      'Hero send_message: 429 rate limited (no Retry-After)',
    );
    assert.equal(new HeroServerError('get_message', 503).message, 'Hero get_message: 503 server error');
    assert.equal(new HeroUnexpectedStatusError('get_message', 418).transient, false);
  });
  it('counts a request refused before it left (DNS, no route, connection refused) as not sent, anything else as maybe', () => {
    for (const code of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_CONNECT_TIMEOUT',
    ]) {
      const direct = new HeroNetworkError('send_message', { code });
      assert.equal(direct.processed, 'no', code);
      assert.equal(direct.message, `Hero send_message: network error: ${code}`);
      assert.equal(
        new HeroNetworkError('send_message', { cause: { code } }).processed,
        'no',
        `${code} as fetch's cause`,
      );
    }
    assert.equal(new HeroNetworkError('send_message', { code: 'ECONNRESET' }).processed, 'maybe');
    const unknown = new HeroNetworkError('send_message', undefined);
    assert.equal(unknown.message, 'Hero send_message: network error: the request could not be sent');
    assert.equal(unknown.processed, 'maybe');
    assert.equal(new HeroNetworkError('send_message', { code: 42 }).processed, 'maybe');
  });
});

describe("Hero's inferred answers (docs/hero-api.md, INFERRED)", () => {
  it('reads the booking link from short_link, else url, and refuses a body with neither', () => {
    assert.deepEqual(createBookingLinkResponseSchema.parse({ id: 5, short_link: 'https://h.st/a' }), {
      id: '5',
      url: 'https://h.st/a',
    });
    assert.deepEqual(createBookingLinkResponseSchema.parse({ id: '5', url: 'https://h.st/b' }).url, 'https://h.st/b');
    const neither = createBookingLinkResponseSchema.safeParse({ id: '5' });
    assert.deepEqual(
      neither.error?.issues.map((i) => [i.path.join('.'), i.message]),
      [['short_link', 'expected short_link (or url) in the booking link response']],
    );
  });
  it('knows which delivery statuses are final, and which of those failed', () => {
    assert.deepEqual([...FAILED_DELIVERY_STATUSES].sort(), [
      'bounced',
      'cancelled',
      'expired',
      'failed',
      'rejected',
      'undelivered',
    ]);
    assert.deepEqual([...FINAL_DELIVERY_STATUSES].sort(), [
      'bounced',
      'cancelled',
      'delivered',
      'expired',
      'failed',
      'read',
      'rejected',
      'seen',
      'undelivered',
    ]);
  });
  it('reads a page of sent messages and a webhook list in either shape', () => {
    assert.deepEqual(
      sentMessagesPageSchema.parse({
        data: [
          { id: 1, short_link: { id: 2 } },
          { id: 3, short_link: null },
        ],
        count: 2,
      }),
      {
        data: [
          { id: '1', short_link: { id: '2' } },
          { id: '3', short_link: null },
        ],
        count: 2,
      },
    );
    assert.equal(sentMessagesPageSchema.safeParse({ data: [], count: -1 }).success, false);
    const list = webhookListShape(z.object({ id: z.string() }));
    assert.deepEqual(list.parse({ data: [{ id: 'a' }] }), [{ id: 'a' }]);
    assert.deepEqual(list.parse([{ id: 'b' }]), [{ id: 'b' }]);
    assert.equal(list.safeParse({ items: [] }).success, false);
  });
});
