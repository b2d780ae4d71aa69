import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dobSchema, isIsoCalendarDate, isoDateSchema } from '../src/hero/dob';
import { isValidNhsNumber, nhsNumberSchema, normaliseNhsNumber } from '../src/hero/nhs-number';
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
