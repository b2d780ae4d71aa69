import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { HeroClients } from '../src/activities';
import { HeroFlowClient } from '../src/client/outreach-client';
import { FAILURE_CONVERTER_PATH } from '../src/codec';
import { HeroClient } from '../src/hero/client';
import { CAMPAIGN_PAUSE_SIGNAL, campaignRunWorkflowId, campaignWorkflowId } from '../src/shared/campaign-ids';
import { campaignWorkflow } from '../src/workflows/campaign';
import {
  campaignGateQuery,
  campaignStateQuery,
  pauseCampaignSignal,
  resumeCampaignUpdate,
} from '../src/workflows/campaign-definitions';
import type { CampaignInput } from '../src/workflows/campaign-schemas';
import { FailureType } from '../src/shared/failure-types';
import { startWebhookReceiver } from '../src/webhooks/receiver';
import { registerWebhooks } from '../src/webhooks/register';
import { createHeroWorker } from '../src/worker/create-worker';
import { ensureSearchAttributes } from '../src/worker/search-attributes';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { devServerExecutable } from '../tools/provision';
import { type RecordedRequest, type Sandbox, startSandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId, within } from './support/fixtures';
import { quietRuntime } from './support/temporal';
import { testLogger } from './support/test-log';

/**
 * Several practice groups on one worker, and the campaign gate, on a real dev server with the sandbox over
 * HTTP. The campaign is the real campaignWorkflow (paused by its pauseCampaign signal, resumed by its
 * resumeCampaign update); runs are the real patientOutreachWorkflow, or a small run through the real
 * activities for a chosen practice group (test/support/campaign-test-workflows.ts).
 */
