import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKeySpec } from '../src/codec';
import { Proc, ROOT } from './support/processes';

/**
 * The CLI's long-running services write JSON lines under HERO_LOG_FORMAT=json, as the worker does
 * (test/observability.test.ts), so one log pipeline reads them all.
 */
describe('service logs under HERO_LOG_FORMAT=json', () => {
  it('the codec server writes its start-up line as one JSON object naming the service', async () => {
    const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'codec-server'], {
      ...process.env,
      HERO_LOG_FORMAT: 'json',
      HERO_CODEC_KEYS: generateKeySpec('logs'),
      HERO_CODEC_PORT: '0',
    });
    try {
      await proc.waitFor('codec server on', 20_000);
      const line = proc.output.split('\n').find((l) => l.includes('codec server on'))!;
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(entry.service, 'hero-flow-codec-server');
      assert.equal(entry.level, 'INFO');
      assert.match(String(entry.message), /^codec server on http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await proc.stop();
    }
  });
});
