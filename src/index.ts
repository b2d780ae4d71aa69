/**
 * `hero-flow`: the client library other services use to start, signal, inspect and cancel outreach
 * runs. Loads no worker code (no webpack, no native bridge): `hero-flow/worker` runs workers,
 * `hero-flow/codec` holds the payload codec and codec server, `hero-flow/workflows` the workflows.
 */
export {
  DEFAULT_START_CONCURRENCY,
  HeroFlowClient,
  InvalidBookingEventError,
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  OutreachRunFinishedError,
  ReviewRejectedError,
  type BookingEventStart,
  type OpenReviewListing,
  OutreachAlreadyFinishedError,
  OutreachIdConflictError,
  type BatchOutreach,
  type BatchStartResult,
  type StartedOutreach,
} from './client/outreach-client';
export { outreachWorkflowId, WORKFLOW_ID_PREFIX, WorkflowIdError } from './client/workflow-id';
export { REQUEST_FINGERPRINT_MEMO_KEY, requestFingerprint } from './client/fingerprint';
export { prepareOutreach, prepareOutreachRequest, prepareReviewResolution } from './client/prepare';
export type { PreparedOutreach } from './client/prepare';
export {
  awaitBookingSchema,
  bookingEventSchema,
  outreachInputSchema,
  outreachResultSchema,
  outreachStateSchema,
  outreachStatusSchema,
  reviewResolutionSchema,
  reviewResolvedSchema,
  sentMessageStatusSchema,
  verificationAcceptedSchema,
  verificationCompletedSchema,
  BOOKING_LINK_PLACEHOLDER,
  type AwaitBooking,
  type BookingEvent,
  type OutreachInput,
  type OutreachRequest,
  type OutreachResult,
  type OutreachState,
  type OutreachStatus,
  type ReviewResolution,
  type ReviewResolved,
  type SentMessageStatus,
  type VerificationAccepted,
  type VerificationCompleted,
} from './workflows/schemas';
export {
  BOOKING_EVENT_WORKFLOW_TYPE,
  bookingEventSignal,
  bookingEventWorkflowId,
  confirmVerificationUpdate,
  OUTREACH_WORKFLOW_TYPE,
  resolveReviewUpdate,
  statusQuery,
  verificationCompletedSignal,
} from './workflows/definitions';
export { DEFAULT_TASK_QUEUE } from './shared/task-queue';
export { HERO_BOOKING_LINK_ID, HERO_FLOW_STATE, REQUIRED_SEARCH_ATTRIBUTES } from './shared/search-attributes';
export { FailureType, type FailureTypeName } from './shared/failure-types';
// campaigns: workflows
export {
  campaignGateQuery,
  campaignStateQuery,
  cancelCampaignUpdate,
  completeListUpdate,
  pageControlSignal,
  pageDoneSignal,
  pageRecordsQuery,
  pageStartedSignal,
  pauseCampaignSignal,
  registerListUpdate,
  resumeCampaignUpdate,
} from './workflows/campaign-definitions';
export {
  campaignInputSchema,
  campaignListSchema,
  campaignStateSchema,
  cancelCampaignSchema,
  completeListAnswerSchema,
  completeListSchema,
  MAX_PAGE_RECORDS,
  pageInputSchema,
  pageRecordSchema,
  pageRecordsAnswerSchema,
  pageRecordStatusSchema,
  pageResultSchema,
  registerListAnswerSchema,
  registerListSchema,
  type CampaignInput,
  type CampaignList,
  type CampaignState,
  type CancelCampaign,
  type CompleteList,
  type CompleteListAnswer,
  type PageInput,
  type PageRecord,
  type PageRecordsAnswer,
  type PageRecordStatus,
  type PageResult,
  type RegisterList,
  type RegisterListAnswer,
} from './workflows/campaign-schemas';
// end campaigns: workflows

// campaigns: client
export {
  CampaignClient,
  CampaignKeyError,
  CampaignListRefusedError,
  CampaignNotFoundError,
  CampaignSettingsConflictError,
  checkCampaignSettings,
  InvalidCampaignOptionsError,
  type CampaignCancelled,
  type CampaignHandOff,
  type CampaignListing,
  type CampaignSettings,
  type CampaignStatus,
  type StartCampaignOptions,
} from './client/campaign/client';
export {
  CAMPAIGN_PAGE_MAX_BYTES,
  CAMPAIGN_PAGE_MAX_RECORDS,
  CampaignFileError,
  patientKey,
  prepareCampaignList,
  type CampaignRecord,
  type DuplicateLine,
  type InvalidLine,
  type PreparedCampaignList,
} from './client/campaign/list';
export { mergeTemplate } from './client/campaign/template';
export { REPORT_COLUMNS, writeReport, type ReportFormat, type ReportRow } from './client/campaign/report';
