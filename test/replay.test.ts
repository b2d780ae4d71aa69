import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows, quietRuntime } from './support/temporal';
import { noopWorkflowSinks } from '../src/observability/tracing';
import { campaignRunWorkflowId } from '../src/shared/campaign-ids';

/**
 * Every committed history (test/histories/*.json, one per released workflow shape) must replay
 * against the current workflow code: a change that would break running workflows fails here.
 * Record new ones with `npm run histories:record`.
 */
/** The workflow ID the recorder gives its campaign run. */
const RECORDED_CAMPAIGN_RUN_ID = campaignRunWorkflowId('recorder', '0123456789abcdef0123456789abcdef');

describe('replay of committed workflow histories', () => {
  const dir = join(__dirname, 'histories');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    quietRuntime();
    bundle = await bundleWorkflows();
  });

  it('has histories of every shape: booking wait, reconciliation, reviews, the booking-event workflow, sending hours and a campaign run among them', () => {
    for (const shape of [
      'booked',
      'not-booked',
      'reconciled',
      'review-resolved',
      'review-expired',
      'booking-event',
      'send-window',
      'campaign-run',
      'campaign-page',
    ]) {
      assert.ok(
        files.some((f) => f.startsWith(`${shape}-`)),
        `${shape}: ${files.join(', ')}`,
      );
    }
  });

  it('has histories to replay, including a completed run and a verification wait', () => {
    assert.ok(
      files.some((f) => f.startsWith('completed')),
      files.join(', '),
    );
    assert.ok(
      files.some((f) => f.startsWith('verification')),
      files.join(', '),
    );
  });

  it('has a confirmVerification answered at once (before the await-verification-retrace patch) and one that waited', () => {
    const answers = files.flatMap((file) => {
      const { events } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        events: {
          workflowExecutionUpdateCompletedEventAttributes?: {
            outcome?: { success?: { payloads?: { data: string }[] } };
          };
        }[];
      };
      return events.flatMap((e) => {
        const data = e.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success?.payloads?.[0]?.data;
        return data ? [JSON.parse(Buffer.from(data, 'base64').toString()) as Record<string, unknown>] : [];
      });
    });
    assert.ok(
      answers.some((a) => !('found' in a)),
      JSON.stringify(answers),
    );
    assert.ok(
      answers.some((a) => a.retraced === true && a.found === 'patient'),
      JSON.stringify(answers),
    );
  });

  for (const file of files) {
    it(`replays ${file} without nondeterminism`, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      assert.ok((history.events?.length ?? 0) > 5, 'history has events');
      // A campaign's run behaves by its workflow ID (its report search attributes): replayed under the one
      // it was recorded with (test/support/record-histories.ts); the others under their file's name.
      const workflowId = file.startsWith('campaign-run-') ? RECORDED_CAMPAIGN_RUN_ID : file;
      await Worker.runReplayHistory({ workflowBundle: bundle, sinks: noopWorkflowSinks() }, history, workflowId);
    });
  }
});

describe('replay guard', () => {
  it('fails when the workflow code changes incompatibly', async () => {
    quietRuntime();
    const dir = join(__dirname, 'histories');
    const file = readdirSync(dir).find((f) => f.startsWith('completed'))!;
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    await assert.rejects(
      Worker.runReplayHistory({ workflowsPath: require.resolve('./support/broken-workflows') }, history, file),
      (err: Error) => err.name === 'DeterminismViolationError',
    );
  });
});

describe('replay of runs started before strict payloads', () => {
  const dir = join(__dirname, 'histories');
  /** A committed history as if its run had been started, and signalled, with an unknown key: once dropped silently. */
  const withUnknownKeys = (file: string) => {
    const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      events: Record<string, { input?: { payloads?: { metadata: Record<string, string>; data: string }[] } }>[];
    };
    const encode = (value: unknown) => ({
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify(value)).toString('base64'),
    });
    const started = json.events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const input = JSON.parse(Buffer.from(started.data, 'base64').toString()) as { booking: Record<string, unknown> };
    started.data = encode({
      ...input,
      patientName: 'Jane',
      booking: { ...input.booking, expiryDte: '2026-12-31' },
    }).data;
    let signals = 0;
    for (const event of json.events) {
      const signal = event.workflowExecutionSignaledEventAttributes;
      if (signal) {
        signal.input = { payloads: [encode({ source: 'portal', sorce: 'portal' })] };
        signals++;
      }
    }
    return { history: historyFromJSON(json), signals };
  };

  it('replays a run whose input and signal had unknown keys, as it ran before they were refused', async () => {
    quietRuntime();
    const bundle = await bundleWorkflows();
    for (const file of ['completed-v4.json', 'verification-v4.json']) {
      const { history, signals } = withUnknownKeys(file);
      if (file.startsWith('verification')) assert.ok(signals > 0, 'the verification history has a signal');
      // A campaign's run behaves by its workflow ID (its report search attributes): replayed under the one
      // it was recorded with (test/support/record-histories.ts); the others under their file's name.
      const workflowId = file.startsWith('campaign-run-') ? RECORDED_CAMPAIGN_RUN_ID : file;
      await Worker.runReplayHistory({ workflowBundle: bundle, sinks: noopWorkflowSinks() }, history, workflowId);
    }
  });
});
