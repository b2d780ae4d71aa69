import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  CampaignKeyError,
  CampaignListRefusedError,
  CampaignNotFoundError,
  CampaignSettingsConflictError,
  type CampaignSettings,
  type CampaignStatus,
  checkCampaignSettings,
  InvalidCampaignOptionsError,
} from '../client/campaign/client';
import { CampaignFileError, prepareCampaignList, type PreparedCampaignList } from '../client/campaign/list';
import { type ReportFormat, writeReport } from '../client/campaign/report';
import type { SendWindowInput } from '../shared/send-window';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { PRIORITY } from '../shared/priority';
import { priorityOption, readError, readInput, regularFileSize } from './input';
import { emit, forPeople } from './present';
import { type ClientOptions, say, SIGNAL_EXIT_CODES, uiUrlOf, withClient } from './session';

/** `hero-flow campaign …`: a practice list handed over once, followed, paused, resumed, cancelled, reported. */

export interface ListOptions extends ClientOptions {
  input?: string;
  campaignId?: string;
  template?: string;
  practiceGroup?: string;
  sendBetween?: string;
  sendDays?: string;
  timezone?: string;
  sendAnytime?: boolean;
  spreadOver?: string;
  append?: boolean;
  priority?: string;
}

/**
 * The sending hours the options give: undefined (the campaign default), null (--send-anytime) or a window
 * (any of --send-between/--send-days/--timezone; the others default as the campaign's do).
 * @throws {UsageError} --send-anytime with any of the others.
 */
export function sendWindowOf(opts: ListOptions): SendWindowInput | null | undefined {
  const given = opts.sendBetween !== undefined || opts.sendDays !== undefined || opts.timezone !== undefined;
  if (opts.sendAnytime) {
    if (given) throw new UsageError('--send-anytime cannot go with --send-between, --send-days or --timezone');
    return null;
  }
  if (!given) return undefined;
  return {
    ...(opts.sendBetween !== undefined && { between: opts.sendBetween }),
    ...(opts.sendDays !== undefined && { days: opts.sendDays }),
    ...(opts.timezone !== undefined && { timezone: opts.timezone }),
  };
}

/**
 * The options of `start` and `check`, checked before anything is read or connected.
 * @throws {UsageError} naming every problem (exit 2).
 */
export function campaignSettingsOf(opts: ListOptions, needId: boolean): CampaignSettings {
  if (!opts.input)
    throw new UsageError('campaign needs --input FILE (JSON Lines of {"recordId", "request"}; "-": stdin)');
  if (needId && !opts.campaignId)
    throw new UsageError('campaign start needs --campaign-id ID (your name for this list)');
  const settings: CampaignSettings = {
    campaignId: opts.campaignId ?? 'check',
    ...(opts.practiceGroup !== undefined && { practiceGroupId: opts.practiceGroup }),
    sendWindow: sendWindowOf(opts),
    ...(opts.spreadOver !== undefined && { spreadOver: opts.spreadOver }),
    ...(opts.priority !== undefined && { priority: priorityOption(opts.priority, PRIORITY.campaign) }),
  };
  try {
    checkCampaignSettings(settings);
  } catch (err) {
    if (err instanceof InvalidCampaignOptionsError) {
      const option: Record<string, string> = {
        campaignId: '--campaign-id',
        practiceGroupId: '--practice-group',
        'sendWindow.between': '--send-between',
        'sendWindow.days': '--send-days',
        'sendWindow.timezone': '--timezone',
        spreadOver: '--spread-over',
      };
      throw new UsageError(
        err.problems.map((p) => p.replace(/^[\w.]+(?=:)/, (field) => option[field] ?? field)).join('\n  '),
      );
    }
    throw err;
  }
  return settings;
}

/**
 * The template file, read whole (at most 64 KiB, as a request).
 * @throws {UsageError} unreadable or not JSON.
 */
async function readTemplate(file: string | undefined): Promise<unknown> {
  if (file === undefined) return undefined;
  if (file === '-') throw new UsageError('--template must be a file (stdin may hold the list)');
  try {
    return await readInput(file);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message.replace(/--input/g, '--template'));
    throw new UsageError(`--template ${file}: ${(err as Error).message.replace(/--input \S+ /, '')}`);
  }
}

/** The list as a byte stream: the file (checked first) or stdin. */
function openList(file: string): AsyncIterable<Buffer> & { destroy(): void } {
  if (file !== '-') regularFileSize(file);
  return (
    file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 64 * 1024 })
  ) as AsyncIterable<Buffer> & {
    destroy(): void;
  };
}

