export { CodecConfigError, PayloadDecryptionError } from './errors';
export { type KeyRing, parseKeyRing, loadKeyRing, generateKeySpec } from './keys';
export {
  EncryptionCodec,
  type EncryptionCodecOptions,
  ENCRYPTED_ENCODING,
  METADATA_KEY_ID,
  UNENCRYPTED_MARKER_KEY,
  encryptedBytesBound,
} from './encryption-codec';
export { heroDataConverter, workerDataConverter, FAILURE_CONVERTER_PATH } from './data-converter';
export { startCodecServer, MAX_BODY_BYTES } from './server';
export {
  type CodecServer,
  type CodecServerOptions,
  DEFAULT_MAX_PAYLOADS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './server-options';
export { loadCodecServerOptions, MIN_TOKEN_LENGTH, MIN_TOKEN_LENGTH_LOOPBACK } from './server-config';
