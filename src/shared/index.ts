export * from './task-queue';
export * from './search-attributes';
export * from './failure-types';
