import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces often quote patient data ("NHS 943 476 5919 not found"). This
 * moves them into `encodedAttributes`, a payload the codec encrypts; history shows "Encoded failure".
 * Loaded by path (FAILURE_CONVERTER_PATH) inside the workflow sandbox, so it imports nothing else.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
