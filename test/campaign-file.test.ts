import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  CAMPAIGN_PAGE_MAX_BYTES,
  CAMPAIGN_PAGE_MAX_RECORDS,
  CampaignFileError,
  patientKey,
  prepareCampaignList,
} from '../src/client/campaign/list';
import { mergeTemplate } from '../src/client/campaign/template';
import { csvCell, csvRow, jsonlRow, REPORT_COLUMNS, type ReportRow, writeReport } from '../src/client/campaign/report';
import { campaignSettingsOf, progressBar, sendWindowOf } from '../src/cli/campaign';
import { UsageError } from '../src/cli/errors';
import { CAMPAIGN_DEFAULT_SEND_WINDOW } from '../src/shared/send-window';
import { runInputTakes } from '../src/client/campaign/list';
import { outreachInputSchema } from '../src/workflows/schemas';
import { syntheticNhsNumber } from './support/fixtures';

/** Pure parts of campaigns: reading the list, the template, validation, duplicates, keys, pages, the report. */

const ROOT = join(__dirname, '..');
const template = JSON.parse(readFileSync(join(ROOT, 'examples', 'campaign-template.json'), 'utf8')) as Record<
  string,
  unknown
>;
const bytes = (text: string, chunk = 7) =>
  Readable.from(
    (function* () {
      const all = Buffer.from(text);
      // Small chunks: a line split across chunks must still read whole.
      for (let i = 0; i < all.length; i += chunk) yield all.subarray(i, i + chunk);
    })(),
  );
const line = (recordId: string, nhsNumber: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ recordId, request: { nhsNumber, dob: '1980-02-03', ...extra } });
const nhs = (i: number) => syntheticNhsNumber(5_000 + i * 13);

