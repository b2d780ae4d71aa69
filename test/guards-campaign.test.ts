import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  csvCell,
  csvHeader,
  jsonlRow,
  REPORT_COLUMNS,
  REPORT_FORMATS,
  type ReportRow,
  writeReport,
} from '../src/client/campaign/report';
import {
  CampaignFileError,
  checkTemplate,
  prepareCampaignList,
  type PreparedCampaignList,
} from '../src/client/campaign/list';
import { mergeTemplate } from '../src/client/campaign/template';
import { nextOpening, openingsBetween, parseDays, sendWindowSchema, spreadSlot } from '../src/shared/send-window';
import { syntheticNhsNumber } from './support/fixtures';

/**
 * Campaign parts at their edges (found by mutation testing: src/client/campaign/template.ts, report.ts,
 * list.ts and src/shared/send-window.ts): what a merge keeps and replaces, every CSV quoting rule, the
 * report's columns and both formats.
 */

/** A Writable that keeps what it is given, as text. */
const collector = () => {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out, text: () => text };
};
const template = JSON.parse(
  readFileSync(join(__dirname, '..', 'examples', 'campaign-template.json'), 'utf8'),
) as Record<string, unknown>;
const listOf = (...lines: string[]) => Readable.from([Buffer.from(lines.join('\n'))]);
const line = (recordId: string, i: number) =>
  JSON.stringify({ recordId, request: { nhsNumber: syntheticNhsNumber(7_000 + i * 17), dob: '1980-02-03' } });
const prepare = (opts: Parameters<typeof prepareCampaignList>[1], ...lines: string[]): Promise<PreparedCampaignList> =>
  prepareCampaignList(listOf(...lines), { template, ...opts });
const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const window = (w: object = {}) => sendWindowSchema.parse(w);
/** The issues' codes and messages for a window; [] when it is accepted. */
const refusal = (w: object) =>
  (sendWindowSchema.safeParse(w).error?.issues ?? []).map((i) => `${i.code}: ${i.message}`);
const ORDER = 'custom: must be two times of day from 00:00 to 24:00, the first before the second, e.g. "08:00-18:00"';
const HOUR = 3600_000;

async function* rowsOf(rows: ReportRow[]): AsyncGenerator<ReportRow> {
  for (const r of rows) yield r;
}

describe('campaign template merge', () => {
  it('keeps the template when the line has no such field, and the line when either is not an object', () => {
    assert.deepEqual(mergeTemplate({ a: 1 }, undefined), { a: 1 });
    assert.equal(mergeTemplate('t', undefined), 't');
    assert.equal(mergeTemplate({ a: 1 }, 'line'), 'line');
    assert.equal(mergeTemplate('t', 'line'), 'line');
    assert.equal(mergeTemplate({ a: 1 }, null), null);
    assert.deepEqual(mergeTemplate(null, { b: 2 }), { b: 2 });
    // An array is a value, not an object to merge into.
    assert.deepEqual(mergeTemplate([1, 2], { 0: 9 }), { 0: 9 });
    assert.deepEqual(mergeTemplate({ a: 1 }, [3]), [3]);
    assert.deepEqual(mergeTemplate({ a: { b: 1 } }, { a: [2] }), { a: [2] });
  });

  it('keeps the template field a line sets to undefined, and every field of both, template first', () => {
    const merged = mergeTemplate({ a: 1, b: { c: 2, d: 3 } }, { b: { d: undefined, e: 4 }, f: 5 }) as Record<
      string,
      unknown
    >;
    assert.deepEqual(merged, { a: 1, b: { c: 2, d: 3, e: 4 }, f: 5 });
    assert.deepEqual(Object.keys(merged), ['a', 'b', 'f']);
  });

  it('changes neither input, and gives fields that can be changed and are listed', () => {
    const template = { message: { type: 'sms', text: 'T' } };
    const line = { message: { text: 'L' } };
    const merged = mergeTemplate(template, line) as { message: { text: string } };
    assert.deepEqual(template, { message: { type: 'sms', text: 'T' } });
    assert.deepEqual(line, { message: { text: 'L' } });
    merged.message.text = 'changed';
    assert.equal(merged.message.text, 'changed');
    assert.deepEqual(JSON.parse(JSON.stringify(merged)), { message: { type: 'sms', text: 'changed' } });
    delete (merged as { message?: unknown }).message;
    assert.deepEqual(merged, {});
  });

  it('does not take a field the template only inherits (from its prototype) as its own', () => {
    const template = Object.create({ inherited: { x: 1 } }) as Record<string, unknown>;
    template.own = 1;
    assert.deepEqual(mergeTemplate(template, { inherited: { y: 2 } }), { own: 1, inherited: { y: 2 } });
  });
});

