export { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './api-schemas';
export { FIRST_APPOINTMENT_ID } from './appointments';
export { SandboxConflictError, SandboxNotFoundError } from './errors';
export { RANDOM_FAULT_KINDS } from './faults';
export { DEFAULT_PATIENTS } from './patients';
export { startSandbox } from './server';
export { FIRST_WEBHOOK_ID, WEBHOOK_FAULT_KINDS } from './webhooks';
export type {
  AppointmentEventType,
  AppointmentSummary,
  BookingLinkSummary,
  BookOptions,
  Fault,
  FaultRates,
  MessageStatusOptions,
  MessageSummary,
  RandomFaultKind,
  RateLimitOptions,
  RecordedRequest,
  Sandbox,
  SandboxEndpoint,
  SandboxOptions,
  SandboxPatient,
  WebhookDeliveryOptions,
  WebhookDeliveryRecord,
  WebhookFaultKind,
  WebhookFaultRates,
  WebhookSigningOptions,
  WebhookSummary,
} from './types';
