import { patched } from '@temporalio/workflow';

/**
 * Every patch of patientOutreachWorkflow, in one place. A patch marks the runs that take a newer path, so
 * a run whose history shows the older one takes it again on replay (test/replay.test.ts replays the
 * committed histories in test/histories). Each is consulted only where the paths differ, so runs that
 * never meet the difference carry no marker. One line each: what runs without the marker did.
 */
export const PATCHES = {
  /** Without: confirmVerification answered at once, in the task that accepted it, before the run re-traced. */
  awaitRetrace: 'await-verification-retrace',
  /** Without: input and signal payloads were parsed leniently (unknown keys dropped, not refused). */
  strictPayloads: 'strict-payloads',
  /** Without: a payload that arrived unencrypted to a worker with keys was used as it was. */
  refusePlaintext: 'refuse-plaintext',
  /**
   * Without: an uncertain first message ended the run as needs_review for good (no reconcile, no operator
   * decision), and the first message's delivery status was not read.
   */
  reconcile: 'reconcile-delivery-and-review',
  /**
   * Without: durations had no upper bound nor re-check floor (lenientOutreachInputSchema), and a booking
   * window taken from the link's expiryDate was as long as that date made it. The same lenient parse takes
   * a sending-hours end past 24:00 (acceptedSendWindowSchema), refused later: a run that was given one
   * passed the strict parse then and so holds no marker, and replays with it as it was.
   */
  boundedDurations: 'bounded-durations',
  /**
   * Without: an appointment.rescheduled event applied only to the appointment the run knew by id, so a run
   * that learnt of its booking from the link's use count (id null) ignored it; and no appointment was read.
   */
  appointmentEventsByLink: 'appointment-events-by-link',
  /**
   * Without: a reminder whose send found the link used (the patient booked) counted as given, so once that
   * booking was cancelled the run went on to the next reminder, or to none.
   */
  reminderDueAfterLinkUsed: 'reminder-due-after-link-used',
} as const;

/**
 * What older runs hold that needs no patch (nothing they replay differs), kept for their readers:
 * - runs from before links were retried whatever failed may end needs_review at create_booking_link;
 * - results of runs from before delivery status (reconcile, above) have no `messages`;
 * - runs from before awaitBooking cannot have one, so waiting for the booking needed no patch;
 * - runs from before sending hours and practice groups have no sendWindow nor practiceGroupId, so they
 *   neither wait for the hours nor add a group to their activities' inputs;
 * - runs from before campaigns are not campaign runs (no `hero-campaign.` workflow ID), so they upsert no
 *   report search attributes, and none of their activities failed with CampaignPaused, so none is called
 *   again for it.
 */
export type PatchName = keyof typeof PATCHES;

/** Whether this run takes the newer path of `name` (false only when replaying a run from before it). */
export function takes(name: PatchName): boolean {
  return patched(PATCHES[name]);
}
