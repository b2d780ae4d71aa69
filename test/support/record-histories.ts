/**
 * Records the committed replay histories (test/histories/) from real runs on the time-skipping
 * test server against the sandbox. Run after a deliberate, patched() workflow change:
 *   npm run histories:record
 * and commit the new files next to the old ones (never replace a released shape's history).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../tools/provision';
import { startSandbox } from '../../tools/sandbox';
import { ensureSearchAttributes } from '../../src/worker/search-attributes';
import { Worker } from '@temporalio/worker';
import { campaignRunWorkflowId } from '../../src/shared/campaign-ids';
import { bookingEventWorkflow } from '../../src/workflows/booking-event';
import {
  bookingEventSignal,
  confirmVerificationUpdate,
  resolveReviewUpdate,
  statusQuery,
  verificationCompletedSignal,
} from '../../src/workflows/definitions';
import { patientOutreachWorkflow } from '../../src/workflows/patient-outreach';
import type { OutreachRequest } from '../../src/workflows/schemas';
import { eventually, newPatient, outreachRequest } from './fixtures';
import { bundleWorkflows, quietRuntime, sandboxWorker } from './temporal';

async function main() {
  quietRuntime();
  const version = process.argv[2] ?? 'v1';
  // Optionally only some shapes, e.g. the one a change added: `npm run histories:record -- v3 needs-review`.
  const only = process.argv.slice(3);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: await testServerExecutable() },
  });
  const sandbox = await startSandbox();
  try {
    await ensureSearchAttributes(env.nativeConnection, 'default');
    // Plaintext on purpose: replay checks the workflow's commands, and these runs hold synthetic data only.
    const { worker, taskQueue } = await sandboxWorker({
      connection: env.nativeConnection,
      sandbox,
      bundle: await bundleWorkflows(),
    });
    // Lets time skip by a given amount, then holds it there (see test/support/sleeper-workflow.ts).
    let holding: { started: () => void; release?: () => void } | undefined;
    const sleeperWorker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'sleeper',
      workflowsPath: require.resolve('./sleeper-workflow'),
      activities: {
        hold: () =>
          new Promise<void>((resolve) => {
            holding?.started();
            holding!.release = resolve;
          }),
      },
    });
    const sleeping = sleeperWorker.run();
    const skip = async (duration: string) => {
      const held = new Promise<void>((started) => (holding = { started }));
      const handle = await env.client.workflow.start('sleeper', {
        taskQueue: 'sleeper',
        workflowId: `sleep-${duration}`,
        args: [duration],
      });
      const done = handle.result();
      await held;
      const release = holding!.release!;
      return { release: async () => (release(), await done) };
    };
    await worker.runUntil(async () => {
      const [plain, verifying, cancelling, expiring, reviewing, confirming] = [
        newPatient(),
        newPatient({ needsVerification: true }),
        newPatient({ needsVerification: true }),
        newPatient({ needsVerification: true }),
        newPatient(),
        newPatient({ needsVerification: true }),
      ];
      for (const p of [plain, verifying, cancelling, expiring, reviewing, confirming]) sandbox.addPatient(p);
      const start = (id: string, input: OutreachRequest) =>
        env.client.workflow.start(patientOutreachWorkflow, { taskQueue, workflowId: id, args: [input] });
      const awaitingVerification = (handle: Awaited<ReturnType<typeof start>>) =>
        eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');

      const completed = await start('completed', outreachRequest(plain));
      await completed.result();

      const verification = await start('verification', outreachRequest(verifying));
      await awaitingVerification(verification);
      sandbox.markVerified(verifying.nhsNumber);
      await verification.signal(verificationCompletedSignal);
      await verification.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      await verification.result();

      // confirmVerification waits for the re-trace it causes (v5): once too early, once after verifying.
      const verificationUpdate = await start('verification-update', outreachRequest(confirming));
      await awaitingVerification(verificationUpdate);
      await verificationUpdate.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      sandbox.markVerified(confirming.nhsNumber);
      await verificationUpdate.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      await verificationUpdate.result();

      const cancelled = await start('cancelled', outreachRequest(cancelling));
      await awaitingVerification(cancelled);
      await cancelled.cancel();
      await cancelled.result();

      const expired = await start('expired', outreachRequest(expiring));
      await expired.result(); // time skips through 7 days of re-checks

      sandbox.injectFault('send_message', { kind: 'reset_after' });
      const needsReview = await start('needs-review', outreachRequest(reviewing));
      await needsReview.result();

      // v6: the booking wait, delivery status, reconciliation and reviews.
      const [booker, waiter, reconciled, reviewed, unanswered] = [
        newPatient(),
        newPatient(),
        newPatient(),
        newPatient(),
        newPatient(),
      ];
      for (const p of [booker, waiter, reconciled, reviewed, unanswered]) sandbox.addPatient(p);
      const waiting = (p: typeof booker) =>
        outreachRequest(p, {
          awaitBooking: {
            window: '2 days',
            recheckEvery: '12 hours',
            reminders: [{ after: '1 day', text: 'Reminder {booking_link}' }],
          },
        });
      const booked = await start('booked', waiting(booker));
      await eventually(async () => (await booked.query(statusQuery)).state === 'awaiting_booking');
      const bookedLink = (await booked.query(statusQuery)).bookingLinkId!;
      const appointment = sandbox.book(bookedLink, { notify: false });
      await booked.signal(bookingEventSignal, {
        event: 'appointment.confirmed',
        appointmentId: appointment.id,
        bookingLinkId: bookedLink,
        confirmedAt: new Date(appointment.bookingConfirmedAt).toISOString(),
        startTime: appointment.startTime,
      });
      await booked.result();

      const notBooked = await start('not-booked', waiting(waiter));
      await notBooked.result(); // a reminder after a day, then the window closes

      sandbox.injectFault('send_message', { kind: 'reset_after' });
      const reconciledRun = await start('reconciled', outreachRequest(reconciled));
      await reconciledRun.result(); // Hero lists the message: counted as sent

      // Hero cannot tell (no list): a review, resolved by an operator, and one nobody answers.
      sandbox.setSentMessagesList(false);
      sandbox.injectFault('send_message', { kind: 'status', status: 500 });
      const review = await start('review-resolved', outreachRequest(reviewed));
      const held = await skip('3 minutes');
      await eventually(async () => (await review.query(statusQuery)).state === 'needs_review');
      await review.executeUpdate(resolveReviewUpdate, { args: [{ action: 'resend', note: 'recorder' }] });
      await held.release();
      await review.result();
      sandbox.injectFault('send_message', { kind: 'status', status: 500 });
      const expiredReview = await start(
        'review-expired',
        outreachRequest(unanswered, { review: { deadline: '1 day' } }),
      );
      await expiredReview.result();
      sandbox.setSentMessagesList(true);

      const event = await env.client.workflow.start(bookingEventWorkflow, {
        taskQueue,
        workflowId: 'booking-event',
        args: [{ event: 'appointment.cancelled', appointmentId: '999999' }],
      });
      await event.result(); // Hero does not know the appointment: no effect

      // v7: sending hours (every day but the server's current one, so the first message and the reminder,
      // due at 19:00 there, both wait) and a campaign's run (its report search attributes, a practice group).
      const [windowed, campaigner] = [newPatient(), newPatient()];
      for (const p of [windowed, campaigner]) sandbox.addPatient(p);
      const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', weekday: 'short' })
        .format(new Date(await env.currentTimeMs()))
        .toLowerCase();
      const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].filter((d) => d !== today).join(',');
      const sendWindowRun = await start(
        'send-window',
        outreachRequest(windowed, {
          sendWindow: { between: '08:00-18:00', days, timezone: 'Europe/London' },
          awaitBooking: {
            window: '3 days',
            recheckEvery: '1 day',
            reminders: [{ after: '11 hours', text: 'Reminder {booking_link}' }],
          },
        }),
      );
      await sendWindowRun.result();
      const campaignRun = await env.client.workflow.start(patientOutreachWorkflow, {
        taskQueue,
        workflowId: campaignRunWorkflowId('recorder', '0123456789abcdef0123456789abcdef'),
        args: [{ ...waiting(campaigner), practiceGroupId: sandbox.practiceGroupId }],
      });
      await eventually(async () => (await campaignRun.query(statusQuery)).state === 'awaiting_booking');
      const campaignLink = (await campaignRun.query(statusQuery)).bookingLinkId!;
      const campaignAppointment = sandbox.book(campaignLink, { notify: false });
      await campaignRun.signal(bookingEventSignal, {
        event: 'appointment.confirmed',
        appointmentId: campaignAppointment.id,
        bookingLinkId: campaignLink,
        confirmedAt: new Date(campaignAppointment.bookingConfirmedAt).toISOString(),
        startTime: campaignAppointment.startTime,
      });
      await campaignRun.result();

      for (const [name, handle] of [
        ['send-window', sendWindowRun],
        ['campaign-run', campaignRun],
        ['booked', booked],
        ['not-booked', notBooked],
        ['reconciled', reconciledRun],
        ['review-resolved', review],
        ['review-expired', expiredReview],
        ['booking-event', event],
        ['needs-review', needsReview],
        ['completed', completed],
        ['verification', verification],
        ['verification-update', verificationUpdate],
        ['cancelled', cancelled],
        ['expired', expired],
      ] as const) {
        if (only.length && !only.includes(name)) continue;
        const file = join(__dirname, '..', 'histories', `${name}-${version}.json`);
        writeFileSync(file, historyToJSON(await handle.fetchHistory()));
        console.log(`wrote ${file}`);
      }
    });
    sleeperWorker.shutdown();
    await sleeping;
  } finally {
    await sandbox.close();
    await env.teardown();
  }
}

void main();
