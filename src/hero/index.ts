export * from './client';
export * from './config';
export * from './dob';
export * from './errors';
export * from './inferred';
export * from './retry-after';
export * from './schemas';
