import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { concurrencyLimit, HeroFlowClient } from '../src/client';
import { BatchFileError, parseBatch } from '../src/client/batch';

const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('concurrencyLimit (batch starts)', () => {
  it('never runs more than the limit at once, and runs every task in the order given', async () => {
    const limit = concurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const began: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limit(async () => {
          began.push(i);
          active += 1;
          peak = Math.max(peak, active);
          await tick(5 + (i % 3) * 5);
          active -= 1;
          return i * 2;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(began, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(results, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('frees the slot of a failed task, and the failure reaches only its caller', async () => {
    const limit = concurrencyLimit(1);
    const failed = limit(() => Promise.reject(new Error('refused')));
    const next = limit(async () => 'ran');
    await assert.rejects(failed, /refused/);
    assert.equal(await next, 'ran');
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    assert.throws(() => concurrencyLimit(0), /concurrency must be a whole number ≥ 1, not 0/);
    assert.throws(() => concurrencyLimit(2.5), RangeError);
  });
});

describe('parseBatch (start-batch files)', () => {
  const request = { nhsNumber: '9434765919', dob: '1990-01-01' };

  it('reads JSON Lines, skipping blank lines, and a JSON array the same way', () => {
    const items = [{ workflowId: 'a-1', request }, { request }];
    const fromLines = parseBatch(`${JSON.stringify(items[0])}\n\n${JSON.stringify(items[1])}\n`);
    assert.deepEqual(fromLines, [
      { index: 0, item: { workflowId: 'a-1', request } },
      { index: 1, item: { workflowId: undefined, request } },
    ]);
    assert.deepEqual(parseBatch(JSON.stringify(items)), fromLines);
  });

  it('turns each unreadable item into an error entry that names no value, and keeps the rest', () => {
    const entries = parseBatch(
      [
        '{"request": ',
        JSON.stringify({ workflowId: 7, request }),
        JSON.stringify({ request: 'x' }),
        '{"request":{}}',
      ].join('\n'),
    );
    assert.deepEqual(entries, [
      { index: 0, error: 'line 1 is not valid JSON' },
      { index: 1, error: 'item 1: workflowId: Invalid input: expected string, received number' },
      { index: 2, error: 'item 2: request: must be an object (the outreach request)' },
      { index: 3, item: { workflowId: undefined, request: {} } },
    ]);
  });

  it('reads examples/batch.jsonl (the README example) into valid requests', () => {
    const entries = parseBatch(readFileSync(join(__dirname, '..', 'examples', 'batch.jsonl'), 'utf8'));
    assert.equal(entries.length, 3);
    for (const e of entries) {
      assert.ok('item' in e, JSON.stringify(e));
      assert.equal(HeroFlowClient.validate(e.item.request).booking.locationId, '5');
    }
  });

  it('refuses a file that is empty or a broken JSON array, as a whole', () => {
    assert.throws(() => parseBatch('\n \n'), BatchFileError);
    assert.throws(() => parseBatch('[{"request": {}}'), /not a valid JSON array/);
  });
});
