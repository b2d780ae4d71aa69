import { type Priority, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { campaignWorkflowId } from '../shared/campaign-ids';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import { HERO_CAMPAIGN_ID, HERO_PRACTICE_GROUP, HERO_RECORD_ID } from '../shared/search-attributes';
import { acceptedSendWindowSchema, type SendWindow, type SendWindowInput, spreadSlot } from '../shared/send-window';
import { pageControlSignal, pageDoneSignal, pageRecordsQuery, pageStartedSignal } from './campaign-definitions';
import {
  type PageControl,
  pageControlSchema,
  type PageInput,
  pageInputSchema,
  type PageRecord,
  type PageRecordsAnswer,
  type PageRecordStatus,
  type PageResult,
} from './campaign-schemas';
import { isUnencryptedMarker, OUTREACH_WORKFLOW_TYPE, unencryptedPayloadMessage } from './definitions';

/** Runs started at once when the campaign does not spread them: each start is a child, pending until it is up. */
export const PAGE_START_BATCH = 100;
/** How long a page waits for the campaign's answer to pageStarted before it goes on without. */
const ASK_CAMPAIGN_MS = 60_000;

/**
 * One page of a campaign's records (at most 500), held durably in its input: it starts each record's run
 * once (a child patientOutreachWorkflow, abandoned so it outlives the page), in order, spread over the
 * sending hours when the campaign spreads them, and stops starting while the campaign is paused or once
 * it is cancelled. A patient already in a run of this campaign (an earlier, appended list) is `existing`.
 */
export async function campaignPageWorkflow(rawInput: PageInput): Promise<PageResult> {
  const input = parsePageInput(rawInput);
  // Its state and handlers: registered before the first await, so no early control is lost.
  const page = new CampaignPage(input);

  // The campaign's pause or cancel, before any run starts.
  await page.askCampaign();

  if (input.spreadOver !== undefined) {
    const window = input.window;
    const spreadStart = input.spreadStart ?? Date.now();
    for (let i = 0; i < input.records.length; i++) {
      await page.waitUntil(spreadSlot(spreadStart, input.spreadOver, input.startIndex + i, input.total, window), i);
      if (!(await page.mayStart())) break;
      await page.start(i);
    }
  } else {
    for (let i = 0; i < input.records.length; i += PAGE_START_BATCH) {
      if (!(await page.mayStart())) break;
      await Promise.all(input.records.slice(i, i + PAGE_START_BATCH).map((_, j) => page.start(i + j)));
    }
  }
  page.cancelRest();

  await page.tellCampaignDone();
  return page.result;
}

type ParsedPage = Omit<ReturnType<typeof pageInputSchema.parse>, 'records'> & {
  /** The records as received: each run gets its request as the client wrote it. */
  records: PageRecord[];
  /**
   * The sending hours the spread uses: those of the page's input, which the client fills in from the campaign
   * (CAMPAIGN_DEFAULT_SEND_WINDOW when the campaign has none); without them (absent or null), no restriction.
   */
  window: SendWindow | undefined;
  /** The sending hours as the page received them, for its runs' requests. */
  sendWindowAsGiven?: SendWindowInput;
};

/** A page's state, and the signal and query that read or change it. */
class CampaignPage {
  readonly #input: ParsedPage;
  readonly #status: PageRecordStatus[];
  /** The runs' priority: the page's practice-group fairness at the campaign's key (undefined: inherit the page's). */
  readonly #runPriority: Priority | undefined;
  #control: PageControl | undefined;

  constructor(input: ParsedPage) {
    this.#input = input;
    this.#runPriority =
      input.runPriority === undefined ? undefined : { ...workflowInfo().priority, priorityKey: input.runPriority };
    this.#status = input.records.map((r) => (r.duplicateOf !== undefined ? 'duplicate' : 'pending'));
    setHandler(pageControlSignal, (p) => this.#onControl(p));
    setHandler(pageRecordsQuery, () => this.records);
    this.#refresh();
  }

  get records(): PageRecordsAnswer {
    return this.#input.records.map((r, i) => ({
      recordId: r.recordId,
      workflowId: r.workflowId,
      ...(r.duplicateOf !== undefined && { duplicateOf: r.duplicateOf }),
      status: this.#status[i]!,
    }));
  }

  get result(): PageResult {
    const count = (s: PageRecordStatus) => this.#status.filter((x) => x === s).length;
    return {
      page: this.#input.page,
      started: count('started'),
      existing: count('existing'),
      duplicate: count('duplicate'),
      cancelled: count('cancelled'),
    };
  }

  /** Asks the campaign for its control and waits for it (bounded): a page started while paused starts nothing. */
  async askCampaign(): Promise<void> {
    const asked = await this.#signalCampaign(pageStartedSignal, { page: this.#input.page });
    if (asked && !(await condition(() => this.#control !== undefined, ASK_CAMPAIGN_MS))) {
      log.warn('The campaign did not answer pageStarted in time; going on with what it signals later', {
        campaignId: this.#input.campaignId,
        page: this.#input.page,
      });
    }
  }

  /** Waits until `at` (epoch ms) for record `index`'s turn in the spread; a cancel ends the wait. */
  async waitUntil(at: number, index: number): Promise<void> {
    const ms = at - Date.now();
    if (ms <= 0) return;
    const summary = `Spread: record ${this.#input.records[index]!.recordId} due at ${new Date(at).toISOString()}`;
    await condition(() => this.#cancelled, ms, { summary });
  }

  /** Waits while the campaign is paused; false once it is cancelled. */
  async mayStart(): Promise<boolean> {
    await condition(() => !this.#control?.paused || this.#cancelled);
    return !this.#cancelled;
  }

  /** Starts record `index`'s run (none for a duplicate): `started`, or `existing` when its ID has a run already. */
  async start(index: number): Promise<void> {
    const record = this.#input.records[index]!;
    if (this.#status[index] !== 'pending' || !record.request) return;
    const { campaignId, practiceGroupId, sendWindowAsGiven } = this.#input;
    // The campaign's sending hours and practice group, unless the record's request has its own.
    const request = {
      ...(sendWindowAsGiven && { sendWindow: sendWindowAsGiven }),
      ...(practiceGroupId !== undefined && { practiceGroupId }),
      ...record.request,
    };
    try {
      await startChild(OUTREACH_WORKFLOW_TYPE, {
        workflowId: record.workflowId,
        args: [request],
        // The run outlives its page: the page ends once its runs have started.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // A closed run counts too: a patient's run in this campaign is started once, ever.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        ...(this.#runPriority && { priority: this.#runPriority }),
        typedSearchAttributes: [
          { key: HERO_CAMPAIGN_ID, value: campaignId },
          { key: HERO_RECORD_ID, value: record.recordId },
          ...(practiceGroupId !== undefined ? [{ key: HERO_PRACTICE_GROUP, value: practiceGroupId }] : []),
        ],
        // The practice's own identifiers only: the summary is stored in plaintext.
        staticSummary: `Campaign ${campaignId} · record ${record.recordId}`,
      });
      this.#status[index] = 'started';
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      this.#status[index] = 'existing';
    }
    this.#refresh();
  }

  /** Every record not started: `cancelled` (only a cancel stops a page before its end). */
  cancelRest(): void {
    for (let i = 0; i < this.#status.length; i++) if (this.#status[i] === 'pending') this.#status[i] = 'cancelled';
    this.#refresh();
  }

  async tellCampaignDone(): Promise<void> {
    await this.#signalCampaign(pageDoneSignal, { page: this.#input.page });
  }

  get #cancelled(): boolean {
    return this.#control?.cancelled ?? false;
  }

  #onControl(payload: unknown): void {
    const parsed = pageControlSchema.safeParse(isUnencryptedMarker(payload) ? payload.value : payload);
    if (!parsed.success) {
      log.warn('Ignored a malformed pageControl signal', { problems: describeProblems(parsed.error, '(payload)') });
      return;
    }
    // Signals from the campaign may cross: the newest control wins.
    if (this.#control && this.#control.version > parsed.data.version) return;
    this.#control = parsed.data;
    this.#refresh();
  }

  /** Signals the campaign; false when it is not there (a page started on its own, or a closed campaign). */
  async #signalCampaign<A>(
    signal: typeof pageStartedSignal | typeof pageDoneSignal,
    payload: A & { page: number },
  ): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(campaignWorkflowId(this.#input.campaignId)).signal(signal, payload);
      return true;
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('Could not signal the campaign', { campaignId: this.#input.campaignId, page: this.#input.page });
      return false;
    }
  }

  /** The UI's current details: counts and control, no patient data. */
  #refresh(): void {
    const r = this.result;
    const pending = this.#status.filter((s) => s === 'pending').length;
    const control = this.#cancelled
      ? '**Cancelled**'
      : this.#control?.paused
        ? `**Paused**${this.#control.reason ? `: ${this.#control.reason}` : ''}`
        : '**Running**';
    setCurrentDetails(
      [
        `Campaign ${this.#input.campaignId}, page ${this.#input.page}: ${control}`,
        `Started ${r.started} · already running ${r.existing} · duplicates ${r.duplicate} · pending ${pending} · ` +
          `cancelled ${r.cancelled}`,
      ].join('\n\n'),
    );
  }
}

/**
 * Strict: a page from another client with a malformed record fails at once, naming where (never a value),
 * before any run starts. A page sent without the codec is refused: its requests are patient data.
 */
function parsePageInput(received: unknown): ParsedPage {
  if (isUnencryptedMarker(received)) {
    throw ApplicationFailure.nonRetryable(unencryptedPayloadMessage('input'), FailureType.UnencryptedPayload);
  }
  const parsed = pageInputSchema.safeParse(received);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `Invalid campaign page input: ${describeProblems(parsed.error, '(input)', pageInputSchema).join('; ')}`,
      FailureType.InvalidWorkflowInput,
    );
  }
  const raw = received as PageInput;
  const given = raw.sendWindow;
  return {
    ...parsed.data,
    records: raw.records,
    window: given ? acceptedSendWindowSchema.parse(given) : undefined,
    ...(given && { sendWindowAsGiven: given }),
  };
}
