import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFairnessWeights } from '../src/config/priority';
import { ConfigError } from '../src/shared/errors';
import {
  checkRunPriority,
  fairnessWeightsSchema,
  PRIORITY,
  runPrioritySchema,
  runTaskPriority,
} from '../src/shared/priority';

/**
 * Priority keys and fairness weights at their edges (found by mutation testing, src/shared/priority.ts and
 * src/config/priority.ts): the keys' order, the 1-4 range and its messages, each weight bound, every way a
 * HERO_FAIRNESS_WEIGHTS pair is refused, and the Temporal priority a run gets.
 */

/** The messages a caller gets for `value`; [] when it is accepted. */
const messages = (schema: { safeParse(v: unknown): { error?: { issues: { message: string }[] } } }, value: unknown) =>
  (schema.safeParse(value).error?.issues ?? []).map((i) => i.message);

/** What loadFairnessWeights refuses `text` with (its ConfigError's problems); [] when it is accepted. */
const refusals = (text: string): string[] => {
  try {
    loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: text });
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, `${String(err)} should be a ConfigError`);
    return err.problems;
  }
};
const hint = ' (e.g. practice-a=2,practice-b=1)';

describe('priority keys', () => {
  it('serves urgent and a campaign control first, then single runs, campaigns, the lowest a caller may ask, bookkeeping last', () => {
    assert.deepEqual(PRIORITY, { urgent: 1, campaignControl: 1, single: 2, campaign: 3, lowest: 4, bookkeeping: 5 });
  });
});

describe('run priority: 1 to 4, whole numbers', () => {
  it('takes 1 to 4, also as text (a CLI flag or an environment variable)', () => {
    for (const v of [1, 2, 3, 4]) assert.equal(runPrioritySchema.parse(v), v);
    assert.equal(runPrioritySchema.parse('4'), 4);
    assert.equal(runPrioritySchema.parse(' 1 '), 1);
  });

  it('refuses 0 and 5 (kept for bookkeeping) and a fraction, each with its own message', () => {
    assert.deepEqual(messages(runPrioritySchema, 0), ['must be a whole number from 1 to 4 (1 is served first)']);
    assert.deepEqual(messages(runPrioritySchema, 5), [
      'must be at most 4 (5 is kept for bookkeeping reads, behind every run)',
    ]);
    assert.deepEqual(messages(runPrioritySchema, 2.5), ['must be a whole number from 1 to 4']);
    assert.deepEqual(messages(runPrioritySchema, 'high'), ['must be a whole number from 1 to 4']);
  });

  it('checkRunPriority: the fallback when not given, the value when allowed, a RangeError naming the rule otherwise', () => {
    assert.equal(checkRunPriority(undefined, 3), 3);
    assert.equal(checkRunPriority(1, 3), 1);
    assert.equal(checkRunPriority('2', 3), 2);
    assert.throws(
      () => checkRunPriority(5, 3),
      (err: unknown) =>
        err instanceof RangeError &&
        err.message === 'priority: must be at most 4 (5 is kept for bookkeeping reads, behind every run)',
    );
    assert.throws(
      () => checkRunPriority(0, 2),
      (err: unknown) =>
        err instanceof RangeError && err.message === 'priority: must be a whole number from 1 to 4 (1 is served first)',
    );
    // null is a value given (not "not given"): refused, not the fallback.
    assert.throws(() => checkRunPriority(null, 2), RangeError);
  });
});

describe('the Temporal priority of a run', () => {
  it('without a practice group: only the key (the default fairness key, no weight)', () => {
    assert.deepEqual(runTaskPriority({ priorityKey: 2 }), { priorityKey: 2 });
    assert.deepEqual(runTaskPriority({ priorityKey: 2, weights: { a: 3 } }), { priorityKey: 2 });
  });

  it('with a practice group: the group as the fairness key, and its weight only when one is set', () => {
    assert.deepEqual(runTaskPriority({ priorityKey: 3, practiceGroupId: 'a', weights: { a: 3, b: 0.5 } }), {
      priorityKey: 3,
      fairnessKey: 'a',
      fairnessWeight: 3,
    });
    const unweighted = runTaskPriority({ priorityKey: 3, practiceGroupId: 'c', weights: { a: 3 } });
    assert.deepEqual(unweighted, { priorityKey: 3, fairnessKey: 'c' });
    assert.equal('fairnessWeight' in unweighted, false);
    assert.deepEqual(runTaskPriority({ priorityKey: 4, practiceGroupId: 'a' }), { priorityKey: 4, fairnessKey: 'a' });
  });
});

