import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { concurrencyLimit } from '../src/client';
import { parseKeyRing } from '../src/codec';
import { newPatient, outreachRequest } from './support/fixtures';
import { cli, ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';

/** Workflow IDs of letters only (and a counter), so no random digits look like patient data. */
const letters = (n: number) => Array.from(randomBytes(n), (b) => String.fromCharCode(97 + (b % 26))).join('');

type Line = Record<string, unknown> & { index: number };
const parseLines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)
    .sort((x, y) => x.index - y.index);

/** The CLI as a user runs it, with its stdout and stderr kept apart and a way to wait on either. */
class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), ...args], { cwd: ROOT, env });
    this.child.stdout.on('data', (d: Buffer) => (this.stdout += d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
  get stdin() {
    return this.child.stdin;
  }
  /** Resolves when `stream` has shown text matching `pattern` (on each new output, no polling). */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this[stream])) return;
        this.child.stdout.off('data', check);
        this.child.stderr.off('data', check);
        resolve();
      };
      this.child.stdout.on('data', check);
      this.child.stderr.on('data', check);
      void this.exited.then(() => {
        check();
        reject(new Error(`exited before ${pattern} on ${stream}:\n${this.stdout}\n${this.stderr}`));
      });
      check();
    });
  }
  kill(signal: NodeJS.Signals) {
    this.child.kill(signal);
  }
}

/**
 * `hero-flow start-batch` against a real Temporal dev server: runs are only started (no worker), on a
 * task queue of this suite's own.
 */
