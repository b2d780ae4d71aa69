import { describeProblems } from '../shared/problems';
import {
  type OutreachInput,
  outreachInputSchema,
  type ReviewResolution,
  reviewResolutionSchema,
} from '../workflows/schemas';
import { outreachWorkflowId } from './workflow-id';

/** A request that does not validate; `problems` name the fields, never their values (patient data). */
export class InvalidOutreachRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid outreach request:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidOutreachRequestError';
  }
}

/**
 * Largest request accepted, as UTF-8 JSON. The largest schema-valid request is under 13 KiB (2000
 * characters of message text that JSON escapes 6-fold); a typical one is about 300 bytes. Without it a
 * 3 MB field reached Temporal and failed there as "Failed to start Workflow", hiding the cause.
 */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** Deepest nesting of objects and arrays accepted; a valid request has 2 levels (the request, `booking`). */
export const MAX_REQUEST_DEPTH = 8;

/**
 * Refuses a value too deep or too large to be a request, before zod or JSON.stringify see it: 200,000
 * nested arrays once failed as "Unable to convert [object Object] to payload". Iterative (an explicit
 * stack, no recursion to overflow), and it stops as soon as the JSON is known to exceed the cap, so a
 * 200 MB value costs no more than its first 16 KiB. Returns the problem, or undefined.
 */
export function checkRequestShape(request: unknown): string | undefined {
  const tooDeep = `(request): nested deeper than ${MAX_REQUEST_DEPTH} levels of objects or arrays (a valid request has 2)`;
  const tooLarge = `(request): larger than ${MAX_REQUEST_BYTES / 1024} KiB as JSON (${MAX_REQUEST_BYTES} bytes), the most an outreach request may be`;
  // A lower bound on the JSON's size, in bytes: every character is at least one byte.
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: request, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') bytes += value.length + 2;
    else if (value === null || typeof value !== 'object') bytes += 1;
    else {
      if (depth + 1 > MAX_REQUEST_DEPTH) return tooDeep;
      // Brackets and commas: n + 1 bytes for n items; a key adds `"key":`.
      bytes += 1;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && bytes <= MAX_REQUEST_BYTES; i++) {
          bytes += 1;
          stack.push({ value: value[i], depth: depth + 1 });
        }
      } else {
        for (const key in value) {
          if (bytes > MAX_REQUEST_BYTES) break;
          const item: unknown = Object.prototype.hasOwnProperty.call(value, key)
            ? (value as Record<string, unknown>)[key]
            : undefined;
          // JSON.stringify leaves these keys out.
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
          bytes += key.length + 4;
          stack.push({ value: item, depth: depth + 1 });
        }
      }
    }
    if (bytes > MAX_REQUEST_BYTES) return tooLarge;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(request);
  } catch {
    // Not JSON (a BigInt, say): the schema names the field.
    return undefined;
  }
  return json !== undefined && Buffer.byteLength(json, 'utf8') > MAX_REQUEST_BYTES ? tooLarge : undefined;
}

/**
 * The one preparing step of every request on the client's path (library, CLI, batch lines): checks
 * its size and shape, validates it, and names every problem; values are never echoed (they are patient
 * data). Unknown keys are refused with the nearest known one as a suggestion.
 * @throws {InvalidOutreachRequestError} naming every problem.
 */
export function prepareOutreachRequest(request: unknown): OutreachInput {
  const shape = checkRequestShape(request);
  if (shape) throw new InvalidOutreachRequestError([shape]);
  const parsed = outreachInputSchema.safeParse(request);
  if (!parsed.success) {
    throw new InvalidOutreachRequestError(describeProblems(parsed.error, '(request)', outreachInputSchema));
  }
  return parsed.data;
}

/**
 * A request parsed once, with the workflow ID it runs under: `HeroFlowClient.start` and `startOrFind`
 * take it as it is, without parsing the request or deriving the ID again. Made only by
 * `prepareOutreach` (or `HeroFlowClient#prepare`); frozen, so what was checked is what is sent.
 */
export interface PreparedOutreach {
  readonly input: Readonly<OutreachInput>;
  readonly workflowId: string;
}

/** The values `prepareOutreach` made: anything else, even of the same shape, is parsed again. */
const preparedOutreach = new WeakSet<object>();
/** The decisions `prepareReviewResolution` made. */
const preparedResolutions = new WeakSet<object>();

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a request and derives its workflow ID (`outreachWorkflowId`): the caller's `workflowId`, or
 * an HMAC keyed by `secret` (HERO_WORKFLOW_ID_SECRET).
 * @throws {InvalidOutreachRequestError} the request does not validate.
 * @throws {WorkflowIdError} no workflow ID and no secret, or an ID that looks like patient data.
 */
export function prepareOutreach(
  request: unknown,
  opts: { workflowId?: string; secret?: string } = {},
): PreparedOutreach {
  const input = prepareOutreachRequest(request);
  const workflowId = outreachWorkflowId(input, { businessId: opts.workflowId, secret: opts.secret });
  const prepared = deepFreeze({ input, workflowId });
  preparedOutreach.add(prepared);
  return prepared;
}

/** True for a value `prepareOutreach` made. */
export const isPreparedOutreach = (value: unknown): value is PreparedOutreach =>
  typeof value === 'object' && value !== null && preparedOutreach.has(value);

/** A review decision that does not validate (an unknown action, a note too long); values are never echoed. */
export class InvalidReviewResolutionError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid review decision:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidReviewResolutionError';
  }
}

/**
 * Validates an operator's decision once: `HeroFlowClient.resolveReview` sends the value it returns as
 * it is (the run validates it again, as it does whatever arrives).
 * @throws {InvalidReviewResolutionError} naming every problem, never the note.
 */
export function prepareReviewResolution(resolution: unknown): ReviewResolution {
  if (isPreparedResolution(resolution)) return resolution;
  const parsed = reviewResolutionSchema.safeParse(resolution);
  if (!parsed.success) {
    throw new InvalidReviewResolutionError(describeProblems(parsed.error, '(decision)', reviewResolutionSchema));
  }
  const prepared = deepFreeze(parsed.data);
  preparedResolutions.add(prepared);
  return prepared;
}

/** True for a decision `prepareReviewResolution` made. */
export const isPreparedResolution = (value: unknown): value is ReviewResolution =>
  typeof value === 'object' && value !== null && preparedResolutions.has(value);
