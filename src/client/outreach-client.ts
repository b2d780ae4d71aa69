import {
  Client,
  type ClientOptions,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { fromPayloadsAtIndex, type LoadedDataConverter, type Payload } from '@temporalio/common';
import { heroDataConverter } from '../codec';
import { requireKeyRing } from '../config/encryption';
import { loadFairnessWeights } from '../config/priority';
import { loadTemporalSettings, type TemporalSettings } from '../config/temporal';
import { setupTracing } from '../observability/tracing';
import { HERO_ID } from '../shared/patterns';
import {
  checkRunPriority,
  type FairnessWeights,
  PRIORITY,
  type RunPriority,
  runTaskPriority,
} from '../shared/priority';
import { describeProblems } from '../shared/problems';
import { HERO_FLOW_STATE } from '../shared/search-attributes';
import {
  BOOKING_EVENT_WORKFLOW_TYPE,
  bookingEventWorkflowId,
  confirmVerificationUpdate,
  OUTREACH_WORKFLOW_TYPE,
  resolveReviewUpdate,
  statusQuery,
  verificationCompletedSignal,
} from '../workflows/definitions';
import type { patientOutreachWorkflow } from '../workflows/patient-outreach';
import {
  type BookingEventInput,
  bookingEventInputSchema,
  type OutreachInput,
  type OutreachRequest,
  type OutreachResult,
  type OutreachStatus,
  type ReviewResolution,
  type ReviewResolved,
  type ReviewStep,
  type VerificationAccepted,
} from '../workflows/schemas';
import {
  keyFingerprintsWithRing,
  REQUEST_FINGERPRINT_MEMO_KEY,
  requestFingerprint,
  requestFingerprints,
} from './fingerprint';
import { CampaignClient } from './campaign/client';
import { concurrencyLimit, DEFAULT_START_CONCURRENCY } from './limit';
import {
  isPreparedOutreach,
  prepareOutreach,
  prepareOutreachRequest,
  type PreparedOutreach,
  prepareReviewResolution,
} from './prepare';

export {
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  isPreparedOutreach,
  prepareOutreach,
  type PreparedOutreach,
  prepareReviewResolution,
} from './prepare';

/** The workflow ID belongs to a run that already finished; starting it again could message the patient twice. */
export class OutreachAlreadyFinishedError extends Error {
  constructor(readonly workflowId: string) {
    super(
      `A run with workflow ID ${workflowId} already finished, so it is not started again (that could message ` +
        `the patient twice). See its outcome with \`hero-flow result ${workflowId}\`; to reach the patient ` +
        'again, use a new workflow ID.',
    );
    this.name = 'OutreachAlreadyFinishedError';
  }
}

/**
 * The workflow ID is running for another request (another patient, or the same patient with other
 * settings): starting it would fold this request into that run and the patient would never be contacted.
 */
export class OutreachIdConflictError extends Error {
  constructor(readonly workflowId: string) {
    super(
      `Workflow ID ${workflowId} is already running for another request (a different patient or different ` +
        'settings), so this request was not started. Give each request its own workflow ID.',
    );
    this.name = 'OutreachIdConflictError';
  }
}

/** The run refused the review decision: it is not in review (any more), or its validator said no. */
export class ReviewRejectedError extends Error {
  constructor(
    readonly workflowId: string,
    readonly why: string,
  ) {
    super(`The run ${workflowId} did not accept the review decision: ${why}`);
    this.name = 'ReviewRejectedError';
  }
}

/** The run has finished, so it can take no decision any more (see its outcome instead). */
export class OutreachRunFinishedError extends Error {
  constructor(
    readonly workflowId: string,
    readonly status: string,
  ) {
    super(
      `The run with workflow ID ${workflowId} has already finished (${status}), so it has no review to resolve. ` +
        `See its outcome with \`hero-flow result ${workflowId}\`.`,
    );
    this.name = 'OutreachRunFinishedError';
  }
}

/** An appointment event the booking-event workflow cannot take (an unknown event, an id that is not Hero's). */
export class InvalidBookingEventError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid booking event:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidBookingEventError';
  }
}

