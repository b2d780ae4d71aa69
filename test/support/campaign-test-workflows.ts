/**
 * The worker's workflows (the campaign workflow included) plus a test-only run, bundled together by
 * test/campaign-gate.test.ts. groupRunWorkflow: trace, link and message of one patient for a chosen practice
 * group, through the real activities and retry policies, calling an activity again when its campaign kept it
 * paused (as runs do).
 */
import { FailureType } from '../../src/shared/failure-types';
import { createBookingLink, sendMessage, tracePatient } from '../../src/workflows/activity-stubs';
import { isFailureOfType } from '../../src/workflows/failures';

export * from '../../src/workflows';

async function untilNotPaused<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isFailureOfType(err, FailureType.CampaignPaused)) throw err;
    }
  }
}

export async function groupRunWorkflow(input: {
  nhsNumber: string;
  dob: string;
  practiceGroupId?: string;
}): Promise<{ patientId: string; messageId: string }> {
  const group = input.practiceGroupId === undefined ? {} : { practiceGroupId: input.practiceGroupId };
  const traced = await untilNotPaused(() => tracePatient({ nhsNumber: input.nhsNumber, dob: input.dob, ...group }));
  if (traced.kind !== 'patient') throw new Error('the test patient needs no verification');
  const link = await untilNotPaused(() =>
    createBookingLink({
      appointmentTypeId: '1',
      locationId: '5',
      patientId: traced.patientId,
      expiryDate: '2026-12-31',
      maximumUseCount: 1,
      ...group,
    }),
  );
  const sent = await untilNotPaused(() =>
    sendMessage({ patientId: traced.patientId, messageType: 'sms', text: 'Book: x', shortLinkId: link.id, ...group }),
  );
  return { patientId: traced.patientId, messageId: sent.messageId };
}
