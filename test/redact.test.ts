import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redactDeep, REDACT_MAX_DEPTH, REDACT_MAX_NODES } from '../src/shared/redact';
import { createRedactingLogger } from '../src/worker/logger';

describe('redact: what the worker and CLI logs never show', () => {
  it('masks NHS numbers written plain, spaced or hyphenated', () => {
    assert.equal(redact('trace 9434765919 failed'), 'trace [nhs-number] failed');
    assert.equal(redact('nhs "943 476 5919"'), 'nhs "[nhs-number]"');
    assert.equal(redact('nhs=943-476-5919;'), 'nhs=[nhs-number];');
  });

  it('masks dates of birth but keeps ISO timestamps', () => {
    assert.equal(redact('dob 1992-01-01.'), 'dob [date].');
    assert.equal(redact('at 2026-11-24T09:00:00.000Z'), 'at 2026-11-24T09:00:00.000Z');
  });

  it('masks login URLs', () => {
    assert.equal(redact('go to https://patient.herohealth.net/verify/abc123 now'), 'go to [login-url] now');
  });

  it('leaves longer digit runs, ids and ordinary text alone', () => {
    for (const text of ['run 1764000000123 took 5 ms', 'workflow outreach-3f2a9c', 'attempt 3 of 25']) {
      assert.equal(redact(text), text);
    }
  });

  it('masks strings nested in log metadata, errors included', () => {
    const meta = {
      workflowId: 'w-1',
      input: { nhsNumber: '9434765919', dob: '1992-01-01' },
      err: new Error('bad 9434765919'),
    };
    const out = redactDeep(meta) as { workflowId: string; input: object; err: string };
    assert.equal(out.workflowId, 'w-1');
    assert.deepEqual(out.input, { nhsNumber: '[nhs-number]', dob: '[date]' });
    assert.ok(!out.err.includes('9434765919'));
  });

  it('masks NHS numbers in any separators: dots, colons, underscores, double spaces, tabs, non-breaking spaces', () => {
    for (const nhs of [
      '943.476.5919',
      '943:476:5919',
      '943_476_5919',
      '94.34.76.59.19',
      '943  476  5919',
      '943\t476\t5919',
      '943\u00a0476\u00a05919',
      '943 -  476 / 5919',
    ]) {
      assert.equal(redact(`nhs ${nhs} seen`), 'nhs [nhs-number] seen', JSON.stringify(nhs));
    }
  });

  it('masks dates of birth as 8 digits, with slashes, dots or colons, day-first, month-first and ISO', () => {
    for (const dob of [
      '19920101',
      '01/01/1992',
      '1/1/1992',
      '12/31/1992',
      '1992.01.01',
      '1992:01:01',
      '01-01-1992',
      '1992-01-01',
    ]) {
      assert.equal(redact(`dob ${dob};`), 'dob [date];', dob);
    }
    assert.equal(redact('id p.943.476.5919.d.19920101 ok'), 'id p.[nhs-number].d.[date] ok');
    // Digits joined to it by separators are masked with it: ten digits anywhere in a chain count.
    assert.equal(redact('call 0 943 476 5919 now'), 'call [nhs-number] now');
  });

  it('keeps ISO timestamps, but masks one at exactly midnight: a date of birth that went through a Date', () => {
    for (const ts of ['2026-11-26T09:10:38.123Z', '2026-11-26T09:10', '2026-11-26T09:10:38+01:00']) {
      assert.equal(redact(`at ${ts} ok`), `at ${ts} ok`);
    }
    assert.equal(redact('dob 1992-01-01T00:00:00.000Z'), 'dob [date]T00:00:00.000Z');
  });

  it('leaves derived workflow IDs (outreach- and 32 hex characters) whole, digits and all', () => {
    // 9434765919 passes Modulus 11 and 19920101 is 8 digits: in any other text both are masked.
    const id = 'outreach-9434765919ab19920101cdefabcdef01';
    assert.equal(id.length, 'outreach-'.length + 32);
    assert.equal(redact(`started ${id}`), `started ${id}`);
    assert.equal(redact(`{"workflowId":"${id}"}`), `{"workflowId":"${id}"}`);
    // Only that exact form: a longer or prefixed token is read as ordinary text.
    assert.equal(redact(`x${id}`), `x${id}`.replace('9434765919', '[nhs-number]').replace('19920101', '[date]'));
  });

  it('leaves IPv4 addresses and their ports whole, and still masks an NHS number next to one', () => {
    // 127.0.0.1:8787 (the webhook receiver's default) reads as 1270018787, which passes Modulus 11.
    for (const text of ['receiver on http://127.0.0.1:8787/hero/webhooks', 'Temporal at 10.2.255.254:7233'])
      assert.equal(redact(text), text);
    // Joined to more digits, an address is part of a longer chain and masked with it: what it joins may be
    // the rest of an NHS number ("0000/0.0.01.08" is 000 000 0108, "301 3.0.0.00_07" is 301 300 0007).
    assert.equal(redact('from 10.0.0.1:9434765919'), 'from [nhs-number]');
    assert.equal(redact('id a0000/0.0.01.08a'), 'id a[nhs-number]a');
    assert.equal(redact('.301 3.0.0.00_07.'), '.[nhs-number].');
    // The digit it joins may be the text's very first character ("8 100.20.30.40" is 810 020 3040).
    assert.equal(redact('8 100.20.30.40'), '[nhs-number]');
    assert.equal(
      redact('Temporal at 10.2.255.254:7233 (namespace default)'),
      'Temporal at 10.2.255.254:7233 (namespace default)',
    );
    assert.equal(redact('nhs 943.476.5919'), 'nhs [nhs-number]');
  });

  it('masks an NHS number written as an IPv4 address with a port, keeping the addresses services listen on', () => {
    // 94.34.76.59:19 is 943 476 5919: a valid NHS number, and an address outside the ranges services listen on.
    assert.equal(redact('patient 94.34.76.59:19 traced'), 'patient [nhs-number] traced');
    assert.equal(redact('{"nhs":"94.34.76.59:19"}'), '{"nhs":"[nhs-number]"}');
    assert.equal(redact('at 194.134.76.57 now'), 'at [nhs-number] now'); // 194 134 7657, without a port
    // Addresses whose digits are no NHS number stay whole; so do loopback, private and link-local ones,
    // whose digits here all pass Modulus 11 too (none is an NHS number: those never start with 1).
    for (const text of [
      'peer 94.34.76.59:18',
      'peer 94.34.76.59',
      'listening on 0.0.0.0:9464',
      'http://127.0.0.1:8787/hero/webhooks',
      'pod 10.138.70.72:7',
      'docker 172.17.0.187:7',
      'lan 192.168.1.1:87',
      'link 169.254.12.8:5',
    ])
      assert.equal(redact(text), text);
  });

  it('masks strings nested however deep, and numbers and object keys too', () => {
    let deep: unknown = { nhs: '943 476 5919', dob: '01/01/1992', n: 9434765919 };
    for (let i = 0; i < 50; i++) deep = i % 2 ? { next: deep } : [deep];
    const out = JSON.stringify(redactDeep({ deep, byNhs: { '9434765919': 'x' }, big: 9434765919n }));
    for (const leak of ['5919', '1992']) assert.ok(!out.includes(leak), out);
    assert.match(out, /\[nhs-number\][\s\S]*\[date\]/);
  });

  it('replaces what lies beyond the depth and size caps instead of returning it unmasked, and survives cycles', () => {
    let deep: unknown = '943 476 5919';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const tooDeep = JSON.stringify(redactDeep(deep));
    assert.ok(!tooDeep.includes('5919'));
    assert.ok(tooDeep.includes('[too deep]'));
    assert.equal(tooDeep.split('[').length - 2, REDACT_MAX_DEPTH);

    const wide = JSON.stringify(redactDeep(Array.from({ length: REDACT_MAX_NODES * 10 }, () => '943 476 5919')));
    assert.ok(!wide.includes('5919'));
    assert.ok(wide.includes('[truncated]'));

    const cyclic: Record<string, unknown> = { nhs: '9434765919' };
    cyclic.self = cyclic;
    assert.deepEqual(redactDeep(cyclic), { nhs: '[nhs-number]', self: '[circular]' });
  });
});

