import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { campaignPageWorkflowId, type CampaignGate, campaignPauseSchema } from '../shared/campaign-ids';
import { FailureType } from '../shared/failure-types';
import { describeProblems } from '../shared/problems';
import {
  campaignGateQuery,
  campaignStateQuery,
  cancelCampaignUpdate,
  completeListUpdate,
  pageControlSignal,
  pageDoneSignal,
  pageStartedSignal,
  pauseCampaignSignal,
  registerListUpdate,
  resumeCampaignUpdate,
} from './campaign-definitions';
import {
  type CampaignCarried,
  type CampaignInput,
  campaignInputSchema,
  campaignCarriedSchema,
  type CampaignList,
  type CampaignState,
  cancelCampaignSchema,
  completeListSchema,
  type CompleteListAnswer,
  type PageControl,
  pageDoneSchema,
  pageStartedSchema,
  registerListSchema,
  type RegisterListAnswer,
} from './campaign-schemas';
import { isUnencryptedMarker } from './definitions';

/** A campaign stays open this long after its last page is done: runs may send reminders until then. */
export const CAMPAIGN_LINGER_MS = 120 * 24 * 3600_000;
/** Signals to pages in flight at once: well under Temporal's 2,000 pending outgoing signals. */
const SIGNAL_CHUNK = 500;

/**
 * One practice list (or several appended) as one campaign: it holds the lists' counts, not their records
 * (each page workflow holds its records and starts their runs), and owns the campaign's pause, resume and
 * cancel, which it passes on to every page not yet done. It stays open while its runs may still call
 * Hero (they ask its gate), and carries its state over continue-as-new.
 */
export async function campaignWorkflow(rawInput: CampaignInput, rawCarried?: CampaignCarried): Promise<CampaignState> {
  const { input, carried } = parseArgs(rawInput, rawCarried);
  // Its state and handlers: registered before the first await, so no early message is lost.
  const campaign = new Campaign(input, carried);

  for (;;) {
    await campaign.nextChange();
    // Pages told of a pause, resume or cancel, or that asked at their start.
    await campaign.tellPages();
    if (campaign.finished) return campaign.state;
    if (campaign.continueAsNewDue) {
      await condition(allHandlersFinished);
      await campaign.tellPages();
      return continueAsNew<typeof campaignWorkflow>(plain(rawInput) as CampaignInput, campaign.carried());
    }
  }
}

/** The campaign's state, and the query, signals and updates that read or change it. */
class Campaign {
  readonly #input: z.output<typeof campaignInputSchema>;
  #lists: CampaignList[];
  readonly #pagesDone: Set<number>;
  #paused: CampaignCarried['paused'];
  #cancelled: CampaignCarried['cancelled'];
  #spreadStart: number | undefined;
  #controlVersion: number;
  #allDoneAt: number | undefined;
  readonly #continuedAsNew: number;
  /** Pages to send the current control to. */
  #toTell = new Set<number>();

