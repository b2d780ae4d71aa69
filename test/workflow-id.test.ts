import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { outreachWorkflowId, WorkflowIdError } from '../src/client/workflow-id';
import { isValidNhsNumber } from '../src/shared/nhs-number';
import { patientDataKinds } from '../src/shared/patient-data';
import { redact } from '../src/shared/redact';
import type { OutreachInput } from '../src/workflows/schemas';

/**
 * The caller's workflow-ID check and redact() share one definition of patient data
 * (src/shared/patient-data.ts). These properties hold them to it: every NHS number and date, in any
 * separators, is refused by the one and masked by the other; every ID the check accepts, and every
 * ID hero-flow derives itself, comes out of redact() unchanged.
 */

const NO_INPUT = {} as OutreachInput;
const check = (businessId: string) => outreachWorkflowId(NO_INPUT, { businessId });

/** The refusal, or undefined when the ID is accepted. */
function refusal(id: string): WorkflowIdError | undefined {
  try {
    check(id);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof WorkflowIdError, `not a WorkflowIdError: ${String(err)}`);
    return err;
  }
}

const NHS_REASON = /looks like it contains an NHS number/;
const DATE_REASON = /looks like it contains (?:an NHS number .* and )?a date/;

// ---- generators -------------------------------------------------------------------------------

/** A valid NHS number: 9 digits and their Modulus 11 check digit (stems whose check is 10 skipped). */
const nhsNumber = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
  .map((stem) => {
    const sum = stem.reduce((acc, d, i) => acc + d * (10 - i), 0);
    const check = 11 - (sum % 11);
    return check === 10 ? undefined : stem.join('') + String(check === 11 ? 0 : check);
  })
  .filter((n): n is string => n !== undefined);

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const calendarDate = fc
  .record({ year: fc.integer({ min: 1000, max: 9999 }), month: fc.integer({ min: 1, max: 12 }) })
  .chain(({ year, month }) => fc.integer({ min: 1, max: daysIn(year, month) }).map((day) => ({ year, month, day })));

/** Every separator the issue names, and the spacing styles people paste. */
const SEPARATORS = ['.', '-', ':', '_', '/', '@', ' ', '\t', '\u00a0'];
const separatorRun = fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 3 }).map((s) => s.join(''));

/** Ten digits cut into groups anywhere (or not at all), each gap with its own run of separators. */
const renderedNhsNumber = fc
  .tuple(nhsNumber, fc.subarray([1, 2, 3, 4, 5, 6, 7, 8, 9]), fc.array(separatorRun, { minLength: 9, maxLength: 9 }))
  .map(([digits, cuts, seps]) => {
    let out = '';
    for (let i = 0; i < 10; i++) out += (cuts.includes(i) ? seps[i - 1]! : '') + digits[i]!;
    return { digits, rendered: out };
  });

const pad = (n: number) => String(n).padStart(2, '0');
/** A date as 8 digits in a row, or as three numbers (day and month padded or not) in any separators. */
const renderedDate = fc
  .tuple(calendarDate, fc.constantFrom('YMD', 'DMY', 'MDY'), fc.boolean(), fc.boolean(), separatorRun, separatorRun)
  .map(([{ year, month, day }, order, compact, padded, s1, s2]) => {
    const [d, m] = compact || padded ? [pad(day), pad(month)] : [String(day), String(month)];
    const y = String(year);
    const parts = order === 'YMD' ? [y, m, d] : order === 'DMY' ? [d, m, y] : [m, d, y];
    const rendered = compact ? parts.join('') : `${parts[0]}${s1}${parts[1]}${s2}${parts[2]}`;
    return { digits: parts.join(''), rendered };
  });

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
const ID_SEPARATORS = ['.', '_', ':', '@', '-'];
const DIGITS = '0123456789'.split('');
/** Surrounding ID text without digits ("NHS_", "p.", ".d.", "dob:"). */
const digitFreeText = fc.string({
  unit: fc.constantFrom(...LETTERS, ...ID_SEPARATORS),
  maxLength: 12,
});
/**
 * Anything over the ID alphabet, digits well represented: runs of 1-9 digits, letters and
 * separators, so that chains of numbers close to an NHS number or a date are common.
 */
