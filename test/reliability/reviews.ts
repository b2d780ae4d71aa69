import type { WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutreachStatus } from '../../src/workflows/schemas';
import type { Sandbox } from '../../tools/sandbox';
import { type CliResult, runCli } from './processes';
import { kindOfReview, kindOfText, type MessageKind } from './scenario';

export type ReviewAction = 'resend' | 'mark_sent' | 'abandon';

/** One review a run opened, as `hero-flow review list` showed it, and what the suite's operator did. */
export interface ReviewRecord {
  workflowId: string;
  step: string;
  reason: string;
  /** The run's own ISO time; with the workflow ID, it names the review. */
  openedAt: string;
  /** When the CLI first listed it (ms since epoch). */
  listedAt: number;
  /** Which send is in doubt (from the run's status: the reminders it had sent). */
  kind?: MessageKind;
  /** Whether the sandbox held that message when the operator decided. */
  held?: boolean;
  action?: ReviewAction;
  /** When the resolve command that succeeded started: its update lands after this. */
  decidedAt?: number;
  /** The CLI's answer: `{workflowId, accepted, action, state}`. */
  answer?: { accepted: boolean; action: string; state: string };
  /** Resolve commands run for it (more than one after a failed attempt, e.g. during the server restart). */
  attempts: number;
  errors: string[];
  /** For the first few: the same resolve again, which a run no longer in review must refuse (exit 1). */
  repeat?: { code: number | null; refused: boolean };
}

export interface ReviewOperatorOptions {
  /** The CLI's environment: TEMPORAL_ADDRESS, HERO_CODEC_KEYS, HERO_TASK_QUEUE. */
  env: NodeJS.ProcessEnv;
  sandbox: Sandbox;
  runs: ReadonlyMap<string, { patientId: string; reviewUnits: readonly number[] }>;
  /** The run's status query (through the suite's client), to tell which send is in doubt. */
  status: (workflowId: string) => Promise<OutreachStatus | undefined>;
  /** Share of reviews the operator abandons (a seeded draw per run); the rest get the correct action. */
  abandonShare: number;
  /** While true, nothing is tried (the Temporal server is down). */
  paused: () => boolean;
  seed: number;
  log: WriteStream;
  say: (line: string) => void;
}

/** Reviews resolved at once, each a status query and a CLI process. */
const CONCURRENCY = 4;
/** How many resolved reviews get the same decision again, to see it refused. */
const REPEATS = 3;
const TICK_MS = 5_000;

/**
 * The suite's operator: lists the runs in review with `hero-flow review list` every few seconds, and
 * resolves each with `hero-flow review resolve ID --action …`: abandon for a seeded share, otherwise the
 * action that is correct by the sandbox's own records (mark_sent when it holds the message, resend when
 * not). Everything goes through the CLI, as an operator's would.
 */
export class ReviewOperator {
  readonly records = new Map<string, ReviewRecord>();
  lists = { ok: 0, failed: 0 };
  /** Ticks that threw: reported by the suite as a failure of its own. */
  readonly failures: string[] = [];
  #repeats = 0;

