import { z } from 'zod';
import { campaignIdSchema, practiceGroupIdSchema, recordIdSchema } from '../shared/campaign-ids';
import { runPrioritySchema } from '../shared/priority';
import { acceptedSendWindowSchema } from '../shared/send-window';
import { outreachInputSchema } from './schemas';

/**
 * The payloads of the campaign and page workflows (src/workflows/campaign.ts, campaign-page.ts): what
 * the client sends and what the workflows answer. Each is parsed where it enters a workflow. None but a
 * page's records carries patient data (their requests), and the page's answers leave the requests out.
 */

/** How long a spread may run: a year is far past any practice's recall. */
const MAX_SPREAD_MS = 366 * 24 * 3600_000;
/** A campaign's pages (100,000 records at 500 a page is 200); the bound keeps the campaign's state small. */
export const MAX_CAMPAIGN_PAGES = 10_000;
/** Records in one page workflow: at most this many children pending (Temporal's default limit is 2,000). */
export const MAX_PAGE_RECORDS = 500;

const spreadOverSchema = z
  .number()
  .int()
  .min(1000, 'must be at least 1000 ms')
  .max(MAX_SPREAD_MS, 'must be at most 366 days in ms');
const epochMsSchema = z.number().int().nonnegative();
const countSchema = z.number().int().nonnegative();
/** A keyed hash of the accepted records (hex or base64url): tells the same list from another, not patient data. */
const fingerprintSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16-128 letters, digits, _ or - (a keyed hash of the list)');

/** The input of campaignWorkflow. */
export const campaignInputSchema = z.strictObject({
  campaignId: campaignIdSchema,
  practiceGroupId: practiceGroupIdSchema.optional(),
  /** Sending hours of the campaign's runs; null: no restriction; absent: CAMPAIGN_DEFAULT_SEND_WINDOW. */
  sendWindow: acceptedSendWindowSchema.nullable().optional(),
  /** Stagger first messages over this many ms of sending hours, from the first list's hand-off. */
  spreadOver: spreadOverSchema.optional(),
  createdAt: z.iso.datetime(),
  /**
   * Continue as new once the history has this many events, besides whenever Temporal suggests it. For
   * tests and for operators who want small histories; default: only when suggested.
   */
  continueAsNewAt: z.number().int().min(50).optional(),
});
export type CampaignInput = z.input<typeof campaignInputSchema>;

/** One list handed over to the campaign (counts only). */
export const campaignListSchema = z.strictObject({
  fingerprint: fingerprintSchema,
  /** The number of its first page; its pages are firstPage .. firstPage + pages - 1. */
  firstPage: countSchema,
  pages: countSchema,
  /** Records in its pages, patient duplicates included. */
  records: countSchema,
  /** Duplicates reported (record and patient). */
  duplicates: countSchema,
  /** Lines left out as invalid. */
  invalid: countSchema,
  /** The campaign-wide index of its first record, for the spread. */
  startIndex: countSchema,
  /** Whether every page of it has been started (completeList). */
  complete: z.boolean(),
});
export type CampaignList = z.infer<typeof campaignListSchema>;

export const campaignPausedSchema = z.strictObject({
  reason: z.string().optional(),
  by: z.enum(['operator', 'credentials']),
  /** ISO time. */
  at: z.string(),
});
export const campaignCancelledSchema = z.strictObject({ at: z.string(), reason: z.string().optional() });

/** What a campaign carries over continue-as-new. */
export const campaignCarriedSchema = z.strictObject({
  lists: z.array(campaignListSchema).max(MAX_CAMPAIGN_PAGES),
  pagesDone: z.array(countSchema).max(MAX_CAMPAIGN_PAGES),
  paused: campaignPausedSchema.optional(),
  cancelled: campaignCancelledSchema.optional(),
  spreadStart: epochMsSchema.optional(),
  /** Bumped on every pause, resume and cancel: pages ignore a control older than one they have. */
  controlVersion: countSchema,
  /** When the last page reported done (epoch ms): the campaign closes 120 days later. */
  allDoneAt: epochMsSchema.optional(),
  continuedAsNew: countSchema,
});
export type CampaignCarried = z.infer<typeof campaignCarriedSchema>;

/** campaignWorkflow's argument: the input, and after continue-as-new the state it carries. */
export const campaignArgsSchema = z.tuple([campaignInputSchema, campaignCarriedSchema.optional()]);

/** Update `registerList`: a list the client is about to hand over, as counts and its fingerprint. */
export const registerListSchema = z.strictObject({
  fingerprint: fingerprintSchema,
  records: countSchema,
  duplicates: countSchema,
  invalid: countSchema,
  pages: z.number().int().nonnegative().max(MAX_CAMPAIGN_PAGES),
  /** Add it to a campaign that already holds another list. */
  append: z.boolean().default(false),
});
export type RegisterList = z.input<typeof registerListSchema>;
export const registerListAnswerSchema = z.object({
  /** 'same': this list was registered before (its pages may be started again: USE_EXISTING fills gaps). */
  outcome: z.enum(['new', 'same']),
  firstPage: countSchema,
  startIndex: countSchema,
  /** Epoch ms the spread counts from (set at the first list), when the campaign spreads. */
  spreadStart: epochMsSchema.optional(),
});
export type RegisterListAnswer = z.infer<typeof registerListAnswerSchema>;

