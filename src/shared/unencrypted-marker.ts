/**
 * The key of the value a worker's payload codec puts in place of a payload that arrived unencrypted:
 * `{ "$heroFlowUnencrypted": true, "value": <the payload's value> }` (`EncryptionCodec` with
 * `unencrypted: 'mark'`, src/codec/encryption-codec.ts), which the workflow recognises
 * (src/workflows/definitions.ts). It lives here, not in the codec, because the workflow bundle imports
 * it and the codec uses node:crypto.
 */
export const UNENCRYPTED_MARKER_KEY = '$heroFlowUnencrypted';
