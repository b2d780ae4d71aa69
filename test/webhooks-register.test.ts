import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { uniqueId } from './support/fixtures';
import { cli, type RunResult } from './support/processes';

/**
 * `hero-flow webhooks register` for every configured practice group, each with its own key, against the sandbox
 * over HTTP (Hero keeps subscriptions per key: the sandbox lists a key's own). The CLI runs from dist: build first.
 */

const SIGNING_KEY = 'whsec-register-test-0123456789abcdef';
const KEY_TWO = 'secret-key-of-group-two';
const WRONG_KEY = 'not-the-key-of-group-two';
const EVENTS = ['appointment.confirmed', 'appointment.cancelled', 'appointment.rescheduled'];

describe('webhooks register: every configured practice group, each with its own key', () => {
  let sandbox: Sandbox;
  /** Groups 1 (HERO_API_KEY) and 2 (HERO_API_KEY_2). */
  let twoGroups: NodeJS.ProcessEnv;
  /** A receiver URL of its own per test, so each test reads only its own subscriptions. */
  const receiverUrl = () => `http://127.0.0.1:8787/hero/webhooks/${uniqueId('hook')}`;
  const lines = (r: RunResult) =>
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  /** The sandbox's subscriptions of `url`, as the lines of a run that created them show them. */
  const subscribed = (url: string) =>
    sandbox
      .webhooks()
      .filter((w) => w.url === url)
      .map((w) => ({
        event: w.eventType,
        id: w.id,
        practiceGroupId: w.practiceGroupId,
        hasSigningKey: w.hasSigningKey,
      }));
  const noSecrets = (...runs: RunResult[]) => {
    for (const r of runs) {
      for (const secret of [sandbox.apiKey, KEY_TWO, WRONG_KEY, SIGNING_KEY]) {
        assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'a key was printed');
      }
    }
  };

  before(async () => {
    sandbox = await startSandbox({ practiceGroups: { '2': KEY_TWO } });
    const { HERO_PRACTICE_GROUP_ID: _g, HERO_API_KEY: _k, HERO_API_KEYS_FILE: _f, ...rest } = process.env;
    twoGroups = {
      ...rest,
      HERO_PRACTICE_GROUP_IDS: '1,2',
      HERO_API_KEY: sandbox.apiKey,
      HERO_API_KEY_2: KEY_TWO,
      HERO_API_BASE_URL: sandbox.url,
      HERO_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    };
  });
  after(() => sandbox.close());

  it('subscribes the three events for each group with its own key, one line per group and event; again, it finds them', async () => {
    const url = receiverUrl();
    const first = await cli(['webhooks', 'register', '--url', url], twoGroups);
    assert.equal(first.code, 0, first.stderr);
    const created = subscribed(url);
    assert.deepEqual(
      created.map((w) => [w.practiceGroupId, w.event, w.hasSigningKey]),
      ['1', '2'].flatMap((g) => EVENTS.map((e) => [g, e, true])),
    );
    assert.deepEqual(
      lines(first),
      created.map((w) => ({ event: w.event, id: w.id, created: true, practiceGroupId: w.practiceGroupId })),
    );
    // The existing fields come first, as before: an old consumer reads the line as it did.
    assert.deepEqual(Object.keys(lines(first)[0]!), ['event', 'id', 'created', 'practiceGroupId']);
    const again = await cli(['webhooks', 'register', '--url', url], twoGroups);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      lines(again),
      created.map((w) => ({ event: w.event, id: w.id, existing: true, practiceGroupId: w.practiceGroupId })),
    );
    assert.equal(subscribed(url).length, 6, 'subscribed twice');
    noSecrets(first, again);
  });

  it('--practice-group 2 subscribes group 2 only; one group alone (HERO_PRACTICE_GROUP_ID) works as before', async () => {
    const url = receiverUrl();
    const two = await cli(['webhooks', 'register', '--url', url, '--practice-group', '2'], twoGroups);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(
      subscribed(url).map((w) => [w.practiceGroupId, w.event]),
      EVENTS.map((e) => ['2', e]),
    );
    assert.deepEqual(
      lines(two).map((l) => [l.practiceGroupId, l.event, l.created]),
      EVENTS.map((e) => ['2', e, true]),
    );
    const { HERO_PRACTICE_GROUP_IDS: _ids, HERO_API_KEY_2: _two, ...rest } = twoGroups;
    const single = await cli(['webhooks', 'register', '--url', url], { ...rest, HERO_PRACTICE_GROUP_ID: '1' });
    assert.equal(single.code, 0, single.stderr);
    const ones = subscribed(url).filter((w) => w.practiceGroupId === '1');
    assert.deepEqual(
      lines(single),
      ones.map((w) => ({ event: w.event, id: w.id, created: true, practiceGroupId: '1' })),
    );
    assert.equal(ones.length, 3);
    noSecrets(two, single);
  });

  it('a --practice-group that is not configured is refused (exit 2, naming the option), asking Hero nothing', async () => {
    const url = receiverUrl();
    const asked = sandbox.requests().length;
    const refused = await cli(['webhooks', 'register', '--url', url, '--practice-group', '3'], twoGroups);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /--practice-group 3: not a configured practice group/);
    assert.equal(refused.stdout, '');
    assert.equal(sandbox.requests().length, asked, 'Hero was asked');
    assert.deepEqual(subscribed(url), []);
  });

  it('a group with a wrong key is reported on its lines and exits 1; the other group is subscribed', async () => {
    const url = receiverUrl();
    const run = await cli(['webhooks', 'register', '--url', url], { ...twoGroups, HERO_API_KEY_2: WRONG_KEY });
    assert.equal(run.code, 1, run.stderr);
    const ones = subscribed(url);
    assert.deepEqual(
      ones.map((w) => [w.practiceGroupId, w.event]),
      EVENTS.map((e) => ['1', e]),
    );
    const [done, failed] = [lines(run).slice(0, 3), lines(run).slice(3)];
    assert.deepEqual(
      done,
      ones.map((w) => ({ event: w.event, id: w.id, created: true, practiceGroupId: '1' })),
    );
    assert.deepEqual(
      failed.map((l) => [l.event, l.practiceGroupId, typeof l.error, l.id]),
      EVENTS.map((e) => [e, '2', 'string', undefined]),
    );
    assert.match(String(failed[0]!.error), /401|[Uu]nauthori[sz]ed/);
    assert.match(run.stderr, /practice group 2 \(key from HERO_API_KEY_2\)/);
    noSecrets(run);
  });
});