describe('HERO_FAIRNESS_WEIGHTS', () => {
  it('reads group=weight pairs, skipping empty ones and spaces; unset or blank is no weights', () => {
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: 'practice-a=2,practice-b=0.5' }), {
      'practice-a': 2,
      'practice-b': 0.5,
    });
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: ' a = 3 ,, b=1, ' }), { a: 3, b: 1 });
    assert.deepEqual(loadFairnessWeights({}), {});
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: '   ' }), {});
  });

  it('reads process.env by default', () => {
    const saved = process.env.HERO_FAIRNESS_WEIGHTS;
    try {
      process.env.HERO_FAIRNESS_WEIGHTS = 'env-group=7';
      assert.deepEqual(loadFairnessWeights(), { 'env-group': 7 });
    } finally {
      if (saved === undefined) delete process.env.HERO_FAIRNESS_WEIGHTS;
      else process.env.HERO_FAIRNESS_WEIGHTS = saved;
    }
  });

  it('takes weights from 0.001 to 1000 and refuses just outside, naming the bound', () => {
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: 'a=0.001,b=1000' }), { a: 0.001, b: 1000 });
    assert.deepEqual(refusals('a=0.0009'), [`HERO_FAIRNESS_WEIGHTS: pair 1: the weight must be at least 0.001${hint}`]);
    assert.deepEqual(refusals('a=1,b=1000.5'), [
      `HERO_FAIRNESS_WEIGHTS: pair 2: the weight must be at most 1000${hint}`,
    ]);
    // zod 4's number() already refuses Infinity, before .finite() would.
    assert.deepEqual(refusals('a=Infinity'), [`HERO_FAIRNESS_WEIGHTS: pair 1: the weight must be a number${hint}`]);
    assert.deepEqual(refusals('a=heavy'), [`HERO_FAIRNESS_WEIGHTS: pair 1: the weight must be a number${hint}`]);
  });

  it('refuses a pair without = or with two, a bad group, a group twice: each by its number, all at once', () => {
    assert.deepEqual(refusals('a'), [`HERO_FAIRNESS_WEIGHTS: pair 1: expected group=weight${hint}`]);
    assert.deepEqual(refusals('a=1,b=2=3'), [`HERO_FAIRNESS_WEIGHTS: pair 2: expected group=weight${hint}`]);
    assert.deepEqual(refusals('a b=1'), [
      `HERO_FAIRNESS_WEIGHTS: pair 1: the group must be 1-64 letters, digits, _ or - (a Hero practice group ID)${hint}`,
    ]);
    assert.deepEqual(refusals('a=1,b=2,a=3'), [`HERO_FAIRNESS_WEIGHTS: pair 3: a is given twice${hint}`]);
    assert.deepEqual(refusals('x,a=0,a b=1'), [
      `HERO_FAIRNESS_WEIGHTS: pair 1: expected group=weight${hint}`,
      `HERO_FAIRNESS_WEIGHTS: pair 2: the weight must be at least 0.001${hint}`,
      `HERO_FAIRNESS_WEIGHTS: pair 3: the group must be 1-64 letters, digits, _ or - (a Hero practice group ID)${hint}`,
    ]);
  });

  it('skips a pair of spaces between commas, as an empty one', () => {
    assert.deepEqual(loadFairnessWeights({ HERO_FAIRNESS_WEIGHTS: 'a=1, ,b=2' }), { a: 1, b: 2 });
  });

  it('refuses each bad pair as a custom issue (what describeProblems and callers of the schema read)', () => {
    const codes = (text: string) => fairnessWeightsSchema.safeParse(text).error?.issues.map((i) => i.code);
    assert.deepEqual(codes('a'), ['custom']);
    assert.deepEqual(codes('a=0'), ['custom']);
    assert.deepEqual(codes('a=1,a=2'), ['custom']);
  });

  it('keeps the later weight of a group given twice (the schema reports it; the value is the last)', () => {
    const parsed = fairnessWeightsSchema.safeParse('a=1,a=2');
    assert.equal(parsed.success, false);
    assert.deepEqual(messages(fairnessWeightsSchema, 'a=1,a=2'), ['pair 2: a is given twice']);
    assert.deepEqual(fairnessWeightsSchema.parse('a=1,b=2'), { a: 1, b: 2 });
  });
});
