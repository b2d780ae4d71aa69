import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { OutreachActivities } from '../src/activities';
import { parseKeyRing, workerDataConverter } from '../src/codec';
import type { SentWithLink } from '../src/hero/client';
import { campaignRunWorkflowId } from '../src/shared/campaign-ids';
import { FailureType } from '../src/shared/failure-types';
import {
  HERO_BOOKED_AT,
  HERO_DELIVERY_STATUS,
  HERO_REMINDERS_SENT,
  HERO_REVIEW,
} from '../src/shared/search-attributes';
import { bookingEventSignal, resolveReviewUpdate, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import type { OutreachRequest, OutreachStatus } from '../src/workflows/schemas';
import type { Sandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { startTestStack, stopTestStack } from './support/temporal';

type Call = { name: string; input: Record<string, unknown> };

/**
 * What a run does for campaigns and practice groups, on the time-skipping test server, with a test-only
 * implementation of the Hero activities registered on the worker (the run's collaborator): it can refuse
 * calls as a paused campaign's worker does (CampaignPaused, retryable, until the activity's attempts run
 * out), answer uncertainly, refuse credentials, and records every input it gets.
 */
describe('a run in a campaign, and its practice group (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
  });
  after(async () => {
    await stopTestStack({ env, sandbox });
  });

  /** How the test activities answer: how many calls of each to refuse, and with what. */
  interface Behaviour {
    paused?: Partial<Record<'tracePatient' | 'createBookingLink' | 'sendMessage', number>>;
    uncertainSends?: number;
    unauthorized?: boolean;
  }

  function testActivities(behaviour: Behaviour, calls: Call[]): OutreachActivities {
    const paused = { ...behaviour.paused };
    let uncertain = behaviour.uncertainSends ?? 0;
    let sent = 0;
    const record = (name: string, input: object) => {
      calls.push({ name, input: { ...input } as Record<string, unknown> });
      const left = paused[name as keyof typeof paused] ?? 0;
      if (left > 0) {
        paused[name as keyof typeof paused] = left - 1;
        // As the worker's campaign gate throws it; a short delay so the attempts run out quickly.
        throw ApplicationFailure.create({
          message: 'campaign c1 is paused: test',
          type: FailureType.CampaignPaused,
          nextRetryDelay: '10 ms',
        });
      }
    };
    return {
      tracePatient: async (input) => {
        record('tracePatient', input);
        if (behaviour.unauthorized)
          throw ApplicationFailure.nonRetryable('Hero answered 401', FailureType.Unauthorized);
        return { kind: 'patient', patientId: '4242' };
      },
      createBookingLink: async (input) => {
        record('createBookingLink', input);
        return { id: '777', url: 'https://book.example.test/l/777' };
      },
      sendMessage: async (input) => {
        record('sendMessage', input);
        if (uncertain > 0) {
          uncertain--;
          throw ApplicationFailure.nonRetryable('Hero did not answer', FailureType.OutcomeUncertain);
        }
        return { messageId: String(9000 + ++sent) };
      },
      checkBookingLink: async (input) => {
        record('checkBookingLink', input);
        return { id: input.bookingLinkId, numberOfUses: 0, active: true, expiryDate: null };
      },
      checkMessageStatus: async (input) => {
        record('checkMessageStatus', input);
        return { id: input.messageId, status: 'delivered' };
      },
      getAppointment: async (input) => {
        record('getAppointment', input);
        return { id: input.appointmentId, linkId: '777', bookingConfirmedAt: null, startTime: null };
      },
      findSentMessages: async (input): Promise<SentWithLink> => {
        record('findSentMessages', input);
        return { known: false, why: 'the test cannot tell' };
      },
    };
  }

  /** Runs `body` with a worker on the test activities; terminates what it started once over. */
  async function withRun<T>(
    behaviour: Behaviour,
    opts: { campaign: boolean; request: OutreachRequest },
    body: (handle: WorkflowHandle<typeof patientOutreachWorkflow>, calls: Call[]) => Promise<T>,
  ): Promise<T> {
    const calls: Call[] = [];
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: testActivities(behaviour, calls),
      dataConverter: workerDataConverter(ring),
    });
    const workflowId = opts.campaign ? campaignRunWorkflowId('c1', randomBytes(16).toString('hex')) : uniqueId('wf');
    return worker.runUntil(async () => {
      const handle = await env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId,
        args: [opts.request],
      });
      try {
        return await body(handle, calls);
      } finally {
        await handle.terminate('test over').catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test(String(err))) throw err;
        });
      }
    });
  }

  const patient = () => newPatient();
  const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<OutreachStatus>;
  const inState = (h: WorkflowHandle, state: string) =>
    eventually(
      async () => {
        const s = await status(h);
        return s.state === state && s;
      },
      15_000,
      `state ${state}`,
    );
  const attributes = async (h: WorkflowHandle) => (await h.describe()).typedSearchAttributes;

  it('calls a trace, a booking link and a message again when a paused campaign used up their retries, and completes', async () => {
    await withRun(
      // Trace: 25 attempts, link and message: 10 each (src/workflows/activity-stubs.ts): each runs out once.
      { paused: { tracePatient: 27, createBookingLink: 11, sendMessage: 12 } },
      { campaign: true, request: { ...outreachRequest(patient()), practiceGroupId: 'pg-7' } },
      async (handle, calls) => {
        const result = await handle.result();
        assert.equal(result.outcome, 'completed');
        const count = (name: string) => calls.filter((c) => c.name === name).length;
        assert.equal(count('tracePatient'), 28);
        assert.equal(count('createBookingLink'), 12);
        assert.equal(count('sendMessage'), 13);
        // Each ran out once and was called again: the history shows the failures, the run never failed.
        const history = await handle.fetchHistory();
        const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes).length;
        assert.equal(failed, 3, 'trace, link and message each ran out once');
        // Every Hero call carried the request's practice group.
        assert.ok(calls.length > 0);
        for (const c of calls) assert.equal(c.input.practiceGroupId, 'pg-7', `${c.name} input`);
      },
    );
  });

  it('sends no practice group when the request has none, and a run outside a campaign sets no report attributes', async () => {
    await withRun(
      {},
      {
        campaign: false,
        request: outreachRequest(patient(), {
          awaitBooking: {
            window: '2 days',
            recheckEvery: '1 day',
            reminders: [{ after: '1 day', text: 'R {booking_link}' }],
          },
        }),
      },
      async (handle, calls) => {
        const result = await handle.result();
        assert.equal(result.outcome, 'not_booked');
        for (const c of calls) assert.ok(!('practiceGroupId' in c.input), `${c.name} input`);
        const sa = await attributes(handle);
        for (const key of [HERO_REMINDERS_SENT, HERO_DELIVERY_STATUS, HERO_BOOKED_AT, HERO_REVIEW]) {
          assert.equal(sa.get(key), undefined, key.name);
        }
      },
    );
  });

  it('sets a campaign run’s report attributes as they change: delivery status, reminders sent, booked at', async () => {
    await withRun(
      {},
      {
        campaign: true,
        request: outreachRequest(patient(), {
          awaitBooking: {
            window: '3 days',
            recheckEvery: '1 day',
            reminders: [{ after: '1 day', text: 'Reminder: {booking_link}' }],
          },
        }),
      },
      async (handle) => {
        await inState(handle, 'awaiting_booking');
        await eventually(async () => (await attributes(handle)).get(HERO_DELIVERY_STATUS) === 'delivered');
        assert.equal((await attributes(handle)).get(HERO_REMINDERS_SENT), undefined, 'no reminder yet');
        await env.sleep('25 hours');
        await eventually(async () => (await attributes(handle)).get(HERO_REMINDERS_SENT) === 1, 15_000, 'one reminder');
        assert.equal((await attributes(handle)).get(HERO_BOOKED_AT), undefined);

        const confirmedAt = '2030-01-02T10:00:00.000Z';
        await handle.signal(bookingEventSignal, {
          event: 'appointment.confirmed',
          appointmentId: '555',
          bookingLinkId: '777',
          confirmedAt,
        });
        await inState(handle, 'booked');
        await eventually(
          async () => (await attributes(handle)).get(HERO_BOOKED_AT)?.toISOString() === confirmedAt,
          15_000,
          'booked at',
        );
        // A cancellation takes it away again.
        await handle.signal(bookingEventSignal, {
          event: 'appointment.cancelled',
          appointmentId: '555',
          bookingLinkId: '777',
        });
        await inState(handle, 'awaiting_booking');
        await eventually(async () => (await attributes(handle)).get(HERO_BOOKED_AT) === undefined, 15_000, 'unbooked');
        const sa = await attributes(handle);
        assert.equal(sa.get(HERO_DELIVERY_STATUS), 'delivered');
        assert.equal(sa.get(HERO_REVIEW), undefined);
      },
    );
  });

  it('sets a campaign run’s HeroReview: open while in review, then the operator’s action', async () => {
    await withRun({ uncertainSends: 1 }, { campaign: true, request: outreachRequest(patient()) }, async (handle) => {
      await env.sleep('3 minutes'); // past the reconcile wait
      await inState(handle, 'needs_review');
      await eventually(async () => (await attributes(handle)).get(HERO_REVIEW) === 'open', 15_000, 'open');
      await handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'mark_sent' }] });
      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      assert.equal((await attributes(handle)).get(HERO_REVIEW), 'mark_sent');
    });
  });

  for (const [group, named] of [
    ['pg-9', /for practice group pg-9 \(the request's practiceGroupId\)/],
    [undefined, /for the worker's HERO_PRACTICE_GROUP_ID: check HERO_API_KEY and HERO_PRACTICE_GROUP_ID/],
  ] as const) {
    it(`names the practice group when Hero refuses the credentials (${group ?? "the worker's"})`, async () => {
      await withRun(
        { unauthorized: true },
        {
          campaign: false,
          request: { ...outreachRequest(patient()), ...(group !== undefined && { practiceGroupId: group }) },
        },
        async (handle) => {
          const err = await handle.result().then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(err instanceof WorkflowFailedError);
          assert.ok(err.cause instanceof ApplicationFailure);
          assert.equal(err.cause.type, FailureType.Configuration);
          assert.match(err.cause.message, named);
        },
      );
    });
  }
});
