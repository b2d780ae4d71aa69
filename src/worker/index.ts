/** `hero-flow/worker`: run a hero-flow worker, or wire one into your own process. */
export * from './create-worker';
export * from './logger';
export * from './run';
export * from './search-attributes';
export { workflowSource, PREBUILT_BUNDLE_FILE } from './workflow-source';
export { createActivities, type OutreachActivities } from '../activities/outreach';
export { toApplicationFailure } from '../activities/failures';
export { HeroClient, type CallOptions } from '../hero/client';
export { loadHeroConfig, type HeroConfig, HERO_PRODUCTION_URL, HERO_STAGING_URL } from '../hero/config';
export { ConfigError } from '../shared/errors';
export { loadTemporalSettings, type TemporalSettings } from '../config/temporal';
