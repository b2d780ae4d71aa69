import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowExecutionInfo,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { fromPayloadsAtIndex } from '@temporalio/common';
import {
  CAMPAIGN_PAGE_WORKFLOW_TYPE,
  CAMPAIGN_WORKFLOW_TYPE,
  type CampaignGate,
  campaignIdSchema,
  campaignOfWorkflowId,
  campaignPageWorkflowId,
  campaignWorkflowId,
  practiceGroupIdSchema,
} from '../../shared/campaign-ids';
import { parseDuration } from '../../shared/duration';
import {
  type FairnessWeights,
  PRIORITY,
  type RunPriority,
  runPrioritySchema,
  runTaskPriority,
} from '../../shared/priority';
import { describeProblems } from '../../shared/problems';
import {
  HERO_BOOKED_AT,
  HERO_CAMPAIGN_ID,
  HERO_DELIVERY_STATUS,
  HERO_FLOW_STATE,
  HERO_REMINDERS_SENT,
  HERO_REVIEW,
} from '../../shared/search-attributes';
import {
  CAMPAIGN_DEFAULT_SEND_WINDOW,
  nextOpening,
  type SendWindowInput,
  acceptedSendWindowSchema,
  sendWindowSchema,
} from '../../shared/send-window';
import {
  campaignGateQuery,
  campaignStateQuery,
  cancelCampaignUpdate,
  completeListUpdate,
  pageRecordsQuery,
  pauseCampaignSignal,
  registerListUpdate,
  resumeCampaignUpdate,
} from '../../workflows/campaign-definitions';
import type {
  CampaignInput,
  CampaignState,
  CancelCampaign,
  PageInput,
  PageRecordsAnswer,
} from '../../workflows/campaign-schemas';
import { OUTREACH_WORKFLOW_TYPE } from '../../workflows/definitions';
import { outreachStateSchema } from '../../workflows/schemas';
import { canonicalJson, ringFingerprintKey } from '../fingerprint';
import { concurrencyLimit } from '../limit';
import {
  CampaignFileError,
  type DuplicateLine,
  type InvalidLine,
  prepareCampaignList,
  type PreparedCampaignList,
} from './list';
import type { ReportRow } from './report';

/**
 * Campaigns: a practice list handed over to Temporal once (a campaign workflow and page workflows that
 * hold every record durably and start their runs), then followed, paused, resumed, cancelled and reported
 * on. The library's side of `hero-flow campaign …`.
 */

/** Page workflows started at once during a hand-off. */
export const PAGE_START_CONCURRENCY = 8;
/**
 * A page's workflow task timeout (Temporal's default is 10 s). A page evicted from a busy worker's cache
 * replays its whole history on its next task: for 500 records, 2.6 s on an idle core (1,569 events) and
 * 9.8 s spread (7,012 events). Under load that passed 10 s, so each task timed out, was retried and
 * replayed again, and the page started nothing more (bench:load, scale 0.25, cache 25).
 */
export const PAGE_WORKFLOW_TASK_TIMEOUT = '60 seconds';
/** Runs cancelled at once by `cancel`. */
export const RUN_CANCEL_CONCURRENCY = 16;
/** Workflow IDs per visibility list while reporting (the query names each). */
const REPORT_LIST_CHUNK = 100;
/** The longest spread: a year is past any recall. */
const MAX_SPREAD_MS = 366 * 24 * 3600_000;

/** Options of a campaign that do not validate (an ID, the sending hours, the spread): values never echoed. */
export class InvalidCampaignOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid campaign options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidCampaignOptionsError';
  }
}

/** Neither HERO_WORKFLOW_ID_SECRET nor payload keys: patients cannot be keyed, so nothing is started. */
export class CampaignKeyError extends Error {
  constructor() {
    super(
      "a campaign needs a key for its patients' run IDs: set HERO_WORKFLOW_ID_SECRET, or HERO_CODEC_KEYS (the " +
        'payload keys, from which one is derived); neither is set, so nothing was started',
    );
    this.name = 'CampaignKeyError';
  }
}

