import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { campaignRunWorkflowId, recordIdSchema } from '../../shared/campaign-ids';
import { describeProblems } from '../../shared/problems';
import { CAMPAIGN_DEFAULT_SEND_WINDOW, type SendWindowInput } from '../../shared/send-window';
import { type OutreachInput, outreachInputSchema } from '../../workflows/schemas';
import { MAX_REQUEST_TEXT_BYTES, splitLines } from '../batch';
import { canonicalJson } from '../fingerprint';
import { InvalidOutreachRequestError, prepareOutreachRequest } from '../prepare';
import { mergeTemplate } from './template';

/**
 * A campaign's list as the client reads it, before anything reaches Temporal: JSON Lines of
 * `{"recordId", "request"}`, each request merged with the template and validated as a run's input; bad
 * lines and duplicates reported by line number (never a value); the rest cut into pages.
 */

/** Records per page workflow at most: each page starts its records' runs (Temporal: at most 2,000 pending children). */
export const CAMPAIGN_PAGE_MAX_RECORDS = 500;
/** JSON bytes of a page's records at most: a page's input stays far below Temporal's 2 MiB payload limit. */
export const CAMPAIGN_PAGE_MAX_BYTES = 1024 * 1024;

/** A list that cannot be used at all (empty, unreadable template): nothing is started. */
export class CampaignFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CampaignFileError';
  }
}

/** One record of a page: its run's workflow ID, and the request (none for a patient already in the list). */
export interface CampaignRecord {
  recordId: string;
  workflowId: string;
  request?: OutreachInput;
  /** The record ID of the earlier record of the same patient: this one sends nothing. */
  duplicateOf?: string;
}

/** A line left out, and why (field paths and rules; never a value). */
export interface InvalidLine {
  line: number;
  reason: string;
}

/**
 * A duplicate: `record`, a recordId already in the list (left out); `patient`, the NHS number of an earlier
 * record (kept, as a record that sends nothing, so the report shows it).
 */
export interface DuplicateLine {
  line: number;
  recordId: string;
  duplicateOf: string;
  kind: 'record' | 'patient';
}

export interface PreparedCampaignList {
  /** Non-blank lines read. */
  lines: number;
  /** Records kept: each sends once, or is a patient duplicate. */
  records: number;
  invalid: InvalidLine[];
  duplicates: DuplicateLine[];
  /** The kept records, cut into pages (at most CAMPAIGN_PAGE_MAX_RECORDS and CAMPAIGN_PAGE_MAX_BYTES each). */
  pages: CampaignRecord[][];
  /** Keyed hash of the kept records (set when a key was given): the same list gives the same fingerprint. */
  fingerprint?: string;
}

/** The options that shape the records: the campaign's ID, key, template and what the campaign gives every run. */
export interface CampaignListOptions {
  /** Needed for workflow IDs and the fingerprint; `check` runs without it. */
  campaignId?: string;
  /** The key of patient keys and the fingerprint (`campaignKey`); without it, neither is made (`check`). */
  key?: string | Buffer;
  /** The shared part of every request, merged under each line's (`mergeTemplate`). */
  template?: unknown;
  /**
   * The campaign's sending hours, filled into each request that has none, when the run's input takes
   * `sendWindow`; null: no restriction.
   * @default CAMPAIGN_DEFAULT_SEND_WINDOW
   */
  sendWindow?: SendWindowInput | null;
  /** The campaign's practice group, filled into each request that has none, when the run's input takes it. */
  practiceGroupId?: string;
  /** @default CAMPAIGN_PAGE_MAX_RECORDS */
  maxRecordsPerPage?: number;
  /** @default CAMPAIGN_PAGE_MAX_BYTES */
  maxPageBytes?: number;
}

/** Whether the run's input (patientOutreachWorkflow) has a field: campaign-wide values go into requests only then. */
export const runInputTakes = (field: string): boolean => field in outreachInputSchema.shape;

/**
 * A patient's key in a campaign: 32 hex of HMAC-SHA256(key, campaignId + ":" + NHS number digits). It goes
 * into the run's workflow ID, so the same patient twice is one run; without the key it tells nothing.
 */
export function patientKey(key: string | Buffer, campaignId: string, nhsNumber: string): string {
  return createHmac('sha256', key)
    .update(`${campaignId}:${nhsNumber.replace(/[\s-]/g, '')}`)
    .digest('hex')
    .slice(0, 32);
}

const lineSchema = z.strictObject({
  recordId: z.unknown(),
  request: z.record(z.string(), z.unknown(), { error: 'must be an object (the outreach request)' }),
});

/** Fields that are patient data: never in a template, which every line shares. */
const PATIENT_FIELDS = ['nhsNumber', 'dob'] as const;

/**
 * Checks a template before any line: an object, without patient data, and with no field the request does
 * not know (else every line would fail for it).
 * @throws {CampaignFileError} naming every problem (field paths, never values).
 */
export function checkTemplate(template: unknown): void {
  if (template === null || typeof template !== 'object' || Array.isArray(template)) {
    throw new CampaignFileError('the template must be a JSON object: the shared part of the outreach request');
  }
  const problems: string[] = PATIENT_FIELDS.filter((f) => f in template).map(
    (f) => `(template).${f}: patient data belongs on each line, not in the template`,
  );
  const parsed = outreachInputSchema.safeParse(template);
  if (!parsed.success) {
    const unknown = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys');
    if (unknown.length) problems.push(...describeProblems(new z.ZodError(unknown), '(template)', outreachInputSchema));
  }
  if (problems.length) throw new CampaignFileError(`the template cannot be used:\n  - ${problems.join('\n  - ')}`);
}

