import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
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
import { mergeTemplate } from '../src/client/campaign/template';
import { nextOpening, openingsBetween, parseDays, sendWindowSchema, spreadSlot } from '../src/shared/send-window';

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
const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const window = (w: object = {}) => sendWindowSchema.parse(w);
/** The issues' codes and messages for a window; [] when it is accepted. */
const refusal = (w: object) =>
  (sendWindowSchema.safeParse(w).error?.issues ?? []).map((i) => `${i.code}: ${i.message}`);
const ORDER = 'custom: must be two times of day, the first before the second, e.g. "08:00-18:00"';
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

  it('refuses a start at or after its end, and a start at 24:00; takes an end at midnight', () => {
    assert.deepEqual(refusal({ between: '08:00-08:00' }), [ORDER]);
    assert.deepEqual(refusal({ between: '24:00-24:30' }), [ORDER]);
    assert.deepEqual(refusal({ between: '07:60-08:00' }), [ORDER]);
    assert.deepEqual(refusal({ between: '30:00-31:00' }), [ORDER]);
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
      'Local times between which messages may be sent, HH:MM-HH:MM; default 08:00-18:00',
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
