export * from './create-worker';
export * from './logger';
export * from './run';
export * from './search-attributes';