/** A run waiting for an operator's decision, as `listReviews` reports it. No patient data. */
export interface OpenReviewListing {
  workflowId: string;
  runId: string;
  /** The step whose outcome is uncertain. */
  step?: ReviewStep;
  /** Why the run could not tell (written by the run; no patient data). */
  reason?: string;
  openedAt?: string;
  /** When an unanswered review ends the run as `needs_review_expired`. */
  deadline?: string;
  /** Set when the run's status query could not be read; the run is in review all the same. */
  error?: string;
}

/** What `startBookingEvent` did: started the event's workflow, or found it there already (a redelivery). */
export interface BookingEventStart {
  workflowId: string;
  /** The run started now; absent for a duplicate. */
  runId?: string;
  duplicate: boolean;
}

/** Status queries in flight at once while listing reviews. */
const REVIEW_QUERY_CONCURRENCY = 8;

/** A string in a visibility query: quoted, with quotes and backslashes escaped. */
const quoted = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

export interface StartedOutreach {
  workflowId: string;
  runId: string;
}

/** What a client is set up with beyond its connection. */
export interface HeroFlowClientOptions {
  /** Each practice group's weight in fairness between groups (HERO_FAIRNESS_WEIGHTS for `connect`). */
  fairnessWeights?: FairnessWeights;
}

/** How to start a run. */
export interface StartOutreachOptions {
  /** The caller's business ID for the run (refused if it carries patient data). @default derived from the request */
  workflowId?: string;
  /**
   * Its task-queue priority, 1 (first) to 4: its workflow tasks and the calls that decide the patient's
   * outcome are served in this order; bookkeeping reads come after every run's (5).
   * @default PRIORITY.single (2): ahead of campaign runs (3)
   */
  priority?: RunPriority;
}

/** One run of a batch: the request, and its business workflow ID if the caller has one. */
export interface BatchOutreach {
  request: OutreachRequest;
  workflowId?: string;
}

/** Per item of `startMany`, in the order given: started, or why not (nothing else is lost). */
export type BatchStartResult = { index: number; started: StartedOutreach } | { index: number; error: Error };

/** Closed statuses after which ALLOW_DUPLICATE_FAILED_ONLY lets the workflow ID be started again. */
const REUSABLE_CLOSED_STATUSES = new Set(['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT']);
const MAX_START_ATTEMPTS = 3;

export { DEFAULT_START_CONCURRENCY } from './limit';

/**
 * One argument of a history event, decoded as the client decodes a result: through the payload codecs
 * (last first), then the payload converter. Public SDK exports only (the SDK's own helper for this is
 * internal, @temporalio/common/lib/internal-non-workflow).
 */
async function decodeArgument(
  converter: LoadedDataConverter,
  index: number,
  payloads: Payload[] | null | undefined,
): Promise<unknown> {
  let decoded = payloads ?? [];
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return fromPayloadsAtIndex(converter.payloadConverter, index, decoded);
}

/**
 * The typed way for other services to start, signal, inspect and cancel outreach runs.
 * Requests are validated here, before anything reaches Temporal.
 */