describe('practice groups and the campaign gate (dev server, sandbox with three groups)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const KEY_TWO = 'key-two-sandbox';

  before(async () => {
    quietRuntime();
    const executable = await devServerExecutable();
    [env, sandbox, bundle] = await Promise.all([
      TestWorkflowEnvironment.createLocal({ server: { executable } }),
      startSandbox({ practiceGroups: { '2': KEY_TWO, '3': 'key-three-sandbox' } }),
      bundleWorkflowCode({
        workflowsPath: require.resolve('./support/campaign-test-workflows'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
        logger: testLogger('workflow bundler'),
      }),
    ]);
    client = env.client;
    await ensureSearchAttributes(env.nativeConnection, 'default');
  });
  after(async () => {
    await sandbox?.close();
    await env?.teardown();
  });

  const hero = (group: string, apiKey: string) =>
    new HeroClient({ apiKey, practiceGroupId: group, baseUrl: sandbox.url, timeoutMs: 2_000 });
  /** Groups 1 and 2, each with its own key. */
  const rightKeys = () => new HeroClients([hero('1', sandbox.apiKey), hero('2', KEY_TWO)]);
  /** Group 2 given group 1's key, as a PCN might by mistake: a practice-tied key, so Hero answers 403. */
  const crossedKeys = () => new HeroClients([hero('1', sandbox.apiKey), hero('2', sandbox.apiKey)]);

  async function withWorker<T>(clients: HeroClients, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq-groups');
    const worker: Worker = await createHeroWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: bundle,
      hero: clients,
    });
    const started: WorkflowHandle[] = [];
    return worker.runUntil(async () => {
      try {
        return await body(taskQueue);
      } finally {
        for (const w of await openWorkflows(taskQueue)) started.push(w);
        await Promise.allSettled(started.map((h) => h.terminate('test over')));
      }
    });
  }

  async function openWorkflows(taskQueue: string): Promise<WorkflowHandle[]> {
    const handles: WorkflowHandle[] = [];
    for await (const w of client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      handles.push(client.workflow.getHandle(w.workflowId));
    }
    return handles;
  }

  /** The sandbox's request log, read over HTTP as another process would. */
  async function requests(): Promise<RecordedRequest[]> {
    const res = await fetch(`${sandbox.url}/__sandbox/requests`);
    return ((await res.json()) as { requests: RecordedRequest[] }).requests;
  }
  const body = (r: RecordedRequest) => (r.body ?? {}) as Record<string, unknown>;
  const callsFor = (all: RecordedRequest[], p: { nhsNumber: string; patientId: string }) =>
    all.filter((r) => body(r).nhs_number === p.nhsNumber || body(r).patient_id === p.patientId);
  const sentTo = async (p: { patientId: string }) =>
    (await requests()).some(
      (r) => r.endpoint === 'send_message' && r.status === 200 && body(r).patient_id === p.patientId,
    );

  const startCampaign = async (taskQueue: string, campaignId: string, pauseReason?: string) => {
    const opts = {
      taskQueue,
      workflowId: campaignWorkflowId(campaignId),
      args: [{ campaignId, createdAt: new Date().toISOString() } satisfies CampaignInput] as [CampaignInput],
    };
    return pauseReason === undefined
      ? client.workflow.start(campaignWorkflow, opts)
      : client.workflow.signalWithStart(campaignWorkflow, {
          ...opts,
          signal: pauseCampaignSignal,
          signalArgs: [{ reason: pauseReason, by: 'operator' }],
        });
  };
  /** The pauseCampaign signals in the campaign's history. */
  const pauseSignals = async (campaign: WorkflowHandle) =>
    ((await campaign.fetchHistory()).events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === CAMPAIGN_PAUSE_SIGNAL,
    ).length;

  it("a paused campaign's run calls Hero not at all, and carries on once resumed; a run of no campaign is unaffected", async () => {
    await withWorker(rightKeys(), async (taskQueue) => {
      const campaignId = uniqueId('cmp');
      const campaign = await startCampaign(taskQueue, campaignId, 'operator hold');
      const inCampaign = newPatient();
      const alone = newPatient();
      sandbox.addPatient(inCampaign);
      sandbox.addPatient(alone);
      const run = await client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: campaignRunWorkflowId(campaignId, uniqueId('key')),
        args: [outreachRequest(inCampaign)],
      });
      await client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: uniqueId('wf'),
        args: [outreachRequest(alone)],
      });
      await eventually(() => sentTo(alone), 30_000, 'the message of the run of no campaign');
      // A second attempt while paused (the first was refused by the gate, retried after 5 s): still no call.
      const pending = await eventually(
        async () => {
          const a = (await run.describe()).raw.pendingActivities?.[0];
          return (a?.attempt ?? 0) >= 2 && a;
        },
        20_000,
        'a retry of the trace while paused',
      );
      assert.equal(pending.lastFailure?.applicationFailureInfo?.type, FailureType.CampaignPaused);
      assert.match(
        pending.lastFailure?.message ?? '',
        new RegExp(`campaign ${campaignId} is paused \\(operator hold\\)`),
      );
      assert.deepEqual(callsFor(await requests(), inCampaign), [], 'no Hero call while the campaign is paused');

      await campaign.executeUpdate(resumeCampaignUpdate);
      await eventually(() => sentTo(inCampaign), 30_000, "the campaign run's message after resume");
      const calls = callsFor(await requests(), inCampaign).map((r) => [r.endpoint, r.status]);
      assert.deepEqual(calls, [
        ['register_pds', 200],
        ['create_booking_link', 200],
        ['send_message', 200],
      ]);
    });
  });

  it("403s from a key tied to another practice pause that group's campaign, naming the group; another group's campaign goes on", async () => {
    await withWorker(crossedKeys(), async (taskQueue) => {
      const refused = uniqueId('cmpr');
      const going = uniqueId('cmpg');
      const refusedCampaign = await startCampaign(taskQueue, refused);
      const goingCampaign = await startCampaign(taskQueue, going);
      const patients = [newPatient(), newPatient(), newPatient(), newPatient(), newPatient()];
      patients.forEach((p) => sandbox.addPatient(p));
      const runOf = (campaignId: string, p: (typeof patients)[number], group: string) =>
        client.workflow.start('groupRunWorkflow', {
          taskQueue,
          workflowId: campaignRunWorkflowId(campaignId, uniqueId('key')),
          args: [{ nhsNumber: p.nhsNumber, dob: p.dob, practiceGroupId: group }],
        });
      // Four at once: the fourth refusal may come while the pause signal is on its way.
      const refusedRuns = await Promise.all(patients.slice(0, 4).map((p) => runOf(refused, p, '2')));
      const goingRun = await runOf(going, patients[4]!, '1');

      const result = (await within(goingRun.result(), 30_000, "the other group's run")) as { messageId: string };
      assert.ok(result.messageId);
      const paused = await eventually(
        async () => (await refusedCampaign.query(campaignStateQuery)).paused,
        30_000,
        'the credentials pause',
      );
      assert.equal(paused.by, 'credentials');
      assert.match(paused.reason ?? '', /practice group 2 \(HTTP 403\) 3 times in a row/);
      assert.deepEqual(await refusedCampaign.query(campaignGateQuery), {
        paused: true,
        cancelled: false,
        reason: paused.reason,
      });
      // Once per streak of refusals, not once per refusal.
      assert.equal(await pauseSignals(refusedCampaign), 1);
      assert.equal((await goingCampaign.query(campaignStateQuery)).paused, undefined);
      // No run of the refused campaign failed: each waits, its trace refused as CampaignPaused.
      for (const run of refusedRuns) {
        const d = await run.describe();
        assert.equal(d.status.name, 'RUNNING');
        const failure = d.raw.pendingActivities?.[0]?.lastFailure;
        assert.equal(failure?.applicationFailureInfo?.type, FailureType.CampaignPaused);
      }
      const group2 = (await requests()).filter((r) => r.practiceGroupId === '2');
      assert.ok(group2.length >= 3, `group 2's calls: ${group2.length}`);
      assert.ok(group2.every((r) => r.status === 403));
    });
  });

  it("picks each run's practice group's client; a group the worker does not serve fails the run as Configuration", async () => {
    await withWorker(rightKeys(), async (taskQueue) => {
      const p = newPatient();
      sandbox.addPatient(p);
      const run = await client.workflow.start('groupRunWorkflow', {
        taskQueue,
        workflowId: uniqueId('wf-group'),
        args: [{ nhsNumber: p.nhsNumber, dob: p.dob, practiceGroupId: '2' }],
      });
      await within(run.result(), 30_000, 'the run of group 2');
      const calls = callsFor(await requests(), p);
      assert.deepEqual(
        calls.map((r) => [r.endpoint, r.practiceGroupId, r.status]),
        [
          ['register_pds', '2', 200],
          ['create_booking_link', '2', 200],
          ['send_message', '2', 200],
        ],
      );

      const q = newPatient();
      sandbox.addPatient(q);
      const unserved = await client.workflow.start('groupRunWorkflow', {
        taskQueue,
        workflowId: uniqueId('wf-group'),
        args: [{ nhsNumber: q.nhsNumber, dob: q.dob, practiceGroupId: '3' }],
      });
      const err = await within(
        unserved.result().then(
          () => assert.fail('expected the run to fail'),
          (e: unknown) => e,
        ),
        30_000,
        'the run of an unserved group',
      );
      assert.ok(err instanceof WorkflowFailedError);
      const cause = err.cause?.cause;
      assert.ok(cause instanceof ApplicationFailure);
      assert.equal(cause.type, FailureType.Configuration);
      assert.equal(cause.nonRetryable, true);
      assert.match(cause.message, /practice group 3 is not served by this worker: add it to HERO_PRACTICE_GROUP_IDS/);
      assert.deepEqual(callsFor(await requests(), q), []);
    });
  });

  it("the webhook receiver routes every served group's events; the appointment is read with that group's key", async () => {
    await withWorker(rightKeys(), async (taskQueue) => {
      const signingKey = 'a-signing-key-for-the-groups-test';
      const logs: string[] = [];
      const receiver = await startWebhookReceiver({
        client: new HeroFlowClient(client, taskQueue),
        signingKey,
        port: 0,
        practiceGroupId: '1',
        practiceGroupIds: ['1', '2'],
        log: (line) => logs.push(line),
      });
      try {
        await registerWebhooks({ hero: hero('1', sandbox.apiKey), url: `${receiver.url}/hero/webhooks`, signingKey });
        const bookThrough = async (group: string, key: string) => {
          const p = newPatient();
          sandbox.addPatient(p);
          const link = await hero(group, key).createBookingLink({
            appointmentTypeId: '1',
            locationId: '5',
            patientId: p.patientId,
            expiryDate: '2026-12-31',
            maximumUseCount: 1,
          });
          return sandbox.book(link.id);
        };
        const ofTwo = await bookThrough('2', KEY_TWO);
        const ofOne = await bookThrough('1', sandbox.apiKey);
        const ofThree = await bookThrough('3', 'key-three-sandbox');
        await sandbox.settleWebhooks();
        const read = async (appointmentId: string) =>
          (await requests()).filter((r) => r.endpoint === 'get_appointment' && r.path.endsWith(`/${appointmentId}`));
        const two = await eventually(
          async () => {
            const r = await read(ofTwo.id);
            return r.length > 0 && r;
          },
          20_000,
          "group 2's appointment read",
        );
        assert.deepEqual(
          two.map((r) => [r.practiceGroupId, r.status]),
          [['2', 200]],
        );
        const one = await eventually(
          async () => {
            const r = await read(ofOne.id);
            return r.length > 0 && r;
          },
          20_000,
          "group 1's appointment read",
        );
        assert.deepEqual(
          one.map((r) => [r.practiceGroupId, r.status]),
          [['1', 200]],
        );
        // Group 3 is not served: acknowledged, ignored, never read.
        assert.deepEqual(await read(ofThree.id), []);
        assert.equal(logs.filter((l) => l.includes('reason=other_practice_group')).length, 1);
      } finally {
        await receiver.close();
      }
    });
  });
});