describe('campaign report: CSV and JSON Lines', () => {
  it('quotes a cell with a carriage return, a quote, a comma or a newline anywhere, and no other', () => {
    assert.equal(csvCell('a\rb'), '"a\rb"');
    assert.equal(csvCell('"'), '""""');
    assert.equal(csvCell('end,'), '"end,"');
    assert.equal(csvCell('\nstart'), '"\nstart"');
    assert.equal(csvCell('a "b" "c"'), '"a ""b"" ""c"""');
    assert.equal(csvCell("it's; fine\t"), "it's; fine\t");
    assert.equal(csvCell(0), '0');
    assert.equal(csvCell(''), '');
  });

  it('names the columns in order, in a CRLF header', () => {
    assert.deepEqual(REPORT_COLUMNS, [
      'recordId',
      'workflowId',
      'state',
      'outcome',
      'bookedAt',
      'remindersSent',
      'deliveryStatus',
      'review',
      'duplicateOf',
    ]);
    assert.equal(
      csvHeader(),
      'recordId,workflowId,state,outcome,bookedAt,remindersSent,deliveryStatus,review,duplicateOf\r\n',
    );
    assert.deepEqual(REPORT_FORMATS, ['csv', 'jsonl']);
  });

  it('writes a JSON line with every set field (0 included) in column order, and none unset', () => {
    assert.equal(
      jsonlRow({ remindersSent: 0, state: 'booked', recordId: 'r', review: undefined }),
      '{"recordId":"r","state":"booked","remindersSent":0}\n',
    );
  });

  it('writes JSON Lines without a header, one line per row, and counts them', async () => {
    const { out, text } = collector();
    const n = await writeReport(rowsOf([{ recordId: 'a', state: 'sent' }, { recordId: 'b' }]), out, 'jsonl');
    assert.equal(n, 2);
    assert.equal(text(), '{"recordId":"a","state":"sent"}\n{"recordId":"b"}\n');
  });

  it('writes a CSV report of no rows as its header alone, and counts none', async () => {
    const { out, text } = collector();
    assert.equal(await writeReport(rowsOf([]), out, 'csv'), 0);
    assert.equal(text(), csvHeader());
  });
});

