import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { parseKeyRing } from '../src/codec';
import { statusQuery } from '../src/workflows/definitions';
import {
  DURATION_BOUNDS,
  MAX_RECHECKS,
  MAX_REMINDERS,
  type OutreachRequest,
  outreachInputSchema,
  recheckFloor,
} from '../src/workflows/schemas';
import type { Sandbox } from '../tools/sandbox';
import { eventually, newPatient, outreachRequest } from './support/fixtures';
import { startTestStack, stopTestStack } from './support/temporal';
import { withOutreachWorker } from './support/workers';

/** Temporal warns at this many events in a run's history (and terminates it at 51,200). */
const HISTORY_EVENTS_WARNING = 10_240;
/** Temporal warns at 10 MB of history (and terminates the run at 50 MB). */
const HISTORY_BYTES_WARNING = 10 * 1024 * 1024;

/**
 * Issue 18, item 2: every duration a request carries is bounded, and so is the number of re-checks, so
 * that the largest history a request can produce stays below Temporal's warning. A request at every
 * bound, run to its end on the time-skipping test server against the sandbox: the patient verifies at
 * the last re-check before the verification timeout, then never books, so the run re-checks the link
 * and sends every reminder until the longest window closes; no delivery status is ever final.
 */
describe('history size of the largest request (time-skipping)', () => {
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

  async function terminateRuns(started: WorkflowHandle[]): Promise<void> {
    for (const h of started) {
      await h.terminate('test over').catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError) && !/already completed/i.test(String(err))) throw err;
      });
    }
  }

  it('a request at every bound ends below 10,240 events with margin', async () => {
    const DAY = 24 * 3600_000;
    const text = (label: string) => `${label} {booking_link} ${'x'.repeat(1980 - label.length)}`;
    const p = newPatient();
    sandbox.addPatient(p);
    // Hero asks for verification on every trace but the last the timeout allows.
    sandbox.injectFault(
      'register_pds',
      { kind: 'status', status: 200, body: { message: 'verify', login_url: `${sandbox.url}/verify/abc` } },
      MAX_RECHECKS,
    );
    sandbox.setMessageStatusSequence(['queued']);
    const window = DURATION_BOUNDS.bookingWindow;
    const request: OutreachRequest = outreachRequest(p, {
      message: { type: 'sms', text: text('Book') },
      verification: {
        timeout: DURATION_BOUNDS.verificationTimeout,
        recheckEvery: recheckFloor(DURATION_BOUNDS.verificationTimeout),
      },
      review: { deadline: DURATION_BOUNDS.reviewDeadline, reconcileAfter: DURATION_BOUNDS.reconcileAfter },
      awaitBooking: {
        window,
        recheckEvery: recheckFloor(window),
        reminders: Array.from({ length: MAX_REMINDERS }, (_, i) => ({
          after: window - (MAX_REMINDERS - i) * DAY,
          text: text(`Reminder ${i + 1}`),
        })),
      },
    });
    assert.ok(outreachInputSchema.safeParse(request).success, 'the request is at the bounds, not beyond');

    const { events, bytes, result } = await withOutreachWorker(
      env,
      { sandbox, bundle, ring },
      terminateRuns,
      async (start) => {
        const handle = await start(request);
        const result = await handle.result();
        const history = await handle.fetchHistory();
        return {
          result,
          events: history.events?.length ?? 0,
          bytes: temporal.api.history.v1.History.encode(history).finish().length,
        };
      },
    );
    assert.equal(result.outcome, 'not_booked');
    assert.ok('remindersSent' in result && result.remindersSent === MAX_REMINDERS);
    const traces = sandbox.requests({ endpoint: 'register_pds' }).length;
    const line = `largest history: ${events} events, ${bytes} bytes (${traces} traces)`;
    process.stdout.write(`# ${line}\n`);
    assert.ok(traces > MAX_RECHECKS, `the patient verified at the last re-check: ${traces} traces`);
    // Margin: a quarter below the warning, for signals, updates and a review the request cannot bound.
    assert.ok(events < HISTORY_EVENTS_WARNING * 0.75, line);
    assert.ok(bytes < HISTORY_BYTES_WARNING / 4, line);
  });
  it('a booking window taken from a far expiryDate is cut to the longest supported', async () => {
    const p = newPatient();
    sandbox.addPatient(p);
    const request = outreachRequest(p, { awaitBooking: {} });
    request.booking.expiryDate = '2099-12-31';
    await withOutreachWorker(env, { sandbox, bundle, ring }, terminateRuns, async (start) => {
      const handle = await start(request);
      const status = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.state === 'awaiting_booking' && s;
      });
      const window = Date.parse(status.bookingWindowEndsAt!) - Date.parse(status.messages![0]!.sentAt);
      assert.ok(Math.abs(window - DURATION_BOUNDS.bookingWindow) < 60_000, `window ${window} ms`);
    });
  });
});
