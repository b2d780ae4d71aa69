import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  CAMPAIGN_GATE_QUERY,
  CAMPAIGN_PAUSE_SIGNAL,
  type CampaignGate,
  type CampaignPause,
} from '../shared/campaign-ids';
import type {
  CampaignState,
  CancelCampaign,
  CompleteList,
  CompleteListAnswer,
  PageControl,
  PageDone,
  PageRecordsAnswer,
  PageStarted,
  RegisterList,
  RegisterListAnswer,
} from './campaign-schemas';

/**
 * The messages of the campaign workflow (src/workflows/campaign.ts) and its page workflows
 * (src/workflows/campaign-page.ts). Names shared with workers and other languages come from
 * src/shared/campaign-ids.ts. Every payload is parsed by the workflow (src/workflows/campaign-schemas.ts).
 */

// The campaign.

/**
 * A list about to be handed over: answered 'new' (with its first page and record index) or 'same' (this
 * fingerprint was registered before). Rejected, nothing in history, when the campaign holds another list
 * and `append` is false, or when it is cancelled.
 */
export const registerListUpdate = defineUpdate<RegisterListAnswer, [RegisterList]>('registerList');

/** Every page of a registered list has been started: the hand-off is over. */
export const completeListUpdate = defineUpdate<CompleteListAnswer, [CompleteList]>('completeList');

/** Pause the campaign: its pages start no runs and its runs call Hero no more, until resumed. */
export const pauseCampaignSignal = defineSignal<[CampaignPause]>(CAMPAIGN_PAUSE_SIGNAL);

/** Resume a paused campaign; answers its state. */
export const resumeCampaignUpdate = defineUpdate<CampaignState, []>('resumeCampaign');

/** Cancel the campaign: its pages start no more runs. Answers its state (the client then cancels the runs). */
export const cancelCampaignUpdate = defineUpdate<CampaignState, [CancelCampaign]>('cancelCampaign');

/** Whether the campaign's runs may call Hero now (workers ask, cached for about a second). */
export const campaignGateQuery = defineQuery<CampaignGate>(CAMPAIGN_GATE_QUERY);

/** Everything `campaign status` needs from the campaign itself: counts, pause, cancel, sending hours, spread. */
export const campaignStateQuery = defineQuery<CampaignState>('campaignState');

/** A page has started or settled every record (page → campaign). */
export const pageDoneSignal = defineSignal<[PageDone]>('pageDone');

/** A page asks for the campaign's current pageControl before it starts any run (page → campaign). */
export const pageStartedSignal = defineSignal<[PageStarted]>('pageStarted');

// A page.

/** Whether the page may start runs (campaign → page, on every pause, resume and cancel). */
export const pageControlSignal = defineSignal<[PageControl]>('pageControl');

/** Each record's status: pending, started, existing, duplicate or cancelled. No request (patient data). */
export const pageRecordsQuery = defineQuery<PageRecordsAnswer>('pageRecords');