describe('sending hours at their edges', () => {
  it('reads day lists with spaces and single-day ranges; refuses an unknown day at either end or an empty part', () => {
    assert.deepEqual(parseDays(' mon , wed '), [1, 3]);
    assert.deepEqual(parseDays('mon-mon'), [1]);
    assert.deepEqual(parseDays('sun'), [0]);
    assert.deepEqual(parseDays('thu-tue'), [0, 1, 2, 4, 5, 6]);
    assert.equal(parseDays('mon-xyz'), undefined);
    assert.equal(parseDays('xyz-mon'), undefined);
    assert.equal(parseDays('mon,'), undefined);
  });

  it('refuses a start at or after its end, a start at 24:00 and an end past it; takes an end at midnight', () => {
    assert.deepEqual(refusal({ between: '08:00-08:00' }), [ORDER]);
    assert.deepEqual(refusal({ between: '24:00-24:30' }), [ORDER]);
    assert.deepEqual(refusal({ between: '07:60-08:00' }), [ORDER]);
    assert.deepEqual(refusal({ between: '30:00-31:00' }), [ORDER]);
    assert.deepEqual(refusal({ between: '08:00-24:30' }), [ORDER]);
    assert.deepEqual(refusal({ between: '08:00-24:01' }), [ORDER]);
    assert.deepEqual(refusal({ between: '08:00-24:00' }), []);
    assert.deepEqual(refusal({ between: '00:00-00:01' }), []);
    assert.deepEqual(refusal({ between: '23:59-24:00' }), []);
  });

  it('refuses over-long values by length first: between over 11, days over 40, a time zone over 64 characters', () => {
    assert.deepEqual(refusal({ between: '08:00-18:000' }), [
      'too_big: Too big: expected string to have <=11 characters',
      'invalid_format: must be HH:MM-HH:MM, e.g. "08:00-18:00"',
      ORDER,
    ]);
    assert.deepEqual(refusal({ days: 'mon,tue,wed,thu,fri,sat,sun,mon,tue,wed,thu' }), [
      'too_big: Too big: expected string to have <=40 characters',
    ]);
    assert.deepEqual(refusal({ days: 'mon,tue,wed,thu,fri,sat,sun,mon,tue,wed' }), []);
    assert.deepEqual(refusal({ timezone: 'x'.repeat(65) }), [
      'too_big: Too big: expected string to have <=64 characters',
      'custom: must be an IANA time zone, e.g. "Europe/London"',
    ]);
  });

  it('describes each field for the generated docs', () => {
    assert.equal(
      sendWindowSchema.shape.between.description,
      'Local times between which messages may be sent, HH:MM-HH:MM (24:00 for midnight); default 08:00-18:00',
    );
    assert.equal(
      sendWindowSchema.shape.days.description,
      'The weekdays messages may be sent on, e.g. "mon-fri" (default) or "mon,wed,fri"',
    );
    assert.equal(
      sendWindowSchema.shape.timezone.description,
      'The time zone of `between`, IANA; default Europe/London',
    );
  });

  it('finds an opening six and a half days ahead (Mondays only, from Monday evening)', () => {
    const mondays = window({ days: 'mon' });
    assert.equal(iso(nextOpening(at('2026-01-12T18:30:00Z'), mondays)), '2026-01-19T08:00:00.000Z');
    // At the closing instant the window is shut: the next opening.
    assert.equal(iso(nextOpening(at('2026-01-12T18:00:00Z'), mondays)), '2026-01-19T08:00:00.000Z');
    // At the opening instant, and a millisecond before closing, it is open.
    assert.equal(iso(nextOpening(at('2026-01-12T08:00:00Z'), mondays)), '2026-01-12T08:00:00.000Z');
    assert.equal(iso(nextOpening(at('2026-01-12T17:59:59.999Z'), mondays)), '2026-01-12T17:59:59.999Z');
  });

  it('lists the openings overlapping a period, clipped to it, in order, weekdays only', () => {
    const london = window();
    // Friday 2026-01-16 12:00 to Tuesday 2026-01-20 10:00.
    assert.deepEqual(
      openingsBetween(at('2026-01-16T12:00:00Z'), at('2026-01-20T10:00:00Z'), london).map(([a, b]) => [iso(a), iso(b)]),
      [
        ['2026-01-16T12:00:00.000Z', '2026-01-16T18:00:00.000Z'],
        ['2026-01-19T08:00:00.000Z', '2026-01-19T18:00:00.000Z'],
        ['2026-01-20T08:00:00.000Z', '2026-01-20T10:00:00.000Z'],
      ],
    );
    // A period ending at an opening's start does not include it; one starting at a close does not either.
    assert.deepEqual(openingsBetween(at('2026-01-19T18:00:00Z'), at('2026-01-20T08:00:00Z'), london), []);
    // From late evening: the local day before is looked at, and gives nothing open.
    assert.deepEqual(
      openingsBetween(at('2026-01-13T23:00:00Z'), at('2026-01-14T09:00:00Z'), london).map(([a, b]) => [iso(a), iso(b)]),
      [['2026-01-14T08:00:00.000Z', '2026-01-14T09:00:00.000Z']],
    );
  });

  it('an evening window still open after midnight UTC in a zone ahead of UTC', () => {
    // 20:00-24:00 Tokyo (UTC+9) is 11:00-15:00 UTC; at 12:00 UTC it is open.
    const tokyo = window({ between: '20:00-24:00', timezone: 'Asia/Tokyo', days: 'mon-sun' });
    assert.equal(iso(nextOpening(at('2026-01-14T12:00:00Z'), tokyo)), '2026-01-14T12:00:00.000Z');
    assert.equal(iso(nextOpening(at('2026-01-14T15:00:00Z'), tokyo)), '2026-01-15T11:00:00.000Z');
  });

  it("spreads over two openings: the second half starts at the second opening, not at the first one's close", () => {
    const london = window();
    const monday = at('2026-01-12T08:00:00Z');
    // Monday and Tuesday, ten hours each.
    assert.equal(iso(spreadSlot(monday, 48 * HOUR, 1, 2, london)), '2026-01-13T08:00:00.000Z');
    assert.equal(iso(spreadSlot(monday, 48 * HOUR, 3, 4, london)), '2026-01-13T13:00:00.000Z');
    // An index past the count: the end of the last opening.
    assert.equal(iso(spreadSlot(monday, 48 * HOUR, 4, 4, london)), '2026-01-13T18:00:00.000Z');
    // One message, or a period with no open hours: the next opening.
    assert.equal(iso(spreadSlot(at('2026-01-17T02:00:00Z'), 48 * HOUR, 0, 1, london)), '2026-01-19T08:00:00.000Z');
    assert.equal(iso(spreadSlot(at('2026-01-17T02:00:00Z'), 24 * HOUR, 3, 5, london)), '2026-01-19T08:00:00.000Z');
    assert.equal(iso(spreadSlot(at('2026-01-12T09:00:00Z'), 0, 3, 5, london)), '2026-01-12T09:00:00.000Z');
  });
});

