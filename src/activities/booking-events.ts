import type { Client } from '@temporalio/client';
import { HERO_ID } from '../shared/patterns';
import { HERO_BOOKING_LINK_ID } from '../shared/search-attributes';

/** The run that created a booking link, found by its HeroBookingLinkId search attribute. */
export interface OutreachRunRef {
  workflowId: string;
  running: boolean;
}

/** Activities of the booking-event workflow: they ask Temporal, not Hero. */
export function createBookingEventActivities(client: Client) {
  return {
    /**
     * The outreach run whose booking link this is, preferring a running one; null when none is indexed
     * (yet: visibility lags a little behind the run, so the workflow asks again).
     */
    async findOutreachRunByBookingLink(input: { bookingLinkId: string }): Promise<OutreachRunRef | null> {
      // Link ids are Hero's numbers; anything else cannot be a link we made, and must not reach the query.
      if (!HERO_ID.test(input.bookingLinkId)) return null;
      let closed: OutreachRunRef | null = null;
      for await (const run of client.workflow.list({
        query: `${HERO_BOOKING_LINK_ID.name} = '${input.bookingLinkId}'`,
        pageSize: 10,
      })) {
        if (run.status.name === 'RUNNING') return { workflowId: run.workflowId, running: true };
        closed ??= { workflowId: run.workflowId, running: false };
      }
      return closed;
    },
  };
}

export type BookingEventActivities = ReturnType<typeof createBookingEventActivities>;
