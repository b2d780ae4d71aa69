import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeHeroSignature,
  DEFAULT_TOLERANCE_MS,
  parseHeroTimestamp,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyHeroSignature,
} from '../src/webhooks/signature';

/**
 * Hero's webhook signature (docs/hero-api.md §5), computed here independently of src/webhooks with
 * node:crypto, as a partner would from Hero's security page.
 */
const KEY = 'whsec-signature-test-key';
const BODY = Buffer.from(
  '{"object":"Appointment","id":"7001","practice_group_id":"1","event":"appointment.confirmed"}',
);
const AT = Date.parse('2026-06-10T06:13:20.000Z');
const mac = (timestamp: string, body: Buffer = BODY, key = KEY) =>
  createHmac('sha256', key)
    .update(`${timestamp}.${body.toString('utf8')}`)
    .digest();

describe('Hero webhook headers', () => {
  it('are X-Herohealth-Signature and X-Herohealth-Timestamp (docs/hero-api.md §5), as Node lower-cases them', () => {
    assert.equal(SIGNATURE_HEADER, 'x-herohealth-signature');
    assert.equal(TIMESTAMP_HEADER, 'x-herohealth-timestamp');
  });
});

describe('Hero webhook timestamps: Unix seconds, Unix milliseconds or ISO 8601', () => {
  it('reads each form as the same instant', () => {
    for (const form of [
      '1781072000',
      '1781072000000',
      '1781072000.000',
      '2026-06-10T06:13:20Z',
      '2026-06-10T06:13:20.000Z',
      '2026-06-10t06:13:20z',
      '2026-06-10T07:13:20+01:00',
      '2026-06-10T07:13:20+0100',
      '2026-06-10T01:13:20-05:00',
      ' 1781072000 ',
    ]) {
      assert.equal(parseHeroTimestamp(form), AT, form);
    }
    assert.equal(parseHeroTimestamp('1781072000.5'), AT + 500);
    assert.equal(parseHeroTimestamp('2026-06-10T06:13Z'), AT - 20_000, 'seconds are optional');
  });

  it('refuses anything else: no zone, a date alone, words, signs, exponents', () => {
    for (const bad of [
      '',
      'now',
      '2026-06-10',
      '2026-06-10T06:13:20',
      '2026-06-10 06:13:20Z',
      '-1781072000',
      '1.78e9',
      '0x6a1f0a00',
      '17810720000000000',
      '2026-13-40T06:13:20Z',
      // Whole-value forms only: text around an accepted form is not ignored.
      '+002026-06-10T06:13:20Z',
      'x1781072000',
    ]) {
      assert.equal(parseHeroTimestamp(bad), undefined, bad);
    }
  });
});

describe('Hero webhook signatures: hex or base64, with or without sha256=', () => {
  const bytes = mac('1781072000');

  it('decodes hex in any case, base64, base64url, padded or not, with an optional sha256= prefix', () => {
    for (const form of [
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      `sha256=${bytes.toString('hex')}`,
      `SHA256=${bytes.toString('base64')}`,
      ` ${bytes.toString('hex')}\t`,
    ]) {
      assert.deepEqual(decodeHeroSignature(form), bytes, form);
    }
  });

  it('refuses what is not a 32-byte MAC, without throwing', () => {
    for (const bad of [
      '',
      bytes.toString('hex').slice(2),
      `${bytes.toString('hex')}00`,
      bytes.subarray(1).toString('base64'),
      Buffer.concat([bytes, Buffer.from([1])]).toString('base64'),
      'z'.repeat(64),
      `v1=${bytes.toString('hex')}`,
      `${bytes.toString('hex')},${bytes.toString('hex')}`,
      // Characters base64 decoding would skip: the whole value must be in one encoding.
      `!${bytes.toString('base64')}`,
      `${bytes.toString('base64')}!`,
      `${bytes.toString('base64').slice(0, 20)}!${bytes.toString('base64').slice(20)}`,
      `*${bytes.toString('base64url')}`,
      `${bytes.toString('base64url')}*`,
      // The prefix only in front.
      `${bytes.toString('hex').slice(0, 10)}sha256=${bytes.toString('hex').slice(10)}`,
    ]) {
      assert.equal(decodeHeroSignature(bad), undefined, bad);
    }
  });
});

