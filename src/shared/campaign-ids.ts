import { z } from 'zod';
import { patientDataKinds } from './patient-data';

/**
 * The names of a campaign's workflows, in one place: the campaign (its state, pause, cancel), its pages
 * (each holds up to a page of records, durably, and starts their runs) and the runs (one per patient,
 * patientOutreachWorkflow). None carries patient data: a campaign ID and a record ID are the practice's
 * own identifiers, checked not to look like an NHS number or a date; a run's last part is a keyed hash.
 */

/** Letters, digits, `_` and `-`: what a campaign or record ID may hold (it goes into workflow IDs and queries). */
const ID_PART = /^[A-Za-z0-9_-]{1,64}$/;

const idSchema = (what: string) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .regex(ID_PART, `must be 1-64 letters, digits, _ or - (the ${what} goes into workflow IDs)`)
    .refine((v) => patientDataKinds(v).size === 0, {
      error: `looks like an NHS number or a date; a ${what} must not be patient data (put a letter inside long numbers)`,
    });

/** A campaign's ID, chosen by the caller (`--campaign-id`). */
export const campaignIdSchema = idSchema('campaign ID');
/** A record's ID: the practice's own identifier for a line of its list. */
export const recordIdSchema = idSchema('record ID');

export const CAMPAIGN_WORKFLOW_TYPE = 'campaignWorkflow';
export const CAMPAIGN_PAGE_WORKFLOW_TYPE = 'campaignPageWorkflow';

const PREFIX = 'hero-campaign.';

/** The campaign's own workflow. */
export function campaignWorkflowId(campaignId: string): string {
  return `${PREFIX}${campaignId}`;
}

/** Page `page` (from 0) of the campaign's records. */
export function campaignPageWorkflowId(campaignId: string, page: number): string {
  return `${PREFIX}${campaignId}.page.${String(page).padStart(5, '0')}`;
}

/**
 * The run of one patient in a campaign: `patientKey` is a keyed hash of the patient's NHS number (made by
 * the client, which holds the key; never the number), so the same patient twice in a campaign is one run.
 */
export function campaignRunWorkflowId(campaignId: string, patientKey: string): string {
  return `${PREFIX}${campaignId}.run.${patientKey}`;
}

/** The campaign a run, page or campaign workflow belongs to, from its workflow ID; undefined for others. */
export function campaignOfWorkflowId(workflowId: string): string | undefined {
  if (!workflowId.startsWith(PREFIX)) return undefined;
  const id = workflowId.slice(PREFIX.length).split('.')[0]!;
  return ID_PART.test(id) ? id : undefined;
}

/**
 * Query `campaignGate` of the campaign workflow: whether its runs may call Hero now. Workers ask it (cached
 * for about a second) before each trace, booking link, message and reminder of a campaign's run.
 */
export const CAMPAIGN_GATE_QUERY = 'campaignGate';
export const campaignGateSchema = z.object({
  paused: z.boolean(),
  cancelled: z.boolean(),
  /** Why it is paused: the operator's reason, or the credentials refusal that paused it. */
  reason: z.string().optional(),
});
export type CampaignGate = z.infer<typeof campaignGateSchema>;

/**
 * Signal `pauseCampaign` of the campaign workflow: pause (no new Hero work) with a reason. Sent by operators
 * (through the client) and by workers when Hero refuses a practice group's credentials three times in a row.
 */
export const CAMPAIGN_PAUSE_SIGNAL = 'pauseCampaign';
export const campaignPauseSchema = z.strictObject({
  reason: z.string().trim().max(500, 'must be at most 500 characters').optional(),
  by: z.enum(['operator', 'credentials']).default('operator'),
});
export type CampaignPause = z.input<typeof campaignPauseSchema>;

/**
 * A practice group's ID (`x-practice-group-id`): what a run's Hero calls are made for. Hero's ids are
 * numeric strings; letters, digits, `_` and `-` are accepted, as in HERO_PRACTICE_GROUP_ID.
 */
export const practiceGroupIdSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .regex(ID_PART, 'must be 1-64 letters, digits, _ or - (a Hero practice group ID)');

/** What every Hero activity's input may add: the practice group to call Hero for (default: the worker's). */
export interface PracticeGroupScoped {
  practiceGroupId?: string;
}