  constructor(input: z.output<typeof campaignInputSchema>, carried: CampaignCarried | undefined) {
    this.#input = input;
    this.#lists = carried?.lists ?? [];
    this.#pagesDone = new Set(carried?.pagesDone);
    this.#paused = carried?.paused;
    this.#cancelled = carried?.cancelled;
    this.#spreadStart = carried?.spreadStart;
    this.#controlVersion = carried?.controlVersion ?? 0;
    this.#allDoneAt = carried?.allDoneAt;
    this.#continuedAsNew = carried ? carried.continuedAsNew + 1 : 0;

    setHandler(registerListUpdate, (list) => this.#register(list), { validator: (p) => this.#validateRegister(p) });
    setHandler(completeListUpdate, (p) => this.#complete(p), { validator: (p) => void this.#listOf(p) });
    setHandler(pauseCampaignSignal, (p) => this.#pause(p));
    setHandler(resumeCampaignUpdate, () => this.#resume(), { validator: () => this.#validateResume() });
    setHandler(cancelCampaignUpdate, (p?) => this.#cancel(p), {
      validator: (p?) => void parse(cancelCampaignSchema, p ?? {}),
    });
    setHandler(pageDoneSignal, (p) => this.#pageDone(p));
    setHandler(pageStartedSignal, (p) => this.#pageStarted(p));
    setHandler(campaignGateQuery, () => this.gate);
    setHandler(campaignStateQuery, () => this.state);
    this.#refresh();
  }

  get gate(): CampaignGate {
    const reason = this.#cancelled?.reason ?? this.#paused?.reason;
    return { paused: !!this.#paused, cancelled: !!this.#cancelled, ...(reason !== undefined && { reason }) };
  }

  get state(): CampaignState {
    const sum = (key: 'records' | 'duplicates' | 'invalid' | 'pages') =>
      this.#lists.reduce((n, list) => n + list[key], 0);
    const { campaignId, createdAt, practiceGroupId, spreadOver } = this.#input;
    return {
      campaignId,
      createdAt,
      ...(practiceGroupId !== undefined && { practiceGroupId }),
      ...(this.#input.sendWindow !== undefined && { sendWindow: this.#sendWindowAsGiven() }),
      ...(spreadOver !== undefined && { spreadOver }),
      ...(this.#spreadStart !== undefined && { spreadStart: this.#spreadStart }),
      lists: this.#lists,
      records: sum('records'),
      duplicates: sum('duplicates'),
      invalid: sum('invalid'),
      pages: sum('pages'),
      pagesDone: this.#pagesDone.size,
      handedOver: this.#lists.every((l) => l.complete),
      ...(this.#paused && { paused: this.#paused }),
      ...(this.#cancelled && { cancelled: this.#cancelled }),
      continuedAsNew: this.#continuedAsNew,
    };
  }

  /** Cancelled with every page done; or every list handed over, every page done, and the runs' time over. */
  get finished(): boolean {
    if (this.#cancelled && this.#allPagesDone) return true;
    const since = this.#allDoneAt ?? Date.parse(this.#cancelled?.at ?? '');
    return Number.isFinite(since) && Date.now() >= since + CAMPAIGN_LINGER_MS;
  }

  get continueAsNewDue(): boolean {
    const info = workflowInfo();
    const at = this.#input.continueAsNewAt;
    return info.continueAsNewSuggested || (at !== undefined && info.historyLength >= at);
  }

  /** Waits for pages to tell, continue-as-new, or the end of the campaign. */
  async nextChange(): Promise<void> {
    const since = this.#allDoneAt ?? Date.parse(this.#cancelled?.at ?? '');
    const timeout = Number.isFinite(since) ? Math.max(0, since + CAMPAIGN_LINGER_MS - Date.now()) : undefined;
    const woken = () => this.#toTell.size > 0 || this.continueAsNewDue || this.finished;
    if (timeout === undefined) await condition(woken);
    else await condition(woken, timeout);
  }

  /** Sends the current control to every page waiting for it, in chunks; a page not (or no longer) open is skipped. */
  async tellPages(): Promise<void> {
    while (this.#toTell.size) {
      const pages = [...this.#toTell].slice(0, SIGNAL_CHUNK);
      for (const page of pages) this.#toTell.delete(page);
      const control = this.#control();
      await Promise.all(pages.map((page) => this.#tell(page, control)));
    }
  }

  carried(): CampaignCarried {
    return {
      lists: this.#lists,
      pagesDone: [...this.#pagesDone],
      ...(this.#paused && { paused: this.#paused }),
      ...(this.#cancelled && { cancelled: this.#cancelled }),
      ...(this.#spreadStart !== undefined && { spreadStart: this.#spreadStart }),
      controlVersion: this.#controlVersion,
      ...(this.#allDoneAt !== undefined && { allDoneAt: this.#allDoneAt }),
      continuedAsNew: this.#continuedAsNew,
    };
  }

  #validateRegister(payload: unknown): void {
    const list = parse(registerListSchema, payload);
    if (this.#cancelled) throw new Error(`campaign ${this.#input.campaignId} is cancelled`);
    if (this.#lists.some((l) => l.fingerprint === list.fingerprint) || !this.#lists.length || list.append) return;
    throw new Error(
      `campaign ${this.#input.campaignId} already holds a different list; pass --append to add this one, ` +
        'or choose another --campaign-id',
    );
  }

  #register(payload: unknown): RegisterListAnswer {
    const list = parse(registerListSchema, payload);
    const known = this.#lists.find((l) => l.fingerprint === list.fingerprint);
    if (known) return this.#answer('same', known);
    const last = this.#lists.at(-1);
    const added: CampaignList = {
      fingerprint: list.fingerprint,
      firstPage: last ? last.firstPage + last.pages : 0,
      pages: list.pages,
      records: list.records,
      duplicates: list.duplicates,
      invalid: list.invalid,
      startIndex: last ? last.startIndex + last.records : 0,
      complete: false,
    };
    this.#lists = [...this.#lists, added];
    if (this.#input.spreadOver !== undefined) this.#spreadStart ??= Date.now();
    this.#allDoneAt = undefined;
    this.#refresh();
    return this.#answer('new', added);
  }

  #answer(outcome: RegisterListAnswer['outcome'], list: CampaignList): RegisterListAnswer {
    const { firstPage, startIndex } = list;
    return {
      outcome,
      firstPage,
      startIndex,
      ...(this.#spreadStart !== undefined && { spreadStart: this.#spreadStart }),
    };
  }

  #listOf(payload: unknown): CampaignList {
    const { fingerprint } = parse(completeListSchema, payload);
    const list = this.#lists.find((l) => l.fingerprint === fingerprint);
    if (!list)
      throw new Error(`campaign ${this.#input.campaignId} has no list with this fingerprint: register it first`);
    return list;
  }

  #complete(payload: unknown): CompleteListAnswer {
    const list = this.#listOf(payload);
    this.#lists = this.#lists.map((l) => (l === list ? { ...l, complete: true } : l));
    this.#checkAllDone();
    return { fingerprint: list.fingerprint, complete: true, firstPage: list.firstPage, pages: list.pages };
  }

  #pause(payload: unknown): void {
    const parsed = campaignPauseSchema.safeParse(plain(payload));
    if (!parsed.success) return warnIgnored('pauseCampaign', parsed.error);
    if (this.#cancelled) return;
    const { reason, by } = parsed.data;
    this.#paused = { by, at: new Date().toISOString(), ...(reason !== undefined && { reason }) };
    this.#controlChanged();
  }

  #validateResume(): void {
    if (this.#cancelled) throw new Error(`campaign ${this.#input.campaignId} is cancelled; it cannot be resumed`);
  }

  #resume(): CampaignState {
    if (this.#paused) {
      this.#paused = undefined;
      this.#controlChanged();
    }
    return this.state;
  }

  #cancel(payload: unknown): CampaignState {
    if (!this.#cancelled) {
      const { reason } = parse(cancelCampaignSchema, payload ?? {});
      this.#cancelled = { at: new Date().toISOString(), ...(reason !== undefined && { reason }) };
      this.#paused = undefined;
      this.#controlChanged();
    }
    return this.state;
  }

  #pageDone(payload: unknown): void {
    const parsed = pageDoneSchema.safeParse(plain(payload));
    if (!parsed.success) return warnIgnored('pageDone', parsed.error);
    this.#pagesDone.add(parsed.data.page);
    this.#toTell.delete(parsed.data.page);
    this.#checkAllDone();
  }

  #pageStarted(payload: unknown): void {
    const parsed = pageStartedSchema.safeParse(plain(payload));
    if (!parsed.success) return warnIgnored('pageStarted', parsed.error);
    this.#toTell.add(parsed.data.page);
  }

  /** A pause, resume or cancel: every registered page not yet done is told. */
  #controlChanged(): void {
    this.#controlVersion++;
    for (const list of this.#lists) {
      for (let page = list.firstPage; page < list.firstPage + list.pages; page++) {
        if (!this.#pagesDone.has(page)) this.#toTell.add(page);
      }
    }
    this.#refresh();
  }

  #control(): PageControl {
    const { reason } = this.gate;
    return {
      paused: !!this.#paused,
      cancelled: !!this.#cancelled,
      version: this.#controlVersion,
      ...(reason !== undefined && { reason }),
    };
  }

  async #tell(page: number, control: PageControl): Promise<void> {
    try {
      await getExternalWorkflowHandle(campaignPageWorkflowId(this.#input.campaignId, page)).signal(
        pageControlSignal,
        control,
      );
    } catch (err) {
      // Not started yet (it asks with pageStarted when it starts) or already closed: nothing to tell.
      if (isCancellation(err)) throw err;
    }
  }

  get #allPagesDone(): boolean {
    return this.#lists.every((l) => {
      for (let page = l.firstPage; page < l.firstPage + l.pages; page++) if (!this.#pagesDone.has(page)) return false;
      return true;
    });
  }

  #checkAllDone(): void {
    const done = this.#lists.length > 0 && this.#lists.every((l) => l.complete) && this.#allPagesDone;
    if (done) this.#allDoneAt ??= Date.now();
    this.#refresh();
  }

  #sendWindowAsGiven(): CampaignState['sendWindow'] {
    const w = this.#input.sendWindow;
    return w ? { between: w.between, days: w.days, timezone: w.timezone } : null;
  }

  /**
   * The UI's current details (Markdown, User Metadata tab): counts and control only. The campaign holds no
   * patient data, so nothing here is.
   */
  #refresh(): void {
    const s = this.state;
    const control = s.cancelled
      ? `**Cancelled** ${s.cancelled.at}${s.cancelled.reason ? `: ${s.cancelled.reason}` : ''}`
      : s.paused
        ? `**Paused** by ${s.paused.by} ${s.paused.at}${s.paused.reason ? `: ${s.paused.reason}` : ''}`
        : '**Running**';
    setCurrentDetails(
      [
        `Campaign ${s.campaignId}: ${control}`,
        `Records ${s.records} · duplicates ${s.duplicates} · invalid ${s.invalid} · lists ${s.lists.length}` +
          (s.handedOver ? '' : ' (hand-off in progress)'),
        `Pages done ${s.pagesDone} of ${s.pages}`,
      ].join('\n\n'),
    );
  }
}

/** The campaign's payloads hold no patient data: one sent without the codec is read as it is. */
function plain(payload: unknown): unknown {
  return isUnencryptedMarker(payload) ? payload.value : payload;
}

/** Parses an update's payload; the error names the problems (never a value) and is the update's rejection. */
function parse<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const parsed = schema.safeParse(plain(payload));
  if (parsed.success) return parsed.data;
  throw new Error(`malformed payload: ${describeProblems(parsed.error, '(payload)', schema).join('; ')}`);
}

function warnIgnored(signal: string, error: z.ZodError): void {
  log.warn(`Ignored a malformed ${signal} signal`, { problems: describeProblems(error, '(payload)') });
}

function parseArgs(
  rawInput: unknown,
  rawCarried: unknown,
): { input: z.output<typeof campaignInputSchema>; carried: CampaignCarried | undefined } {
  const input = campaignInputSchema.safeParse(plain(rawInput));
  const carried = campaignCarriedSchema.optional().safeParse(plain(rawCarried));
  if (input.success && carried.success) return { input: input.data, carried: carried.data };
  const problems = [
    ...(input.success ? [] : describeProblems(input.error, '(input)', campaignInputSchema)),
    ...(carried.success ? [] : describeProblems(carried.error, '(carried state)')),
  ];
  throw ApplicationFailure.nonRetryable(
    `Invalid campaign input: ${problems.join('; ')}`,
    FailureType.InvalidWorkflowInput,
  );
}
