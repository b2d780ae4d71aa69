import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The outreach state, so operators can list runs by state in the Temporal UI
 * (e.g. `HeroFlowState="awaiting_verification"`). Search attributes are stored in
 * plaintext by Temporal: only non-identifying values may go here.
 */
export const HERO_FLOW_STATE = defineSearchAttributeKey('HeroFlowState', SearchAttributeType.KEYWORD);

/**
 * The id of the booking link a run sent, set by runs that wait for the booking, so that an appointment
 * event (which names the link, docs/hero-api.md §2.6) finds its run. A link id is Hero's number, not
 * patient data.
 */
export const HERO_BOOKING_LINK_ID = defineSearchAttributeKey('HeroBookingLinkId', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows write; the worker checks they exist at start. */
export const REQUIRED_SEARCH_ATTRIBUTES = [HERO_FLOW_STATE, HERO_BOOKING_LINK_ID] as const;