const idText = (maxTokens: number, minTokens = 0) =>
  fc
    .array(
      fc.oneof(
        { arbitrary: fc.string({ unit: fc.constantFrom(...DIGITS), minLength: 1, maxLength: 9 }), weight: 4 },
        { arbitrary: fc.string({ unit: fc.constantFrom(...LETTERS), minLength: 1, maxLength: 3 }), weight: 1 },
        { arbitrary: fc.string({ unit: fc.constantFrom(...ID_SEPARATORS), minLength: 1, maxLength: 2 }), weight: 3 },
      ),
      { minLength: minTokens, maxLength: maxTokens },
    )
    .map((tokens) => tokens.join(''))
    .filter((s) => s.length <= 200);

const patientData = fc.oneof(
  renderedNhsNumber.map((v) => ({ ...v, kind: 'nhs-number' as const })),
  renderedDate.map((v) => ({ ...v, kind: 'date' as const })),
);

const RUNS = { numRuns: 400 };

// ---- tests ------------------------------------------------------------------------------------

describe('workflow IDs: a caller business ID never carries patient data', () => {
  it('refuses every form of NHS number and date the bad-input audit found, saying why without echoing the ID', () => {
    const cases: [string, RegExp][] = [
      ['943.476.5919', NHS_REASON],
      ['943-476-5919', NHS_REASON],
      ['943:476:5919', NHS_REASON],
      ['NHS_943_476_5919', NHS_REASON],
      ['94.34.76.59.19', NHS_REASON],
      ['patient-9434765919', NHS_REASON],
      ['943 476 5919', NHS_REASON],
      ['ref-12.943-476-5919', NHS_REASON],
      ['19434765919', NHS_REASON],
      ['p.943.476.5919.d.19920101', /NHS number .* and a date/],
      ['19920101', DATE_REASON],
      ['1992.01.01', DATE_REASON],
      ['01-01-1992', DATE_REASON],
      ['dob:1992:01:01', DATE_REASON],
      ['01/01/1992', DATE_REASON],
      ['12-31-1992', DATE_REASON],
      ['born.29.2.2000', DATE_REASON],
      ['run-2026-11-26T09:10:38', DATE_REASON],
      ['ref-12.1992.01.01', DATE_REASON],
    ];
    for (const [id, reason] of cases) {
      const err = refusal(id);
      assert.ok(err, `accepted ${id}`);
      assert.match(err.message, reason, id);
      assert.ok(!err.message.includes(id), `echoes ${id}`);
    }
  });

  it('refuses every run of exactly eight digits, a real date or not', () => {
    for (const id of ['order-12345678', '99999999', 'x.00000000.y'])
      assert.match(refusal(id)?.message ?? '', DATE_REASON, id);
  });

  it('accepts ordinary business IDs, including digits that are no NHS number and no date', () => {
    for (const id of [
      'demo-1',
      'e2e-persist-3f2a9c11',
      'practice-42:patient-17',
      'order-2024-17',
      'rel-123456-42',
      'v1.2.3',
      '9434765918', // fails Modulus 11
      '1992.02.30', // no 30 February
      '1234567', // seven digits
      '123456789', // nine digits
      'a@b_c.d-e:f',
    ]) {
      assert.equal(check(id), id);
    }
  });

  it('keeps the character set and the 1-200 length: / and spaces are not ID characters', () => {
    for (const id of ['a/b', 'a b', '', ' ', 'x'.repeat(201), 'é']) {
      assert.match(refusal(id)?.message ?? '', /must be 1-200 characters of letters, digits and \. _ : @ -/, id);
    }
    assert.equal(check('x'.repeat(200)), 'x'.repeat(200));
  });

  it('property: any NHS number or date, in any separators, inside digit-free ID text, is refused and fully masked', () => {
    fc.assert(
      fc.property(digitFreeText, patientData, digitFreeText, (before, value, after) => {
        if (value.kind === 'nhs-number') assert.ok(isValidNhsNumber(value.digits), 'generator');
        const text = before + value.rendered + after;
        const err = refusal(text);
        assert.ok(err, 'accepted');
        assert.match(err.message, value.kind === 'nhs-number' ? NHS_REASON : DATE_REASON);
        assert.ok(!err.message.includes(value.digits) && !err.message.includes(value.rendered.trim()));
        assert.doesNotMatch(redact(text), /[0-9]/);
      }),
      RUNS,
    );
  });

  it('property: inside ID text with digits of its own, it is refused and masked, the text around it unchanged', () => {
    // A letter on each side keeps the surrounding digits out of its chain. Not 'T': a date followed
    // by T and a time is an ISO timestamp, which redact() keeps on purpose.
    const boundary = fc.constantFrom(...LETTERS.filter((c) => c !== 'T'));
    fc.assert(
      fc.property(idText(6), boundary, patientData, boundary, idText(6), (before, l1, value, l2, after) => {
        const text = before + l1 + value.rendered + l2 + after;
        assert.ok(refusal(text), 'accepted');
        assert.equal(redact(text), redact(before + l1) + `[${value.kind}]` + redact(l2 + after));
      }),
      RUNS,
    );
  });

  it('property: an NHS number joined by separators to digits around it is still refused and masked', () => {
    // Ten digits anywhere in a chain count, not only a chain's first ten.
    fc.assert(
      fc.property(
        idText(6),
        separatorRun,
        renderedNhsNumber,
        separatorRun,
        idText(6),
        (before, s1, value, s2, after) => {
          const text = `${before}${s1}${value.rendered}${s2}${after}`;
          assert.match(refusal(text)?.message ?? '', NHS_REASON);
          assert.ok(!redact(text).includes(value.rendered), redact(text));
        },
      ),
      RUNS,
    );
  });

  it('property: every ID the check accepts comes out of redact() unchanged, alone or in a log line', () => {
    let accepted = 0;
    fc.assert(
      fc.property(idText(12, 1), (id) => {
        if (refusal(id)) return;
        accepted++;
        assert.equal(redact(id), id);
        const line = `2026-11-26T09:10:38.123Z [INFO] started {"workflowId":"${id}","attempt":1}`;
        assert.equal(redact(line), line);
      }),
      { numRuns: 1000 },
    );
    assert.ok(accepted > 200, `only ${accepted} of 1000 generated IDs were accepted: the property says little`);
  });
});

