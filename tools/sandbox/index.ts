export { RANDOM_FAULT_KINDS } from './faults';
export { DEFAULT_PATIENTS } from './patients';
export { startSandbox } from './server';
export type {
  BookingLinkSummary,
  Fault,
  FaultRates,
  MessageSummary,
  RandomFaultKind,
  RateLimitOptions,
  RecordedRequest,
  Sandbox,
  SandboxEndpoint,
  SandboxOptions,
  SandboxPatient,
} from './types';