export class HeroFlowClient {
  /**
   * @default opts.fairnessWeights {} (every practice group weighs 1)
   */
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly workflowIdSecret?: string,
    private readonly opts: HeroFlowClientOptions = {},
  ) {}

  /**
   * Connects with the Temporal CLI's env names (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
   * TLS) and encrypts payloads with the HERO_CODEC_KEYS key ring, which is required unless opted out.
   * @default env process.env; opts.insecureNoEncryption false; opts.warn writes "hero-flow: …" lines to stderr
   * @throws {ConfigError} a bad or missing setting (every problem at once; CodecConfigError for the keys).
   * @throws {Error} Temporal not reachable before the SDK's connect deadline (a gRPC ServiceError when it
   * answered but refused, e.g. UNAUTHENTICATED).
   */
  static async connect(
    env: NodeJS.ProcessEnv = process.env,
    opts: { insecureNoEncryption?: boolean; warn?: (line: string) => void } = {},
  ): Promise<HeroFlowClient> {
    const settings: TemporalSettings = loadTemporalSettings(env);
    const fairnessWeights = loadFairnessWeights(env);
    const ring = requireKeyRing(env, {
      insecure: opts.insecureNoEncryption,
      warn: opts.warn ?? ((line) => process.stderr.write(`hero-flow: ${line}\n`)),
    });
    // Only with OTEL_EXPORTER_OTLP_ENDPOINT set: the OpenTelemetry packages are optional peers.
    const tracing = setupTracing(env, 'hero-flow-client');
    const connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
      metadata: settings.metadata,
    });
    const client = new Client({
      connection,
      namespace: settings.namespace,
      dataConverter: ring ? heroDataConverter(ring) : undefined,
      ...(tracing && { interceptors: tracing.clientInterceptors as ClientOptions['interceptors'] }),
    });
    keyFingerprintsWithRing(client, ring);
    return new HeroFlowClient(client, settings.taskQueue, env.HERO_WORKFLOW_ID_SECRET || undefined, {
      fairnessWeights,
    });
  }

  /**
   * Validates a request, naming every problem; values are never echoed (they are patient data).
   * @throws {InvalidOutreachRequestError}
   */
  static validate(request: unknown): OutreachInput {
    return prepareOutreachRequest(request);
  }

  /**
   * Validates a request and derives its workflow ID with this client's HERO_WORKFLOW_ID_SECRET, once:
   * `start` and `startOrFind` take the result without parsing it again.
   * @throws {InvalidOutreachRequestError} @throws {WorkflowIdError} (see `prepareOutreach`).
   */
  prepare(request: unknown, opts: { workflowId?: string } = {}): PreparedOutreach {
    return prepareOutreach(request, { workflowId: opts.workflowId, secret: this.workflowIdSecret });
  }

  /**
   * Starts a run, or returns the one already running under the same workflow ID for the same request
   * (so a retried start, or a re-run batch, starts nothing twice). The same ID running for another
   * request is refused (OutreachIdConflictError). A workflow ID whose run has finished is refused
   * (OutreachAlreadyFinishedError) unless that run failed or was terminated: repeating a start, or a
   * whole batch, never messages a patient twice. `request` is a request (validated here) or what
   * `prepare` returned (then `opts.workflowId` is not used: the prepared ID is).
   * @throws {InvalidOutreachRequestError} @throws {WorkflowIdError} @throws {OutreachIdConflictError}
   * @throws {OutreachAlreadyFinishedError} @throws {RangeError} a priority other than 1-4.
   */
  async start(request: OutreachRequest | PreparedOutreach, opts: StartOutreachOptions = {}): Promise<StartedOutreach> {
    const { workflowId, runId } = await this.startOrFind(request, opts);
    return { workflowId, runId };
  }

  /**
   * `start`, also telling whether the run was already there (`alreadyRunning`) or started now.
   * @throws as `start`.
   */
  async startOrFind(
    request: OutreachRequest | PreparedOutreach,
    opts: StartOutreachOptions = {},
  ): Promise<StartedOutreach & { alreadyRunning: boolean }> {
    const priorityKey = checkRunPriority(opts.priority, PRIORITY.single);
    const { input, workflowId } = isPreparedOutreach(request) ? request : this.prepare(request, opts);
    const priority = runTaskPriority({
      priorityKey,
      practiceGroupId: input.practiceGroupId,
      weights: this.opts.fairnessWeights,
    });
    // A hash of the normalised request keyed by a secret, in the memo (encrypted by the payload codec like the
    // input): it tells a retry of this request from another request under the same ID, without patient data.
    const fingerprints = requestFingerprints(input, this.workflowIdSecret, this.client);
    // The run can close between a refused start and the look at it; then the start is tried again
    // (the reuse policy decides), a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      try {
        const handle = await this.client.workflow.start<typeof patientOutreachWorkflow>(OUTREACH_WORKFLOW_TYPE, {
          taskQueue: this.taskQueue,
          workflowId,
          // The parsed request (defaults filled in), not what the caller passed: what was checked is what runs.
          args: [input],
          memo: fingerprints.memo,
          priority,
          // FAIL, not USE_EXISTING: the running run is returned only once its request is known to be this one.
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
          staticSummary: `Patient outreach: ${input.message.type} with a booking link`,
          staticDetails:
            `Trace on NHS PDS via Hero, wait up to ${Math.round(input.verification.timeout / 3600_000)} h for identity ` +
            `verification (re-check every ${Math.round(input.verification.recheckEvery / 60_000)} min), then create a ` +
            `booking link (appointment type ${input.booking.appointmentTypeId}, location ${input.booking.locationId}) ` +
            `and send a ${input.message.type} message.`,
        });
        return { workflowId, runId: handle.firstExecutionRunId, alreadyRunning: false };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const existing = await this.client.workflow
        .getHandle(workflowId)
        .describe()
        .catch((err: unknown) => {
          // Gone since (retention): start again.
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      if (existing?.status.name === 'RUNNING') {
        const theirs =
          existing.memo?.[REQUEST_FINGERPRINT_MEMO_KEY] ?? (await this.#fingerprintOfInput(workflowId, existing.runId));
        if (fingerprints.matches(theirs)) return { workflowId, runId: existing.runId, alreadyRunning: true };
        throw new OutreachIdConflictError(workflowId);
      }
      // Closed: refused for good when it completed (or after a few tries); a failed or terminated run
      // that closed just now may be started again under ALLOW_DUPLICATE_FAILED_ONLY.
      if ((existing && !REUSABLE_CLOSED_STATUSES.has(existing.status.name)) || attempt >= MAX_START_ATTEMPTS) {
        throw new OutreachAlreadyFinishedError(workflowId);
      }
    }
  }

  /**
   * The fingerprint of a run started before fingerprints were stored in the memo: computed from its
   * input (the first history event), so re-running a batch across the upgrade still finds its runs.
   * Undefined when the input does not read as a request (then it is treated as another request).
   */
  async #fingerprintOfInput(workflowId: string, runId: string): Promise<string | undefined> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    });
    const payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    try {
      const input = prepareOutreachRequest(await decodeArgument(this.client.options.loadedDataConverter, 0, payloads));
      return requestFingerprint(input, this.workflowIdSecret);
    } catch {
      return undefined;
    }
  }

  /**
   * Starts a batch (a practice list), at most `concurrency` start requests at a time. An invalid or
   * refused item (a finished run, or a workflow ID running for another request) does not stop the
   * others: each result says started or why not, by position. Running the same list again returns the
   * runs already going.
   * `onResult` sees each as it happens (progress, or waiting for outcomes while the rest start).
   * @default opts.concurrency DEFAULT_START_CONCURRENCY (50); opts.priority PRIORITY.single (2), as `start`
   * @throws {RangeError} a concurrency that is not a whole number of at least 1, or a priority other than
   * 1-4 (items never throw: each
   * failure is that item's `error`).
   */
  async startMany(
    items: readonly BatchOutreach[],
    opts: { concurrency?: number; priority?: RunPriority; onResult?: (result: BatchStartResult) => void } = {},
  ): Promise<BatchStartResult[]> {
    const limit = concurrencyLimit(opts.concurrency ?? DEFAULT_START_CONCURRENCY);
    const priority = checkRunPriority(opts.priority, PRIORITY.single);
    return Promise.all(
      items.map(async (item, index) => {
        const result: BatchStartResult = await limit(() =>
          this.start(item.request, { workflowId: item.workflowId, priority }),
        ).then(
          (started) => ({ index, started }),
          (err: unknown) => ({ index, error: err instanceof Error ? err : new Error(String(err)) }),
        );
        opts.onResult?.(result);
        return result;
      }),
    );
  }

  /**
   * Tells the run the patient has verified their identity; it re-traces at once.
   * @throws {WorkflowNotFoundError} no running run of that workflow ID.
   */
  async signalVerification(workflowId: string): Promise<void> {
    await this.client.workflow.getHandle(workflowId).signal(verificationCompletedSignal, { source: 'client' });
  }

  /**
   * Like `signalVerification`, but waits for the run's answer, given once it has traced the patient
   * again: `{ accepted: true, state, retraced, found }`, where `found` is what that trace found
   * (`patient`: the run goes on to the booking link; `verification_required`: Hero still asks the
   * patient to verify, and the run keeps waiting; `patient_not_found`; or `failed` / `cancelled`) and
   * `state` the run's state after it. Rejects (WorkflowUpdateFailedError) when the run is not waiting
   * for verification. It can take as long as the trace's retries (Hero's 429s and 5xx).
   * @throws {WorkflowUpdateFailedError} the run is not waiting for verification.
   * @throws {WorkflowNotFoundError} no running run of that workflow ID (a finished run included).
   */
  async confirmVerification(workflowId: string): Promise<VerificationAccepted> {
    return this.client.workflow
      .getHandle(workflowId)
      .executeUpdate(confirmVerificationUpdate, { args: [{ source: 'client' }] });
  }

  /**
   * The runs of this task queue waiting for an operator's decision (state `needs_review`, still
   * running), each with its review's step, reason and deadline from its status query; the most urgent
   * deadline first. Visibility is eventually consistent: a run that entered review a moment ago may
   * not be listed yet. No patient data: ids, the step and the run's own reason. A run whose status
   * cannot be read is listed with `error`, not thrown.
   * @throws {Error} the visibility list itself failed (Temporal unreachable, a ServiceError).
   */
  async listReviews(): Promise<OpenReviewListing[]> {
    const query = [
      `WorkflowType = ${quoted(OUTREACH_WORKFLOW_TYPE)}`,
      `TaskQueue = ${quoted(this.taskQueue)}`,
      `${HERO_FLOW_STATE.name} = "needs_review"`,
      'ExecutionStatus = "Running"',
    ].join(' AND ');
    const found: { workflowId: string; runId: string }[] = [];
    for await (const run of this.client.workflow.list({ query })) {
      found.push({ workflowId: run.workflowId, runId: run.runId });
    }
    const limit = concurrencyLimit(REVIEW_QUERY_CONCURRENCY);
    const listed = await Promise.all(
      found.map((run) =>
        limit(async (): Promise<OpenReviewListing | undefined> => {
          let status: OutreachStatus;
          try {
            status = await this.client.workflow.getHandle(run.workflowId, run.runId).query(statusQuery);
          } catch (err) {
            return { ...run, error: `its status could not be read: ${(err as Error).message}` };
          }
          // Resolved (or ended) since the list was read.
          if (status.state !== 'needs_review') return undefined;
          const review = status.review;
          return review
            ? { ...run, step: review.step, reason: review.reason, openedAt: review.openedAt, deadline: review.deadline }
            : { ...run, error: 'its status has no review (a worker older than reviews?)' };
        }),
      ),
    );
    return listed
      .filter((r): r is OpenReviewListing => r !== undefined)
      .sort((a, b) => (a.deadline ?? '\uffff').localeCompare(b.deadline ?? '\uffff'));
  }

  /**
   * An operator's decision for a run in `needs_review` (update resolveReview): `resend` sends the message
   * again, `mark_sent` records that Hero did send it, `abandon` ends the run. Validated here first
   * (InvalidReviewResolutionError); a run not in review refuses it (ReviewRejectedError), a finished run
   * is reported as such (OutreachRunFinishedError), no run at all is WorkflowNotFoundError. A decision
   * from `prepareReviewResolution` is sent without being parsed again.
   * @throws {InvalidReviewResolutionError} @throws {ReviewRejectedError} @throws {OutreachRunFinishedError}
   * @throws {WorkflowNotFoundError}
   */
  async resolveReview(workflowId: string, resolution: ReviewResolution): Promise<ReviewResolved> {
    const decision = prepareReviewResolution(resolution);
    const handle = this.client.workflow.getHandle(workflowId);
    try {
      return await handle.executeUpdate(resolveReviewUpdate, { args: [decision] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ReviewRejectedError(workflowId, err.cause?.message ?? err.message);
      }
      // An update to a closed run is answered "not found": tell a finished run from no run at all.
      if (err instanceof WorkflowNotFoundError) {
        const described = await handle.describe().catch(() => undefined);
        if (described && described.status.name !== 'RUNNING') {
          throw new OutreachRunFinishedError(workflowId, described.status.name);
        }
      }
      throw err;
    }
  }

  /**
   * Makes one appointment webhook durable: starts the booking-event workflow for it, with a workflow ID
   * made of the event and the appointment id, so that a redelivery finds that run and starts nothing
   * (`duplicate: true`). Its answer means the event is stored by Temporal. A run of that ID that failed
   * or was terminated may be started again, so a redelivery can repair it. `timeoutMs` bounds the call
   * (Temporal unreachable: it fails after that long). `delivery` (hex; the receiver's hash of what Hero
   * signed) joins the ID, so only the same delivery is a duplicate (src/webhooks/receiver.ts).
   * @default opts.timeoutMs none: the SDK's own deadlines apply
   * @throws {InvalidBookingEventError} an unknown event, or an appointment id that is not Hero's.
   */
  async startBookingEvent(
    input: BookingEventInput,
    opts: { timeoutMs?: number; delivery?: string } = {},
  ): Promise<BookingEventStart> {
    const parsed = bookingEventInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new InvalidBookingEventError(describeProblems(parsed.error, '(event)', bookingEventInputSchema));
    }
    const { event, appointmentId } = parsed.data;
    if (!HERO_ID.test(appointmentId)) {
      throw new InvalidBookingEventError(["appointmentId: must be 1 to 64 letters, digits, '-' or '_'"]);
    }
    const workflowId = bookingEventWorkflowId(
      event,
      appointmentId,
      opts.delivery?.replace(/[^0-9a-f]/gi, '').slice(0, 64) || undefined,
    );
    const start = () =>
      this.client.workflow.start(BOOKING_EVENT_WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [parsed.data],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        // A patient's own act (a booking stops the reminders): served as a single run, ahead of campaigns.
        priority: { priorityKey: PRIORITY.single },
        staticSummary: `Hero webhook ${event}`,
      });
    try {
      const handle = opts.timeoutMs
        ? await this.client.withDeadline(Date.now() + opts.timeoutMs, start)
        : await start();
      return { workflowId, runId: handle.firstExecutionRunId, duplicate: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, duplicate: true };
      throw err;
    }
  }

  /**
   * The run's state (its status query): what a person following it needs, including the login URL while
   * it waits for verification.
   * @throws {WorkflowNotFoundError} no run of that workflow ID (a closed run is still answered, until
   * retention removes it).
   */
  async status(workflowId: string): Promise<OutreachStatus> {
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
  }

  /**
   * Waits for the run's outcome (every ended state is an outcome, `cancelled` included).
   * @throws {WorkflowFailedError} the run failed (its cause is the workflow's failure).
   * @throws {WorkflowNotFoundError} no run of that workflow ID.
   */
  async result(workflowId: string): Promise<OutreachResult> {
    return this.client.workflow.getHandle<typeof patientOutreachWorkflow>(workflowId).result();
  }

  /**
   * Requests cancellation: the run aborts any Hero request in flight and ends `cancelled`.
   * @throws {WorkflowNotFoundError} no running run of that workflow ID.
   */
  async cancel(workflowId: string): Promise<void> {
    await this.client.workflow.getHandle(workflowId).cancel();
  }

  /** The campaign commands (`hero-flow campaign …`), on this client's connection, task queue and keys. */
  campaigns(): CampaignClient {
    return new CampaignClient(this.client, this.taskQueue, this.workflowIdSecret, this.opts);
  }

  /** Closes the connection this client made (`connect`); a client built on another's connection closes it too. */
  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