/** Errors of the list and its options, as the CLI's: bad input exits 2 and starts nothing. */
function asCliError(err: unknown, file: string): never {
  if (err instanceof CampaignFileError) throw new CliError(`--input ${file}: ${err.message}`, EXIT_USAGE);
  if (err instanceof CampaignKeyError || err instanceof CampaignSettingsConflictError) {
    throw new CliError(err.message, EXIT_USAGE);
  }
  if (err instanceof CampaignListRefusedError) throw new CliError(err.message, EXIT_USAGE);
  if ((err as NodeJS.ErrnoException).code && (err as NodeJS.ErrnoException).syscall) throw readError(file, err);
  throw err;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The report of invalid lines and duplicates, for people. */
function listReportText(v: {
  lines: number;
  records: number;
  pages: number;
  invalid: PreparedCampaignList['invalid'];
  duplicates: PreparedCampaignList['duplicates'];
}): string[] {
  const out = [
    `${plural(v.lines, 'line')}: ${plural(v.records, 'record')} kept in ${plural(v.pages, 'page')}, ` +
      `${v.invalid.length} invalid, ${plural(v.duplicates.length, 'duplicate')}`,
  ];
  for (const i of v.invalid) out.push(`  line ${i.line}: ${i.reason}`);
  for (const d of v.duplicates) {
    out.push(
      d.kind === 'record'
        ? `  line ${d.line}: recordId ${d.recordId} is already in the list: left out`
        : `  line ${d.line}: ${d.recordId} is the same patient as ${d.duplicateOf}: no message of its own`,
    );
  }
  return out;
}

/**
 * `campaign check --input FILE [--template FILE]`: the report `start` would give, starting nothing and
 * connecting to nothing. Exit 0 when every line is a valid record, 1 when some line is invalid.
 */
export async function campaignCheck(opts: ListOptions): Promise<number> {
  const settings = campaignSettingsOf(opts, false);
  const template = await readTemplate(opts.template);
  const file = opts.input!;
  const list = openList(file);
  let prepared: PreparedCampaignList;
  try {
    const { campaignId: _id, spreadOver: _s, ...rest } = checkCampaignSettings(settings);
    prepared = await prepareCampaignList(list, { template, ...rest });
  } catch (err) {
    asCliError(err, file);
  } finally {
    list.destroy();
  }
  const { pages, fingerprint: _f, ...counts } = prepared;
  emit({ ...counts, pages: pages.length }, opts, (v) => listReportText(v).join('\n'));
  return prepared.invalid.length ? EXIT_FAILED : EXIT_OK;
}

/**
 * `campaign start --input FILE --campaign-id ID [...]`: hands the list over and returns once Temporal holds
 * all of it. Exit 0 when every line went in, 1 when some lines were left out as invalid (listed), 2 when
 * nothing could be started (bad options, no valid line, another list under the ID without --append).
 */
export async function campaignStart(opts: ListOptions): Promise<number> {
  const settings = campaignSettingsOf(opts, true);
  const template = await readTemplate(opts.template);
  const file = opts.input!;
  const list = openList(file);
  try {
    return await withClient(opts, async (client) => {
      const started = performance.now();
      const handOff = await client
        .campaigns()
        .start({
          ...settings,
          template,
          append: !!opts.append,
          list,
          onProgress: (e) => {
            if (e.step === 'read')
              say(
                `list read in ${((performance.now() - started) / 1000).toFixed(1)} s: ${plural(e.pages, 'page')} to hand over`,
              );
          },
        })
        .catch((err: unknown) => asCliError(err, file));
      const out = { ...handOff, uiUrl: uiUrlOf(client, handOff.workflowId) };
      emit(out, opts, (v) =>
        [
          v.alreadyHandedOver
            ? `Campaign ${v.campaignId} already holds this list: nothing added.`
            : `Campaign ${v.campaignId}: list handed over in ${v.seconds} s (${plural(v.records, 'record')}, ${plural(v.pages, 'page')}).`,
          ...listReportText(v),
          `  UI: ${v.uiUrl}`,
          `  Follow it: hero-flow campaign watch ${v.campaignId}`,
        ].join('\n'),
      );
      say(
        `${handOff.alreadyHandedOver ? 'already handed over' : 'handed over'}: ${plural(handOff.records, 'record')} ` +
          `in ${plural(handOff.pages, 'page')} in ${handOff.seconds} s` +
          (handOff.invalid.length ? `; ${handOff.invalid.length} invalid lines left out (listed in "invalid")` : ''),
      );
      return handOff.invalid.length ? EXIT_FAILED : EXIT_OK;
    });
  } finally {
    list.destroy();
  }
}

/** Campaign errors of the commands by ID: not found exits 1, refused exits 1, both in words. */
const byIdError = (err: unknown): never => {
  if (err instanceof CampaignNotFoundError || err instanceof CampaignListRefusedError) {
    throw new CliError(err.message, EXIT_FAILED);
  }
  throw err;
};

function statusText(s: CampaignStatus & { uiUrl: string }): string {
  const counts = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  return [
    `Campaign ${s.campaignId} (${s.campaignStatus.toLowerCase()}): ${s.total} records, ${s.started} started, ` +
      `${s.finished} finished, ${s.running} running`,
    `  pages: ${s.pagesDone} of ${s.pages} done${s.handedOver ? '' : ' (hand-off not complete)'}`,
    `  by state: ${counts(s.byState)}`,
    `  by outcome: ${counts(s.byOutcome)}`,
    s.cancelled
      ? `  cancelled at ${s.cancelled.at}${s.cancelled.reason ? `: ${s.cancelled.reason}` : ''}`
      : s.paused
        ? `  PAUSED by ${s.paused.by} at ${s.paused.at}${s.paused.reason ? `: ${s.paused.reason}` : ''}`
        : '  not paused',
    s.sendWindow
      ? `  sending hours ${s.sendWindow.between ?? '08:00-18:00'} ${s.sendWindow.days ?? 'mon-fri'} ${s.sendWindow.timezone ?? 'Europe/London'}: ` +
        (s.sendingNow ? 'open now' : `next opening ${s.nextSendingWindow}`)
      : '  no sending hours: sends at any time',
    `  UI: ${s.uiUrl}`,
  ].join('\n');
}

/** `campaign status ID`: JSON of the campaign's counts, pause and next sending window. */
export async function campaignStatus(campaignId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const status = await client.campaigns().status(campaignId).catch(byIdError);
    emit({ ...status, uiUrl: uiUrlOf(client, status.workflowId) }, opts, statusText);
    return EXIT_OK;
  });
}