/** The campaign refused the list (another list is there and `append` was not given, or it is cancelled). */
export class CampaignListRefusedError extends Error {
  constructor(
    readonly campaignId: string,
    why: string,
  ) {
    super(why);
    this.name = 'CampaignListRefusedError';
  }
}

/** The campaign exists with other settings than the ones given: the list is not handed over under them. */
export class CampaignSettingsConflictError extends Error {
  constructor(
    readonly campaignId: string,
    fields: string[],
  ) {
    super(
      `campaign ${campaignId} already exists with other ${fields.join(', ')}; give the same ones as when it ` +
        'was started (see `hero-flow campaign status`), or choose another --campaign-id',
    );
    this.name = 'CampaignSettingsConflictError';
  }
}

/** No campaign of that ID (or one that has closed, for commands that need it running). */
export class CampaignNotFoundError extends Error {
  constructor(
    readonly campaignId: string,
    detail = 'no campaign of that ID',
  ) {
    super(`campaign ${campaignId}: ${detail}`);
    this.name = 'CampaignNotFoundError';
  }
}

/** A campaign's settings: given once at its start. */
export interface CampaignSettings {
  campaignId: string;
  /** The practice group its runs call Hero for. @default the worker's HERO_PRACTICE_GROUP_ID */
  practiceGroupId?: string;
  /** Sending hours; null: none. @default CAMPAIGN_DEFAULT_SEND_WINDOW (08:00-18:00 mon-fri Europe/London) */
  sendWindow?: SendWindowInput | null;
  /** Stagger first messages over this much sending time: "3d", "36 hours" or ms. */
  spreadOver?: string | number;
  /**
   * Task-queue priority of the campaign's runs, 1 (first) to 4; runs started on their own are 2.
   * @default PRIORITY.campaign (3)
   */
  priority?: RunPriority;
}

export interface StartCampaignOptions extends CampaignSettings {
  /** The list: JSON Lines of {"recordId", "request"} (a file stream, stdin, or any bytes). */
  list: AsyncIterable<Buffer>;
  /** The request's shared part, merged under each line's. */
  template?: unknown;
  /** Add this list to a campaign that already holds another. @default false */
  append?: boolean;
  /** Called as the hand-off goes: 'read' (the list is validated), then after each page started. */
  onProgress?: (event: { step: 'read' | 'registered' | 'page'; pagesStarted?: number; pages: number }) => void;
}

/** What a hand-off did. */
export interface CampaignHandOff {
  campaignId: string;
  workflowId: string;
  /** 'same': this very list was handed over before; nothing was added. */
  outcome: 'new' | 'same';
  alreadyHandedOver: boolean;
  lines: number;
  records: number;
  pages: number;
  firstPage: number;
  startIndex: number;
  invalid: InvalidLine[];
  duplicates: DuplicateLine[];
  /** Seconds from the first line read to the campaign's answer that the list is complete. */
  seconds: number;
}

/** `status`: the campaign's own counts, its runs' counts from visibility, and its sending hours. */
export interface CampaignStatus {
  campaignId: string;
  workflowId: string;
  /** The campaign workflow: Running, or how it closed. */
  campaignStatus: string;
  createdAt: string;
  practiceGroupId?: string;
  /** Records handed over (patient duplicates included). */
  total: number;
  duplicates: number;
  invalid: number;
  pages: number;
  pagesDone: number;
  handedOver: boolean;
  /** Runs started (visibility, which may lag a second behind). */
  started: number;
  running: number;
  finished: number;
  byState: Record<string, number>;
  /** The states runs end in, among the finished. */
  byOutcome: Record<string, number>;
  byExecutionStatus: Record<string, number>;
  paused: false | { reason?: string; by: string; at: string };
  cancelled: false | { at: string; reason?: string };
  /** The sending hours (null: no restriction). */
  sendWindow: SendWindowInput | null;
  /** Now when sending hours are open (or there are none), else when they next open. */
  nextSendingWindow: string;
  sendingNow: boolean;
  spreadOver?: number;
  spreadStart?: string;
}

