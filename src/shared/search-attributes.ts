import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The outreach state, so operators can list runs by state in the Temporal UI
 * (e.g. `HeroFlowState="awaiting_verification"`). Search attributes are stored in
 * plaintext by Temporal: only non-identifying values may go here.
 */
export const HERO_FLOW_STATE = defineSearchAttributeKey('HeroFlowState', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflow writes; the worker checks they exist at start. */
export const REQUIRED_SEARCH_ATTRIBUTES = [HERO_FLOW_STATE] as const;
