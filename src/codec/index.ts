export { CodecConfigError, PayloadDecryptionError } from './errors';
export { type KeyRing, parseKeyRing, loadKeyRing, generateKeySpec } from './keys';
export { EncryptionCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from './encryption-codec';
export { heroDataConverter, workerDataConverter, FAILURE_CONVERTER_PATH } from './data-converter';
export { startCodecServer, MAX_BODY_BYTES } from './server';
export type { CodecServer, CodecServerOptions } from './server-options';
export { loadCodecServerOptions } from './server-config';
