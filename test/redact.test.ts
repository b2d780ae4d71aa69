import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redact, redactDeep } from '../src/shared/redact';

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
});
