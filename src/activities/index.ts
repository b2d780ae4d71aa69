export * from './booking-events';
export * from './failures';
export * from './outreach';
