/**
 * Fast guards (pure functions, no Temporal server) for src/shared: the zod problem lines users read,
 * the patient-data finder, and redact/redactDeep edge cases. Written against the survivors of
 * `npm run test:mutation -- shared` (see the survivor table in docnotes/mutation.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { findPatientData, patientDataKinds } from '../src/shared/patient-data';
import { describeProblems, editDistance, isShowableKey, MAX_PROBLEMS, nearestKey } from '../src/shared/problems';
import { redact, redactDeep, REDACT_MAX_NODES } from '../src/shared/redact';

const problemsOf = (schema: z.ZodType, value: unknown, root?: string, withSchema = true) => {
  const parsed = schema.safeParse(value);
  assert.ok(!parsed.success, 'the value was expected to fail');
  return describeProblems(parsed.error, root, withSchema ? schema : undefined);
};

describe('problems: which keys may be shown', () => {
  it('shows field names and hides anything that could hold patient data', () => {
    for (const key of ['expiryDate', '_x', '$ref', 'x-y', 'a1234', 'a'.repeat(64)])
      assert.equal(isShowableKey(key), true, key);
    for (const key of ['a12345', '9434765919', '1abc', 'a b', 'a.b', '', 'a'.repeat(65), 'nhs 9434765919'])
      assert.equal(isShowableKey(key), false, key);
    assert.equal(isShowableKey(Symbol('expiryDate')), false);
    assert.equal(isShowableKey(3), false);
  });
});

describe('problems: edit distance and the suggested key', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(editDistance('abcd', 'acbd'), 1);
    assert.equal(editDistance('expiryDte', 'expiryDate'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('ABC', 'abc'), 3); // case-sensitive: nearestKey lower-cases first
    assert.equal(editDistance('ca', 'abc'), 3); // optimal string alignment, not full Damerau
    assert.equal(editDistance('a'.repeat(100), ''), 100);
    // More than 64 characters apart, the length difference stands in: a bound, not worth the quadratic work.
    assert.equal(editDistance('x', 'y'.repeat(70)), 69);
    assert.equal(editDistance('x', 'y'.repeat(65)), 65); // 64 apart: still computed
    assert.equal(editDistance('a'.repeat(40), 'b'.repeat(40)), 40); // long but equally long: computed
  });

  it('suggests only a close enough key: 1 edit up to 4 characters, 2 up to 8, 3 beyond', () => {
    assert.equal(nearestKey('abcd', ['abcx']), 'abcx');
    assert.equal(nearestKey('abcd', ['abxy']), undefined);
    assert.equal(nearestKey('abcde', ['abxye']), 'abxye');
    assert.equal(nearestKey('abcde', ['axyze']), undefined);
    assert.equal(nearestKey('abcdefgh', ['abcdefxy']), 'abcdefxy');
    assert.equal(nearestKey('abcdefgh', ['abcdexyz']), undefined);
    assert.equal(nearestKey('abcdefghi', ['abcdefxyz']), 'abcdefxyz');
    assert.equal(nearestKey('abcdefghi', ['abcdewxyz']), undefined);
  });

  it('ignores case, skips the key itself, prefers the closest, and breaks ties by order', () => {
    assert.equal(nearestKey('EXPIRYDATE', ['expiryDate']), 'expiryDate');
    assert.equal(nearestKey('date', ['date']), undefined);
    assert.equal(nearestKey('dat', ['date', 'data']), 'date');
    assert.equal(nearestKey('dat', ['data', 'date']), 'data');
    assert.equal(nearestKey('expiryDte', ['expiry', 'expiryDat', 'expiryDate']), 'expiryDate');
    assert.equal(nearestKey('expiryDte', []), undefined);
  });
});

describe('problems: the lines describeProblems writes', () => {
  const booking = z.strictObject({ booking: z.strictObject({ expiryDate: z.string() }), n: z.number().optional() });

  it('names the path, the message and, for an unknown key, the nearest known key of that object', () => {
    assert.deepEqual(problemsOf(booking, { booking: { expiryDte: 'x', expiryDate: 1 }, n: 'a', nhsNumbr: 1 }), [
      'booking.expiryDate: Invalid input: expected string, received number',
      'booking.expiryDte: unknown field; did you mean "expiryDate"?',
      'n: Invalid input: expected number, received string',
      'nhsNumbr: unknown field',
    ]);
    // Without the schema there is nothing to suggest.
    assert.deepEqual(problemsOf(booking, { booking: { expiryDte: 'x', expiryDate: 'y' } }, undefined, false), [
      'booking.expiryDte: unknown field',
    ]);
  });

  it('names the whole value by root when the problem has no path', () => {
    assert.deepEqual(problemsOf(z.string(), 1), ['(input): Invalid input: expected string, received number']);
    assert.deepEqual(problemsOf(z.string(), 1, '(request)'), [
      '(request): Invalid input: expected string, received number',
    ]);
  });

  it('writes array indexes and hides keys that do not look like field names', () => {
    const items = z.strictObject({ items: z.array(z.strictObject({ x: z.string() })) });
    assert.deepEqual(problemsOf(items, { items: [{ x: 'a' }, { x: 1 }] }), [
      'items.1.x: Invalid input: expected string, received number',
    ]);
    const byNhs = z.record(z.string(), z.number());
    assert.deepEqual(problemsOf(byNhs, { '9434765919': 'x' }), [
      '<field>: Invalid input: expected number, received string',
    ]);
  });

  it('names at most 5 unknown keys per object and counts the rest', () => {
    const six = Object.fromEntries(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].map((k) => [k, 1]));
    const seven = { ...six, k7: 1 };
    const strict = z.strictObject({ a: z.number().optional() });
    const lines6 = problemsOf(strict, six, '(request)');
    assert.deepEqual(
      lines6.slice(0, 5),
      ['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => `${k}: unknown field`),
    );
    assert.deepEqual(lines6.slice(5), ['(request): 1 more unknown field']);
    assert.deepEqual(problemsOf(strict, seven, '(request)').slice(5), ['(request): 2 more unknown fields']);
    const nested = z.strictObject({ inner: strict });
    assert.deepEqual(problemsOf(nested, { inner: seven }).slice(5), ['inner: 2 more unknown fields']);
    assert.deepEqual(problemsOf(strict, { k1: 1 }), ['k1: unknown field']);
  });

  it('counts, without naming them, unknown keys that may hold patient data', () => {
    const strict = z.strictObject({ a: z.number().optional() });
    assert.deepEqual(problemsOf(strict, { '9434765919': 1 }, '(request)'), [
      '(request): an unknown field whose name is not shown (it does not look like a field name and may hold patient data)',
    ]);
    assert.deepEqual(
      problemsOf(z.strictObject({ inner: strict }), { inner: { '9434765919': 1, '1992-01-01': 2, other: 3 } }),
      [
        'inner.other: unknown field',
        'inner: 2 unknown fields whose names are not shown (they do not look like field names and may hold patient data)',
      ],
    );
  });

  it(`lists at most ${MAX_PROBLEMS} problems, the last line counting the rest`, () => {
    const many = (n: number) =>
      z.strictObject(Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, z.string()])));
    const bad = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    const exactly = problemsOf(many(MAX_PROBLEMS), bad(MAX_PROBLEMS));
    assert.equal(exactly.length, MAX_PROBLEMS);
    assert.equal(exactly[MAX_PROBLEMS - 1], `f${MAX_PROBLEMS - 1}: Invalid input: expected string, received number`);
    const over = problemsOf(many(MAX_PROBLEMS + 1), bad(MAX_PROBLEMS + 1));
    assert.equal(over.length, MAX_PROBLEMS);
    assert.equal(over[MAX_PROBLEMS - 2], `f${MAX_PROBLEMS - 2}: Invalid input: expected string, received number`);
    assert.equal(over[MAX_PROBLEMS - 1], '... and 2 more problems');
    assert.equal(problemsOf(many(25), bad(25))[MAX_PROBLEMS - 1], '... and 6 more problems');
  });

  it('finds the known keys through optional, default, nullable, pipe, union, intersection, array, record and tuple', () => {
    const leaf = z.strictObject({ expiryDate: z.string() });
    const cases: [z.ZodType, unknown, string][] = [
      [z.strictObject({ b: leaf.optional() }), { b: { expiryDte: '' } }, 'b.expiryDte'],
      [z.strictObject({ b: leaf.default({ expiryDate: '' }) }), { b: { expiryDte: '' } }, 'b.expiryDte'],
      [z.strictObject({ b: leaf.nullable() }), { b: { expiryDte: '' } }, 'b.expiryDte'],
      [z.strictObject({ b: leaf.pipe(z.any()) }), { b: { expiryDte: '' } }, 'b.expiryDte'],
      [z.strictObject({ b: z.array(leaf) }), { b: [{ expiryDte: '' }] }, 'b.0.expiryDte'],
      [z.strictObject({ b: z.record(z.string(), leaf) }), { b: { x: { expiryDte: '' } } }, 'b.x.expiryDte'],
      [z.strictObject({ b: z.tuple([z.string(), leaf]) }), { b: ['', { expiryDte: '' }] }, 'b.1.expiryDte'],
      [
        z.intersection(z.object({ a: z.string() }), z.strictObject({ b: leaf })),
        { a: '', b: { expiryDte: '' } },
        'b.expiryDte',
      ],
      [
        z.discriminatedUnion('kind', [
          z.strictObject({ kind: z.literal('a'), alpha: z.string() }),
          z.strictObject({ kind: z.literal('b'), b: leaf }),
        ]),
        { kind: 'b', b: { expiryDte: '' } },
        'b.expiryDte',
      ],
    ];
    for (const [schema, value, at] of cases)
      assert.ok(problemsOf(schema, value).includes(`${at}: unknown field; did you mean "expiryDate"?`), at);
    const union = z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('a'), alpha: z.string() }),
      z.strictObject({ kind: z.literal('b'), beta: z.string() }),
    ]);
    assert.deepEqual(problemsOf(union, { kind: 'b', betta: 'x', beta: 'y' }), [
      'betta: unknown field; did you mean "beta"?',
    ]);
  });
});

describe('patient-data: what counts as a date, and which timestamps are kept', () => {
  const kinds = (text: string, keepTimestamps = false) => [...patientDataKinds(text, { keepTimestamps })];

  it('checks real calendar dates: month and day ranges, leap years', () => {
    for (const text of ['2024-02-29', '2000-02-29', '29/02/2024', '02/29/2024', '1992-12-31', '1992-1-1'])
      assert.deepEqual(kinds(text), ['date'], text);
    for (const text of [
      '2023-02-29',
      '1900-02-29',
      '1992-01-00',
      '1992-00-10',
      '1992-13-10',
      '1992-04-31',
      '32/01/1992',
    ])
      assert.deepEqual(kinds(text), [], text);
  });

  it('counts an 8-digit run anywhere in a chain, and a triple only with a four-digit year', () => {
    assert.deepEqual(kinds('ref 5 19920101'), ['date']);
    for (const text of ['v 5-1-1', 'v 12-1-1']) assert.deepEqual(kinds(text), [], text);
  });

  it('keeps timestamps only when asked: the workflow-ID check refuses them', () => {
    assert.deepEqual(kinds('2026-11-26T09:10:38Z'), ['date']);
    assert.deepEqual(kinds('2026-11-26T09:10:38Z', true), []);
  });

  it('takes only one- or two-digit day and month', () => {
    for (const text of ['1992-001-01', '1992-01-001', '001-01-1992', '01-001-1992'])
      assert.deepEqual(kinds(text), [], text);
  });

  it('reports the whole chain that holds the match', () => {
    assert.deepEqual(findPatientData('dob 01/01/1992 nhs 943 476 5919'), [
      { kind: 'date', start: 4, end: 14 },
      { kind: 'nhs-number', start: 19, end: 31 },
    ]);
    assert.deepEqual(findPatientData('nothing 12 here'), []);
  });

  it('keeps a timestamp with any time part other than midnight, fractions and commas included', () => {
    for (const ts of [
      '2026-11-26T00:00:05',
      '1992-01-01T00:00:00.5',
      '1992-01-01T00:00:00,5',
      '1992-01-01T00:00:00.05',
      '2026-11-26T00:01',
    ])
      assert.equal(redact(`at ${ts} ok`), `at ${ts} ok`, ts);
    // A number before the timestamp, in the same chain, does not stop it being one.
    assert.equal(redact('attempt 3, 2026-11-26T09:10:38.123Z'), 'attempt 3, 2026-11-26T09:10:38.123Z');
  });

  it('masks a date that only looks like a timestamp', () => {
    for (const [text, masked] of [
      ['on 2026-11-26 T09:10', 'on [date] T09:10'], // the T must follow the day
      ['at 2026-11-26T09:5', 'at [date]T09:5'], // minutes are two digits
      ['dob 1992-01-01T00:00:5', 'dob [date]T00:00:5'], // so are seconds: this is midnight
      ['at 2026-1-26T09:10', 'at [date]T09:10'], // month
      ['at 2026-11-6T09:10', 'at [date]T09:10'], // day
      ['at 2026/11-26T09:10', 'at [date]T09:10'],
      ['at 2026-11/26T09:10', 'at [date]T09:10'],
      ['at 2026--11-26T09:10', 'at [date]T09:10'],
      ['at 2026-11--26T09:10', 'at [date]T09:10'],
    ] as const)
      assert.equal(redact(text), masked, text);
  });
});

describe('redact: edge cases of the kept addresses and login URLs', () => {
  it('masks login URLs over plain http too', () => {
    assert.equal(redact('go http://localhost:8080/verify/abc123 now'), 'go [login-url] now');
  });

  it('keeps private addresses whose octets run 100-255 even when their digits pass Modulus 11', () => {
    // Each of these (with its port) reads as a valid NHS number; all are in 10.0.0.0/8.
    for (const address of ['10.250.1.1:104', '10.200.1.1:106', '10.1.1.250:101', '10.1.1.200:104', '10.1.1.100:118'])
      assert.equal(redact(`peer ${address} up`), `peer ${address} up`, address);
    // 256 is no octet: this is no address, only digits that pass Modulus 11.
    assert.equal(redact('peer 10.256.1.1:101 up'), 'peer [nhs-number] up');
  });

  it('keeps exactly the loopback, private and link-local ranges when the digits pass Modulus 11', () => {
    // Every address below, with its port, reads as a valid NHS number.
    for (const kept of ['172.16.1.1:118', '172.31.1.1:104'])
      assert.equal(redact(`peer ${kept} up`), `peer ${kept} up`, kept);
    for (const masked of [
      '169.253.1.1:15',
      '11.254.1.1:104',
      '172.15.1.1:105',
      '172.32.1.1:109',
      '11.20.1.1:1005',
      '193.168.1.1:12',
      '11.168.1.1:103',
      '192.167.1.1:14',
    ])
      assert.equal(redact(`peer ${masked} up`), 'peer [nhs-number] up', masked);
    // Only an NHS number sends an address to the range check: one that merely reads as a date stays whole.
    assert.equal(redact('peer 94.1.1.1:1992 up'), 'peer 94.1.1.1:1992 up');
  });
});

describe('redactDeep: the values it returns', () => {
  it('keeps null, booleans and undefined, drops functions, and turns bigints into strings', () => {
    assert.deepEqual(redactDeep({ a: null, b: true, c: undefined, d: 5, e: 'x' }), {
      a: null,
      b: true,
      c: undefined,
      d: 5,
      e: 'x',
    });
    assert.equal(redactDeep(null), null);
    assert.equal(redactDeep(false), false);
    assert.equal(
      redactDeep(() => 1),
      undefined,
    );
    const out = redactDeep({ f: () => 1 }) as Record<string, unknown>;
    assert.ok('f' in out && out.f === undefined);
    assert.equal(redactDeep(5n), '5');
    assert.equal(redactDeep(9434765919n), '[nhs-number]');
  });

  it('writes an error as its stack, or its message when it has none', () => {
    const err = new Error('failed for 9434765919');
    assert.ok(err.stack?.includes('\n'));
    assert.equal(redactDeep(err), redact(err.stack!));
    const bare = new Error('failed for 9434765919');
    bare.stack = undefined;
    assert.equal(redactDeep(bare), 'failed for [nhs-number]');
  });

  it('writes dates as ISO strings, masked like any text, and an invalid one as Invalid Date', () => {
    assert.equal(redactDeep(new Date(Number.NaN)), 'Invalid Date');
    assert.equal(redactDeep(new Date('1992-01-01T00:00:00Z')), '[date]T00:00:00.000Z');
    assert.equal(redactDeep(new Date('2026-11-26T09:10:38.123Z')), '2026-11-26T09:10:38.123Z');
  });

  it('copies arrays and own properties exactly, nothing more', () => {
    assert.deepEqual(redactDeep({ a: [], b: ['x', 'y'] }), { a: [], b: ['x', 'y'] });
    const inherits = Object.create({ inherited: '9434765919' }) as Record<string, unknown>;
    inherits.own = 1;
    assert.deepEqual(Object.keys(redactDeep(inherits) as object), ['own']);
  });

  it(`walks exactly ${REDACT_MAX_NODES} values, counting the ones still waiting`, () => {
    const fits = Array.from({ length: REDACT_MAX_NODES - 1 }, () => 'x');
    assert.deepEqual(redactDeep(fits), fits);
    const over = redactDeep(Array.from({ length: REDACT_MAX_NODES }, () => 'x')) as unknown[];
    assert.equal(over.length, REDACT_MAX_NODES);
    assert.equal(over[REDACT_MAX_NODES - 2], 'x');
    assert.equal(over[REDACT_MAX_NODES - 1], '[truncated]');
    // The root and b are walked before a's items are enumerated, and b still waits: a gets what is left.
    const nested = redactDeep({ b: 'x', a: Array.from({ length: REDACT_MAX_NODES * 2 }, () => 'y') }) as {
      a: unknown[];
      b: unknown;
    };
    assert.equal(nested.b, 'x');
    assert.equal(nested.a.length, REDACT_MAX_NODES - 2);
    assert.equal(nested.a[REDACT_MAX_NODES - 4], 'y');
    assert.equal(nested.a[REDACT_MAX_NODES - 3], '[truncated]');
  });

  it('cuts an object with too many keys, marking the cut with a [truncated] key', () => {
    const wide = Object.fromEntries(Array.from({ length: REDACT_MAX_NODES + 5 }, (_, i) => [`k${i}`, i]));
    const out = redactDeep(wide) as Record<string, unknown>;
    const keys = Object.keys(out);
    assert.equal(keys.length, REDACT_MAX_NODES);
    assert.equal(out[`k${REDACT_MAX_NODES - 2}`], REDACT_MAX_NODES - 2);
    assert.equal(out[`k${REDACT_MAX_NODES - 1}`], undefined);
    assert.equal(out['[truncated]'], '[truncated]');
  });
});
