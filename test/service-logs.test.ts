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
  it('the codec server writes its start-up line as one redacted JSON object naming the service', async () => {
    const proc = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'codec-server'], {
      ...process.env,
      HERO_LOG_FORMAT: 'json',
      HERO_CODEC_KEYS: generateKeySpec('logs'),
      HERO_CODEC_PORT: '0',
      // An NHS number in a setting the start-up line echoes: it must reach the log masked.
      HERO_CODEC_CORS_ORIGINS: 'http://localhost:8233,http://ui-9434765919.example.org',
    });
    try {
      await proc.waitFor('codec server on', 20_000);
      const lines = proc.stderr.split('\n').filter((l) => l.trim() !== '');
      // One JSON object per line, each naming the service, whatever else is written.
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      for (const e of entries) assert.equal(e.service, 'hero-flow-codec-server');
      const entry = entries.find((e) => String(e.message).includes('codec server on'))!;
      assert.equal(entry.level, 'INFO');
      assert.match(String(entry.message), /^codec server on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(String(entry.message), /http:\/\/ui-\[nhs-number\]\.example\.org/);
      assert.ok(!proc.output.includes('9434765919'), 'the NHS number is masked');
    } finally {
      await proc.stop();
    }
  });
});