/** Update `completeList`: every page of the list has been started. */
export const completeListSchema = z.strictObject({ fingerprint: fingerprintSchema });
export type CompleteList = z.input<typeof completeListSchema>;
export const completeListAnswerSchema = z.object({
  fingerprint: fingerprintSchema,
  complete: z.literal(true),
  firstPage: countSchema,
  pages: countSchema,
});
export type CompleteListAnswer = z.infer<typeof completeListAnswerSchema>;

/** Update `cancelCampaign`. */
export const cancelCampaignSchema = z.strictObject({
  reason: z.string().trim().max(500, 'must be at most 500 characters').optional(),
});
export type CancelCampaign = z.input<typeof cancelCampaignSchema>;

/** Query `campaignState`, and the answer of resumeCampaign and cancelCampaign: what `campaign status` needs. */
export const campaignStateSchema = z.object({
  campaignId: z.string(),
  createdAt: z.string(),
  practiceGroupId: z.string().optional(),
  /** The sending hours as given (null: none; absent: the campaign default). */
  sendWindow: z
    .object({ between: z.string().optional(), days: z.string().optional(), timezone: z.string().optional() })
    .nullable()
    .optional(),
  spreadOver: z.number().optional(),
  spreadStart: z.number().optional(),
  lists: z.array(campaignListSchema),
  records: countSchema,
  duplicates: countSchema,
  invalid: countSchema,
  pages: countSchema,
  pagesDone: countSchema,
  /** Whether every registered list has been handed over (completeList). */
  handedOver: z.boolean(),
  paused: campaignPausedSchema.optional(),
  cancelled: campaignCancelledSchema.optional(),
  continuedAsNew: countSchema,
});
export type CampaignState = z.infer<typeof campaignStateSchema>;

/** Signal `pageDone` (page → campaign): the page has started or settled every record. */
export const pageDoneSchema = z.strictObject({ page: countSchema });
export type PageDone = z.infer<typeof pageDoneSchema>;

/** Signal `pageStarted` (page → campaign): the page asks for the campaign's pageControl before starting runs. */
export const pageStartedSchema = z.strictObject({ page: countSchema });
export type PageStarted = z.infer<typeof pageStartedSchema>;

/** Signal `pageControl` (campaign → page): whether the page may start runs. */
export const pageControlSchema = z.strictObject({
  paused: z.boolean(),
  cancelled: z.boolean(),
  reason: z.string().optional(),
  /** The campaign's controlVersion: a page keeps the newest it has seen. */
  version: countSchema,
});
export type PageControl = z.infer<typeof pageControlSchema>;

/** A record of a page: the run it starts (workflowId) and its request; a duplicate has no request. */
export const pageRecordSchema = z
  .strictObject({
    recordId: recordIdSchema,
    workflowId: z.string().min(1).max(255),
    request: outreachInputSchema.optional(),
    /** The earlier record (of this campaign) whose patient this is: no run of its own. */
    duplicateOf: recordIdSchema.optional(),
  })
  .refine((r) => (r.request === undefined) !== (r.duplicateOf === undefined), {
    error: 'a record has either a request or duplicateOf',
  });
export type PageRecord = z.input<typeof pageRecordSchema>;

/** The input of campaignPageWorkflow. */
export const pageInputSchema = z.strictObject({
  campaignId: campaignIdSchema,
  page: countSchema,
  /** Campaign-wide index of the page's first record, for the spread. */
  startIndex: countSchema,
  /** Records the spread divides the period among. */
  total: z.number().int().positive(),
  practiceGroupId: practiceGroupIdSchema.optional(),
  /**
   * The campaign's sending hours, filled in by the client (CAMPAIGN_DEFAULT_SEND_WINDOW when the campaign's
   * input has none): the spread uses them and each run gets them unless its request has its own. Absent or
   * null: no restriction.
   */
  sendWindow: acceptedSendWindowSchema.nullable().optional(),
  spreadOver: spreadOverSchema.optional(),
  spreadStart: epochMsSchema.optional(),
  /**
   * The priority key of the page's runs (the campaign's); the page itself runs ahead of them, so that its
   * starts do not queue behind its own runs' tasks. Absent (a page from an older client): its runs inherit
   * the page's own priority.
   */
  runPriority: runPrioritySchema.optional(),
  records: z.array(pageRecordSchema).min(1).max(MAX_PAGE_RECORDS),
});
export type PageInput = z.input<typeof pageInputSchema>;

export const pageRecordStatusSchema = z.enum(['pending', 'started', 'existing', 'duplicate', 'cancelled']);
export type PageRecordStatus = z.infer<typeof pageRecordStatusSchema>;

/** Query `pageRecords`: each record's status (no request: that is patient data). */
export const pageRecordsAnswerSchema = z.array(
  z.object({
    recordId: z.string(),
    workflowId: z.string().optional(),
    duplicateOf: z.string().optional(),
    status: pageRecordStatusSchema,
  }),
);
export type PageRecordsAnswer = z.infer<typeof pageRecordsAnswerSchema>;

/** What a page workflow returns. */
export const pageResultSchema = z.object({
  page: countSchema,
  started: countSchema,
  existing: countSchema,
  duplicate: countSchema,
  cancelled: countSchema,
});
export type PageResult = z.infer<typeof pageResultSchema>;