describe('the worker logger: what it writes never shows patient data', () => {
  const LEAKS = ['9434765919', '943 476 5919', '943.476.5919', '"476"', '5919', '1992', 'verify/abc123'];

  it('masks NHS numbers, dates of birth and login URLs in the message and in metadata nested 10 deep', () => {
    const lines: string[] = [];
    const logger = createRedactingLogger('DEBUG', { write: (line: string) => lines.push(line) });
    let meta: Record<string, unknown> = {
      spaced: '943 476 5919',
      dotted: '943.476.5919',
      parts: ['943', '476', '5919'],
      digits: 9434765919,
      dob: ['1992-01-01', '01/01/1992', '19920101', new Date('1992-01-01')],
      link: 'https://patient.herohealth.net/verify/abc123',
      err: new Error('trace failed for 943-476-5919'),
    };
    for (let i = 0; i < 10; i++) meta = { level: i, meta };
    const derived = 'outreach-fb26890f4dae3f76e3e1a61bc0363765';
    logger.info('trace 943 476 5919 dob 01/01/1992 at https://patient.herohealth.net/verify/abc123', {
      workflowId: derived,
      ...meta,
    });
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    // The line is still there and useful: timestamp, level, masks, and the run's ID intact.
    assert.match(
      line,
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[INFO\] trace \[nhs-number\] dob \[date\] at \[login-url\]/,
    );
    assert.ok(line.includes(derived));
    assert.ok(line.includes('"level":9'));
    for (const leak of LEAKS) assert.ok(!line.includes(leak), `${leak} in ${line}`);
  });
});
