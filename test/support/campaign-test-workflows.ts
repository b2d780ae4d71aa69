/**
 * The worker's workflows plus two test-only ones, bundled together by test/campaign-gate.test.ts:
 * - testCampaignWorkflow: a stand-in for the campaign workflow (being written elsewhere) with only what the
 *   workers use of it: the campaignGate query, answered from a flag it holds, and the pauseCampaign signal,
 *   which it records; `testResume` clears the flag.
 * - groupRunWorkflow: trace, link and message of one patient for a practice group, through the real
 *   activities and retry policies, calling an activity again when its campaign kept it paused (as runs do).
 */
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import {
  CAMPAIGN_GATE_QUERY,
  CAMPAIGN_PAUSE_SIGNAL,
  type CampaignGate,
  type CampaignPause,
} from '../../src/shared/campaign-ids';
import { FailureType } from '../../src/shared/failure-types';
import { createBookingLink, sendMessage, tracePatient } from '../../src/workflows/activity-stubs';
import { isFailureOfType } from '../../src/workflows/failures';

export * from '../../src/workflows';

export const resumeSignal = defineSignal('testResume');
export const stopSignal = defineSignal('testStop');
export const pausesQuery = defineQuery<CampaignPause[]>('testPauses');

export async function testCampaignWorkflow(start: { paused: boolean; reason?: string }): Promise<CampaignPause[]> {
  let gate: CampaignGate = { paused: start.paused, cancelled: false, reason: start.reason };
  const pauses: CampaignPause[] = [];
  let stopped = false;
  setHandler(defineQuery<CampaignGate>(CAMPAIGN_GATE_QUERY), () => gate);
  setHandler(defineSignal<[CampaignPause]>(CAMPAIGN_PAUSE_SIGNAL), (p) => {
    pauses.push(p);
    gate = { paused: true, cancelled: false, reason: p.reason };
  });
  setHandler(resumeSignal, () => void (gate = { paused: false, cancelled: false }));
  setHandler(pausesQuery, () => pauses);
  setHandler(stopSignal, () => void (stopped = true));
  await condition(() => stopped);
  return pauses;
}

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
