export * from './failures';
export * from './outreach';
