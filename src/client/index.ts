export { concurrencyLimit } from './limit';
export * from './outreach-client';
export * from './workflow-id';
export type { OutreachRequest, OutreachResult, OutreachStatus } from '../workflows/schemas';
