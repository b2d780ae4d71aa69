import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import { heroDataConverter } from '../codec';
import { requireKeyRing } from '../config/encryption';
import { loadTemporalSettings, type TemporalSettings } from '../config/temporal';
import { confirmVerificationUpdate, statusQuery, verificationCompletedSignal } from '../workflows/definitions';
import type { patientOutreachWorkflow } from '../workflows/patient-outreach';
import {
  type OutreachInput,
  type OutreachRequest,
  type OutreachResult,
  type OutreachStatus,
  outreachInputSchema,
  type VerificationAccepted,
} from '../workflows/schemas';
import { concurrencyLimit } from './limit';
import { outreachWorkflowId } from './workflow-id';

export class InvalidOutreachRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid outreach request:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidOutreachRequestError';
  }
}

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

export interface StartedOutreach {
  workflowId: string;
  runId: string;
}

/** One run of a batch: the request, and its business workflow ID if the caller has one. */
export interface BatchOutreach {
  request: OutreachRequest;
  workflowId?: string;
}

/** Per item of `startMany`, in the order given: started, or why not (nothing else is lost). */
export type BatchStartResult = { index: number; started: StartedOutreach } | { index: number; error: Error };

/** Start requests in flight at once by default: measured in BENCHMARKS.md (1,000 runs at 20 calls/s). */
export const DEFAULT_START_CONCURRENCY = 50;

/**
 * The typed way for other services to start, signal, inspect and cancel outreach runs.
 * Requests are validated here, before anything reaches Temporal.
 */
export class HeroFlowClient {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly workflowIdSecret?: string,
  ) {}

  /**
   * Connects with the Temporal CLI's env names (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
   * TLS) and encrypts payloads with the HERO_CODEC_KEYS key ring, which is required unless opted out.
   */
  static async connect(
    env: NodeJS.ProcessEnv = process.env,
    opts: { insecureNoEncryption?: boolean; warn?: (line: string) => void } = {},
  ): Promise<HeroFlowClient> {
    const settings: TemporalSettings = loadTemporalSettings(env);
    const ring = requireKeyRing(env, {
      insecure: opts.insecureNoEncryption,
      warn: opts.warn ?? ((line) => process.stderr.write(`hero-flow: ${line}\n`)),
    });
    const connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
    });
    const client = new Client({
      connection,
      namespace: settings.namespace,
      dataConverter: ring ? heroDataConverter(ring) : undefined,
    });
    return new HeroFlowClient(client, settings.taskQueue, env.HERO_WORKFLOW_ID_SECRET || undefined);
  }

  /** Validates a request, naming every problem; values are never echoed (they are patient data). */
  static validate(request: unknown): OutreachInput {
    const parsed = outreachInputSchema.safeParse(request);
    if (!parsed.success) {
      throw new InvalidOutreachRequestError(
        parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`),
      );
    }
    return parsed.data;
  }

  /**
   * Starts a run, or returns the one already running under the same workflow ID. A workflow ID whose
   * run has finished is refused (OutreachAlreadyFinishedError) unless that run failed or was
   * terminated: repeating a start, or a whole batch, never messages a patient twice.
   */
  async start(request: OutreachRequest, opts: { workflowId?: string } = {}): Promise<StartedOutreach> {
    const input = HeroFlowClient.validate(request);
    const workflowId = outreachWorkflowId(input, { businessId: opts.workflowId, secret: this.workflowIdSecret });
    const handle = await this.client.workflow
      .start<typeof patientOutreachWorkflow>('patientOutreachWorkflow', {
        taskQueue: this.taskQueue,
        workflowId,
        args: [request],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Patient outreach: ${input.message.type} with a booking link`,
        staticDetails:
          `Trace on NHS PDS via Hero, wait up to ${Math.round(input.verification.timeout / 3600_000)} h for identity ` +
          `verification (re-check every ${Math.round(input.verification.recheckEvery / 60_000)} min), then create a ` +
          `booking link (appointment type ${input.booking.appointmentTypeId}, location ${input.booking.locationId}) ` +
          `and send a ${input.message.type} message.`,
      })
      .catch((err: unknown) => {
        throw err instanceof WorkflowExecutionAlreadyStartedError ? new OutreachAlreadyFinishedError(workflowId) : err;
      });
    return { workflowId, runId: handle.firstExecutionRunId };
  }

  /**
   * Starts a batch (a practice list), at most `concurrency` start requests at a time. An invalid or
   * refused item does not stop the others: each result says started or why not, by position.
   * `onResult` sees each as it happens (progress, or waiting for outcomes while the rest start).
   */
  async startMany(
    items: readonly BatchOutreach[],
    opts: { concurrency?: number; onResult?: (result: BatchStartResult) => void } = {},
  ): Promise<BatchStartResult[]> {
    const limit = concurrencyLimit(opts.concurrency ?? DEFAULT_START_CONCURRENCY);
    return Promise.all(
      items.map(async (item, index) => {
        const result: BatchStartResult = await limit(() =>
          this.start(item.request, { workflowId: item.workflowId }),
        ).then(
          (started) => ({ index, started }),
          (err: unknown) => ({ index, error: err instanceof Error ? err : new Error(String(err)) }),
        );
        opts.onResult?.(result);
        return result;
      }),
    );
  }

  /** Tells the run the patient has verified their identity; it re-traces at once. */
  async signalVerification(workflowId: string): Promise<void> {
    await this.client.workflow.getHandle(workflowId).signal(verificationCompletedSignal, { source: 'client' });
  }

  /**
   * Like `signalVerification`, but waits for the run's answer: resolves with its state when accepted,
   * rejects (WorkflowUpdateFailedError) when the run is not waiting for verification.
   */
  async confirmVerification(workflowId: string): Promise<VerificationAccepted> {
    return this.client.workflow
      .getHandle(workflowId)
      .executeUpdate(confirmVerificationUpdate, { args: [{ source: 'client' }] });
  }

  async status(workflowId: string): Promise<OutreachStatus> {
    return this.client.workflow.getHandle(workflowId).query(statusQuery);
  }

  /** Waits for the run's outcome; a failed run rejects with the workflow's failure. */
  async result(workflowId: string): Promise<OutreachResult> {
    return this.client.workflow.getHandle<typeof patientOutreachWorkflow>(workflowId).result();
  }

  async cancel(workflowId: string): Promise<void> {
    await this.client.workflow.getHandle(workflowId).cancel();
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }
}