describe('workflow IDs: the ones hero-flow derives', () => {
  const input = (nhs: string, dob: string, text = 'Book your appointment: {booking_link}') =>
    ({
      nhsNumber: nhs,
      dob,
      booking: {
        appointmentTypeId: '1',
        locationId: '5',
        practitionerId: '7',
        expiryDate: '2026-12-31',
        maximumUseCount: 1,
      },
      message: { type: 'sms', text },
      verification: { timeout: 604_800_000, recheckEvery: 21_600_000 },
    }) as OutreachInput;

  it('keeps the exact format of earlier versions: the same request and secret give the same ID', () => {
    // examples/request.json, parsed; the value was produced by the code before this change.
    assert.equal(
      outreachWorkflowId(input('9434765919', '1992-01-01'), { secret: 'golden-secret' }),
      'outreach-fb26890f4dae3f76e3e1a61bc0363765',
    );
  });

  it('leaves a derived ID unchanged in redact() even when its hex holds an NHS-number-like or 8-digit run', () => {
    // Secrets picked so that the hex of the example request's ID holds such a run; the premise is
    // asserted, so a change of format cannot make this test vacuous.
    const cases = [
      { secret: 'secret-8', kind: 'nhs-number', id: 'outreach-700f30dc4f4b42586478118de26cdfe0' }, // 42586478118
      { secret: 'secret-0', kind: 'date', id: 'outreach-47f81cec64b5f78e15744901ff002ee4' }, // 15744901
    ] as const;
    for (const { secret, kind, id } of cases) {
      assert.equal(outreachWorkflowId(input('9434765919', '1992-01-01'), { secret }), id);
      assert.ok(patientDataKinds(id.slice('outreach-'.length)).has(kind), `${id} holds no ${kind}`);
      // As a caller's business ID, the same string would be refused.
      assert.ok(refusal(id), `${id} would be accepted as a business ID`);
      assert.equal(redact(id), id);
      const line = `workflow ${id} started {"workflowId":"${id}"}`;
      assert.equal(redact(line), line);
    }
  });

  it('property: derived IDs for any request and secret have the fixed format and come out of redact() unchanged', () => {
    const dob = calendarDate.map(({ year, month, day }) => `${year}-${pad(month)}-${pad(day)}`);
    fc.assert(
      fc.property(
        nhsNumber,
        dob,
        fc.string({ maxLength: 60 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (n, d, text, secret) => {
          const id = outreachWorkflowId(input(n, d, text), { secret });
          assert.match(id, /^outreach-[0-9a-f]{32}$/);
          assert.equal(redact(id), id);
          const line = `2026-11-26T09:10:38.123Z [INFO] Workflow started {"workflowId":"${id}","runId":"0193"}`;
          assert.equal(redact(line), line);
        },
      ),
      { numRuns: 500 },
    );
  });
});
