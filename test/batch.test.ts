import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concurrencyLimit } from '../src/client';

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
