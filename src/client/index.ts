export { concurrencyLimit } from './limit';
export { REQUEST_FINGERPRINT_MEMO_KEY, requestFingerprint } from './fingerprint';
export * from './outreach-client';
export * from './workflow-id';
export type { OutreachRequest, OutreachResult, OutreachStatus } from '../workflows/schemas';
