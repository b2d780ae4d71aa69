import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { type CampaignGateKeeper, createActivities, HeroClients } from '../src/activities';
import { HeroClient } from '../src/hero/client';
import { loadHeroPracticeGroups, practiceGroupKeyVariable } from '../src/hero/config';
import { ConfigError } from '../src/shared/errors';
import { FailureType } from '../src/shared/failure-types';
import { loadWebhookReceiverSettings } from '../src/webhooks/config';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { newPatient } from './support/fixtures';
import { cli } from './support/processes';
import { call } from './support/sandbox-http';

/** Keys a test uses: none of them may appear in any message. */
const SECRETS = ['secret-default-key', 'secret-key-of-two', 'secret-file-key-1', 'secret-file-key-2'];

function configProblems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadHeroPracticeGroups(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    for (const s of SECRETS) assert.ok(!err.message.includes(s), `a key in: ${err.message}`);
    return err.problems;
  }
  return assert.fail('expected a ConfigError');
}

describe('practice groups: HERO_PRACTICE_GROUP_IDS and per-group keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hero-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const keysFile = (content: string, mode = 0o600) => {
    const path = join(dir, `keys-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };

  it('keeps the single-group configuration as it was: HERO_API_KEY for HERO_PRACTICE_GROUP_ID', () => {
    const c = loadHeroPracticeGroups({ HERO_API_KEY: 'secret-default-key', HERO_PRACTICE_GROUP_ID: '1' });
    assert.equal(c.defaultPracticeGroupId, '1');
    assert.deepEqual(c.practiceGroupIds, ['1']);
    assert.deepEqual(c.groups['1'], {
      apiKey: 'secret-default-key',
      practiceGroupId: '1',
      baseUrl: 'https://api.staging.htech.app',
      timeoutMs: 10_000,
      keySource: 'HERO_API_KEY',
    });
  });

  it('serves every group of HERO_PRACTICE_GROUP_IDS, each with HERO_API_KEY_<GROUP>, else HERO_API_KEY', () => {
    const c = loadHeroPracticeGroups({
      HERO_PRACTICE_GROUP_IDS: '1, 2,pcn-3',
      HERO_API_KEY: 'secret-default-key',
      HERO_API_KEY_2: 'secret-key-of-two',
      HERO_API_KEY_PCN_3: 'secret-file-key-1',
    });
    assert.equal(c.defaultPracticeGroupId, '1');
    assert.deepEqual(c.practiceGroupIds, ['1', '2', 'pcn-3']);
    assert.deepEqual(
      c.practiceGroupIds.map((g) => [g, c.groups[g]!.apiKey, c.groups[g]!.keySource]),
      [
        ['1', 'secret-default-key', 'HERO_API_KEY'],
        ['2', 'secret-key-of-two', 'HERO_API_KEY_2'],
        ['pcn-3', 'secret-file-key-1', 'HERO_API_KEY_PCN_3'],
      ],
    );
    assert.equal(practiceGroupKeyVariable('pcn-3'), 'HERO_API_KEY_PCN_3');
    // HERO_PRACTICE_GROUP_ID names the default group, when it is one of them.
    const d = loadHeroPracticeGroups({
      HERO_PRACTICE_GROUP_IDS: '1,2',
      HERO_PRACTICE_GROUP_ID: '2',
      HERO_API_KEY: 'k',
    });
    assert.equal(d.defaultPracticeGroupId, '2');
  });

  it('refuses, naming the variable and the group and never a key: a default group not served, a group without a key, a bad list', () => {
    assert.deepEqual(
      configProblems({
        HERO_PRACTICE_GROUP_IDS: '1,2',
        HERO_PRACTICE_GROUP_ID: '7',
        HERO_API_KEY: 'secret-default-key',
      }),
      [
        'HERO_PRACTICE_GROUP_ID: practice group 7 is not one of HERO_PRACTICE_GROUP_IDS (the groups this worker serves)',
      ],
    );
    assert.deepEqual(configProblems({ HERO_PRACTICE_GROUP_IDS: '1,2', HERO_API_KEY_1: 'secret-default-key' }), [
      'HERO_API_KEY: is required for practice group 2, which has no key of its own (HERO_API_KEY_2 or an entry in HERO_API_KEYS_FILE)',
    ]);
    assert.match(
      configProblems({ HERO_PRACTICE_GROUP_IDS: '1,,x y', HERO_API_KEY: 'k' }).join('\n'),
      /HERO_PRACTICE_GROUP_IDS: /,
    );
    assert.deepEqual(configProblems({ HERO_PRACTICE_GROUP_IDS: '1,1', HERO_API_KEY: 'k' }), [
      'HERO_PRACTICE_GROUP_IDS: names a group twice',
    ]);
    assert.deepEqual(configProblems({ HERO_API_KEY: 'k' }), [
      'HERO_PRACTICE_GROUP_ID: is required (or HERO_PRACTICE_GROUP_IDS, the groups this worker serves)',
    ]);
    assert.deepEqual(configProblems({}), [
      'HERO_PRACTICE_GROUP_ID: is required (or HERO_PRACTICE_GROUP_IDS, the groups this worker serves)',
      'HERO_API_KEY: is required',
    ]);
    assert.deepEqual(
      configProblems({ HERO_PRACTICE_GROUP_IDS: '1', HERO_API_KEY_1: 'secret key-of-two\n', HERO_API_KEY: 'k' }),
      ['HERO_API_KEY_1: the key of practice group 1 must be printable ASCII without spaces or line breaks'],
    );
  });

  it('reads HERO_API_KEYS_FILE once, warns when others may read it, and never echoes its text', () => {
    const warnings: string[] = [];
    const warn = (l: string) => warnings.push(l);
    const good = keysFile(
      JSON.stringify({ '1': 'secret-file-key-1', '2': 'secret-file-key-2', '9': 'secret-key-of-two' }),
    );
    const c = loadHeroPracticeGroups({ HERO_PRACTICE_GROUP_IDS: '1,2', HERO_API_KEYS_FILE: good }, { warn });
    assert.deepEqual(
      c.practiceGroupIds.map((g) => [g, c.groups[g]!.apiKey, c.groups[g]!.keySource]),
      [
        ['1', 'secret-file-key-1', 'HERO_API_KEYS_FILE'],
        ['2', 'secret-file-key-2', 'HERO_API_KEYS_FILE'],
      ],
    );
    assert.deepEqual(warnings, [
      'HERO_API_KEYS_FILE: has a key for practice group 9, which this worker does not serve (HERO_PRACTICE_GROUP_IDS)',
    ]);

    warnings.length = 0;
    const open = keysFile(JSON.stringify({ '1': 'secret-file-key-1' }), 0o644);
    loadHeroPracticeGroups({ HERO_PRACTICE_GROUP_ID: '1', HERO_API_KEYS_FILE: open }, { warn });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /HERO_API_KEYS_FILE is readable by its group and others \(mode 644\).*chmod 600/);

    // A JSON error message quotes the text it failed on: not passed on.
    const broken = keysFile('{"1": "secret-file-key-1", oops}');
    assert.deepEqual(configProblems({ HERO_PRACTICE_GROUP_ID: '1', HERO_API_KEYS_FILE: broken }), [
      'HERO_API_KEYS_FILE: is not JSON (expected {"<practice group>": "<API key>", ...})',
    ]);
    assert.deepEqual(configProblems({ HERO_PRACTICE_GROUP_ID: '1', HERO_API_KEYS_FILE: join(dir, 'none.json') }), [
      'HERO_API_KEYS_FILE: cannot be read (ENOENT)',
    ]);
    // A key pasted where a group goes is not echoed either.
    const misplaced = keysFile(JSON.stringify({ 'secret key-of-two': 'x', '1': 'secret-file-key-1' }));
    assert.deepEqual(configProblems({ HERO_PRACTICE_GROUP_ID: '1', HERO_API_KEYS_FILE: misplaced }), [
      'HERO_API_KEYS_FILE: an entry is not named by a practice group ID (1-64 letters, digits, _ or -)',
    ]);
    assert.deepEqual(
      configProblems({ HERO_PRACTICE_GROUP_ID: '1', HERO_API_KEYS_FILE: good, HERO_API_KEY_1: 'secret-default-key' }),
      ['HERO_API_KEY_1 and HERO_API_KEYS_FILE: both give a key for practice group 1; keep one'],
    );
  });

  it('`hero-flow worker` refuses a bad group key before connecting, naming the variable and the group, never a key', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERO_')));
    const run = await cli(['worker', '--insecure-no-encryption'], {
      ...env,
      HERO_PRACTICE_GROUP_IDS: '1,2',
      HERO_API_KEY: 'secret-default-key',
      HERO_API_KEY_2: 'secret key-of-two',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /HERO_API_KEY_2: the key of practice group 2 must be printable ASCII without spaces or line breaks/,
    );
    for (const s of ['secret-default-key', 'secret key-of-two', 'key-of-two']) {
      assert.ok(!run.stderr.includes(s) && !run.stdout.includes(s), 'a key in the output');
    }
  });

  it('the webhook receiver reads HERO_PRACTICE_GROUP_IDS, with HERO_PRACTICE_GROUP_ID one of them', () => {
    const base = { HERO_WEBHOOK_SIGNING_KEY: 'a-signing-key-long-enough' };
    assert.deepEqual(
      loadWebhookReceiverSettings({ ...base, HERO_PRACTICE_GROUP_IDS: '1, 2', HERO_PRACTICE_GROUP_ID: '1' })
        .practiceGroupIds,
      ['1', '2'],
    );
    assert.throws(
      () => loadWebhookReceiverSettings({ ...base, HERO_PRACTICE_GROUP_IDS: '1,2', HERO_PRACTICE_GROUP_ID: '3' }),
      /HERO_PRACTICE_GROUP_ID: practice group 3 is not one of HERO_PRACTICE_GROUP_IDS/,
    );
  });
});

describe('practice groups: the sandbox and the activities over HTTP', () => {
  let sandbox: Sandbox;
  const KEY_TWO = 'secret-key-of-two';
  const patient = newPatient();
  const hero = (group: string, apiKey: string) =>
    new HeroClient({ apiKey, practiceGroupId: group, baseUrl: sandbox.url, timeoutMs: 2_000 });

  before(async () => {
    sandbox = await startSandbox({ practiceGroups: { '2': KEY_TWO } });
  });
  after(() => sandbox.close());
  beforeEach(() => {
    sandbox.reset();
    sandbox.addPatient(patient);
  });

  it("the sandbox: each group's own key; a key with another group's x-practice-group-id is 403, an unknown key 401", async () => {
    const trace = (key: string, group: string) =>
      call(
        sandbox,
        'POST',
        '/v1/patients/register_pds',
        { nhs_number: patient.nhsNumber, dob: patient.dob },
        {
          'x-api-key': key,
          'x-practice-group-id': group,
        },
      );
    assert.equal((await trace(sandbox.apiKey, '1')).status, 200);
    assert.equal((await trace(KEY_TWO, '2')).status, 200);
    assert.equal((await trace(KEY_TWO, '1')).status, 403);
    assert.equal((await trace(sandbox.apiKey, '2')).status, 403);
    assert.equal((await trace('not-a-key', '2')).status, 401);
    assert.deepEqual(sandbox.practiceGroups, { '1': sandbox.apiKey, '2': KEY_TWO });
    assert.deepEqual(
      sandbox.requests().map((r) => r.practiceGroupId),
      ['1', '2', '1', '2', '2'],
    );
  });

  it("activities pick the group's client and pass the input on without practiceGroupId; the old single-client form still works", async () => {
    const acts = createActivities(new HeroClients([hero('1', sandbox.apiKey), hero('2', KEY_TWO)]));
    const env = new MockActivityEnvironment();
    await env.run(acts.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob, practiceGroupId: '2' });
    await env.run(acts.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob });
    const single = createActivities(hero('1', sandbox.apiKey));
    await env.run(single.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob, practiceGroupId: '1' });
    assert.deepEqual(
      sandbox.requests().map((r) => [r.practiceGroupId, r.status]),
      [
        ['2', 200],
        ['1', 200],
        ['1', 200],
      ],
    );
  });

  it('a group not served is a non-retryable HeroConfiguration failure naming it and HERO_PRACTICE_GROUP_IDS, with no call', async () => {
    const acts = createActivities(new HeroClients([hero('1', sandbox.apiKey), hero('2', KEY_TWO)]));
    const err = await new MockActivityEnvironment()
      .run(acts.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob, practiceGroupId: '5' })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.Configuration);
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      'practice group 5 is not served by this worker: add it to HERO_PRACTICE_GROUP_IDS (served: 1, 2), with its key, and restart the workers',
    );
    assert.deepEqual(sandbox.requests(), []);
  });

  it("a 401/403's failure names the practice group and where its key came from, never the key", async () => {
    const acts = createActivities(
      new HeroClients([hero('1', sandbox.apiKey), hero('2', sandbox.apiKey)], {
        keySources: { '2': 'HERO_API_KEY_2' },
      }),
    );
    const err = await new MockActivityEnvironment()
      .run(acts.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob, practiceGroupId: '2' })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.Forbidden);
    assert.match(err.message, /403 forbidden.*\(practice group 2, key from HERO_API_KEY_2\)$/);
    assert.ok(!err.message.includes(sandbox.apiKey));
  });

  it("a campaign run's message held by a paused campaign records that nothing was sent, so its retry may send", async () => {
    let paused = true;
    const gate: CampaignGateKeeper = {
      read: () => Promise.resolve({ paused, cancelled: false, reason: 'held' }),
      credentialsRefused: () => Promise.resolve(),
      succeeded: () => {},
    };
    const acts = createActivities(hero('1', sandbox.apiKey), { campaignGate: gate });
    const info = { workflowExecution: { workflowId: 'hero-campaign.cmpa.run.keyabc', runId: 'r' } };
    const first = new MockActivityEnvironment({ ...info, attempt: 1 });
    const beats: unknown[] = [];
    first.on('heartbeat', (d: unknown) => beats.push(d));
    const input = { patientId: patient.patientId, messageType: 'sms' as const, text: 'hello' };
    const err = await first.run(acts.sendMessage, input).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.CampaignPaused);
    assert.equal(err.nonRetryable, false);
    assert.equal(err.nextRetryDelay, 5_000);
    assert.match(err.message, /^campaign cmpa is paused \(held\); no Hero call was made/);
    assert.deepEqual(beats, [{ phase: 'not_processed', attempt: 1 }]);
    assert.deepEqual(sandbox.requests(), []);

    paused = false;
    const retry = new MockActivityEnvironment({ ...info, attempt: 2, heartbeatDetails: beats.at(-1) });
    const sent = (await retry.run(acts.sendMessage, input)) as { messageId: string };
    assert.ok(sent.messageId);
    // The delay grows with the attempt, up to 5 minutes.
    paused = true;
    const late = await new MockActivityEnvironment({ ...info, attempt: 12 })
      .run(acts.tracePatient, { nhsNumber: patient.nhsNumber, dob: patient.dob })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e as ApplicationFailure,
      );
    assert.equal(late.nextRetryDelay, 300_000);
  });
});
