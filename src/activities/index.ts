export * from './booking-events';
export * from './campaign-gate';
export * from './failures';
export * from './hero-clients';
export * from './outreach';
