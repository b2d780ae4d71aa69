/**
 * Fast guards (no Temporal server) for the request fingerprint of src/client/fingerprint.ts: the
 * canonical text it hashes, its keys, and which fingerprints a running run may carry and still match.
 * Written against the survivors of `npm run test:mutation -- client` (docnotes/mutation.md); the
 * end-to-end behaviour is in test/fingerprint.test.ts and test/start-conflict.test.ts.
 */
import assert from 'node:assert/strict';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  canonicalJson,
  keyFingerprintsWithRing,
  REQUEST_FINGERPRINT_MEMO_KEY,
  requestFingerprint,
  requestFingerprints,
} from '../src/client/fingerprint';
import { concurrencyLimit } from '../src/client/limit';
import { outreachWorkflowId, WorkflowIdError } from '../src/client/workflow-id';
import type { KeyRing } from '../src/codec/keys';
import type { OutreachInput } from '../src/workflows/schemas';

const input = { patient: { nhsNumber: '9434765919' }, message: 'hello' } as unknown as OutreachInput;
const other = { patient: { nhsNumber: '9434765870' }, message: 'hello' } as unknown as OutreachInput;
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest('hex');
/** The key a ring key gives, as documented: HKDF-SHA256, empty salt, the v2 info string. */
const derived = (key: Buffer) =>
  Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'hero-flow request fingerprint v2', 32));

describe('canonicalJson: equal requests give equal text', () => {
  it('sorts keys at every depth, drops undefined members, and leaves arrays in order', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: null }], c: 'x' } }),
      '{"a":{"c":"x","d":[3,{"y":null,"z":1}]},"b":1}',
    );
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
    assert.equal(canonicalJson([2, 1]), '[2,1]');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson('s'), '"s"');
    assert.equal(canonicalJson({}), '{}');
    assert.equal(canonicalJson({ B: 1, a: 2, A: 3, b: 4 }), '{"A":3,"B":1,"a":2,"b":4}'); // code-unit order
    assert.equal(canonicalJson({ 'a"b': 1 }), '{"a\\"b":1}');
    assert.equal(canonicalJson({ x: { q: 1, p: 2 } }), canonicalJson({ x: { p: 2, q: 1 } }));
  });
});

describe('requestFingerprint and requestFingerprints', () => {
  it('is the HMAC-SHA256 of the canonical request, under the secret or else the legacy public key', () => {
    assert.equal(requestFingerprint(input, 's3cret'), hmac('s3cret', canonicalJson(input)));
    assert.equal(requestFingerprint(input), hmac('hero-flow request fingerprint v1', canonicalJson(input)));
    assert.equal(requestFingerprint(input, ''), requestFingerprint(input));
    assert.notEqual(requestFingerprint(other, 's3cret'), requestFingerprint(input, 's3cret'));
  });

  it('stores the secret-keyed fingerprint, and matches it and the legacy one only', () => {
    const fp = requestFingerprints(input, 's3cret', {});
    assert.deepEqual(fp.memo, { [REQUEST_FINGERPRINT_MEMO_KEY]: requestFingerprint(input, 's3cret') });
    assert.equal(REQUEST_FINGERPRINT_MEMO_KEY, 'heroFlowRequestFingerprint');
    assert.equal(fp.matches(requestFingerprint(input, 's3cret')), true);
    assert.equal(fp.matches(requestFingerprint(input)), true);
    assert.equal(fp.matches(requestFingerprint(input, 'other')), false);
    assert.equal(fp.matches(requestFingerprint(other, 's3cret')), false);
    assert.equal(fp.matches(undefined), false);
    assert.equal(fp.matches(Buffer.from(requestFingerprint(input, 's3cret'))), false);
  });

  it('stores nothing without a secret or key ring, yet still recognises a legacy fingerprint', () => {
    const fp = requestFingerprints(input, undefined, {});
    assert.equal(fp.memo, undefined);
    assert.equal(fp.matches(requestFingerprint(input)), true);
    assert.equal(fp.matches(requestFingerprint(other)), false);
    assert.equal(requestFingerprints(input, '', {}).memo, undefined);
  });

  it('keys by the ring of the client: the encrypting key stores, every ring key matches', () => {
    const [k1, k2, k3] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const ring: KeyRing = {
      encryptWith: { id: 'k2', key: k2 },
      keys: new Map([
        ['k1', k1],
        ['k2', k2],
        ['k3', k3],
      ]),
    };
    const client = {};
    keyFingerprintsWithRing(client, ring);
    const fp = requestFingerprints(input, undefined, client);
    assert.deepEqual(fp.memo, { [REQUEST_FINGERPRINT_MEMO_KEY]: requestFingerprint(input, derived(k2)) });
    for (const key of [k1, k2, k3]) assert.equal(fp.matches(requestFingerprint(input, derived(key))), true);
    // The raw payload key is never the HMAC key.
    assert.equal(fp.matches(requestFingerprint(input, k2)), false);
    // A secret, when set, is the one stored; the ring's still match.
    const withSecret = requestFingerprints(input, 's3cret', client);
    assert.deepEqual(withSecret.memo, { [REQUEST_FINGERPRINT_MEMO_KEY]: requestFingerprint(input, 's3cret') });
    assert.equal(withSecret.matches(requestFingerprint(input, derived(k1))), true);
    // Only that client: another one has no ring keys, and no ring leaves a client as it was.
    assert.equal(requestFingerprints(input, undefined, {}).memo, undefined);
    const bare = {};
    keyFingerprintsWithRing(bare, undefined);
    assert.equal(requestFingerprints(input, undefined, bare).memo, undefined);
  });
});

describe('concurrencyLimit: a finished task gives its slot back', () => {
  it('runs task after task, one at a time, without ever blocking once the earlier ones are done', async () => {
    const limit = concurrencyLimit(2);
    const bound = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('task never ran')), 2000))]);
    for (let i = 0; i < 5; i++) assert.equal(await bound(limit(async () => i)), i);
  });
});

describe('outreachWorkflowId: the business ID and the secret', () => {
  const request = { nhsNumber: '9434765919', dob: '1992-01-01', message: 'hi' } as unknown as OutreachInput;

  it('refuses, with the options to fix it, when there is neither a business ID nor a secret', () => {
    for (const opts of [{}, { secret: '' }])
      assert.throws(
        () => outreachWorkflowId(request, opts),
        (err: unknown) =>
          err instanceof WorkflowIdError &&
          err.message ===
            'no workflow ID: pass your own business ID (--workflow-id) or set HERO_WORKFLOW_ID_SECRET so one is derived',
      );
  });

  it('takes a business ID of 1 to 200 characters once trimmed', () => {
    assert.equal(outreachWorkflowId(request, { businessId: 'a' }), 'a');
    assert.equal(outreachWorkflowId(request, { businessId: '  order-17  ' }), 'order-17');
    assert.equal(outreachWorkflowId(request, { businessId: 'x'.repeat(200) }), 'x'.repeat(200));
    for (const businessId of ['', '   ', 'x'.repeat(201)])
      assert.throws(() => outreachWorkflowId(request, { businessId }), /must be 1-200 characters/);
  });
});