describe('campaign list at its edges', () => {
  it('cuts a page when the next record would bring its JSON to the byte limit, and never leaves a page empty', async () => {
    const lines = [line('a', 1), line('b', 2), line('c', 3)];
    const whole = await prepare({}, ...lines);
    assert.equal(whole.pages.length, 1);
    const two = Buffer.byteLength(JSON.stringify(whole.pages[0]!.slice(0, 2)));
    // A page's JSON stays under the limit: two records fit in their JSON's bytes + 1, not in their bytes.
    const fits = await prepare({ maxPageBytes: two + 1 }, ...lines);
    assert.deepEqual(
      fits.pages.map((p) => p.length),
      [2, 1],
    );
    const cut = await prepare({ maxPageBytes: two }, ...lines);
    assert.deepEqual(
      cut.pages.map((p) => p.length),
      [1, 1, 1],
    );
    // A record bigger than the limit still goes, alone on its page.
    const tiny = await prepare({ maxPageBytes: 10 }, ...lines);
    assert.deepEqual(
      tiny.pages.map((p) => p.length),
      [1, 1, 1],
    );
    assert.deepEqual(
      tiny.pages.flat().map((r) => r.recordId),
      ['a', 'b', 'c'],
    );
  });

  it('cuts a page at the record limit exactly', async () => {
    const lines = [line('a', 1), line('b', 2), line('c', 3), line('d', 4)];
    assert.deepEqual(
      (await prepare({ maxRecordsPerPage: 2 }, ...lines)).pages.map((p) => p.length),
      [2, 2],
    );
    assert.deepEqual(
      (await prepare({ maxRecordsPerPage: 3 }, ...lines)).pages.map((p) => p.length),
      [3, 1],
    );
  });

  it('makes the fingerprint a campaign was started with as earlier versions made it (a re-run compares against it)', async () => {
    // A fixed list, key and campaign ID: a change to the fingerprint's text would make a re-run of the same
    // file look like a different list, refused without --append.
    const request = (nhsNumber: string) => ({
      nhsNumber,
      dob: '1980-02-03',
      booking: { appointmentTypeId: '1', locationId: '5', practitionerId: '7', expiryDate: '2026-12-31' },
      message: { type: 'sms', text: 'Book here: {booking_link}' },
    });
    const lines = [
      JSON.stringify({ recordId: 'a', request: request('9434765919') }),
      JSON.stringify({ recordId: 'b', request: request('9434765870') }),
    ];
    const list = await prepareCampaignList(listOf(...lines), { key: 'k', campaignId: 'c', sendWindow: null });
    assert.deepEqual(list.invalid, []);
    assert.equal(list.fingerprint, 'a74383788dda8a14fb7752d2377c66178658926e07c2574c9da944388160a64c');
  });

  it('cuts no page, not an empty one, from a list with no good record', async () => {
    const list = await prepare({}, 'not json', JSON.stringify({ recordId: 'a' }));
    assert.equal(list.invalid.length, 2);
    assert.deepEqual(list.pages, []);
  });

  it('reads a line led by a byte-order mark, on the first line or any other', async () => {
    const list = await prepare({}, '\uFEFF' + line('a', 1), '\uFEFF' + line('b', 2));
    assert.deepEqual(
      list.pages.flat().map((r) => r.recordId),
      ['a', 'b'],
    );
    assert.deepEqual(list.invalid, []);
  });

  it('keeps a patient duplicate as a record with no request, counted and in the fingerprint', async () => {
    const dup = JSON.stringify({ recordId: 'b', request: JSON.parse(line('x', 1)).request });
    const list = await prepare({ campaignId: 'c', key: 'k' }, line('a', 1), dup);
    assert.equal(list.records, 2);
    const [a, b] = list.pages.flat();
    assert.deepEqual(Object.keys(b!).sort(), ['duplicateOf', 'recordId', 'workflowId']);
    assert.equal(b!.duplicateOf, 'a');
    assert.equal(b!.workflowId, a!.workflowId);
    const alone = await prepare({ campaignId: 'c', key: 'k' }, line('a', 1));
    assert.notEqual(list.fingerprint, alone.fingerprint);
  });

  it('without a key: stand-in workflow IDs of full length, the same for every patient', async () => {
    const list = await prepare({}, line('a', 1), line('b', 2));
    const ids = list.pages.flat().map((r) => r.workflowId);
    assert.equal(ids[0], ids[1]);
    assert.match(ids[0]!, new RegExp(`^hero-campaign\\.${'c'.repeat(64)}\\.run\\.${'0'.repeat(32)}$`));
  });

  it('names a request-wide problem as the request, and a line that is not an object as the line', async () => {
    const many = JSON.stringify({
      recordId: 'a',
      request: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])),
    });
    const list = await prepare({}, many, '42', JSON.stringify({ recordId: 'b' }));
    const [wide, notObject, noRequest] = list.invalid.map((i) => i.reason);
    assert.match(wide!, /; request: \d+ more unknown fields$/);
    assert.doesNotMatch(wide!, /request\.\(request\)|\(request\)/);
    assert.match(notObject!, /^\(line\)|^line/);
    assert.match(noRequest!, /^request: /);
  });

  it('refuses a template that is not an object, and one with several problems, listing each', () => {
    for (const bad of [null, 'text', 3, [template]]) {
      assert.throws(
        () => checkTemplate(bad),
        (err: unknown) =>
          err instanceof CampaignFileError &&
          err.name === 'CampaignFileError' &&
          err.message === 'the template must be a JSON object: the shared part of the outreach request',
      );
    }
    assert.throws(
      () => checkTemplate({ ...template, dob: '1980-01-01', nhsNumber: '1', mesage: {} }),
      (err: unknown) =>
        err instanceof CampaignFileError &&
        err.message.startsWith(
          'the template cannot be used:\n  - (template).nhsNumber: patient data belongs on each line, not in the template\n  - (template).dob: patient data belongs on each line, not in the template\n  - mesage: unknown field; did you mean "message"?',
        ),
    );
    // A template may leave out what every line gives (its patient fields): only unknown fields count.
    assert.doesNotThrow(() => checkTemplate(template));
    assert.doesNotThrow(() => checkTemplate({}));
  });

  it('names each problem of a line in full: request fields under `request.`, the line\'s own as they are, joined by "; "', async () => {
    const list = await prepareCampaignList(
      listOf(
        JSON.stringify({
          recordId: 'a',
          request: {
            nhsNumber: '9434765919',
            dob: '1980-01-01',
            mesage: {},
            booking: { appointmentTypeId: '1', locationId: '5', fromDate: 'x' },
            message: { type: 'sms', text: 'hi {booking_link}' },
          },
        }),
        JSON.stringify({ x: 1 }),
      ),
      {},
    );
    assert.deepEqual(
      list.invalid.map((i) => i.reason),
      [
        'request.booking.fromDate: must be a real calendar date written YYYY-MM-DD; request.mesage: unknown field; did you mean "message"?',
        'recordId: Invalid input: expected nonoptional, received undefined; request: must be an object (the outreach request); x: unknown field',
      ],
    );
  });

  it('names the first 19 problems of a line with over 20, then how many more, not as a request field', async () => {
    const bad = { after: 1, text: 1 };
    const request = {
      nhsNumber: 1,
      dob: 1,
      message: { type: 1, text: 1 },
      booking: { appointmentTypeId: 1, locationId: 1, fromDate: 1, toDate: 1 },
      awaitBooking: { window: 1, recheckEvery: 1, reminders: [bad, bad, bad] },
      review: { deadline: 1, reconcileAfter: 1 },
      verification: { recheckEvery: 1, timeout: 1 },
      practiceGroupId: 1,
    };
    const list = await prepareCampaignList(listOf(JSON.stringify({ recordId: 'a', request })), {});
    const problems = list.invalid[0]!.reason.split('; ');
    assert.equal(problems.length, 20);
    assert.ok(
      problems.slice(0, 19).every((p) => p.startsWith('request.')),
      problems.join('\n'),
    );
    assert.equal(problems[19], '... and 2 more problems');
  });

  it("counts a template's unknown fields past the fifth, and names only the patient data of a template that is otherwise a whole request", () => {
    assert.throws(
      () => checkTemplate(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]))),
      (err: unknown) =>
        err instanceof CampaignFileError &&
        err.message ===
          'the template cannot be used:\n  - k0: unknown field\n  - k1: unknown field\n  - k2: unknown field\n  - k3: unknown field\n  - k4: unknown field\n  - (template): 25 more unknown fields',
    );
    assert.throws(
      () =>
        checkTemplate({
          nhsNumber: '9434765919',
          dob: '1980-01-01',
          booking: { appointmentTypeId: '1', locationId: '5' },
          message: { type: 'sms', text: 'hi {booking_link}' },
        }),
      (err: unknown) =>
        err instanceof CampaignFileError &&
        err.message ===
          'the template cannot be used:\n  - (template).nhsNumber: patient data belongs on each line, not in the template\n  - (template).dob: patient data belongs on each line, not in the template',
    );
  });

  it('refuses an empty list with what a line should be', async () => {
    await assert.rejects(
      prepareCampaignList(listOf(''), {}),
      (err: unknown) =>
        err instanceof CampaignFileError &&
        err.message === 'the list has no lines (one {"recordId", "request"} per line)',
    );
  });
});