/** A progress bar of `width` cells. */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(ratio * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.floor(ratio * 100)}%`;
}

/** Whether nothing more will happen on its own: every page done and no run running, or cancelled and quiet. */
const settled = (s: CampaignStatus) =>
  s.campaignStatus !== 'RUNNING' ||
  (s.running === 0 && (s.cancelled !== false || (s.handedOver && s.pagesDone >= s.pages)));

/**
 * `campaign watch ID [--interval S]`: a live progress bar on a terminal, one plain line per change
 * otherwise; ends when the campaign has settled (every page done and no run running) or on Ctrl-C.
 */
export async function campaignWatch(campaignId: string, opts: ClientOptions & { interval?: string }): Promise<number> {
  const interval = Number(opts.interval ?? 2);
  if (!Number.isFinite(interval) || interval < 0.2)
    throw new UsageError('--interval must be a number of seconds, at least 0.2');
  const tty = !!process.stderr.isTTY && !opts.json;
  return withClient(opts, async (client) => {
    let stop: NodeJS.Signals | undefined;
    const onSignal = (s: NodeJS.Signals) => (stop = s);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let last = '';
    try {
      for (;;) {
        const s = await client.campaigns().status(campaignId).catch(byIdError);
        const flags = s.cancelled ? ' CANCELLED' : s.paused ? ` PAUSED (${s.paused.reason ?? s.paused.by})` : '';
        const line =
          `${s.started}/${s.total} started, ${s.finished} finished, ${s.running} running, pages ${s.pagesDone}/${s.pages}` +
          (Object.keys(s.byOutcome).length
            ? ` · ${Object.entries(s.byOutcome)
                .map(([k, n]) => `${k} ${n}`)
                .join(', ')}`
            : '') +
          flags;
        if (tty) process.stderr.write(`\r\x1b[K${progressBar(s.finished, s.total)} ${line}`);
        else if (line !== last)
          process.stdout.write(opts.json ? JSON.stringify(s) + '\n' : `${new Date().toISOString()} ${line}\n`);
        last = line;
        if (settled(s)) {
          if (tty) process.stderr.write('\n');
          say(`campaign ${campaignId} has settled: ${line}`);
          return EXIT_OK;
        }
        const until = Date.now() + interval * 1000;
        while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (stop) {
          if (tty) process.stderr.write('\n');
          return SIGNAL_EXIT_CODES[stop] ?? 1;
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

/** `campaign list`: one JSON line per campaign with its counts. */
export async function campaignList(opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const campaigns = await client.campaigns().list();
    if (forPeople(opts)) {
      if (!campaigns.length) process.stdout.write('No campaigns.\n');
      for (const c of campaigns) {
        process.stdout.write(
          `${c.campaignId} (${c.campaignStatus.toLowerCase()}): ` +
            (c.error ??
              `${c.total} records, ${c.started} started, ${c.finished} finished, pages ${c.pagesDone}/${c.pages}` +
                (c.cancelled ? ', cancelled' : c.paused ? ', PAUSED' : '')) +
            '\n',
        );
      }
    } else for (const c of campaigns) process.stdout.write(JSON.stringify(c) + '\n');
    return EXIT_OK;
  });
}

/** `campaign pause ID [--reason TEXT]`: answers once the campaign's gate says paused. */
export async function campaignPause(campaignId: string, opts: ClientOptions & { reason?: string }): Promise<number> {
  if (opts.reason !== undefined && opts.reason.length > 500)
    throw new UsageError('--reason must be at most 500 characters');
  return withClient(opts, async (client) => {
    const gate = await client.campaigns().pause(campaignId, { reason: opts.reason }).catch(byIdError);
    emit({ campaignId, ...gate }, opts, (v) =>
      v.cancelled
        ? `Campaign ${campaignId} is cancelled.`
        : `Campaign ${campaignId} is paused: no trace, message or reminder is sent until \`hero-flow campaign resume ${campaignId}\`.`,
    );
    return EXIT_OK;
  });
}

