import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Payload } from '@temporalio/common';
import { type CodecServer, EncryptionCodec, parseKeyRing, startCodecServer } from '../src/codec';
import { toJsonPayload } from '../src/codec/protocol';

const ring = parseKeyRing(`B:${randomBytes(32).toString('base64')}`);

/**
 * The codec server's size check before encrypting (issue 18, item 11): an /encode whose answer would pass
 * maxResponseBytes is refused before any payload is encrypted, and one whose answer fits is served. A
 * refusal after encrypting looks the same from outside (413, same message), so the test counts the
 * codec's encode calls in this process.
 */
describe('codec server: /encode refuses an oversized answer before encrypting, and serves one that fits', () => {
  const realEncode = EncryptionCodec.prototype.encode;
  let encodeCalls = 0;
  before(() => {
    EncryptionCodec.prototype.encode = function (this: EncryptionCodec, payloads: Payload[]) {
      encodeCalls++;
      return realEncode.call(this, payloads);
    };
  });
  after(() => {
    EncryptionCodec.prototype.encode = realEncode;
  });
  const servers: CodecServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const plain = (n: number): Payload => ({ metadata: { encoding: Buffer.from('binary/plain') }, data: randomBytes(n) });
  /** The length of the real answer: the payloads encrypted here, in the proto3 JSON the server answers with. */
  async function answerLength(payloads: Payload[]): Promise<number> {
    const encrypted = await realEncode.call(new EncryptionCodec(ring), payloads);
    return `{"payloads":[${encrypted.map((p) => JSON.stringify(toJsonPayload(p))).join(',')}]}`.length;
  }
  async function encodeWithLimit(maxResponseBytes: number, payloads: Payload[]) {
    const server = await startCodecServer({ ring, allowedOrigins: [], maxResponseBytes });
    servers.push(server);
    encodeCalls = 0;
    const res = await fetch(`${server.url}/encode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ payloads: payloads.map(toJsonPayload) }),
    });
    return { status: res.status, text: await res.text(), encodeCalls };
  }

  // Sizes at each base64 alignment (the answer grows by 4 characters per 3 bytes), one payload and several.
  const cases: [string, number[]][] = [
    ['one payload of 40,000 bytes', [40_000]],
    ['one payload of 40,001 bytes', [40_001]],
    ['one payload of 40,002 bytes', [40_002]],
    ['one payload of 1 byte', [1]],
    ['three payloads', [10_000, 20_001, 5_002]],
  ];
  for (const [what, sizes] of cases) {
    it(`${what}: refused without encrypting one byte under its answer, served two bytes over it`, async () => {
      const payloads = sizes.map(plain);
      const length = await answerLength(payloads);

      const refused = await encodeWithLimit(length - 1, payloads);
      assert.equal(refused.status, 413, refused.text);
      assert.match(refused.text, new RegExp(`the response would exceed the limit of ${length - 1} bytes`));
      assert.equal(refused.encodeCalls, 0, 'refused before encrypting');

      // The estimate is the answer's size to within its envelope (2 bytes): an answer that fits is served.
      const served = await encodeWithLimit(length + 2, payloads);
      assert.equal(served.status, 200, served.text);
      assert.equal(served.encodeCalls, 1);
      assert.equal(served.text.length, length);
    });
  }

  it('serves an answer well under the limit, and refuses one far over it, still without encrypting', async () => {
    const payloads = [plain(30_000), plain(30_000)];
    const length = await answerLength(payloads);
    assert.equal((await encodeWithLimit(length * 2, payloads)).status, 200);
    const refused = await encodeWithLimit(Math.floor(length / 2), payloads);
    assert.equal(refused.status, 413);
    assert.equal(refused.encodeCalls, 0);
  });
});
