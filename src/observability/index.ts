/**
 * Logging, health endpoints and metric names for every hero-flow process. Loads neither
 * @temporalio/worker nor @temporalio/activity (optional peers), so a process that runs no worker
 * (the codec server, the webhook receiver) can use it; the activities' metrics are in ./hero-calls.
 */
export { createLogger, loadLogFormat, LOG_FORMATS, type LogFormat, type LoggerOptions, type LogSink } from './logging';
export {
  healthAnswer,
  type HealthServer,
  type HealthServerOptions,
  LIVENESS_PATH,
  READINESS_PATH,
  type Readiness,
  sendHealthAnswer,
  startHealthServer,
} from './health';
export { DURATION_BUCKETS_SECONDS, METRICS } from './metric-names';
