import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_ARRAY_BATCH_BYTES, MAX_REQUEST_TEXT_BYTES } from '../src/client/batch';
import { newPatient, outreachRequest } from './support/fixtures';
import { cli, freePort, ROOT } from './support/processes';

/**
 * Oversized input is refused by its size, before it is read whole and before connecting to Temporal:
 * no server runs here, and TEMPORAL_ADDRESS points at a closed port, so any attempt to connect would
 * end "Cannot reach Temporal" instead.
 */
describe('input size: refused before reading it whole, and before connecting', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-size-'));
  let env: NodeJS.ProcessEnv;

  before(async () => {
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      HERO_CODEC_KEYS: `size:${randomBytes(32).toString('base64')}`,
    };
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** A valid request padded with trailing spaces to exactly `bytes`. */
  const requestOfSize = (bytes: number) => {
    const text = JSON.stringify(outreachRequest(newPatient()));
    return text + ' '.repeat(bytes - Buffer.byteLength(text));
  };
  const fileOf = (name: string, text: string) => {
    const file = join(tmp, name);
    writeFileSync(file, text);
    return file;
  };

  it('`start` refuses a request file one byte over the cap, naming the cap', async () => {
    const file = fileOf('over.json', requestOfSize(MAX_REQUEST_TEXT_BYTES + 1));
    const run = await cli(['start', '--input', file, '--workflow-id', 'size-1'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /--input .*over\.json is too large \(64.1 KiB\): a request may be at most 64 KiB .*nothing was started/,
    );
  });

  it('`start` reads and checks a request of exactly the cap', async () => {
    const file = fileOf('at-cap.json', requestOfSize(MAX_REQUEST_TEXT_BYTES));
    // Read, parsed and validated whole: the next check, of the workflow ID, is the one that refuses it.
    const run = await cli(['start', '--input', file, '--workflow-id', 'not an id!'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /workflow ID must be 1-200 characters/);
  });

  it('`start` refuses a 200 MB file by its size, without reading it', async () => {
    // Sparse: 200 MiB long, no disk used. Its size in the message comes from stat, not from reading.
    const file = fileOf('huge.json', '{');
    truncateSync(file, 200 * 1024 * 1024);
    const run = await cli(['start', '--input', file, '--workflow-id', 'size-3'], env);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /huge\.json is too large \(200 MiB\): a request may be at most 64 KiB/);
  });

  it(
    '`start --input -` stops reading stdin past the cap, without waiting for its end',
    { timeout: 30_000 },
    async () => {
      const child = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'hero-flow.js'), 'start', '--input', '-', '--workflow-id', 'size-4'],
        { cwd: ROOT, env },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.stdin.on('error', () => undefined); // the CLI closes its end once it has refused
      // More than the cap, and stdin left open: a reader that waited for the end would never answer.
      child.stdin.write(' '.repeat(MAX_REQUEST_TEXT_BYTES + 4096));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.stdin.destroy();
      assert.equal(code, 2, stderr);
      assert.match(stderr, /--input - is too large \(over 64 KiB\): a request may be at most 64 KiB/);
    },
  );

  it('`start-batch` refuses a JSON array over its cap by its size, and says to use JSON Lines', async () => {
    const file = fileOf('big-array.json', '[');
    truncateSync(file, MAX_JSON_ARRAY_BATCH_BYTES + 1);
    const run = await cli(['start-batch', '--input', file], env);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /a JSON array batch is read whole, so it may be at most 16 MiB \(this one is 16.1 MiB\); write one \{"workflowId", "request"\} object per line \(JSON Lines\)/,
    );
  });
});