describe('verifyHeroSignature', () => {
  const check = (
    timestamp: string | undefined,
    signature: string | undefined,
    opts: { body?: Buffer; key?: string; now?: number; toleranceMs?: number } = {},
  ) =>
    verifyHeroSignature({
      signingKey: opts.key ?? KEY,
      timestamp,
      signature,
      body: opts.body ?? BODY,
      now: opts.now ?? AT,
      toleranceMs: opts.toleranceMs,
    });

  it('accepts a delivery signed over "{timestamp}.{raw body}" for every timestamp and signature form', () => {
    for (const timestamp of ['1781072000', '1781072000000', '2026-06-10T06:13:20.000Z', '2026-06-10T07:13:20+01:00']) {
      for (const signature of [
        mac(timestamp).toString('hex'),
        mac(timestamp).toString('base64'),
        `sha256=${mac(timestamp).toString('hex').toUpperCase()}`,
      ]) {
        assert.deepEqual(check(timestamp, signature), { ok: true, timestampMs: AT }, `${timestamp} ${signature}`);
      }
    }
  });

  it('signs the timestamp exactly as sent: the same instant written another way does not verify', () => {
    assert.deepEqual(check('1781072000000', mac('1781072000').toString('hex')), {
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  it('refuses a wrong key, a tampered body, a re-serialised body, and says which check failed', () => {
    const timestamp = '1781072000';
    const good = mac(timestamp).toString('hex');
    assert.deepEqual(check(timestamp, mac(timestamp, BODY, 'another-key-0123456').toString('hex')), {
      ok: false,
      reason: 'signature_mismatch',
    });
    const tampered = Buffer.from(BODY.toString().replace('7001', '7002'));
    assert.deepEqual(check(timestamp, good, { body: tampered }), { ok: false, reason: 'signature_mismatch' });
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));
    assert.deepEqual(check(timestamp, good, { body: reserialised }), { ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a timestamp more than 5 minutes (300 s, docs/hero-api.md §5) from now, either way', () => {
    // Literal edges, not DEFAULT_TOLERANCE_MS: a wrong constant must fail here, not move the edges with it.
    const timestamp = '1781072000000';
    const signature = mac(timestamp).toString('base64');
    assert.equal(DEFAULT_TOLERANCE_MS, 300_000);
    for (const now of [AT + 300_000, AT - 300_000, AT + 299_999, AT - 1]) {
      assert.deepEqual(check(timestamp, signature, { now }), { ok: true, timestampMs: AT }, `now = AT ${now - AT} ms`);
    }
    for (const now of [AT + 300_001, AT - 300_001, AT + 3_600_000]) {
      assert.deepEqual(check(timestamp, signature, { now }), { ok: false, reason: 'stale_timestamp' }, `${now - AT}`);
    }
    // A tolerance given by the caller replaces the default, edges included.
    assert.equal(check(timestamp, signature, { now: AT + 60_000, toleranceMs: 60_000 }).ok, true);
    assert.equal(check(timestamp, signature, { now: AT + 60_001, toleranceMs: 60_000 }).ok, false);
    assert.equal(check(timestamp, signature, { now: AT - 60_001, toleranceMs: 60_000 }).ok, false);
    assert.equal(check(timestamp, signature, { now: AT + 300_000, toleranceMs: 60_000 }).ok, false);
  });

  it('refuses missing or malformed headers with a code, echoing nothing', () => {
    const timestamp = '1781072000';
    const signature = mac(timestamp).toString('hex');
    const cases: [string | undefined, string | undefined, string][] = [
      [undefined, signature, 'missing_timestamp'],
      ['  ', signature, 'missing_timestamp'],
      [timestamp, undefined, 'missing_signature'],
      [timestamp, ' \t', 'missing_signature'],
      ['yesterday', signature, 'malformed_timestamp'],
      [timestamp, signature.slice(1), 'malformed_signature'],
    ];
    for (const [ts, sig, reason] of cases) {
      const result = check(ts, sig);
      assert.deepEqual(result, { ok: false, reason });
      for (const secret of [KEY, signature, timestamp]) assert.ok(!JSON.stringify(result).includes(secret));
    }
  });
});
