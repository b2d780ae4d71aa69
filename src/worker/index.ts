/** `hero-flow/worker`: run a hero-flow worker, or wire one into your own process. */
export * from './create-worker';
export * from './logger';
export * from './run';
export * from './search-attributes';
export { workflowSource, PREBUILT_BUNDLE_FILE, preloadedWorkflowModules, WORKFLOWS_DIR } from './workflow-source';
export { type ActivityCollaborators, createActivities, type OutreachActivities } from '../activities/outreach';
export { HeroClients } from '../activities/hero-clients';
export {
  CAMPAIGN_GATE_CACHE_MS,
  type CampaignGateKeeper,
  createCampaignGate,
  CREDENTIAL_REFUSALS_TO_PAUSE,
} from '../activities/campaign-gate';
export { toApplicationFailure } from '../activities/failures';
export { HeroClient, type CallOptions } from '../hero/client';
export {
  loadHeroConfig,
  loadHeroPracticeGroups,
  practiceGroupKeyVariable,
  type HeroConfig,
  type HeroPracticeGroupsConfig,
  HERO_PRODUCTION_URL,
  HERO_STAGING_URL,
} from '../hero/config';
export { ConfigError } from '../shared/errors';
export { loadTemporalSettings, type TemporalSettings } from '../config/temporal';