/** `campaign resume ID`. */
export async function campaignResume(campaignId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const state = await client.campaigns().resume(campaignId).catch(byIdError);
    emit(
      { campaignId, paused: !!state.paused, cancelled: !!state.cancelled },
      opts,
      () => `Campaign ${campaignId} carries on.`,
    );
    return EXIT_OK;
  });
}

/** `campaign cancel ID [--reason TEXT]`: the campaign, then every unfinished run that has not booked. */
export async function campaignCancel(campaignId: string, opts: ClientOptions & { reason?: string }): Promise<number> {
  if (opts.reason !== undefined && opts.reason.length > 500)
    throw new UsageError('--reason must be at most 500 characters');
  return withClient(opts, async (client) => {
    const done = await client.campaigns().cancel(campaignId, { reason: opts.reason }).catch(byIdError);
    const out = { campaignId, cancelled: true, runsCancelled: done.runsCancelled, remaining: done.remaining };
    emit(
      out,
      opts,
      (v) =>
        `Campaign ${campaignId} cancelled: ${plural(v.runsCancelled, 'run')} asked to cancel (booked runs are left alone)` +
        (v.remaining ? `; ${v.remaining} still running: run it again` : '.'),
    );
    return done.remaining ? EXIT_FAILED : EXIT_OK;
  });
}

/**
 * `campaign report ID [--format csv|jsonl] [--output FILE]`: one row per record, streamed page by page.
 * To a file, it is written beside it and renamed once complete, so a file there is always a whole report.
 */
export async function campaignReport(
  campaignId: string,
  opts: ClientOptions & { format?: string; output?: string },
): Promise<number> {
  const format = (opts.format ?? (opts.output?.endsWith('.jsonl') ? 'jsonl' : 'csv')) as ReportFormat;
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
  return withClient(opts, async (client) => {
    const began = performance.now();
    const partial = opts.output ? `${opts.output}.partial` : undefined;
    const out: Writable = partial ? createWriteStream(partial) : process.stdout;
    try {
      const rows = await writeReport(
        client.campaigns().reportRows(campaignId, {
          onMissingPage: (p) => say(`page ${p} not found: its records are not in the report`),
        }),
        out,
        format,
      ).catch(byIdError);
      if (partial) {
        out.end();
        await once(out, 'finish');
        renameSync(partial, opts.output!);
      }
      say(
        `report: ${plural(rows, 'row')} in ${((performance.now() - began) / 1000).toFixed(1)} s${opts.output ? ` to ${opts.output}` : ''}`,
      );
      return EXIT_OK;
    } catch (err) {
      if (partial) {
        out.destroy();
        rmSync(partial, { force: true });
      }
      throw err;
    }
  });
}
