import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toApplicationFailure } from '../src/activities/failures';
import { HeroClient, HeroInvalidRequestError, loadHeroConfig } from '../src/hero';
import { ConfigError } from '../src/shared/errors';
import { type Sandbox, startSandbox } from '../tools/sandbox';

/** A synthetic patient the sandbox seeds (not a real person). */
const PATIENT = { nhsNumber: '9434765919', dob: '1992-01-01' };
const ECHOES = ['9434765919', '943 476 5919', '1992-01-01', 'PASSWORD-s3cr3t'];

function assertClean(text: string): void {
  for (const secret of ECHOES) assert.ok(!text.includes(secret), `leaks ${secret.slice(0, 3)}…: ${text}`);
}

describe("Hero's answers never carry patient data into failures", () => {
  let sb: Sandbox;
  let client: HeroClient;

  before(async () => {
    sb = await startSandbox();
    client = new HeroClient({
      apiKey: sb.apiKey,
      practiceGroupId: sb.practiceGroupId,
      baseUrl: sb.url,
      timeoutMs: 2_000,
    });
  });
  after(() => sb.close());

  async function invalidRequest(body: unknown): Promise<HeroInvalidRequestError> {
    sb.injectFault('register_pds', { kind: 'status', status: 400, body });
    const err = await client.registerPds(PATIENT).then(
      () => assert.fail('expected a 400'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HeroInvalidRequestError, String(err));
    return err;
  }

  it('keeps only field paths and codes of a 400 that echoes the request, in the error and its failure', async () => {
    const err = await invalidRequest({
      error: true,
      statusCode: 400,
      message: [
        { code: 'invalid_string', expected: 'not 9434765919', path: ['nhs_number'] },
        { code: 'NHS 943 476 5919 is not valid', path: ['patients', '9434765919', 0] },
        { code: 'custom', expected: '1992-01-01 is in the future', path: ['dob', 'value 1992-01-01'] },
      ],
    });
    assert.deepEqual(err.issues, [
      { path: 'nhs_number', code: 'invalid_string' },
      { path: 'patients.?.0', code: '?' },
      { path: 'dob.?', code: 'custom' },
    ]);
    const failure = toApplicationFailure(err, { idempotent: true });
    assert.ok(failure instanceof ApplicationFailure);
    for (const text of [err.message, String(err), err.stack ?? '', failure.message, JSON.stringify(failure.details)]) {
      assertClean(text);
    }
  });

  it('drops a 400 body that is not the documented shape, whatever it says', async () => {
    const err = await invalidRequest({ message: 'No patient 9434765919 born 1992-01-01', detail: '943 476 5919' });
    assert.deepEqual(err.issues, []);
    assertClean(err.message);
  });

  it('keeps at most 20 issues of a 400, so a huge body cannot flood a log line', async () => {
    const message = Array.from({ length: 500 }, (_, i) => ({ code: 'custom', path: ['field', i] }));
    const err = await invalidRequest({ error: true, statusCode: 400, message });
    assert.equal(err.issues.length, 20);
  });
});

describe('Hero settings keep secrets out of start-up lines', () => {
  const env = { HERO_API_KEY: 'key', HERO_PRACTICE_GROUP_ID: 'pg' };

  it('refuses credentials in HERO_API_BASE_URL without echoing them', () => {
    for (const url of ['http://user:PASSWORD-s3cr3t@127.0.0.1:9', 'https://PASSWORD-s3cr3t@hero.example/v1']) {
      assert.throws(
        () => loadHeroConfig({ ...env, HERO_API_BASE_URL: url }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, /HERO_API_BASE_URL: must not contain credentials \(user:password@\)/);
          assertClean(err.message);
          return true;
        },
      );
    }
  });

  it('still accepts a URL whose path or query holds an @', () => {
    const config = loadHeroConfig({ ...env, HERO_API_BASE_URL: 'https://hero.example/v1/@team?x=a@b' });
    assert.equal(config.baseUrl, 'https://hero.example/v1/@team?x=a@b');
  });
});
