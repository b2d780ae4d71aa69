import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uniqueId } from './support/fixtures';
import { devEnvironment } from './support/dev-env';
import { cli, Proc, ROOT } from './support/processes';

/**
 * `npm run dev` narrates each run in its terminal (tools/dev/index.ts): one line per event with the
 * run's UI link, and expected outcomes such as patient_not_found without a stack trace.
 */
describe('npm run dev narrates runs', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-narration-'));
  let dev: Proc;
  let devEnv: NodeJS.ProcessEnv;
  let cliEnv: NodeJS.ProcessEnv;
  let uiPort: number;
  let sandboxPort: number;
  const earlierOutputs: string[] = [];

  const startDev = async () => {
    const proc = Proc.start(process.execPath, ['--import', 'tsx', join(ROOT, 'tools', 'dev', 'index.ts')], devEnv);
    await proc.waitFor('[dev] Ctrl-C stops everything.', 120_000);
    return proc;
  };
  const example = (name: string) => join(ROOT, 'examples', `${name}.json`);
  const uiLink = (id: string) => `http://localhost:${uiPort}/namespaces/default/workflows/${id}`;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const printedId = (output: string) => {
    const m = /npx hero-flow start --input examples\/request\.json --workflow-id (\S+) --wait/.exec(output);
    assert.ok(m, 'dev prints a ready-to-paste start command');
    return m[1]!;
  };

  before(async () => {
    const env = await devEnvironment(tmp, 'narration');
    ({ ui: uiPort, sandbox: sandboxPort } = env.ports);
    devEnv = env.dev;
    cliEnv = env.cli;
    dev = await startDev();
  });

  after(async () => {
    await dev?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints a start command with a fresh letters-only workflow ID and no key prefix', () => {
    const id = printedId(dev.output);
    assert.match(id, /^demo-[a-z]{6}$/);
    assert.doesNotMatch(dev.output, /HERO_CODEC_KEYS="\$\(cat/);
  });

  it('narrates a plain run: a started line and a completed line, each with its UI link', async () => {
    const id = printedId(dev.output);
    const run = await cli(['start', '--input', example('plain'), '--workflow-id', id, '--wait'], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    await dev.waitFor(`[dev] run ${id} completed: booking link sent · ${uiLink(id)}`, 30_000);
    assert.ok(dev.output.includes(`[dev] run ${id} started · ${uiLink(id)}`), dev.tail());
  });

  it('shows the whole booking journey: the link to book at, a booking on the sandbox page reaching the run by webhook', async () => {
    const id = uniqueId('narration-book');
    const run = await cli(['start', '--input', example('booking'), '--workflow-id', id], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      dev.output,
      /appointment webhooks: receiver at http:\/\/127\.0\.0\.1:\d+\/hero\/webhooks, subscribed with the sandbox/,
    );
    const awaiting = new RegExp(
      `\\[dev\\] run ${escape(id)} awaiting booking: the patient books at (http://127\\.0\\.0\\.1:${sandboxPort}/s/\\S+) · ${escape(uiLink(id))}`,
    );
    await dev.waitFor(awaiting, 30_000);
    const link = awaiting.exec(dev.output)![1]!;
    // The patient presses Book on the sandbox's booking page: Hero's appointment.confirmed reaches the
    // receiver dev started, whose booking-event workflow signals the run.
    const page = await fetch(link);
    assert.equal(page.status, 200);
    const booked = await fetch(`${link}/book`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    assert.equal(booked.status, 200, await booked.text());
    await dev.waitFor(
      `[dev] run ${id} booked: following the appointment until the window closes · ${uiLink(id)}`,
      30_000,
    );
    assert.match(dev.output, /webhooks: .*appointment\.confirmed.*started/);
    const status = await cli(['status', id, '--json'], cliEnv);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { state: string; appointment?: { id: string | null } };
    assert.equal(s.state, 'booked');
    assert.ok(s.appointment?.id, 'the appointment id came with the webhook');
    assert.equal((await cli(['cancel', id], cliEnv)).code, 0);
  });

  it('narrates patient_not_found as one line, with no stack trace or "Activity failed" warning', async () => {
    const id = uniqueId('narration-nf');
    const run = await cli(['start', '--input', example('not-found'), '--workflow-id', id, '--wait'], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { result: { outcome: string } }).result.outcome, 'patient_not_found');
    await dev.waitFor(`[dev] run ${id} ended: patient not found (NHS PDS has no such patient) · ${uiLink(id)}`, 30_000);
    assert.doesNotMatch(dev.output, /Activity failed/);
    // A stack frame on a line of its own, or inside a JSON log line ("\n    at ...").
    assert.doesNotMatch(dev.output, /(^|\\n)\s+at \S.*:\d+:\d+/m, 'a stack trace in the dev terminal');
  });

  it('narrates a run awaiting verification with the sandbox verify link, whose page says how to tell the run', async () => {
    const id = uniqueId('narration-verify');
    const run = await cli(['start', '--input', example('verification'), '--workflow-id', id], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    const awaiting = new RegExp(
      `\\[dev\\] run ${escape(id)} awaiting verification: the patient verifies at (http://127\\.0\\.0\\.1:${sandboxPort}/verify/\\w+);.* · ${escape(uiLink(id))}`,
    );
    await dev.waitFor(awaiting, 30_000);
    const verifyUrl = awaiting.exec(dev.output)![1]!;
    const page = await (await fetch(verifyUrl, { method: 'POST' })).text();
    assert.match(page, /Identity verified/);
    assert.ok(page.includes('npx hero-flow verify ID'), page);
    assert.ok(page.includes('await heroFlow.confirmVerification(workflowId)'), page);
    const verify = await cli(['verify', id], cliEnv);
    assert.equal(verify.code, 0, verify.stderr);
    await dev.waitFor(`[dev] run ${id} completed: booking link sent · ${uiLink(id)}`, 30_000);
  });

  it('narrates the rate-limited example to completion while the sandbox answers 429s', async () => {
    // The README's step for this scenario: turn on the sandbox's token bucket, start, turn it off.
    const rateLimit = (body: unknown) =>
      fetch(`http://127.0.0.1:${sandboxPort}/__sandbox/rate-limit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await rateLimit({ capacity: 1, refillPerSecond: 0.5 })).status, 200);
    try {
      const id = uniqueId('narration-rl');
      const run = await cli(['start', '--input', example('rate-limited'), '--workflow-id', id, '--wait'], cliEnv);
      assert.equal(run.code, 0, run.stderr);
      await dev.waitFor(`[dev] run ${id} completed: booking link sent · ${uiLink(id)}`, 30_000);
      const { requests } = (await (await fetch(`http://127.0.0.1:${sandboxPort}/__sandbox/requests`)).json()) as {
        requests: { status: number }[];
      };
      assert.ok(
        requests.some((r) => r.status === 429),
        'the sandbox answered at least one 429',
      );
    } finally {
      await rateLimit(null);
    }
  });

  it('narrates a campaign as lines of progress with its UI link, not one line per run', async () => {
    const m =
      /npx hero-flow (campaign start --input examples\/campaign\.jsonl .*--campaign-id (list-[a-z]{6}) .*)$/m.exec(
        dev.output,
      );
    assert.ok(m, 'dev prints a ready-to-paste campaign start command');
    const [, command, id] = m as unknown as [string, string, string];
    // For the sandbox's second practice group, whose own key the worker holds: a wrong key would pause it.
    assert.match(dev.output, /practice groups 1 and 2 with a key each/);
    const started = await cli([...command.split(' '), '--practice-group', '2'], cliEnv, undefined, {
      timeoutMs: 60_000,
    });
    assert.ok(started.code === 0 || started.code === 1, started.stderr);
    await dev.waitFor(`[dev] campaign ${id} handed over · ${uiLink(`hero-campaign.${id}`)}`, 30_000);
    // The example list: 5 records (one a repeated patient), 4 runs.
    // The patient PDS does not know ends at once; the others wait (verification, booking). Not paused.
    await dev.waitFor(
      new RegExp(
        `\\[dev\\] campaign ${id}: 5 records · 4 started · 1 finished \\(patient_not_found 1\\) · sending now\\n`,
      ),
      90_000,
    );
    assert.doesNotMatch(dev.output, new RegExp(`\\[dev\\] run hero-campaign\\.${id}`), 'no line per campaign run');
  });

  it('prints a different workflow ID after a restart on the same state', async () => {
    const first = printedId(dev.output);
    assert.equal(await dev.stop('SIGINT'), 0);
    earlierOutputs.push(dev.output);
    dev = await startDev();
    const second = printedId(dev.output);
    assert.match(second, /^demo-[a-z]{6}$/);
    assert.notEqual(second, first);
  });
});
