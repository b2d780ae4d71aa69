export { DEFAULT_PATIENTS } from './patients';
export { startSandbox } from './server';
export type {
  BookingLinkSummary,
  Fault,
  MessageSummary,
  RateLimitOptions,
  RecordedRequest,
  Sandbox,
  SandboxEndpoint,
  SandboxOptions,
  SandboxPatient,
} from './types';
