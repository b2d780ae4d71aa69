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

/** The campaign a run, page or campaign workflow belongs to (the practice's own ID, not patient data). */
export const HERO_CAMPAIGN_ID = defineSearchAttributeKey('HeroCampaignId', SearchAttributeType.KEYWORD);

/** A campaign run's record ID: the practice's own identifier for the line, not patient data. */
export const HERO_RECORD_ID = defineSearchAttributeKey('HeroRecordId', SearchAttributeType.KEYWORD);

/** The practice group a run's Hero calls are made for. */
export const HERO_PRACTICE_GROUP = defineSearchAttributeKey('HeroPracticeGroup', SearchAttributeType.KEYWORD);

/** When the patient booked (the appointment's confirmation time), for a campaign's report. */
export const HERO_BOOKED_AT = defineSearchAttributeKey('HeroBookedAt', SearchAttributeType.DATETIME);

/** How many reminders the run sent, for a campaign's report. */
export const HERO_REMINDERS_SENT = defineSearchAttributeKey('HeroRemindersSent', SearchAttributeType.INT);

/** Hero's last delivery status of the run's first message (docs/hero-api.md §3.2), for a campaign's report. */
export const HERO_DELIVERY_STATUS = defineSearchAttributeKey('HeroDeliveryStatus', SearchAttributeType.KEYWORD);

/** A review's state or decision (open, resend, mark_sent, abandon, expired), for a campaign's report. */
export const HERO_REVIEW = defineSearchAttributeKey('HeroReview', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows write; the worker checks they exist at start. */
export const REQUIRED_SEARCH_ATTRIBUTES = [
  HERO_FLOW_STATE,
  HERO_BOOKING_LINK_ID,
  HERO_CAMPAIGN_ID,
  HERO_RECORD_ID,
  HERO_PRACTICE_GROUP,
  HERO_BOOKED_AT,
  HERO_REMINDERS_SENT,
  HERO_DELIVERY_STATUS,
  HERO_REVIEW,
] as const;