describe('campaign list: template merge', () => {
  it('merges objects key by key with the line winning, and replaces arrays and values', () => {
    const merged = mergeTemplate(
      { message: { type: 'sms', text: 'T' }, awaitBooking: { window: '1h', reminders: [{ after: '5m', text: 'a' }] } },
      { message: { text: 'L' }, awaitBooking: { reminders: [] }, nhsNumber: '1' },
    );
    assert.deepEqual(merged, {
      message: { type: 'sms', text: 'L' },
      awaitBooking: { window: '1h', reminders: [] },
      nhsNumber: '1',
    });
  });

  it('keeps a "__proto__" key a key (refused by the schema), never the prototype', () => {
    const merged = mergeTemplate({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    assert.ok(Object.prototype.hasOwnProperty.call(merged, '__proto__'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('campaign list: reading and validation', () => {
  it('reads the example: the invalid line by number and reason without its values, both kinds of duplicate', async () => {
    const list = await prepareCampaignList(bytes(readFileSync(join(ROOT, 'examples', 'campaign.jsonl'), 'utf8')), {
      template,
      campaignId: 'demo',
      key: 'k',
    });
    assert.equal(list.lines, 7);
    assert.equal(list.records, 5);
    assert.deepEqual(
      list.invalid.map((i) => i.line),
      [5],
    );
    assert.match(list.invalid[0]!.reason, /request\.nhsNumber: fails the NHS Modulus 11 check digit/);
    assert.match(list.invalid[0]!.reason, /request\.dob: must be a real calendar date/);
    assert.doesNotMatch(list.invalid[0]!.reason, /999|0019|1979|02-30/);
    assert.deepEqual(list.duplicates, [
      { line: 6, recordId: 'hc-0006', duplicateOf: 'hc-0001', kind: 'patient' },
      { line: 7, recordId: 'hc-0002', duplicateOf: 'hc-0002', kind: 'record' },
    ]);
    const records = list.pages.flat();
    assert.deepEqual(
      records.map((r) => r.recordId),
      ['hc-0001', 'hc-0002', 'hc-0003', 'hc-0004', 'hc-0006'],
    );
    // The patient duplicate: the first record's run, no request of its own.
    const dup = records[4]!;
    assert.equal(dup.request, undefined);
    assert.equal(dup.workflowId, records[0]!.workflowId);
    // Template merged, the line's override kept.
    assert.equal(records[0]!.request!.message.text, 'Your annual health check is due. Book here: {booking_link}');
    assert.equal(records[2]!.request!.message.text, 'Your review is due. Book here: {booking_link}');
    assert.equal(records[2]!.request!.message.type, 'sms');
    assert.equal(records[0]!.request!.awaitBooking!.reminders.length, 1);
    // Workflow IDs carry a keyed hash, never the number.
    for (const r of records) {
      assert.match(r.workflowId, /^hero-campaign\.demo\.run\.[0-9a-f]{32}$/);
      assert.ok(!r.workflowId.includes('9434765919'));
    }
  });

  it('fills the campaign sending hours and practice group into requests without their own', async () => {
    // The run input takes both since campaigns came: asserted, not skipped, so a broken check cannot hide.
    assert.ok(runInputTakes('sendWindow') && runInputTakes('practiceGroupId'), 'the run input takes both');
    const own = { between: '09:00-12:00', days: 'sat', timezone: 'Europe/Paris' };
    const text = [line('a', nhs(1)), line('b', nhs(2), { sendWindow: own, practiceGroupId: 'pg7' })].join('\n');
    const list = await prepareCampaignList(bytes(text), { template, practiceGroupId: 'pg3' });
    const [a, b] = list.pages.flat();
    assert.equal((a!.request as Record<string, unknown>).practiceGroupId, 'pg3');
    assert.deepEqual(
      JSON.stringify((a!.request as { sendWindow: unknown }).sendWindow).includes(
        CAMPAIGN_DEFAULT_SEND_WINDOW.between!,
      ),
      true,
    );
    assert.equal((b!.request as Record<string, unknown>).practiceGroupId, 'pg7');
    assert.match(JSON.stringify((b!.request as { sendWindow: unknown }).sendWindow), /09:00-12:00/);
    // What the page and the run parse again: the request as the run's schema takes it.
    for (const r of list.pages.flat()) {
      const again = outreachInputSchema.safeParse(r.request);
      assert.ok(again.success, JSON.stringify(again.error?.issues));
    }
    const anytime = await prepareCampaignList(bytes(line('c', nhs(3))), { template, sendWindow: null });
    assert.equal((anytime.pages[0]![0]!.request as Record<string, unknown>).sendWindow, undefined);
  });

  it('reports lines that are not JSON, not objects, too long, or with a bad recordId, and reads the rest', async () => {
    const text = [
      'not json',
      '[{"recordId": "x",',
      JSON.stringify({ recordId: '943 476 5919', request: { nhsNumber: nhs(4), dob: '1980-01-01' } }),
      JSON.stringify({ recordId: 'ok-1', request: 'x' }),
      JSON.stringify({ recordId: 'ok-2', request: { nhsNumber: nhs(5), dob: '1980-01-01' }, extra: 1 }),
      JSON.stringify({ recordId: 'ok-3', request: { nhsNumber: nhs(6), dob: '1980-01-01', message: { txt: 'x' } } }),
      '',
      JSON.stringify({ recordId: 'long', request: { nhsNumber: nhs(7), pad: 'x'.repeat(70_000) } }),
      line('good', nhs(8)),
    ].join('\n');
    const list = await prepareCampaignList(bytes(text, 4096), { template });
    assert.deepEqual(
      list.invalid.map((i) => i.line),
      [1, 2, 3, 4, 5, 6, 8],
    );
    const [notJson, array, badId, notObject, unknown, typo, long] = list.invalid.map((i) => i.reason);
    assert.equal(notJson, 'not valid JSON');
    assert.match(array!, /JSON Lines/);
    assert.match(badId!, /^recordId: /);
    assert.doesNotMatch(badId!, /943|5919/);
    assert.match(notObject!, /request: must be an object/);
    assert.match(unknown!, /extra: unknown field/);
    assert.match(typo!, /request\.message\.txt: unknown field; did you mean "text"\?/);
    assert.match(long!, /longer than 64 KiB/);
    assert.equal(list.records, 1);
  });

  it('accepts a recordId again when its first line was invalid', async () => {
    const text = [line('r1', '123'), line('r1', nhs(9))].join('\n');
    const list = await prepareCampaignList(bytes(text), { template });
    assert.equal(list.records, 1);
    assert.equal(list.duplicates.length, 0);
  });

  it('refuses an empty list and a template with patient data or unknown fields, naming them', async () => {
    await assert.rejects(prepareCampaignList(bytes('\n  \n'), { template }), CampaignFileError);
    await assert.rejects(
      prepareCampaignList(bytes(line('a', nhs(1))), { template: { ...template, nhsNumber: '9434765919' } }),
      (err: Error) => err instanceof CampaignFileError && /\(template\)\.nhsNumber: patient data/.test(err.message),
    );
    await assert.rejects(
      prepareCampaignList(bytes(line('a', nhs(1))), { template: { ...template, mesage: {} } }),
      (err: Error) =>
        err instanceof CampaignFileError && /mesage: unknown field; did you mean "message"/.test(err.message),
    );
    await assert.rejects(prepareCampaignList(bytes(line('a', nhs(1))), { template: [] }), CampaignFileError);
  });
});

describe('campaign list: keys, fingerprint and pages', () => {
  it('keys a patient by campaign and NHS number digits, whatever the spacing', () => {
    assert.equal(patientKey('k', 'c1', '943 476 5919'), patientKey('k', 'c1', '9434765919'));
    assert.notEqual(patientKey('k', 'c1', '9434765919'), patientKey('k', 'c2', '9434765919'));
    assert.notEqual(patientKey('k', 'c1', '9434765919'), patientKey('k2', 'c1', '9434765919'));
    assert.match(patientKey('k', 'c1', '9434765919'), /^[0-9a-f]{32}$/);
  });

  it('gives the same list the same fingerprint in any spelling, and another list or key another', async () => {
    const a = [line('a', nhs(1)), line('b', nhs(2))].join('\n');
    const spelt = [
      JSON.stringify({
        request: { dob: '1980-02-03', nhsNumber: nhs(1).replace(/^(\d{3})(\d{3})/, '$1 $2 ') },
        recordId: 'a',
      }),
      '',
      line('b', nhs(2)),
    ].join('\r\n');
    const fp = async (text: string, key = 'k', campaignId = 'c') =>
      (await prepareCampaignList(bytes(text), { template, key, campaignId })).fingerprint;
    const base = await fp(a);
    assert.match(base!, /^[0-9a-f]{64}$/);
    assert.equal(await fp(spelt), base);
    assert.notEqual(await fp([line('a', nhs(1)), line('b', nhs(3))].join('\n')), base);
    assert.notEqual(await fp(a, 'other'), base);
    assert.notEqual(await fp(a, 'k', 'd'), base);
    assert.equal((await prepareCampaignList(bytes(a), { template })).fingerprint, undefined, 'no key, no fingerprint');
  });

  it(`cuts pages at ${CAMPAIGN_PAGE_MAX_RECORDS} records and at ${CAMPAIGN_PAGE_MAX_BYTES} bytes, in order`, async () => {
    const many = Array.from({ length: 1_201 }, (_, i) => line(`r${i}`, nhs(i))).join('\n');
    const list = await prepareCampaignList(bytes(many, 65_536), { template, campaignId: 'c', key: 'k' });
    assert.deepEqual(
      list.pages.map((p) => p.length),
      [500, 500, 201],
    );
    assert.deepEqual(
      list.pages.flat().map((r) => r.recordId),
      Array.from({ length: 1_201 }, (_, i) => `r${i}`),
    );
    // Long messages: each record ~6 KiB of JSON, so pages are cut by size.
    const text = 'x'.repeat(1_980) + ' {booking_link}';
    const big = Array.from({ length: 400 }, (_, i) =>
      line(`b${i}`, nhs(i), { message: { type: 'sms', text: text.replace(/x/g, 'é') } }),
    ).join('\n');
    const sized = await prepareCampaignList(bytes(big, 65_536), { template, campaignId: 'c', key: 'k' });
    assert.equal(sized.records, 400, JSON.stringify(sized.invalid[0]));
    assert.ok(sized.pages.length > 1, 'cut by size');
    for (const page of sized.pages) {
      assert.ok(Buffer.byteLength(JSON.stringify(page)) <= CAMPAIGN_PAGE_MAX_BYTES, 'each page at most 1 MiB of JSON');
      assert.ok(page.length <= CAMPAIGN_PAGE_MAX_RECORDS);
    }
    assert.equal(sized.pages.flat().length, 400);
  });
});

describe('campaign report writer', () => {
  it('quotes CSV cells that need it and leaves the rest as they are', () => {
    assert.equal(csvCell(undefined), '');
    assert.equal(csvCell(3), '3');
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    const row: ReportRow = { recordId: 'r1', state: 'booked', remindersSent: 0, duplicateOf: 'r,0' };
    assert.equal(csvRow(row), 'r1,,booked,,,0,,,"r,0"\r\n');
    assert.deepEqual(Object.keys(JSON.parse(jsonlRow({ duplicateOf: 'x', recordId: 'r' }))), [
      'recordId',
      'duplicateOf',
    ]);
    assert.equal(REPORT_COLUMNS.length, 9);
  });

  it('streams rows through a slow writer, waiting for it, and writes every one', async () => {
    let text = '';
    let pending = 0;
    let maxPending = 0;
    const out = new Writable({
      highWaterMark: 256,
      write(chunk: Buffer, _enc, done) {
        pending++;
        maxPending = Math.max(maxPending, pending);
        setImmediate(() => {
          text += chunk.toString();
          pending--;
          done();
        });
      },
    });
    let produced = 0;
    let ahead = 0;
    async function* rows(): AsyncGenerator<ReportRow> {
      for (let i = 0; i < 2_000; i++) {
        produced++;
        // The writer's buffer is never allowed to grow far past its mark.
        ahead = Math.max(ahead, out.writableLength);
        yield { recordId: `r${i}`, state: 'awaiting_booking', workflowId: `w${i}` };
      }
    }
    const n = await writeReport(rows(), out, 'csv');
    await new Promise<void>((resolve) => out.end(resolve));
    assert.equal(n, 2_000);
    assert.equal(produced, 2_000);
    const lines = text.trimEnd().split('\r\n');
    assert.equal(lines[0], REPORT_COLUMNS.join(','));
    assert.equal(lines.length, 2_001);
    assert.equal(lines[2_000], 'r1999,w1999,awaiting_booking,,,,,,');
    assert.ok(ahead < 1_024, `backpressure respected (buffer reached ${ahead} bytes)`);
  });
});

describe('campaign CLI options', () => {
  const base = { input: 'list.jsonl', campaignId: 'flu-2026' };

  it('turns the sending-hours options into a window, null or the default', () => {
    assert.equal(sendWindowOf({}), undefined);
    assert.equal(sendWindowOf({ sendAnytime: true }), null);
    assert.deepEqual(sendWindowOf({ sendDays: 'mon-sun' }), { days: 'mon-sun' });
    assert.throws(() => sendWindowOf({ sendAnytime: true, timezone: 'UTC' }), UsageError);
  });

  it('refuses bad options by option name, before anything is read', () => {
    assert.throws(() => campaignSettingsOf({ campaignId: 'x' }, true), /needs --input FILE/);
    assert.throws(() => campaignSettingsOf({ input: 'f' }, true), /needs --campaign-id ID/);
    assert.doesNotThrow(() => campaignSettingsOf({ input: 'f' }, false));
    const bad = (opts: object, pattern: RegExp) =>
      assert.throws(
        () => campaignSettingsOf({ ...base, ...opts }, true),
        (err: Error) => err instanceof UsageError && pattern.test(err.message),
      );
    bad({ campaignId: 'has space' }, /^--campaign-id: must be 1-64 letters/);
    bad({ campaignId: '9434765919' }, /--campaign-id: looks like an NHS number/);
    bad({ sendBetween: '18:00-08:00' }, /--send-between: must be two times of day/);
    bad({ sendDays: 'someday' }, /--send-days: must name weekdays/);
    bad({ timezone: 'Mars/Olympus' }, /--timezone: must be an IANA time zone/);
    bad({ spreadOver: 'soon' }, /--spread-over: must be a duration/);
    bad({ practiceGroup: 'a b' }, /--practice-group: must be 1-64/);
    assert.deepEqual(campaignSettingsOf({ ...base, spreadOver: '3d', practiceGroup: '42' }, true), {
      campaignId: 'flu-2026',
      practiceGroupId: '42',
      sendWindow: undefined,
      spreadOver: '3d',
    });
  });

  it('draws a progress bar', () => {
    assert.equal(progressBar(0, 0, 10), '[..........] 0%');
    assert.equal(progressBar(5, 10, 10), '[#####.....] 50%');
    assert.equal(progressBar(12, 10, 10), '[##########] 100%');
  });
});