/** A request's problem as a line's: `booking.x: …` → `request.booking.x: …`. */
const inRequest = (problem: string) =>
  problem.startsWith('(request)')
    ? `request${problem.slice('(request)'.length)}`
    : problem.startsWith('... ')
      ? problem
      : `request.${problem}`;

/** The line's record, or why it is left out. */
function readLine(
  text: string,
  template: unknown,
  fill: Record<string, unknown>,
): { recordId: string; input: OutreachInput } | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      reason: text.startsWith('[')
        ? 'not valid JSON (a campaign list is JSON Lines: one {"recordId", "request"} object per line)'
        : 'not valid JSON',
    };
  }
  const line = lineSchema.safeParse(value);
  if (!line.success) return { reason: describeProblems(line.error, '(line)', lineSchema).join('; ') };
  const recordId = recordIdSchema.safeParse(line.data.recordId);
  const problems = recordId.success ? [] : describeProblems(recordId.error, 'recordId');
  let request = template === undefined ? line.data.request : mergeTemplate(template, line.data.request);
  const own = request as Record<string, unknown>;
  const missing = Object.entries(fill).filter(([k]) => own[k] === undefined);
  if (missing.length) request = { ...own, ...Object.fromEntries(missing) };
  let input: OutreachInput | undefined;
  try {
    input = prepareOutreachRequest(request);
  } catch (err) {
    if (!(err instanceof InvalidOutreachRequestError)) throw err;
    problems.push(...err.problems.map(inRequest));
  }
  if (problems.length || !input || !recordId.success) return { reason: problems.join('; ') };
  return { recordId: recordId.data, input };
}

/**
 * Reads a campaign list line by line (a file of any length: lines are parsed as they come, each at most
 * MAX_REQUEST_TEXT_BYTES), validates and de-duplicates it, and cuts the kept records into pages.
 * Bad lines and duplicates are in the result, by line number and reason; none stops the others.
 * @throws {CampaignFileError} the list has no lines, or the template cannot be used.
 */
export async function prepareCampaignList(
  source: AsyncIterable<Buffer>,
  opts: CampaignListOptions = {},
): Promise<PreparedCampaignList> {
  if (opts.template !== undefined) checkTemplate(opts.template);
  const maxRecords = opts.maxRecordsPerPage ?? CAMPAIGN_PAGE_MAX_RECORDS;
  const maxBytes = opts.maxPageBytes ?? CAMPAIGN_PAGE_MAX_BYTES;
  const window = opts.sendWindow === undefined ? CAMPAIGN_DEFAULT_SEND_WINDOW : opts.sendWindow;
  const fill: Record<string, unknown> = {};
  if (window && runInputTakes('sendWindow')) fill.sendWindow = window;
  if (opts.practiceGroupId && runInputTakes('practiceGroupId')) fill.practiceGroupId = opts.practiceGroupId;
  // Without a key (check), workflow IDs of the same length stand in, so pages are cut as they will be.
  const campaignId = opts.campaignId ?? 'c'.repeat(64);
  const runId = (nhsNumber: string) =>
    campaignRunWorkflowId(campaignId, opts.key ? patientKey(opts.key, campaignId, nhsNumber) : '0'.repeat(32));
  const hmac = opts.key
    ? createHmac('sha256', opts.key).update(`hero-flow campaign list v1\n${campaignId}\n`)
    : undefined;

  const out: PreparedCampaignList = { lines: 0, records: 0, invalid: [], duplicates: [], pages: [] };
  const recordLines = new Map<string, number>();
  const patients = new Map<string, string>();
  let page: CampaignRecord[] = [];
  let pageBytes = 2;
  const add = (record: CampaignRecord) => {
    const bytes = Buffer.byteLength(JSON.stringify(record), 'utf8') + 1;
    if (page.length >= maxRecords || (page.length > 0 && pageBytes + bytes > maxBytes)) {
      out.pages.push(page);
      page = [];
      pageBytes = 2;
    }
    page.push(record);
    pageBytes += bytes;
    out.records += 1;
    hmac?.update(canonicalJson(record) + '\n');
  };

  for await (const line of splitLines(source, MAX_REQUEST_TEXT_BYTES)) {
    out.lines += 1;
    if ('tooLong' in line) {
      out.invalid.push({
        line: line.lineNo,
        reason: `longer than ${MAX_REQUEST_TEXT_BYTES / 1024} KiB, the most one record may take`,
      });
      continue;
    }
    const text = out.lines === 1 ? line.text.replace(/^\uFEFF/, '') : line.text;
    const read = readLine(text, opts.template, fill);
    if ('reason' in read) {
      out.invalid.push({ line: line.lineNo, reason: read.reason });
      continue;
    }
    const { recordId, input } = read;
    if (recordLines.has(recordId)) {
      out.duplicates.push({ line: line.lineNo, recordId, duplicateOf: recordId, kind: 'record' });
      continue;
    }
    recordLines.set(recordId, line.lineNo);
    const first = patients.get(input.nhsNumber);
    if (first !== undefined) {
      out.duplicates.push({ line: line.lineNo, recordId, duplicateOf: first, kind: 'patient' });
      add({ recordId, workflowId: runId(input.nhsNumber), duplicateOf: first });
      continue;
    }
    patients.set(input.nhsNumber, recordId);
    add({ recordId, workflowId: runId(input.nhsNumber), request: input });
  }
  if (out.lines === 0) throw new CampaignFileError('the list has no lines (one {"recordId", "request"} per line)');
  if (page.length) out.pages.push(page);
  if (hmac) out.fingerprint = hmac.digest('hex');
  return out;
}