describe('hero-flow start-batch', () => {
  const keys = `batch:${randomBytes(32).toString('base64')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-batch-'));
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    stack = await startTestStack({ server: 'dev', ring: parseKeyRing(keys) });
    const { HERO_WORKFLOW_ID_SECRET: _s, ...base } = process.env;
    env = { ...base, TEMPORAL_ADDRESS: stack.env.address, HERO_CODEC_KEYS: keys, HERO_TASK_QUEUE: `tq-${letters(8)}` };
  });
  after(async () => {
    await stopTestStack(stack);
    rmSync(tmp, { recursive: true, force: true });
  });

  const batchFile = (name: string, lines: string[]) => {
    const file = join(tmp, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const item = (workflowId: string, patient = newPatient()) =>
    JSON.stringify({ workflowId, request: outreachRequest(patient) });

  /** The run under `workflowId`, or undefined when there is none. */
  const runOf = (workflowId: string) =>
    stack.env.client.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        (d) => d.runId,
        (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        },
      );

  it('reports the second patient under a taken workflow ID as an error line, and exits 1', async () => {
    const [a, b] = [newPatient(), newPatient()];
    const shared = `shared-${letters(8)}`;
    const own = `own-${letters(8)}`;
    const file = batchFile('conflict.jsonl', [item(shared, a), item(shared, b), item(own, b)]);
    const run = await cli(['start-batch', '--input', file], env);
    assert.equal(run.code, 1, run.stderr);
    const lines = parseLines(run.stdout);
    assert.equal(lines.length, 3);
    const onShared = lines.slice(0, 2);
    const started = onShared.filter((l) => typeof l.runId === 'string');
    const refused = onShared.filter((l) => typeof l.error === 'string');
    assert.equal(started.length, 1, 'one of the two started');
    assert.equal(refused.length, 1, 'the other is an error line');
    assert.match(String(refused[0]!.error), new RegExp(`Workflow ID ${shared} is already running for another request`));
    assert.equal(started[0]!.runId, await runOf(shared));
    assert.equal(lines[2]!.workflowId, own);
    assert.match(run.stderr, /started or already there: 2 of 3; 1 not started \(the lines with "error"\)/);
    for (const p of [a, b]) assert.ok(!(run.stdout + run.stderr).includes(p.nhsNumber.slice(0, 6)));

    // The same file again: the run is found (same request), the other patient is refused again.
    const again = await cli(['start-batch', '--input', file], env);
    assert.equal(again.code, 1);
    const rerun = parseLines(again.stdout);
    assert.equal(rerun.filter((l) => l.alreadyRunning === true && l.runId === started[0]!.runId).length, 1);
    assert.equal(rerun.filter((l) => typeof l.error === 'string').length, 1);
  });

  it('starts items as they arrive on stdin, before the input ends', { timeout: 60_000 }, async () => {
    const ids = [0, 1, 2].map(() => `stdin-${letters(8)}`);
    const proc = new CliProcess(['start-batch', '--input', '-'], env);
    proc.stdin.write(`${item(ids[0]!)}\n${item(ids[1]!)}\n`);
    await proc.waitFor('stdout', new RegExp(`${ids[1]}.*runId`));
    assert.ok(await runOf(ids[0]!), 'started while stdin is still open');
    proc.stdin.end(`${item(ids[2]!)}\n`);
    assert.equal(await proc.exited, 0, proc.stderr);
    assert.deepEqual(
      parseLines(proc.stdout).map((l) => l.workflowId),
      ids,
    );
    assert.match(proc.stderr, /hero-flow: done: read 3, started 3, already there 0, failed 0, [\d.]+\/s in [\d.]+ s/);
    assert.match(proc.stderr, /started or already there: 3 of 3\n/);
  });

  it('reports a line over 64 KiB as its error, without holding it, and starts the lines around it', async () => {
    const [before, afterIt] = [`long-a-${letters(8)}`, `long-b-${letters(8)}`];
    const file = batchFile('long-line.jsonl', [item(before)]);
    // A 100 MiB line (sparse: no disk used), then a valid line.
    truncateSync(file, 100 * 1024 * 1024);
    appendFileSync(file, `\n${item(afterIt)}\n`);
    const run = await cli(['start-batch', '--input', file], env);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(
      parseLines(run.stdout).map((l) => [l.index, l.workflowId ?? null, l.error ?? null]),
      [
        [0, before, null],
        [1, null, 'line 2 is longer than 64 KiB, the most one request may take (each line holds one request)'],
        [2, afterIt, null],
      ],
    );
  });

  it('still accepts a JSON array file', async () => {
    const ids = [`array-${letters(8)}`, `array-${letters(8)}`];
    const file = join(tmp, 'batch.json');
    writeFileSync(file, `[${ids.map((id) => item(id)).join(',\n')}]`);
    const run = await cli(['start-batch', '--input', file], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      parseLines(run.stdout).map((l) => [l.index, l.workflowId]),
      [
        [0, ids[0]],
        [1, ids[1]],
      ],
    );
  });

  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(
      `on ${signal}: stops reading, lets the starts in flight finish, says where to resume, exits ${exitCode}`,
      {
        timeout: 180_000,
      },
      async () => {
        const tag = letters(8);
        const request = JSON.stringify(outreachRequest(newPatient()));
        const total = 20_000;
        const idOf = (i: number) => `sig-${tag}-item-${i}`;
        const file = batchFile(
          `${signal}.jsonl`,
          Array.from({ length: total }, (_, i) => `{"workflowId":"${idOf(i)}","request":${request}}`),
        );
        const proc = new CliProcess(['start-batch', '--input', file, '--concurrency', '2'], env);
        await proc.waitFor(
          'stderr',
          /hero-flow: progress: read \d+, started \d+, already there 0, failed 0, [\d.]+\/s\n/,
        );
        proc.kill(signal);
        assert.equal(await proc.exited, exitCode, proc.stderr);

        const resume = Number(/Items from index (\d+) on were not started/.exec(proc.stderr)?.[1]);
        assert.ok(resume > 0 && resume < total, `stopped mid-batch, at ${resume}:\n${proc.stderr}`);
        assert.match(proc.stderr, new RegExp(`hero-flow: ${signal}: stopped reading`));
        assert.match(
          proc.stderr,
          new RegExp(
            `hero-flow: stopped by ${signal}: read ${resume}, started ${resume}, already there 0, failed 0, [\\d.]+/s`,
          ),
        );
        assert.match(proc.stderr, new RegExp(`to resume: start-batch --input \\S+ --from ${resume} `));

        // Every item before the resume point has its line and its run; none from it on was started.
        const lines = parseLines(proc.stdout);
        assert.deepEqual(
          lines.map((l) => l.index),
          Array.from({ length: resume }, (_, i) => i),
        );
        const limit = concurrencyLimit(16);
        const runs = await Promise.all(lines.map((l) => limit(() => runOf(String(l.workflowId)))));
        assert.deepEqual(
          runs,
          lines.map((l) => l.runId),
        );
        for (let i = resume; i < resume + 5; i++)
          assert.equal(await runOf(idOf(i)), undefined, `item ${i} not started`);

        if (signal === 'SIGINT') {
          // Resuming from near the end starts just the rest.
          const rest = await cli(['start-batch', '--input', file, '--from', String(total - 3)], env);
          assert.equal(rest.code, 0, rest.stderr);
          assert.deepEqual(
            parseLines(rest.stdout).map((l) => [l.index, l.workflowId]),
            [total - 3, total - 2, total - 1].map((i) => [i, idOf(i)]),
          );
        }
      },
    );
  }
});
