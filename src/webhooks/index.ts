/** Hero's appointment webhooks: the signature check, the HTTP receiver and the subscriptions (docs/hero-api.md §5). */
export {
  decodeHeroSignature,
  DEFAULT_TOLERANCE_MS,
  heroSignature,
  parseHeroTimestamp,
  SIGNATURE_HEADER,
  type SignatureCheck,
  type SignatureInput,
  type SignatureRefusal,
  TIMESTAMP_HEADER,
  verifyHeroSignature,
} from './signature';
export {
  DEFAULT_WEBHOOK_HOST,
  DEFAULT_WEBHOOK_PORT,
  loadWebhookReceiverSettings,
  loadWebhookSigningKey,
  MIN_SIGNING_KEY_LENGTH,
  parseWebhookReceiverOptions,
  type WebhookReceiverSettings,
} from './config';
export {
  type BookingEventStarter,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_START_TIMEOUT_MS,
  deliveryKey,
  type DeliveryOutcome,
  HEALTH_PATH,
  startWebhookReceiver,
  WEBHOOK_PATH,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from './receiver';
export { APPOINTMENT_EVENTS, checkWebhookUrl, registerWebhooks, type WebhookRegistration } from './register';
