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
 */
export function heroDataConverter(ring: KeyRing): LoadedDataConverter {
  return { payloadConverter: defaultPayloadConverter, payloadCodecs: [new EncryptionCodec(ring)], failureConverter };
}

/** For `Worker.create({ dataConverter })`; bundleWorkflowCode needs the same `failureConverterPath`. */
export function workerDataConverter(ring: KeyRing): { payloadCodecs: PayloadCodec[]; failureConverterPath: string } {
  return { payloadCodecs: [new EncryptionCodec(ring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
