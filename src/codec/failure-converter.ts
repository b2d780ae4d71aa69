import {
  ApplicationFailure,
  DefaultFailureConverter,
  type FailureConverter,
  type PayloadConverter,
  type ProtoFailure,
} from '@temporalio/common';

/** Mirrors FailureType.UnencryptedPayload; this file is loaded by path in the sandbox and imports nothing of ours. */
const UNENCRYPTED_PAYLOAD = 'HeroUnencryptedPayload';

const encoding = new DefaultFailureConverter({ encodeCommonAttributes: true });
const plain = new DefaultFailureConverter({ encodeCommonAttributes: false });

/**
 * Failure messages and stack traces often quote patient data ("NHS 943 476 5919 not found"). This
 * moves them into `encodedAttributes`, a payload the codec encrypts; history shows "Encoded failure".
 * One exception: the workflow's own refusal of a run started without the codec (no cause, no details).
 * Its message is fixed text with no patient data, and its reader is by definition a caller without
 * the codec, who must learn why; its stack trace is left out.
 * Loaded by path (FAILURE_CONVERTER_PATH) inside the workflow sandbox, so it imports nothing else.
 */
export const failureConverter: FailureConverter = {
  errorToFailure(err: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    if (
      err instanceof ApplicationFailure &&
      err.type === UNENCRYPTED_PAYLOAD &&
      err.cause === undefined &&
      !err.details?.length
    ) {
      return { ...plain.errorToFailure(err, payloadConverter), stackTrace: '' };
    }
    return encoding.errorToFailure(err, payloadConverter);
  },
  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter): Error {
    return encoding.failureToError(failure, payloadConverter);
  },
};
