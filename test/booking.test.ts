import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowNotFoundError, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../src/activities';
import { parseKeyRing, workerDataConverter } from '../src/codec';
import { HeroClient } from '../src/hero/client';
import { PRIORITY } from '../src/shared/priority';
import { HERO_BOOKING_LINK_ID, HERO_FLOW_STATE } from '../src/shared/search-attributes';
import { bookingEventSignal, resolveReviewUpdate, statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import type { OutreachRequest, OutreachResult, OutreachStatus } from '../src/workflows/schemas';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest, signalHandled, uniqueId, within } from './support/fixtures';
import { startTestStack, stopTestStack } from './support/temporal';
import { type StartOutreach, withOutreachWorker } from './support/workers';

/**
 * The journey after the message (issue 13): waiting for the booking with reminders, delivery status, and
 * reviews an operator resolves, on the time-skipping test server (days pass in milliseconds) against
 * the sandbox over HTTP. Booking events arrive as the bookingEvent signal, as the booking-event
 * workflow sends them (its own path, from a webhook, is in test/booking-events.test.ts).
 */
describe('booking, reminders, delivery status and reviews (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  /** A sandbox whose sent-messages list answers 404 ("cannot tell") and whose messages end failed. */
  let opaque: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);
  let sleeperWorker: Worker;
  let sleeperRunning: Promise<void>;

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
    opaque = await startSandbox({
      sentMessagesList: false,
      messageStatus: { sequence: ['queued', 'sent', 'failed'] },
    });
    sleeperWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'sleeper',
      workflowsPath: require.resolve('./support/sleeper-workflow'),
      activities: {
        hold: () =>
          new Promise<void>((resolve) => {
            holding?.started();
            holding!.release = resolve;
          }),
      },
      dataConverter: workerDataConverter(ring),
    });
    sleeperRunning = sleeperWorker.run();
  });

  after(async () => {
    // A test that failed while holding time leaves the hold activity open; the worker drains it on shutdown.
    holding?.release?.();
    if (sleeperWorker?.getState() === 'RUNNING') sleeperWorker.shutdown();
    await sleeperRunning;
    await opaque?.close();
    await stopTestStack({ env, sandbox });
  });

  let holding: { started: () => void; release?: () => void } | undefined;

  /**
   * Lets exactly `duration` of workflow time pass, then holds time there until the returned release()
   * (see test/support/sleeper-workflow.ts).
   */
  async function skip(duration: string): Promise<{ release: () => Promise<void> }> {
    const held = new Promise<void>((started) => (holding = { started }));
    const handle = await env.client.workflow.start('sleeper', {
      taskQueue: 'sleeper',
      workflowId: uniqueId('sleep'),
      args: [duration],
    });
    const done = handle.result();
    await held;
    const release = holding!.release!;
    return {
      release: async () => {
        release();
        await done;
      },
    };
  }

  beforeEach(() => {
    sandbox.reset();
    opaque.reset();
  });

  /** Terminates the runs a test started; one already closed needs nothing. */
  async function terminateRuns(started: WorkflowHandle[]): Promise<void> {
    for (const h of started) {
      await h.terminate('test over').catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test(String(err))) throw err;
      });
    }
  }

  const withWorker = <T>(hero: Sandbox, body: (start: StartOutreach) => Promise<T>): Promise<T> =>
    withOutreachWorker(env, { sandbox: hero, bundle, ring }, terminateRuns, body);

  const patientIn = (hero: Sandbox) => {
    const p = newPatient();
    hero.addPatient(p);
    return p;
  };
  const messagesTo = (hero: Sandbox, patientId: string) => hero.messages().filter((m) => m.patientId === patientId);
  const status = (h: WorkflowHandle) => h.query(statusQuery) as Promise<OutreachStatus>;
  const inState = (h: WorkflowHandle, state: string) =>
    eventually(async () => (await status(h)).state === state, 10_000, `state ${state}`).catch(async (e: unknown) => {
      throw new Error(`${String(e)}; status ${JSON.stringify(await status(h))}`);
    });

  const DAY = 24 * 3600_000;
  const waitingRequest = (p: { nhsNumber: string; dob: string }) =>
    outreachRequest(p, {
      awaitBooking: {
        window: '14 days',
        recheckEvery: '1 day',
        reminders: [
          { after: '3 days', text: 'Reminder: book at {booking_link}' },
          { after: '7 days', text: 'Last reminder: {booking_link}' },
        ],
      },
    });

  it('ends at completed as before when the request does not wait for the booking, with the delivery status read', async () => {
    const result = await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(outreachRequest(p));
      const result = await handle.result();
      assert.equal(messagesTo(sandbox, p.patientId).length, 1);
      assert.equal((await handle.describe()).typedSearchAttributes.get(HERO_BOOKING_LINK_ID), undefined);
      return result;
    });
    assert.equal(result.outcome, 'completed');
    assert.ok(result.outcome === 'completed' && result.messageId);
    assert.deepEqual(
      result.outcome === 'completed' && result.messages?.map((m) => [m.kind, m.deliveryStatus, m.deliveryFinal]),
      [['message', 'delivered', true]],
    );
  });

  it('reminds at day 3 and day 7 only the patients who have not booked, and ends not_booked when the window closes at day 14', async () => {
    await withWorker(sandbox, async (start) => {
      const booker = patientIn(sandbox);
      const waiter = patientIn(sandbox);
      const bookerRun = await start(waitingRequest(booker));
      const waiterRun = await start(waitingRequest(waiter));
      await inState(bookerRun, 'awaiting_booking');
      await inState(waiterRun, 'awaiting_booking');
      const started = Date.now();

      const day4 = await skip('4 days');
      await eventually(async () => (await status(bookerRun)).messages?.length === 2, 10_000, 'the day-3 reminder');
      // Day 4: the booker books through the link, and no webhook ever comes (the link's use count tells).
      const link = (await status(bookerRun)).bookingLinkId!;
      sandbox.book(link, { notify: false });
      await day4.release();

      // One result awaited at a time: concurrent waits unbalance the test server's time-skipping lock.
      const notBooked = await waiterRun.result();
      const booked = await bookerRun.result();
      assert.equal(booked.outcome, 'booked');
      assert.ok(booked.outcome === 'booked');
      assert.equal(booked.remindersSent, 1);
      assert.equal(booked.appointment.id, null, 'learnt from the link, not a webhook');
      assert.equal(notBooked.outcome, 'not_booked');
      assert.ok(notBooked.outcome === 'not_booked');
      assert.equal(notBooked.remindersSent, 2);

      // The daily re-checks keep the books (priority 5); the read that decides a due reminder goes at the
      // run's own priority (none of its own: inherited), next to the reminder it decides.
      const scheduled = ((await waiterRun.fetchHistory()).events ?? []).flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a ? [{ type: a.activityType?.name, key: a.priority?.priorityKey ?? 0 }] : [];
      });
      const keyOfReadBefore = (i: number) =>
        scheduled[i - 1]?.type === 'checkBookingLink' ? scheduled[i - 1]!.key : 'no read';
      const sends = scheduled.flatMap((s, i) => (s.type === 'sendMessage' && i > 0 ? [i] : []));
      assert.deepEqual(sends.slice(1).map(keyOfReadBefore), [0, 0], 'the reads before the two reminders');
      const rechecks = scheduled.filter(
        (s, i) => s.type === 'checkBookingLink' && scheduled[i + 1]?.type !== 'sendMessage',
      );
      assert.ok(
        rechecks.length >= 3 && rechecks.every((s) => s.key === PRIORITY.bookkeeping),
        JSON.stringify(rechecks),
      );

      const toBooker = messagesTo(sandbox, booker.patientId).map((m) => m.text);
      const toWaiter = messagesTo(sandbox, waiter.patientId).map((m) => m.text);
      assert.equal(toBooker.length, 2, 'the message and the day-3 reminder, no day-7 one');
      assert.match(toBooker[1]!, /^Reminder: book at http/);
      assert.deepEqual(
        toWaiter.map((t) => t.split(' ')[0]),
        ['Book', 'Reminder:', 'Last'],
      );
      const sentAt = notBooked.messages.map((m) => Date.parse(m.sentAt));
      assert.ok(Math.abs(sentAt[1]! - sentAt[0]! - 3 * DAY) < 60_000, 'first reminder 3 days after the message');
      assert.ok(Math.abs(sentAt[2]! - sentAt[0]! - 7 * DAY) < 60_000, 'second reminder 7 days after the message');
      const { closeTime } = await waiterRun.describe();
      assert.ok(closeTime!.getTime() - started >= 14 * DAY - 60_000, 'closed when the 14-day window closed');
      assert.equal((await waiterRun.describe()).typedSearchAttributes.get(HERO_FLOW_STATE), 'not_booked');
    });
  });

  it('is booked by a confirmed appointment event, back to awaiting_booking when it is cancelled, and follows a reschedule', async () => {
    const result = await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(
        outreachRequest(p, {
          awaitBooking: { window: '10 days', reminders: [{ after: '5 days', text: 'Reminder {booking_link}' }] },
        }),
      );
      await inState(handle, 'awaiting_booking');
      const described = await handle.describe();
      const linkId = described.typedSearchAttributes.get(HERO_BOOKING_LINK_ID);
      assert.equal(linkId, (await status(handle)).bookingLinkId, 'the run is indexed by its link');

      const event = (e: string, appointmentId: string, startTime?: string) =>
        handle.signal(bookingEventSignal, {
          event: e as 'appointment.confirmed',
          appointmentId,
          bookingLinkId: linkId!,
          confirmedAt: '2026-11-27T10:00:00Z',
          startTime: startTime ?? '2026-12-01T09:00:00Z',
        });
      await event('appointment.confirmed', '7001');
      await inState(handle, 'booked');
      await event('appointment.cancelled', '7001');
      await inState(handle, 'awaiting_booking');
      // A redelivered confirmation of the cancelled appointment does not book it again.
      await event('appointment.confirmed', '7001');
      await signalHandled(handle);
      assert.equal((await status(handle)).state, 'awaiting_booking');

      const day6 = await skip('6 days');
      await eventually(async () => (await status(handle)).messages?.length === 2, 10_000, 'the reminder');
      await event('appointment.confirmed', '7002');
      await inState(handle, 'booked');
      await event('appointment.rescheduled', '7002', '2026-12-09T14:30:00Z');
      await signalHandled(handle);
      assert.equal((await status(handle)).appointment?.startTime, '2026-12-09T14:30:00Z');
      await day6.release();
      return handle.result();
    });
    assert.equal(result.outcome, 'booked');
    assert.ok(result.outcome === 'booked');
    assert.deepEqual(result.appointment, {
      id: '7002',
      confirmedAt: '2026-11-27T10:00:00Z',
      startTime: '2026-12-09T14:30:00Z',
    });
    assert.equal(result.remindersSent, 1);
  });

  it('ignores an event about another booking link, and a review decision while not in review', async () => {
    await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(outreachRequest(p, { awaitBooking: { window: '2 days' } }));
      await inState(handle, 'awaiting_booking');
      await handle.signal(bookingEventSignal, {
        event: 'appointment.confirmed',
        appointmentId: '7100',
        bookingLinkId: '999999',
      });
      await signalHandled(handle);
      assert.equal((await status(handle)).state, 'awaiting_booking');
      // Not in review: a decision is refused by the validator, and nothing enters history.
      await assert.rejects(
        within(handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'mark_sent' }] }), 30_000, 'the decision'),
        (err: unknown) =>
          err instanceof WorkflowUpdateFailedError &&
          /awaiting_booking, not waiting for a review decision/.test(String(err.cause?.message)),
      );
      assert.equal((await handle.result()).outcome, 'not_booked');
    });
  });

  it('sends again by itself when Hero lists no such message after an uncertain send', async () => {
    await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      sandbox.injectFault('send_message', { kind: 'status', status: 502 });
      const handle = await start(outreachRequest(p));
      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      assert.equal(messagesTo(sandbox, p.patientId).length, 1, 'the 502 was not processed; one message in all');
      assert.equal(sandbox.requests({ endpoint: 'send_message' }).length, 2);
    });
  });

  describe('when Hero cannot tell whether the message went out', () => {
    async function inReview(start: StartOutreach, extra: Partial<OutreachRequest> = {}) {
      const p = patientIn(opaque);
      opaque.injectFault('send_message', { kind: 'status', status: 500 });
      const handle = await start(outreachRequest(p, extra));
      const held = await skip('3 minutes');
      await inState(handle, 'needs_review');
      return { handle, patient: p, release: held.release };
    }

    it('waits in needs_review (searchable, with its step) and refuses a malformed decision', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, release } = await inReview(start);
        const s = await status(handle);
        assert.equal(s.review?.step, 'send_message');
        assert.match(s.review!.reason, /cannot tell/);
        assert.equal((await handle.describe()).typedSearchAttributes.get(HERO_FLOW_STATE), 'needs_review');
        await assert.rejects(
          within(
            handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'retry' as 'resend' }] }),
            30_000,
            'the decision',
          ),
          (err: unknown) =>
            err instanceof WorkflowUpdateFailedError && /resend.*mark_sent.*abandon/.test(String(err.cause?.message)),
        );
        await assert.rejects(
          within(
            handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'abandon', extra: 1 } as never] }),
            30_000,
            'the decision',
          ),
          WorkflowUpdateFailedError,
        );
        // Ended before time moves on: left in review, the run reaches its 7-day deadline while the sleeper's
        // result is awaited, and after it was then terminated the test server no longer skipped time for
        // the next tests (each waited its 3 minutes in real time).
        await handle.terminate('test over');
        await release();
      });
    });

    it('completes with the review recorded when an operator marks the message sent', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, patient, release } = await inReview(start);
        const answer = await within(
          handle.executeUpdate(resolveReviewUpdate, {
            args: [{ action: 'mark_sent', note: 'patient confirmed by phone' }],
          }),
          30_000,
          'the decision',
        );
        assert.deepEqual(answer, { accepted: true, action: 'mark_sent', state: 'completed' });
        await release();
        const result = await handle.result();
        assert.equal(result.outcome, 'completed');
        assert.ok(result.outcome === 'completed');
        assert.deepEqual(result.review, { action: 'mark_sent', note: 'patient confirmed by phone' });
        assert.equal(result.messageId, undefined);
        assert.equal(messagesTo(opaque, patient.patientId).length, 0);
      });
    });

    it('sends again when an operator says resend, and shows the delivery status Hero reports, failed included', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, patient, release } = await inReview(start);
        const answer = await within(
          handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'resend' }] }),
          30_000,
          'the decision',
        );
        assert.equal(answer.action, 'resend');
        await release();
        const result = await handle.result();
        assert.equal(result.outcome, 'completed');
        assert.equal(messagesTo(opaque, patient.patientId).length, 1);
        assert.ok(result.outcome === 'completed');
        assert.deepEqual(
          result.messages?.map((m) => [m.deliveryStatus, m.deliveryFinal, m.deliveryFailed]),
          [['failed', true, true]],
          'queued, sent, then failed: read until final',
        );
        assert.equal(opaque.requests({ endpoint: 'get_message' }).length, 3);
      });
    });

    it('ends abandoned when an operator abandons it', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, release } = await inReview(start);
        const answer = await within(
          handle.executeUpdate(resolveReviewUpdate, { args: [{ action: 'abandon' }] }),
          30_000,
          'the decision',
        );
        assert.equal(answer.state, 'abandoned');
        await release();
        const result: OutreachResult = await handle.result();
        assert.equal(result.outcome, 'abandoned');
        assert.ok(result.outcome === 'abandoned');
        assert.equal(result.step, 'send_message');
      });
    });

    it('ends needs_review_expired when nobody decides before the deadline', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, release } = await inReview(start, { review: { deadline: '2 days' } });
        await release();
        const result = await handle.result();
        assert.equal(result.outcome, 'needs_review_expired');
        assert.equal((await handle.describe()).typedSearchAttributes.get(HERO_FLOW_STATE), 'needs_review_expired');
      });
    });

    it('ends needs_review_expired at the deadline the request gave, not later', async () => {
      await withWorker(opaque, async (start) => {
        const { handle, release } = await inReview(start, { review: { deadline: '2 days' } });
        const review = (await status(handle)).review!;
        const openedAt = Date.parse(review.openedAt);
        assert.equal(Date.parse(review.deadline) - openedAt, 2 * DAY, 'the status shows the deadline asked for');
        await release();
        assert.equal((await handle.result()).outcome, 'needs_review_expired');
        const closed = (await handle.describe()).closeTime!.getTime() - openedAt;
        assert.ok(closed >= 2 * DAY && closed < 2 * DAY + 60_000, `closed ${closed} ms after the review opened`);
      });
    });
  });

  it('rejects a review decision in its validator while the run awaits the booking: no update is accepted', async () => {
    await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(outreachRequest(p, { awaitBooking: { window: '2 days' } }));
      await inState(handle, 'awaiting_booking');
      // Up to acceptance only: a decision the validator let through would be accepted, then wait for a
      // review that never opens (time does not skip while an update is awaited).
      const update = await within(
        handle.startUpdate(resolveReviewUpdate, { args: [{ action: 'resend' }], waitForStage: 'ACCEPTED' }),
        30_000,
        'the decision to be refused or accepted',
      );
      const events = (await handle.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length, 0);
      await assert.rejects(
        within(update.result(), 30_000, 'the refusal'),
        (err: unknown) =>
          err instanceof WorkflowUpdateFailedError &&
          /awaiting_booking, not waiting for a review decision/.test(String(err.cause?.message)),
      );
      assert.equal((await status(handle)).state, 'awaiting_booking');
      assert.equal(messagesTo(sandbox, p.patientId).length, 1);
    });
  });

  it('ends booked when the patient books after the last re-check and no webhook comes: the link is read once more as the window closes', async () => {
    const result = await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(outreachRequest(p, { awaitBooking: { window: '36 hours', recheckEvery: '1 day' } }));
      await inState(handle, 'awaiting_booking');
      const linkId = (await status(handle)).bookingLinkId!;
      const reads = () => sandbox.requests({ endpoint: 'get_booking_link' }).length;
      // Hour 25: the day-1 re-check has found no booking, and the next would fall after the window.
      const hour25 = await skip('25 hours');
      try {
        await eventually(async () => reads() === 1, 10_000, 'the day-1 re-check');
        sandbox.book(linkId, { notify: false });
      } finally {
        await hour25.release();
      }
      const result = await handle.result();
      assert.equal(reads(), 2, 'the day-1 re-check, then the read as the window closed');
      return result;
    });
    assert.equal(result.outcome, 'booked');
    assert.ok(result.outcome === 'booked');
    assert.equal(result.appointment.id, null, 'learnt from the link, not a webhook');
  });

  /** A reminder at day 3 of 5, whose read at its due time is the run's first (no re-check comes before it). */
  const remindedAtDay3 = (p: { nhsNumber: string; dob: string }) =>
    outreachRequest(p, {
      awaitBooking: {
        window: '5 days',
        recheckEvery: '4 days',
        reminders: [{ after: '3 days', text: 'Reminder: book at {booking_link}' }],
      },
    });

  /**
   * A worker whose booking-link reads answer first and then have the patient book through Hero (no webhook),
   * once: as when a worker is cut off from Temporal between the run's read before a reminder and the send.
   */
  const workerBookingAfterFirstRead = async (taskQueue: string) => {
    const real = createActivities(
      new HeroClient({
        apiKey: sandbox.apiKey,
        practiceGroupId: sandbox.practiceGroupId,
        baseUrl: sandbox.url,
        timeoutMs: 2_000,
      }),
    );
    let appointmentId: string | undefined;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      dataConverter: workerDataConverter(ring),
      activities: {
        ...real,
        checkBookingLink: async (input: Parameters<typeof real.checkBookingLink>[0]) => {
          const read = await real.checkBookingLink(input);
          appointmentId ??= sandbox.book(input.bookingLinkId, { notify: false }).id;
          return read;
        },
      },
    });
    return { worker, bookedAppointment: () => appointmentId };
  };
  const startRemindedAtDay3 = (taskQueue: string, p: { nhsNumber: string; dob: string }) =>
    env.client.workflow.start(patientOutreachWorkflow, {
      taskQueue,
      workflowId: uniqueId('wf'),
      args: [remindedAtDay3(p)],
    });

  it('sends no reminder to a patient who booked after the read before it: the send reads the link again', async () => {
    // The worker's read before the reminder answers "unused", and the patient books just after it: the
    // reminder's own read must see it.
    const p = patientIn(sandbox);
    const taskQueue = uniqueId('tq');
    const { worker, bookedAppointment } = await workerBookingAfterFirstRead(taskQueue);
    const result = await worker.runUntil(async () => (await startRemindedAtDay3(taskQueue, p)).result());
    assert.ok(bookedAppointment(), 'the patient booked after the read');
    assert.equal(result.outcome, 'booked', JSON.stringify(result));
    assert.equal(result.outcome === 'booked' && result.remindersSent, 0);
    assert.deepEqual(
      messagesTo(sandbox, p.patientId).map((m) => m.text.split(':')[0]),
      ['Book your appointment'],
      'the first message only',
    );
  });

  it('sends the reminder it held back for a booking once that booking is cancelled', async () => {
    // As above, the patient books between the worker's read and the send; then cancels after the reminder's
    // day: the one reminder was never sent, so it is due at once (not skipped as given).
    const p = patientIn(sandbox);
    const taskQueue = uniqueId('tq');
    const { worker, bookedAppointment } = await workerBookingAfterFirstRead(taskQueue);
    const result = await worker.runUntil(async () => {
      const handle = await startRemindedAtDay3(taskQueue, p);
      await inState(handle, 'awaiting_booking');
      await env.sleep('3 days');
      await inState(handle, 'booked');
      assert.equal(messagesTo(sandbox, p.patientId).length, 1, 'no reminder sent to a booked patient');
      sandbox.cancelAppointment(bookedAppointment()!, { notify: false });
      await handle.signal(bookingEventSignal, {
        event: 'appointment.cancelled',
        appointmentId: bookedAppointment()!,
        bookingLinkId: (await status(handle)).bookingLinkId!,
      });
      return handle.result();
    });
    assert.equal(result.outcome, 'not_booked', JSON.stringify(result));
    assert.equal(result.outcome === 'not_booked' && result.remindersSent, 1);
    assert.deepEqual(
      messagesTo(sandbox, p.patientId).map((m) => m.text.split(':')[0]),
      ['Book your appointment', 'Reminder'],
      'the first message, then the reminder once the booking was cancelled',
    );
  });

  it('still reminds a patient whose only booking was cancelled: the send counts the cancelled use as no booking', async () => {
    const result = await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(remindedAtDay3(p));
      await inState(handle, 'awaiting_booking');
      const link = (await status(handle)).bookingLinkId!;
      // Booked and cancelled through Hero (its use count stays 1), both heard through webhooks.
      const appointment = sandbox.book(link, { notify: false });
      await handle.signal(bookingEventSignal, {
        event: 'appointment.confirmed',
        appointmentId: appointment.id,
        bookingLinkId: link,
      });
      await inState(handle, 'booked');
      sandbox.cancelAppointment(appointment.id, { notify: false });
      await handle.signal(bookingEventSignal, {
        event: 'appointment.cancelled',
        appointmentId: appointment.id,
        bookingLinkId: link,
      });
      await inState(handle, 'awaiting_booking');
      return handle.result();
    });
    assert.equal(result.outcome, 'not_booked', JSON.stringify(result));
    assert.equal(result.outcome === 'not_booked' && result.remindersSent, 1);
  });

  it('follows the reschedules of a booking it learnt from the link, to the state Hero holds now', async () => {
    const result = await withWorker(sandbox, async (start) => {
      const p = patientIn(sandbox);
      const handle = await start(outreachRequest(p, { awaitBooking: { window: '3 days', recheckEvery: '1 day' } }));
      await inState(handle, 'awaiting_booking');
      const linkId = (await status(handle)).bookingLinkId!;
      const booked = sandbox.book(linkId, { notify: false });
      const day1 = await skip('25 hours');
      try {
        await inState(handle, 'booked');
        assert.equal((await status(handle)).appointment?.id, null, 'learnt from the link, not a webhook');
        // As the webhook receiver signals it: the appointment's state read from Hero when the event came.
        const rescheduled = (startTime: string) =>
          handle.signal(bookingEventSignal, {
            event: 'appointment.rescheduled',
            appointmentId: booked.id,
            bookingLinkId: linkId,
            confirmedAt: new Date(booked.bookingConfirmedAt).toISOString(),
            startTime,
          });
        sandbox.rescheduleAppointment(booked.id, '2026-12-09T14:30:00Z', { notify: false });
        await rescheduled('2026-12-09T14:30:00Z');
        const at = (iso: string | null | undefined) => (iso ? Date.parse(iso) : undefined);
        await eventually(
          async () => at((await status(handle)).appointment?.startTime) === at('2026-12-09T14:30:00Z'),
          10_000,
          'the first reschedule applied',
        );
        assert.equal((await status(handle)).appointment?.id, booked.id);
        // A second reschedule whose signal is overtaken by the first one's state (delivered out of order):
        // the run reads the appointment from Hero.
        sandbox.rescheduleAppointment(booked.id, '2026-12-10T08:00:00Z', { notify: false });
        await rescheduled('2026-12-09T14:30:00Z');
        await eventually(
          async () => at((await status(handle)).appointment?.startTime) === at('2026-12-10T08:00:00Z'),
          10_000,
          "the appointment's current start time",
        );
      } finally {
        await day1.release();
      }
      return handle.result();
    });
    assert.equal(result.outcome, 'booked');
    assert.ok(result.outcome === 'booked');
    assert.notEqual(result.appointment.id, null, "the appointment's id, learnt from its reschedule");
    assert.equal(Date.parse(result.appointment.startTime!), Date.parse('2026-12-10T08:00:00Z'));
  });

  describe('a reminder whose send was uncertain and that Hero lists as not sent', () => {
    it('is not sent again when the patient booked in the meantime: the run ends booked', async () => {
      await withWorker(sandbox, async (start) => {
        const p = patientIn(sandbox);
        const handle = await start(
          outreachRequest(p, {
            awaitBooking: { window: '5 days', reminders: [{ after: '3 days', text: 'Reminder {booking_link}' }] },
          }),
        );
        await inState(handle, 'awaiting_booking');
        const linkId = (await status(handle)).bookingLinkId!;
        sandbox.injectFault('send_message', { kind: 'status', status: 502 });
        // A minute after the day-3 reminder failed; the run asks Hero's list two minutes after it.
        const held = await skip('4321 minutes');
        try {
          await inState(handle, 'checking_with_hero');
          sandbox.book(linkId, { notify: false });
        } finally {
          await held.release();
        }
        const result = await handle.result();
        assert.equal(result.outcome, 'booked');
        assert.ok(result.outcome === 'booked');
        assert.equal(result.remindersSent, 0);
        assert.equal(sandbox.requests({ endpoint: 'send_message' }).length, 2, 'the message, the uncertain reminder');
        assert.equal(messagesTo(sandbox, p.patientId).length, 1, 'the reminder in doubt was not sent again');
      });
    });

    it('is not sent again when the window closed in the meantime: the run ends not_booked', async () => {
      await withWorker(sandbox, async (start) => {
        const p = patientIn(sandbox);
        // The reminder a minute before the window closes; Hero's list is read two minutes after it failed.
        const handle = await start(
          outreachRequest(p, {
            awaitBooking: {
              window: '3 days',
              recheckEvery: '4 days',
              reminders: [{ after: 3 * DAY - 60_000, text: 'Reminder {booking_link}' }],
            },
          }),
        );
        await inState(handle, 'awaiting_booking');
        sandbox.injectFault('send_message', { kind: 'status', status: 502 });
        const result = await handle.result();
        assert.equal(result.outcome, 'not_booked');
        assert.ok(result.outcome === 'not_booked');
        assert.equal(result.remindersSent, 0);
        assert.equal(sandbox.requests({ endpoint: 'send_message' }).length, 2, 'the message, the uncertain reminder');
        assert.equal(messagesTo(sandbox, p.patientId).length, 1, 'the reminder in doubt was not sent again');
      });
    });
  });
});
