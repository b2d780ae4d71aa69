import { defaultPayloadConverter, type LoadedDataConverter, type PayloadCodec } from '@temporalio/common';
import { EncryptionCodec } from './encryption-codec';
import { failureConverter } from './failure-converter';
import type { KeyRing } from './keys';

/** For the worker's (and bundleWorkflowCode's) `failureConverterPath`: the sandbox loads it by path. */
export const FAILURE_CONVERTER_PATH: string = require.resolve('./failure-converter');

/**
 * For `new Client({ dataConverter })` and TestWorkflowEnvironment clients. Returned "loaded" (with
 * the default payload converter): a Client ignores a `failureConverter` object on a plain
 * DataConverter, and would then write failures it reports (e.g. async activity completion) in plaintext.
 *
 * @throws CodecConfigError when the ring's encrypting key is not a 32-byte key of the ring.
 */
export function heroDataConverter(ring: KeyRing): LoadedDataConverter {
  return { payloadConverter: defaultPayloadConverter, payloadCodecs: [new EncryptionCodec(ring)], failureConverter };
}

/**
 * For `Worker.create({ dataConverter })`; bundleWorkflowCode needs the same `failureConverterPath`.
 *
 * The codec marks every payload that arrives unencrypted (`unencrypted: 'mark'`), and the workflow
 * refuses a marked input, signal or update (docs/codec-wire-format.md). Marking cannot break the
 * other payloads this worker decodes, because this worker wrote each of them through this same codec,
 * so they arrive encrypted: activity inputs and heartbeat details (written by the workflow and the
 * activities), activity results and failures with their `encodedAttributes` (written by the
 * activities; the failure converter moves messages into that payload), and its own query and update
 * results. What clients write besides input, signals and updates does not matter to the workflow: a
 * plaintext memo or query argument becomes a marker it never reads. Headers and search attributes do
 * not go through the codec at all. So a run whose history a worker WITHOUT keys wrote
 * (`--insecure-no-encryption`: plaintext activity results) must finish on such a worker, not on this one.
 *
 * @throws CodecConfigError when the ring's encrypting key is not a 32-byte key of the ring.
 */
export function workerDataConverter(ring: KeyRing): { payloadCodecs: PayloadCodec[]; failureConverterPath: string } {
  return {
    payloadCodecs: [new EncryptionCodec(ring, { unencrypted: 'mark' })],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