/** A campaign in `list`. */
export interface CampaignListing {
  campaignId: string;
  workflowId: string;
  campaignStatus: string;
  startedAt?: string;
  total?: number;
  pages?: number;
  pagesDone?: number;
  started?: number;
  finished?: number;
  paused?: boolean;
  cancelled?: boolean;
  /** Set when the campaign's state could not be read. */
  error?: string;
}

/** What `cancel` did. */
export interface CampaignCancelled {
  campaignId: string;
  state: CampaignState;
  /** Runs asked to cancel (booked runs are left as they are). */
  runsCancelled: number;
  /** Runs still running after `timeoutMs` (none when it finished). */
  remaining: number;
}

const TERMINAL_STATES = new Set([
  'completed',
  'verification_expired',
  'patient_not_found',
  'cancelled',
  'failed',
  'booked',
  'not_booked',
  'needs_review_expired',
  'abandoned',
]);

/** A string in a visibility query: quoted, with quotes and backslashes escaped. */
const quoted = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Validates a campaign's settings, naming every problem.
 * @throws {InvalidCampaignOptionsError}
 */
export function checkCampaignSettings(settings: CampaignSettings): {
  campaignId: string;
  practiceGroupId?: string;
  sendWindow?: SendWindowInput | null;
  spreadOver?: number;
  priorityKey: RunPriority;
} {
  const problems: string[] = [];
  const id = campaignIdSchema.safeParse(settings.campaignId);
  if (!id.success) problems.push(...describeProblems(id.error, 'campaignId'));
  let practiceGroupId: string | undefined;
  if (settings.practiceGroupId !== undefined) {
    const pg = practiceGroupIdSchema.safeParse(settings.practiceGroupId);
    if (pg.success) practiceGroupId = pg.data;
    else problems.push(...describeProblems(pg.error, 'practiceGroupId'));
  }
  let sendWindow: SendWindowInput | null | undefined;
  if (settings.sendWindow !== undefined && settings.sendWindow !== null) {
    const w = sendWindowSchema.safeParse(settings.sendWindow);
    if (w.success) sendWindow = { between: w.data.between, days: w.data.days, timezone: w.data.timezone };
    else {
      problems.push(
        ...describeProblems(w.error, 'sendWindow', sendWindowSchema).map((p) =>
          p.startsWith('sendWindow') ? p : `sendWindow.${p}`,
        ),
      );
    }
  } else sendWindow = settings.sendWindow;
  let spreadOver: number | undefined;
  if (settings.spreadOver !== undefined) {
    const ms = parseDuration(settings.spreadOver);
    if (!Number.isFinite(ms) || ms < 1000 || ms > MAX_SPREAD_MS) {
      problems.push('spreadOver: must be a duration from 1 s to 366 days, e.g. "3d" or "36 hours"');
    } else spreadOver = Math.round(ms);
  }
  let priorityKey: RunPriority = PRIORITY.campaign;
  if (settings.priority !== undefined) {
    const p = runPrioritySchema.safeParse(settings.priority);
    if (p.success) priorityKey = p.data;
    else problems.push(...describeProblems(p.error, 'priority'));
  }
  if (problems.length || !id.success) throw new InvalidCampaignOptionsError(problems);
  return { campaignId: id.data, practiceGroupId, sendWindow, spreadOver, priorityKey };
}

/** The key of a campaign's patient keys and list fingerprints: HERO_WORKFLOW_ID_SECRET, else one derived from the payload keys. */
export function campaignKey(client: object, secret: string | undefined): string | Buffer {
  const key = secret || ringFingerprintKey(client);
  if (!key) throw new CampaignKeyError();
  return key;
}

