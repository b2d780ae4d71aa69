import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { heroDataConverter, parseKeyRing } from '../src/codec';
import { nextOpening, sendWindowSchema, type SendWindowInput } from '../src/shared/send-window';
import { bookingEventSignal, statusQuery } from '../src/workflows/definitions';
import type { OutreachStatus } from '../src/workflows/schemas';
import type { Sandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest } from './support/fixtures';
import { startTestStack, stopTestStack } from './support/temporal';
import { type StartOutreach, withOutreachWorker } from './support/workers';

/**
 * Sending hours in a run (request field sendWindow), on the time-skipping test server against the sandbox
 * over HTTP. The server's clock cannot be set, so each test takes a window whose days leave out the
 * server's current day (in Europe/London): a run started now is outside its hours, as one started on a
 * Saturday at 02:00 is outside mon-fri 08:00-18:00, and waits until the next opening, computed here with
 * nextOpening from the run's own clock.
 */
describe('sending hours in a run (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  const ring = parseKeyRing(`test:${randomBytes(32).toString('base64')}`);
  const converter = heroDataConverter(ring);

  before(async () => {
    ({ env, sandbox, bundle } = await startTestStack({ server: 'time-skipping', ring }));
  });
  after(async () => {
    await stopTestStack({ env, sandbox });
  });
  beforeEach(() => sandbox.reset());

  async function terminateRuns(started: WorkflowHandle[]): Promise<void> {
    for (const h of started) {
      await h.terminate('test over').catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test(String(err))) throw err;
      });
    }
  }
  const withWorker = <T>(body: (start: StartOutreach) => Promise<T>): Promise<T> =>
    withOutreachWorker(env, { sandbox, bundle, ring }, terminateRuns, body);

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
  const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

  /** 08:00-18:00 Europe/London on every day but the server's current one (there). */
  async function windowWithoutToday(): Promise<SendWindowInput> {
    const now = await env.currentTimeMs();
    const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', weekday: 'short' })
      .format(new Date(now))
      .toLowerCase();
    return { between: '08:00-18:00', days: DAYS.filter((d) => d !== today).join(','), timezone: 'Europe/London' };
  }

  /** The decoded summaries of the run's timers, and the HeroFlowState values it upserted, in order. */
  async function historyOf(h: WorkflowHandle): Promise<{ timers: string[]; states: string[] }> {
    const history = await h.fetchHistory();
    const timers: string[] = [];
    const states: string[] = [];
    for (const e of history.events ?? []) {
      const summary = e.timerStartedEventAttributes ? e.userMetadata?.summary : undefined;
      if (summary) {
        const [decoded] = await converter.payloadCodecs[0]!.decode([summary]);
        timers.push(converter.payloadConverter.fromPayload<string>(decoded!));
      }
      const indexed = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.HeroFlowState;
      if (indexed) states.push(JSON.parse(Buffer.from(indexed.data!).toString()) as string);
    }
    return { timers, states };
  }

  it('holds the first message until the sending hours open, in awaiting_send_window, and sends it then', async () => {
    const sendWindow = await windowWithoutToday();
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      const handle = await start(outreachRequest(p, { sendWindow }));
      const startedAt = (await handle.describe()).startTime.getTime();
      const opensAt = nextOpening(startedAt, sendWindowSchema.parse(sendWindow));
      assert.ok(opensAt - startedAt > 6 * 3600_000, 'the wait is hours long (today is left out)');

      const waiting = await inState(handle, 'awaiting_send_window');
      assert.equal(waiting.sendWindowOpensAt, new Date(opensAt).toISOString());
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 0, 'nothing sent yet');

      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      const sentAt = Date.parse(result.outcome === 'completed' ? result.messages![0]!.sentAt : '');
      assert.ok(
        sentAt >= opensAt && sentAt < opensAt + 60_000,
        `sent at the opening: ${new Date(sentAt).toISOString()}`,
      );
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 1);

      const { timers, states } = await historyOf(handle);
      assert.deepEqual(timers.slice(0, 1), [
        `State: awaiting_send_window (waiting for the sending hours to open before sending) · opens ` +
          `${new Date(opensAt).toISOString()} · sending hours 08:00-18:00 ${sendWindow.days} Europe/London`,
      ]);
      assert.ok(!timers[0]!.includes(p.nhsNumber) && !timers[0]!.includes(p.dob), 'no patient data in the summary');
      assert.deepEqual(states, [
        'tracing',
        'creating_booking_link',
        'awaiting_send_window',
        'sending_message',
        'completed',
      ]);
    });
  });

  it('sends a message at once without sending hours, as before', async () => {
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      const handle = await start(outreachRequest(p));
      const startedAt = (await handle.describe()).startTime.getTime();
      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      const sentAt = Date.parse(result.outcome === 'completed' ? result.messages![0]!.sentAt : '');
      assert.ok(sentAt - startedAt < 60_000);
      assert.ok(!(await historyOf(handle)).states.includes('awaiting_send_window'));
    });
  });

  it("runs a request naming a practice group through the real activities (which keep it from HeroClient's strict parse)", async () => {
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      const handle = await start({ ...outreachRequest(p), practiceGroupId: sandbox.practiceGroupId });
      const result = await handle.result();
      assert.equal(result.outcome, 'completed');
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 1);
    });
  });

  /** A run with the window without today, a reminder 11 hours after the first message (19:00 there). */
  const reminderRequest = (p: { nhsNumber: string; dob: string }, sendWindow: SendWindowInput, window: string) =>
    outreachRequest(p, {
      sendWindow,
      awaitBooking: {
        window,
        // A day: no re-check wakes the run between the reminder's due time and the opening.
        recheckEvery: '1 day',
        reminders: [{ after: '11 hours', text: 'Reminder: book at {booking_link}' }],
      },
    });

  it('holds a reminder due outside the hours until the next opening, and sends it then', async () => {
    const sendWindow = await windowWithoutToday();
    const parsed = sendWindowSchema.parse(sendWindow);
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      const handle = await start(reminderRequest(p, sendWindow, '3 days'));
      const result = await handle.result();
      assert.equal(result.outcome, 'not_booked');
      if (result.outcome !== 'not_booked') return;
      assert.equal(result.remindersSent, 1);
      const first = Date.parse(result.messages[0]!.sentAt);
      const due = first + 11 * 3600_000;
      const opensAt = nextOpening(due, parsed);
      assert.ok(opensAt - due >= 13 * 3600_000 - 60_000, 'due at 19:00, held until 08:00 at the earliest');
      const reminderAt = Date.parse(result.messages[1]!.sentAt);
      assert.ok(
        reminderAt >= opensAt && reminderAt < opensAt + 60_000,
        `reminder at the opening ${new Date(opensAt).toISOString()}: ${result.messages[1]!.sentAt}`,
      );
      const { states } = await historyOf(handle);
      assert.deepEqual(states.slice(states.indexOf('awaiting_booking')), [
        'awaiting_booking',
        'awaiting_send_window',
        'sending_reminder',
        'awaiting_booking',
        'not_booked',
      ]);
    });
  });

  it('sends no held reminder once the patient booked while it waited for the hours', async () => {
    const sendWindow = await windowWithoutToday();
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      const handle = await start(reminderRequest(p, sendWindow, '3 days'));
      const opensAt = Date.parse((await inState(handle, 'awaiting_send_window')).sendWindowOpensAt!);
      // To the first message, then past the reminder's due time (19:00): the reminder waits for 08:00.
      await env.sleep(opensAt - (await env.currentTimeMs()) + 12 * 3600_000);
      const held = await inState(handle, 'awaiting_send_window');
      assert.ok(Date.parse(held.sendWindowOpensAt!) > (await env.currentTimeMs()), 'held until a later opening');
      assert.equal(held.messages?.length, 1);

      await handle.signal(bookingEventSignal, {
        event: 'appointment.confirmed',
        appointmentId: '9001',
        bookingLinkId: held.bookingLinkId!,
        confirmedAt: new Date().toISOString(),
      });
      const booked = await inState(handle, 'booked');
      assert.equal(booked.sendWindowOpensAt, undefined);
      const result = await handle.result();
      assert.equal(result.outcome, 'booked');
      assert.equal(result.outcome === 'booked' && result.remindersSent, 0);
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 1, 'no reminder');
    });
  });

  it('sends no reminder whose next opening is after the booking window closes', async () => {
    const sendWindow = await windowWithoutToday();
    const p = newPatient();
    sandbox.addPatient(p);
    await withWorker(async (start) => {
      // Due at 19:00, the window closes at 04:00, the hours open at 08:00.
      const handle = await start(reminderRequest(p, sendWindow, '20 hours'));
      const result = await handle.result();
      assert.equal(result.outcome, 'not_booked');
      assert.equal(result.outcome === 'not_booked' && result.remindersSent, 0);
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 1);
    });
  });
});
