import {
  CancelledFailure,
  isGrpcServiceError,
  ServiceError,
  ValueError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { parseKeyRing } from '../codec';
import { PayloadDecryptionError } from '../codec/errors';
import { loadTemporalSettings } from '../config/temporal';
import { ConfigError } from '../shared/errors';
import {
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  OutreachIdConflictError,
  OutreachRunFinishedError,
  ReviewRejectedError,
} from '../client/outreach-client';
import { WorkflowIdError } from '../client/workflow-id';
import { HeroApiError } from '../hero/errors';
import { DEV_KEYS_RELATIVE, devKeysFile, type ResolvedKeys } from './dev-keys';
import { CliError, EXIT_FAILED, EXIT_USAGE, UsageError } from './errors';
import { InputTooLargeError } from './input';

/**
 * One clear line (or list) on stderr per failure, never a stack trace for an expected one. Failures are
 * told apart by their class, the workflow's failure type or the gRPC status code, never by their text.
 */

/** gRPC's UNAVAILABLE: the server could not be reached (refused, reset, no TLS handshake). */
const GRPC_UNAVAILABLE = 14;

/** What the command knew when it failed: its keys (to name them) and whether it read without any. */
export interface ErrorContext {
  keys?: ResolvedKeys;
  insecure?: boolean;
}

/** The error, or one of its causes, that `match` picks. */
function findCause<E extends Error>(err: unknown, match: (e: Error) => e is E): E | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (match(e)) return e;
  }
  return undefined;
}

/** Usage or configuration: exit 2. */
const USAGE_ERRORS = [
  UsageError,
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  ConfigError,
  WorkflowIdError,
  InputTooLargeError,
];
/** Failures the library has already put in words: exit 1, as they are. */
const WORDED_FAILURES = [OutreachIdConflictError, ReviewRejectedError, OutreachRunFinishedError, HeroApiError];

/**
 * True when `err` says Temporal could not be reached: gRPC UNAVAILABLE anywhere in its causes, or, while
 * connecting, any failure that is not a gRPC answer (the channel never became ready before the deadline).
 */
export function isUnreachable(err: unknown, opts: { connecting?: boolean } = {}): boolean {
  if (findCause(err, (e): e is Error => isGrpcServiceError(e) && e.code === GRPC_UNAVAILABLE)) return true;
  if (!opts.connecting) return false;
  return !findCause(err, (e): e is Error => isGrpcServiceError(e) || e instanceof ServiceError);
}

/** The message and exit code for a failure. */
export function describeError(err: unknown, context: ErrorContext = {}): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (USAGE_ERRORS.some((type) => err instanceof type)) return { message: (err as Error).message, code: EXIT_USAGE };
  if (WORDED_FAILURES.some((type) => err instanceof type)) {
    return { message: (err as Error).message, code: EXIT_FAILED };
  }
  const undecryptable = findCause(err, (e): e is PayloadDecryptionError => e instanceof PayloadDecryptionError);
  if (undecryptable) return { message: undecryptableText(undecryptable, context.keys), code: EXIT_FAILED };
  // Without keys, the payload converter meets an encoding it has no converter for: the encrypted one.
  if (context.insecure && findCause(err, (e): e is ValueError => e instanceof ValueError)) {
    return {
      message:
        "the run's data is encrypted, and --insecure-no-encryption (or HERO_INSECURE_NO_ENCRYPTION=true) reads " +
        'without keys, so it cannot read it. ' +
        'Run the command without it, with HERO_CODEC_KEYS set to the keys of the worker ' +
        'that wrote the run' +
        (devKeysFile() ? ` (here, against the dev server, the CLI uses ${DEV_KEYS_RELATIVE} by itself)` : ''),
      code: EXIT_FAILED,
    };
  }
  if (err instanceof WorkflowNotFoundError) {
    return { message: `No hero-flow run with that workflow ID: ${err.message}`, code: EXIT_FAILED };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    return { message: `The run did not accept it: ${err.cause?.message ?? err.message}`, code: EXIT_FAILED };
  }
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    return { message: 'The run was cancelled', code: EXIT_FAILED };
  }
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { message?: string; type?: string } | undefined;
    const detail = cause?.message ? `: ${cause.type ? `[${cause.type}] ` : ''}${cause.message}` : '';
    return { message: `The run failed${detail}`, code: EXIT_FAILED };
  }
  if (isUnreachable(err)) return { message: cannotReach(), code: EXIT_FAILED };
  return { message: err instanceof Error ? err.message : String(err), code: EXIT_FAILED };
}

const quoteIds = (ids: string[]) => ids.map((id) => `'${id}'`).join(', ');

/** The key ids of HERO_CODEC_KEYS as the command had it (none when it does not parse). */
function keyIds(keys: ResolvedKeys | undefined): string[] {
  const spec = keys?.env.HERO_CODEC_KEYS;
  try {
    return spec ? [...parseKeyRing(spec).keys.keys()] : [];
  } catch {
    // A ring that does not parse never got this far.
    return [];
  }
}

/** "key ids 'a', 'b' from HERO_CODEC_KEYS": what this CLI has, and where it looked. */
function describeKeys(keys: ResolvedKeys | undefined): string {
  const ids = keyIds(keys);
  const where =
    keys?.source?.from === 'dev-file' ? `${keys.source.file} (HERO_CODEC_KEYS is unset)` : 'HERO_CODEC_KEYS';
  return ids.length
    ? `it has key id${ids.length === 1 ? '' : 's'} ${quoteIds(ids)}, from ${where}`
    : 'it has no keys (HERO_CODEC_KEYS is unset)';
}

/** A payload this CLI could not decrypt: a key id it lacks, or a key that does not fit. */
function undecryptableText(err: PayloadDecryptionError, keys: ResolvedKeys | undefined): string {
  if (err.keyId !== undefined && !keyIds(keys).includes(err.keyId)) {
    return (
      `the run's data is encrypted with key id '${err.keyId}', ` +
      `which this CLI does not have: ${describeKeys(keys)}. Use the HERO_CODEC_KEYS of the worker that wrote the run ` +
      `(npm run dev keeps its keys in ${DEV_KEYS_RELATIVE}, which the CLI reads itself, from that directory, ` +
      'when HERO_CODEC_KEYS is unset)'
    );
  }
  return `${err.message} (${describeKeys(keys)})`;
}

/**
 * Why a connection may have failed, from how it was made: a server that demands a client certificate
 * (mTLS) drops the handshake of a client without one, which reaches the CLI as an unreachable server.
 */
export function cannotReach(): string {
  let settings: ReturnType<typeof loadTemporalSettings> | undefined;
  try {
    settings = loadTemporalSettings(process.env);
  } catch {
    settings = undefined;
  }
  const address = settings?.address ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const head = `Cannot reach Temporal at ${address}: is the server running (npm run dev), and is TEMPORAL_ADDRESS right?`;
  const tls = settings?.tls;
  if (tls === undefined || tls === false) {
    return `${head} If the server requires TLS, set TEMPORAL_TLS_SERVER_CA_CERT_PATH, and for mTLS TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH.`;
  }
  if ((tls === true || !tls.clientCertPair) && !settings?.apiKey) {
    return `${head} The connection used TLS without a client certificate: if the server requires mTLS, set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH.`;
  }
  return `${head} The connection used TLS: check that the server's CA signed its certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH), that the name it carries is TEMPORAL_TLS_SERVER_NAME or the address's host, and that the server accepts the client certificate.`;
}