/** The typed way to run campaigns: hand-off, status, list, pause, resume, cancel, report. */
export class CampaignClient {
  /** @default opts.fairnessWeights {} (every practice group weighs 1) */
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly workflowIdSecret?: string,
    private readonly opts: { fairnessWeights?: FairnessWeights } = {},
  ) {}

  #priority(settings: { priorityKey: RunPriority; practiceGroupId?: string }) {
    return runTaskPriority({ ...settings, weights: this.opts.fairnessWeights });
  }

  #handle(campaignId: string) {
    return this.client.workflow.getHandle(campaignWorkflowId(campaignId));
  }

  /**
   * Hands a list over: validates every line (bad lines and duplicates are reported, never their values,
   * and left out), starts the campaign workflow (or finds it), registers the list, starts its page
   * workflows (8 at a time; each holds its records durably and starts their runs) and returns once the
   * campaign has answered that the list is complete. From then on the caller may go: every record is
   * processed once. The same list again adds nothing (`alreadyHandedOver`); another list is refused
   * unless `append`. A re-run after a crash starts only the pages that are missing or failed.
   * @throws {InvalidCampaignOptionsError} @throws {CampaignFileError} no line, no valid record, or an
   * unusable template (nothing started). @throws {CampaignKeyError} @throws {CampaignSettingsConflictError}
   * @throws {CampaignListRefusedError}
   */
  async start(opts: StartCampaignOptions): Promise<CampaignHandOff> {
    const began = performance.now();
    const settings = checkCampaignSettings(opts);
    const { campaignId } = settings;
    const key = campaignKey(this.client, this.workflowIdSecret);
    const list = await prepareCampaignList(opts.list, {
      campaignId,
      key,
      template: opts.template,
      sendWindow: settings.sendWindow,
      practiceGroupId: settings.practiceGroupId,
    });
    opts.onProgress?.({ step: 'read', pages: list.pages.length });
    if (list.records === 0) {
      throw new CampaignFileError(
        `no line of the list is a valid record (${list.invalid.length} invalid, ${list.duplicates.length} duplicate), so nothing was started`,
      );
    }
    const workflowId = campaignWorkflowId(campaignId);
    const input: CampaignInput = {
      campaignId,
      ...(settings.practiceGroupId !== undefined && { practiceGroupId: settings.practiceGroupId }),
      ...(settings.sendWindow !== undefined && { sendWindow: settings.sendWindow }),
      ...(settings.spreadOver !== undefined && { spreadOver: settings.spreadOver }),
      createdAt: new Date().toISOString(),
    };
    const searchAttributes = [{ key: HERO_CAMPAIGN_ID, value: campaignId }];
    try {
      await this.client.workflow.start(CAMPAIGN_WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        // Running: this campaign (a re-run, or another list). Closed: never a second campaign of the same ID.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: searchAttributes,
        priority: this.#priority({ ...settings, priorityKey: PRIORITY.campaignControl }),
        staticSummary: `Campaign ${campaignId}`,
        staticDetails: 'A practice list handed over as pages; its runs carry HeroCampaignId.',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CampaignListRefusedError(
          campaignId,
          `campaign ${campaignId} has ended (cancelled, or done), so it takes no list; choose another --campaign-id`,
        );
      }
      throw err;
    }
    const handle = this.#handle(campaignId);
    // A campaign that was there already keeps its settings: a list is not handed over under others.
    // Read from its first event, not its state query: no worker needed, and no query timeout while a
    // busy worker is slow to take the campaign's first task.
    const state = (await this.#startedInput(workflowId)) ?? input;
    const differ = (
      [
        ['practice group', state.practiceGroupId, settings.practiceGroupId],
        ['sending hours', state.sendWindow, settings.sendWindow],
        ['spread', state.spreadOver, settings.spreadOver],
      ] as const
    )
      .filter(([, theirs, ours]) => canonicalJson(theirs ?? null) !== canonicalJson(ours ?? null))
      .map(([name]) => name);
    if (differ.length) throw new CampaignSettingsConflictError(campaignId, differ);

    let answer;
    try {
      answer = await handle.executeUpdate(registerListUpdate, {
        args: [
          {
            fingerprint: list.fingerprint!,
            records: list.records,
            duplicates: list.duplicates.length,
            invalid: list.invalid.length,
            pages: list.pages.length,
            append: opts.append ?? false,
          },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CampaignListRefusedError(campaignId, err.cause?.message ?? err.message);
      }
      throw err;
    }
    opts.onProgress?.({ step: 'registered', pages: list.pages.length });
    await this.#startPages(settings, list, answer, (n) =>
      opts.onProgress?.({ step: 'page', pagesStarted: n, pages: list.pages.length }),
    );
    try {
      await handle.executeUpdate(completeListUpdate, { args: [{ fingerprint: list.fingerprint! }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new Error(
          `campaign ${campaignId} did not take the end of the hand-off (its pages are all started; run the same ` +
            `command again to finish it): ${err.cause?.message ?? err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    return {
      campaignId,
      workflowId,
      outcome: answer.outcome,
      alreadyHandedOver: answer.outcome === 'same',
      lines: list.lines,
      records: list.records,
      pages: list.pages.length,
      firstPage: answer.firstPage,
      startIndex: answer.startIndex,
      invalid: list.invalid,
      duplicates: list.duplicates,
      seconds: Math.round(performance.now() - began) / 1000,
    };
  }

  /** The input the campaign's current run started with (its first history event), decoded. */
  async #startedInput(workflowId: string): Promise<CampaignInput | undefined> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    let payloads = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const converter = this.client.options.loadedDataConverter;
    for (const codec of [...converter.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    return payloads.length ? fromPayloadsAtIndex<CampaignInput>(converter.payloadConverter, 0, payloads) : undefined;
  }

  /** Starts every page of the list that is not there yet, or that failed (a completed page is never started again). */
  async #startPages(
    settings: ReturnType<typeof checkCampaignSettings>,
    list: PreparedCampaignList,
    answer: { firstPage: number; startIndex: number; spreadStart?: number },
    onPage: (started: number) => void,
  ): Promise<void> {
    const limit = concurrencyLimit(PAGE_START_CONCURRENCY);
    const window = settings.sendWindow === undefined ? CAMPAIGN_DEFAULT_SEND_WINDOW : settings.sendWindow;
    const total = answer.startIndex + list.records;
    let offset = 0;
    let started = 0;
    const pages = list.pages.map((records) => {
      const startIndex = answer.startIndex + offset;
      offset += records.length;
      return { records, startIndex };
    });
    await Promise.all(
      pages.map(({ records, startIndex }, i) =>
        limit(async () => {
          const page = answer.firstPage + i;
          const input: PageInput = {
            campaignId: settings.campaignId,
            page,
            startIndex,
            total,
            ...(settings.practiceGroupId !== undefined && { practiceGroupId: settings.practiceGroupId }),
            // The effective window (the campaign default when none was given): a page without one spreads
            // over the clock and lets its runs send at any hour.
            ...(window && { sendWindow: window }),
            ...(settings.spreadOver !== undefined && { spreadOver: settings.spreadOver }),
            ...(answer.spreadStart !== undefined && { spreadStart: answer.spreadStart }),
            runPriority: settings.priorityKey,
            records,
          };
          try {
            await this.client.workflow.start(CAMPAIGN_PAGE_WORKFLOW_TYPE, {
              taskQueue: this.taskQueue,
              workflowId: campaignPageWorkflowId(settings.campaignId, page),
              args: [input],
              workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
              // A page that completed did its work; one that failed or was terminated (refused by an older
              // worker, say) is started again: its runs that started already are found, not repeated.
              workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
              workflowTaskTimeout: PAGE_WORKFLOW_TASK_TIMEOUT,
              typedSearchAttributes: [{ key: HERO_CAMPAIGN_ID, value: settings.campaignId }],
              // Ahead of its runs, so that starting them never queues behind their tasks; the runs (its
              // children) get the campaign's key with the page's practice-group fairness (runPriority).
              priority: this.#priority({ ...settings, priorityKey: PRIORITY.campaignControl }),
              staticSummary: `Campaign ${settings.campaignId}, page ${page}: ${records.length} records`,
            });
          } catch (err) {
            // Completed: the page did its work before (a re-run of the hand-off).
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          }
          onPage(++started);
        }),
      ),
    );
  }

  /** The campaign's state query, or CampaignNotFoundError. */
  async state(campaignId: string): Promise<CampaignState> {
    try {
      return await this.#handle(campaignId).query(campaignStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new CampaignNotFoundError(campaignId);
      throw err;
    }
  }

  /**
   * The campaign's progress: its own state and its runs' counts (by state, by outcome, by execution
   * status; Temporal's visibility, which may lag a second), all asked at once, and its next sending window.
   * @throws {CampaignNotFoundError}
   */
  async status(campaignId: string, now = Date.now()): Promise<CampaignStatus> {
    const base = `${HERO_CAMPAIGN_ID.name} = ${quoted(campaignId)} AND WorkflowType = ${quoted(OUTREACH_WORKFLOW_TYPE)}`;
    const states = outreachStateSchema.options;
    const [state, described, byStatus, ...perState] = await Promise.all([
      this.state(campaignId),
      this.#handle(campaignId)
        .describe()
        .catch((err: unknown) => {
          throw err instanceof WorkflowNotFoundError ? new CampaignNotFoundError(campaignId) : err;
        }),
      this.client.workflow.count(`${base} GROUP BY ExecutionStatus`),
      ...states.map((s) => this.client.workflow.count(`${base} AND ${HERO_FLOW_STATE.name} = ${quoted(s)}`)),
    ]);
    const byExecutionStatus: Record<string, number> = {};
    for (const g of byStatus.groups) byExecutionStatus[String(g.groupValues[0])] = g.count;
    const byState: Record<string, number> = {};
    const byOutcome: Record<string, number> = {};
    states.forEach((s, i) => {
      const n = perState[i]!.count;
      if (!n) return;
      byState[s] = n;
      if (TERMINAL_STATES.has(s)) byOutcome[s] = n;
    });
    const running = byExecutionStatus.Running ?? 0;
    const window =
      state.sendWindow === null ? null : ((state.sendWindow ?? CAMPAIGN_DEFAULT_SEND_WINDOW) as SendWindowInput);
    // Read back from the campaign as it was accepted (acceptedSendWindowSchema), not validated anew.
    const next = nextOpening(now, window ? acceptedSendWindowSchema.parse(window) : undefined);
    return {
      campaignId,
      workflowId: campaignWorkflowId(campaignId),
      campaignStatus: described.status.name,
      createdAt: state.createdAt,
      ...(state.practiceGroupId !== undefined && { practiceGroupId: state.practiceGroupId }),
      total: state.records,
      duplicates: state.duplicates,
      invalid: state.invalid,
      pages: state.pages,
      pagesDone: state.pagesDone,
      handedOver: state.handedOver,
      started: byStatus.count,
      running,
      finished: byStatus.count - running,
      byState,
      byOutcome,
      byExecutionStatus,
      paused: state.paused ?? false,
      cancelled: state.cancelled ?? false,
      sendWindow: window,
      nextSendingWindow: new Date(next).toISOString(),
      sendingNow: next <= now,
      ...(state.spreadOver !== undefined && { spreadOver: state.spreadOver }),
      ...(state.spreadStart !== undefined && { spreadStart: new Date(state.spreadStart).toISOString() }),
    };
  }

  /**
   * Every campaign of the namespace (newest first), each with its counts (its state query, and its runs'
   * count by execution status). A campaign whose state cannot be read is listed with `error`.
   */
  async list(): Promise<CampaignListing[]> {
    const found: WorkflowExecutionInfo[] = [];
    for await (const wf of this.client.workflow.list({ query: `WorkflowType = ${quoted(CAMPAIGN_WORKFLOW_TYPE)}` })) {
      found.push(wf);
    }
    // Continued-as-new runs are listed once each; keep the newest per campaign.
    const latest = new Map<string, WorkflowExecutionInfo>();
    for (const wf of found) {
      const seen = latest.get(wf.workflowId);
      if (!seen || seen.startTime < wf.startTime) latest.set(wf.workflowId, wf);
    }
    const limit = concurrencyLimit(8);
    return Promise.all(
      [...latest.values()].map((wf) =>
        limit(async (): Promise<CampaignListing> => {
          const campaignId = campaignOfWorkflowId(wf.workflowId) ?? wf.workflowId;
          const out: CampaignListing = {
            campaignId,
            workflowId: wf.workflowId,
            campaignStatus: wf.status.name,
            startedAt: wf.startTime.toISOString(),
          };
          try {
            const base = `${HERO_CAMPAIGN_ID.name} = ${quoted(campaignId)} AND WorkflowType = ${quoted(OUTREACH_WORKFLOW_TYPE)}`;
            const [state, counts] = await Promise.all([
              this.client.workflow.getHandle(wf.workflowId).query(campaignStateQuery),
              this.client.workflow.count(`${base} GROUP BY ExecutionStatus`),
            ]);
            const running = counts.groups.find((g) => String(g.groupValues[0]) === 'Running')?.count ?? 0;
            Object.assign(out, {
              total: state.records,
              pages: state.pages,
              pagesDone: state.pagesDone,
              started: counts.count,
              finished: counts.count - running,
              paused: !!state.paused,
              cancelled: !!state.cancelled,
            });
          } catch (err) {
            out.error = `its state could not be read: ${(err as Error).message}`;
          }
          return out;
        }),
      ),
    );
  }

  /**
   * Pauses the campaign: no new Hero call for its runs (workers check its gate) and no new run started.
   * Resolves once the campaign's gate says paused.
   * @default timeoutMs 10000
   * @throws {CampaignNotFoundError} no running campaign of that ID. @throws {Error} not paused in time.
   */
  async pause(campaignId: string, opts: { reason?: string; timeoutMs?: number } = {}): Promise<CampaignGate> {
    const handle = this.#handle(campaignId);
    try {
      await handle.signal(pauseCampaignSignal, {
        ...(opts.reason !== undefined && { reason: opts.reason }),
        by: 'operator',
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await this.#notRunning(campaignId);
      throw err;
    }
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const gate = await handle.query(campaignGateQuery);
      if (gate.paused || gate.cancelled) return gate;
      if (Date.now() > deadline)
        throw new Error(`campaign ${campaignId} did not report paused within ${opts.timeoutMs ?? 10_000} ms`);
      await sleep(100);
    }
  }

  /**
   * Resumes a paused campaign; answers its state.
   * @throws {CampaignNotFoundError} @throws {CampaignListRefusedError} the campaign refused (e.g. cancelled).
   */
  async resume(campaignId: string): Promise<CampaignState> {
    return this.#update(campaignId, () => this.#handle(campaignId).executeUpdate(resumeCampaignUpdate));
  }

  /** No running campaign: one that has ended says how, else there is none. */
  async #notRunning(campaignId: string): Promise<CampaignNotFoundError> {
    const described = await this.#handle(campaignId)
      .describe()
      .catch(() => undefined);
    return new CampaignNotFoundError(
      campaignId,
      described ? `it has ended (${described.status.name.toLowerCase()})` : 'no campaign of that ID',
    );
  }

  async #update<T>(campaignId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw await this.#notRunning(campaignId);
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CampaignListRefusedError(
          campaignId,
          `campaign ${campaignId} refused it: ${err.cause?.message ?? err.message}`,
        );
      }
      throw err;
    }
  }

  /**
   * Cancels the campaign (its pages start no more runs), then every run of it still running that has not
   * booked, 16 at a time, listing again until none is left (or `timeoutMs` has passed: `remaining` says
   * how many). Each run ends `cancelled`; a booked patient's run is not touched.
   * @default opts.timeoutMs 120000
   * @throws {CampaignNotFoundError}
   */
  async cancel(campaignId: string, opts: { reason?: string; timeoutMs?: number } = {}): Promise<CampaignCancelled> {
    const state = await this.#update(campaignId, () =>
      // By name: the definition's optional argument does not fit executeUpdate's overloads.
      this.#handle(campaignId).executeUpdate<CampaignState, [CancelCampaign]>(cancelCampaignUpdate.name, {
        args: [opts.reason !== undefined ? { reason: opts.reason } : {}],
      }),
    );
    const query = [
      `${HERO_CAMPAIGN_ID.name} = ${quoted(campaignId)}`,
      `WorkflowType = ${quoted(OUTREACH_WORKFLOW_TYPE)}`,
      'ExecutionStatus = "Running"',
      `${HERO_FLOW_STATE.name} != "booked"`,
    ].join(' AND ');
    const requested = new Set<string>();
    const limit = concurrencyLimit(RUN_CANCEL_CONCURRENCY);
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let remaining = 0;
    for (;;) {
      const open: string[] = [];
      for await (const wf of this.client.workflow.list({ query })) open.push(wf.workflowId);
      remaining = open.length;
      const fresh = open.filter((id) => !requested.has(id));
      await Promise.all(
        fresh.map((id) =>
          limit(async () => {
            requested.add(id);
            await this.client.workflow
              .getHandle(id)
              .cancel()
              .catch((err: unknown) => {
                // Closed since it was listed.
                if (!(err instanceof WorkflowNotFoundError)) throw err;
              });
          }),
        ),
      );
      if (open.length === 0 || Date.now() > deadline) break;
      // Runs asked to cancel close in a moment; visibility shows it a little later.
      await sleep(fresh.length ? 200 : 500);
    }
    return { campaignId, state, runsCancelled: requested.size, remaining };
  }

  /**
   * The report's rows, page by page: each page's records (its pageRecords query) with their runs' state
   * and report fields (one visibility list per 100 runs). Never more than a page in memory.
   * @throws {CampaignNotFoundError}
   */
  async *reportRows(
    campaignId: string,
    opts: { onMissingPage?: (page: number) => void } = {},
  ): AsyncGenerator<ReportRow> {
    const state = await this.state(campaignId);
    for (let page = 0; page < state.pages; page++) {
      let records: PageRecordsAnswer;
      try {
        records = await this.client.workflow
          .getHandle(campaignPageWorkflowId(campaignId, page))
          .query(pageRecordsQuery);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        opts.onMissingPage?.(page);
        continue;
      }
      const ids = [...new Set(records.flatMap((r) => (r.workflowId && !r.duplicateOf ? [r.workflowId] : [])))];
      const runs = new Map<string, WorkflowExecutionInfo>();
      for (let i = 0; i < ids.length; i += REPORT_LIST_CHUNK) {
        const chunk = ids.slice(i, i + REPORT_LIST_CHUNK);
        const query = `WorkflowId IN (${chunk.map(quoted).join(', ')})`;
        for await (const wf of this.client.workflow.list({ query })) {
          const seen = runs.get(wf.workflowId);
          if (!seen || seen.startTime < wf.startTime) runs.set(wf.workflowId, wf);
        }
      }
      for (const r of records) yield reportRow(r, r.duplicateOf ? undefined : runs.get(r.workflowId ?? ''));
    }
  }
}

const CLOSED_OUTCOME: Record<string, string> = {
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/** One record's row: the run's search attributes (identifiers and statuses only), or the page's status. */
export function reportRow(record: PageRecordsAnswer[number], run: WorkflowExecutionInfo | undefined): ReportRow {
  const row: ReportRow = { recordId: record.recordId };
  if (record.workflowId) row.workflowId = record.workflowId;
  if (record.duplicateOf) row.duplicateOf = record.duplicateOf;
  if (!run) {
    row.state = record.status === 'started' || record.status === 'existing' ? 'starting' : record.status;
    return row;
  }
  const attrs = run.typedSearchAttributes;
  const state = attrs.get(HERO_FLOW_STATE);
  row.state = state ?? 'tracing';
  if (run.status.name !== 'RUNNING') {
    row.outcome = run.status.name === 'COMPLETED' ? (state ?? 'completed') : CLOSED_OUTCOME[run.status.name]!;
    if (run.status.name !== 'COMPLETED') row.state = row.outcome;
  }
  const bookedAt = attrs.get(HERO_BOOKED_AT);
  if (bookedAt) row.bookedAt = bookedAt.toISOString();
  const reminders = attrs.get(HERO_REMINDERS_SENT);
  if (reminders !== undefined) row.remindersSent = reminders;
  const delivery = attrs.get(HERO_DELIVERY_STATUS);
  if (delivery) row.deliveryStatus = delivery;
  const review = attrs.get(HERO_REVIEW);
  if (review) row.review = review;
  return row;
}
