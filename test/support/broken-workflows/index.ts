import { proxyActivities } from '@temporalio/workflow';
import type { OutreachActivities } from '../../../src/activities/outreach';

/** A deliberately incompatible change (creates the link before tracing), to prove replay catches it. */
const { createBookingLink } = proxyActivities<OutreachActivities>({ startToCloseTimeout: '30 seconds' });

export async function patientOutreachWorkflow(): Promise<unknown> {
  return createBookingLink({ appointmentTypeId: '1', locationId: '5', patientId: '1' });
}