  constructor(private readonly opts: ReviewOperatorOptions) {}

  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      // A tick that throws (a listing line that is not JSON, say) is recorded and the operator goes on.
      if (!this.opts.paused()) await this.tick().catch((err: unknown) => this.failures.push(String(err)));
      await sleep(TICK_MS);
    }
  }

  async tick(): Promise<void> {
    const listed = await this.#cli(['review', 'list', '--json'], 30_000);
    if (listed.code !== 0) {
      this.lists.failed += 1;
      return;
    }
    this.lists.ok += 1;
    const todo: ReviewRecord[] = [];
    for (const line of listed.stdout.split('\n')) {
      if (!line.trim()) continue;
      const l = JSON.parse(line) as { workflowId: string; step?: string; reason?: string; openedAt?: string };
      if (!l.openedAt || !l.step || !this.opts.runs.has(l.workflowId)) continue;
      const key = `${l.workflowId}@${l.openedAt}`;
      let rec = this.records.get(key);
      if (!rec) {
        rec = {
          workflowId: l.workflowId,
          step: l.step,
          reason: l.reason ?? '',
          openedAt: l.openedAt,
          listedAt: Date.now(),
          attempts: 0,
          errors: [],
        };
        this.records.set(key, rec);
        this.opts.say(`review opened: ${l.workflowId} at ${l.step}`);
      }
      if (!rec.answer) todo.push(rec);
    }
    for (let i = 0; i < todo.length; i += CONCURRENCY) {
      await Promise.all(todo.slice(i, i + CONCURRENCY).map((rec) => this.#resolve(rec)));
    }
  }

  async #resolve(rec: ReviewRecord): Promise<void> {
    const run = this.opts.runs.get(rec.workflowId)!;
    if (rec.action === undefined) {
      const status = await this.opts.status(rec.workflowId);
      // Listed a moment ago, but the status says otherwise: ask again at the next tick.
      if (!status || status.state !== 'needs_review' || status.review?.openedAt !== rec.openedAt) return;
      const reminders = (status.messages ?? []).filter((m) => m.kind === 'reminder').length;
      rec.kind = kindOfReview(rec.step, reminders);
      rec.held = this.opts.sandbox
        .messages()
        .some((m) => m.patientId === run.patientId && kindOfText(m.text) === rec.kind);
      const earlier = [...this.records.values()].filter(
        (r) => r.workflowId === rec.workflowId && r !== rec && r.action !== undefined,
      ).length;
      const unit = run.reviewUnits[earlier % run.reviewUnits.length]!;
      rec.action = unit < this.opts.abandonShare ? 'abandon' : rec.held ? 'mark_sent' : 'resend';
    }
    const note = `reliability suite, seed ${this.opts.seed}: the sandbox ${rec.held ? 'holds' : 'does not hold'} it`;
    const args = ['review', 'resolve', rec.workflowId, '--action', rec.action, '--note', note, '--json'];
    const startedAt = Date.now();
    rec.attempts += 1;
    // The answer comes once the decision is applied, and a resend first re-reads the booking link (a booked
    // patient gets no reminder), which under the suite's Hero faults can take several retries: 30 s was
    // passed once (a reminder resend whose link read retried 4 times), so the bound leaves room for that.
    const out = await this.#cli(args, RESOLVE_TIMEOUT_MS);
    if (out.code !== 0) {
      rec.errors.push(`exit ${out.code}: ${firstLine(out.stderr) || firstLine(out.stdout)}`);
      return;
    }
    rec.decidedAt = startedAt;
    try {
      rec.answer = JSON.parse(out.stdout) as ReviewRecord['answer'];
    } catch {
      rec.errors.push(`exit 0, but its answer is not JSON: ${firstLine(out.stdout)}`);
      rec.answer = { accepted: false, action: '(unreadable answer)', state: '(unreadable answer)' };
    }
    this.opts.say(`review resolved: ${rec.workflowId} ${rec.action} -> ${rec.answer?.state}`);
    if (this.#repeats < REPEATS) {
      this.#repeats += 1;
      const again = await this.#cli(args, RESOLVE_TIMEOUT_MS);
      rec.repeat = { code: again.code, refused: again.code === 1 };
    }
  }

  async #cli(args: string[], timeoutMs: number): Promise<CliResult> {
    const out = await runCli(args, this.opts.env, timeoutMs);
    const shown = args.slice(0, 3).join(' ');
    if (out.code !== 0 || args[1] === 'resolve') {
      this.opts.log.write(
        `[reliability] hero-flow ${shown}${args.length > 3 ? ` ${args.slice(3, 5).join(' ')}` : ''}: exit ${out.code}\n` +
          (out.code === 0 ? '' : out.stderr),
      );
    }
    return out;
  }
}

/** How long one `hero-flow review resolve` may take before the review counts as unresolved. */
const RESOLVE_TIMEOUT_MS = 90_000;

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';
