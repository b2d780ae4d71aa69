/**
 * The reliability suite's campaign (issue 19): a practice list of RELIABILITY_CAMPAIGN_RECORDS records
 * (default 200), with duplicates and invalid lines, handed over with `hero-flow campaign start` as a child
 * process while the worker is SIGKILLed and the Temporal server restarts (run.ts's 'handoff' chaos event),
 * then run alongside the suite's own runs through the rest of the chaos. Its runs are RunSpecs like the
 * others (run.ts follows each to its outcome; checks.ts's checks cover them); checkCampaign() adds what
 * is the campaign's own: the hand-off, one run per accepted record, `campaign report` and `campaign status`.
 */
import { campaignKey } from '../../src/client/campaign/client';
import { patientKey } from '../../src/client/campaign/list';
import { keyFingerprintsWithRing } from '../../src/client/fingerprint';
import { parseKeyRing } from '../../src/codec';
import { campaignRunWorkflowId } from '../../src/shared/campaign-ids';
import { mulberry32 } from '../../tools/sandbox/faults';
import { syntheticNhsNumber } from '../support/fixtures';
import type { CliResult } from './processes';
import { AWAIT_BOOKING, type Kind, MESSAGE_TEXT, RECONCILE_AFTER, REVIEW_DEADLINE, type RunSpec } from './scenario';

export const CAMPAIGN_RECORDS = Number(process.env.RELIABILITY_CAMPAIGN_RECORDS || 200);
/** Lines that repeat an earlier recordId (left out), and new records of an earlier patient (kept, no run). */
const RECORD_DUPLICATES = 5;
const PATIENT_DUPLICATES = 5;
/**
 * Campaign runs start together once the page workflow runs, on top of the suite's own: most are short (a
 * trace, a link, a message), so that the server and the worker keep up on 2 cores; a few wait for the
 * patient's verification or booking, so that runs are still going when the later chaos lands.
 */
const AWAIT_BOOKING_SHARE = 0.1;
const MIX = { plain: 0.75, verification: 0.1 };

export interface CampaignPlan {
  campaignId: string;
  specs: RunSpec[];
  /** The JSONL list and the template, as a practice would write them. */
  list: string;
  template: Record<string, unknown>;
  /** Every record the list holds after the hand-off: accepted ones (with a run) and patient duplicates. */
  recordIds: Map<string, { workflowId?: string; duplicateOf?: string }>;
  recordDuplicates: number;
  patientDuplicates: number;
  invalidLines: number[];
  /** What must never show in the report. */
  secrets: string[];
}

/** One `campaign start` (or its repeat): when, its exit, and what it printed (JSON). */
export interface HandOffAttempt {
  startedAt: number;
  endedAt: number;
  code: number | null;
  outcome?: string;
  alreadyHandedOver?: boolean;
  records?: number;
  duplicates?: { kind: string }[];
  invalid?: { line: number }[];
  error?: string;
}

export interface HandOffRecord {
  startedAt?: number;
  /** When the hand-off was seen to have begun (the campaign workflow existed) and the chaos landed. */
  begunAt?: number;
  killAt?: number;
  restartAt?: number;
  /** When a `campaign start` first answered that the list is held. */
  endedAt?: number;
  attempts: HandOffAttempt[];
  /** The same command once more after success: must add nothing. */
  repeat?: HandOffAttempt;
  /** Every run of that repeat (re-run until it answered). */
  repeatAttempts?: HandOffAttempt[];
}

export function parseHandOff(r: CliResult, startedAt: number): HandOffAttempt {
  const a: HandOffAttempt = { startedAt, endedAt: Date.now(), code: r.code };
  try {
    const v = JSON.parse(r.stdout) as Omit<HandOffAttempt, 'code' | 'startedAt' | 'endedAt'>;
    Object.assign(a, {
      outcome: v.outcome,
      alreadyHandedOver: v.alreadyHandedOver,
      records: v.records,
      duplicates: v.duplicates,
      invalid: v.invalid,
    });
  } catch {
    a.error = (r.stderr.trim().split('\n').pop() ?? '').slice(0, 300);
  }
  return a;
}

/** A `campaign start` that answered: exit 0, or 1 with the invalid lines listed. */
export const handedOver = (a: HandOffAttempt) => (a.code === 0 || a.code === 1) && a.outcome !== undefined;

/**
 * The campaign's records (RunSpecs, seeded apart from the suite's own runs so a seed keeps its mix), its
 * list and template. Patients are new to the sandbox and to the suite (`taken`).
 */
export function buildCampaign(opts: {
  seed: number;
  keySpec: string;
  taken: Set<string>;
  startAt: number;
}): CampaignPlan {
  const random = mulberry32(opts.seed + 0x5eed);
  const campaignId = `rel-${opts.seed}`;
  const holder = {};
  keyFingerprintsWithRing(holder, parseKeyRing(opts.keySpec));
  const key = campaignKey(holder, process.env.HERO_WORKFLOW_ID_SECRET || undefined);
  const specs: RunSpec[] = [];
  let n = 7_000_000 + (opts.seed % 1_000) * 10_000;
  for (let i = 0; i < CAMPAIGN_RECORDS; i++) {
    let nhsNumber: string;
    do nhsNumber = syntheticNhsNumber((n += 13));
    while (opts.taken.has(nhsNumber));
    opts.taken.add(nhsNumber);
    const u = random();
    const kind: Kind = u < MIX.plain ? 'plain' : u < MIX.plain + MIX.verification ? 'verification' : 'not_found';
    const verifyAfterMs = Math.floor(1_000 + random() * 4_000);
    const useUpdate = random() < 0.5;
    const awaitBooking = kind !== 'not_found' && random() < AWAIT_BOOKING_SHARE;
    const booking = {
      book: random() < 0.6,
      notify: random() >= 1 / 3,
      bookAfterMs: Math.floor(5_000 + random() * 75_000),
      cancel: random() < 0.15,
      cancelAfterMs: Math.floor(2_000 + random() * 28_000),
    };
    specs.push({
      workflowId: campaignRunWorkflowId(campaignId, patientKey(key, campaignId, nhsNumber)),
      kind,
      nhsNumber,
      dob: `19${50 + (i % 40)}-0${1 + (i % 9)}-2${i % 9}`,
      patientId: kind === 'not_found' ? undefined : String(900_000 + i),
      startAt: opts.startAt,
      verifyAfterMs,
      useUpdate,
      awaitBooking,
      booking: { ...booking, book: awaitBooking && booking.book },
      reviewUnits: [random(), random(), random()],
    });
  }
  // The shared part once; each line only what is the patient's own, and what it overrides.
  const template = {
    booking: {
      appointmentTypeId: '1',
      locationId: '5',
      practitionerId: '7',
      expiryDate: '2026-12-31',
      maximumUseCount: 1,
    },
    message: { type: 'sms', text: MESSAGE_TEXT },
    verification: { recheckEvery: '10 seconds', timeout: '10 minutes' },
    review: { deadline: REVIEW_DEADLINE, reconcileAfter: RECONCILE_AFTER },
  };
  const requestOf = (s: RunSpec, nhs = s.nhsNumber.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3')) => ({
    nhsNumber: nhs,
    dob: s.dob,
    ...(s.awaitBooking && { awaitBooking: AWAIT_BOOKING }),
  });
  const lines: string[] = [];
  const recordIds: CampaignPlan['recordIds'] = new Map();
  const invalidLines: number[] = [];
  const every = Math.max(1, Math.floor(CAMPAIGN_RECORDS / (RECORD_DUPLICATES + PATIENT_DUPLICATES + 2)));
  let recordDuplicates = 0;
  let patientDuplicates = 0;
  specs.forEach((s, i) => {
    const recordId = `rec-${i}`;
    lines.push(JSON.stringify({ recordId, request: requestOf(s) }));
    recordIds.set(recordId, { workflowId: s.workflowId });
    if (i % every !== every - 1) return;
    const j = Math.floor(i / every);
    const earlier = `rec-${i - Math.floor(random() * Math.min(i + 1, every))}`;
    if (j % 2 === 0 && recordDuplicates < RECORD_DUPLICATES) {
      // The same recordId again (another patient even): processed once, as its first line.
      lines.push(JSON.stringify({ recordId: earlier, request: requestOf(specs[Math.max(0, i - 1)]!) }));
      recordDuplicates += 1;
    } else if (patientDuplicates < PATIENT_DUPLICATES) {
      // The same patient under a new recordId, the NHS number written without spaces.
      const k = Number(earlier.slice(4));
      const dupId = `rec-dup-${patientDuplicates}`;
      lines.push(JSON.stringify({ recordId: dupId, request: requestOf(specs[k]!, specs[k]!.nhsNumber) }));
      recordIds.set(dupId, { duplicateOf: earlier });
      patientDuplicates += 1;
    } else {
      // Invalid: reported by line number, left out.
      lines.push(
        invalidLines.length % 2
          ? '{"recordId": "rec-bad", "request": '
          : JSON.stringify({ recordId: `rec-bad-${invalidLines.length}`, request: { nhsNumber: '123', dob: s.dob } }),
      );
      invalidLines.push(lines.length);
    }
  });
  return {
    campaignId,
    specs,
    list: lines.join('\n') + '\n',
    template,
    recordIds,
    recordDuplicates,
    patientDuplicates,
    invalidLines,
    secrets: specs.flatMap((s) => [s.nhsNumber, s.nhsNumber.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3'), s.dob]),
  };
}

/** The campaign's figures and findings, in the report and the table. */
export interface CampaignReport {
  campaignId: string;
  records: number;
  lines: number;
  recordDuplicates: number;
  patientDuplicates: number;
  invalidLines: number;
  handOff: {
    attempts: { at: string; seconds: number; code: number | null; outcome?: string; error?: string }[];
    begunAt: string;
    killAt: string;
    restartAt: string;
    endedAt: string;
    repeat?: string;
  };
  /** Chaos while campaign runs were open, after the hand-off. */
  midCampaign: { kills: number; restarts: number };
  runsInVisibility: number;
  outcomes: Record<string, number>;
  reportRows: number;
  status?: Record<string, unknown>;
  failures: string[];
}

export interface CampaignCheckInput {
  plan: CampaignPlan;
  handOff: HandOffRecord;
  /** The outcome the suite saw for each accepted record's run. */
  outcomes: Map<string, string>;
  /** Kills and restarts: when, and how many campaign runs were open then. */
  chaos: { at: number; event: 'kill' | 'restart'; openCampaignRuns: number }[];
  runsInVisibility: number;
  /** `campaign report ID --format jsonl` and `campaign status ID`: their exits and output. */
  report: CliResult;
  status: CliResult;
  t0: number;
}

/** The campaign's own checks: what checks.ts does not see. Each failure is one line. */
export function checkCampaign(input: CampaignCheckInput): CampaignReport {
  const { plan, handOff: h, t0 } = input;
  const at = (ms: number | undefined) => (ms === undefined ? 'never' : `${((ms - t0) / 1000).toFixed(1)}s`);
  const failures: string[] = [];
  const fail = (s: string) => failures.push(`campaign ${plan.campaignId}: ${s}`);
  const accepted = plan.specs.length;

  // The hand-off: begun before the kill and the restart, answered after both, and only once added.
  const last = h.attempts.find(handedOver);
  if (!last) fail(`no \`campaign start\` handed the list over (${h.attempts.map((a) => a.code).join(', ')})`);
  for (const [what, t] of [
    ['worker SIGKILL', h.killAt],
    ['server restart', h.restartAt],
  ] as const) {
    if (!(h.begunAt !== undefined && t !== undefined && h.endedAt !== undefined && t >= h.begunAt && t <= h.endedAt))
      fail(`the ${what} did not land during the hand-off (begun ${at(h.begunAt)}, at ${at(t)}, held ${at(h.endedAt)})`);
  }
  const added = [...h.attempts, ...(h.repeatAttempts ?? [])].filter((a) => a.outcome === 'new').length;
  if (added > 1) fail(`${added} hand-offs answered "new": the list was added more than once`);
  if (last && last.records !== accepted + plan.patientDuplicates)
    fail(`the hand-off holds ${last.records} records, expected ${accepted + plan.patientDuplicates}`);
  const dupKinds = (k: string) => last?.duplicates?.filter((d) => d.kind === k).length;
  if (last && (dupKinds('record') !== plan.recordDuplicates || dupKinds('patient') !== plan.patientDuplicates))
    fail(`duplicates reported: ${dupKinds('record')} records, ${dupKinds('patient')} patients`);
  const invalid = last?.invalid?.map((i) => i.line).join(',');
  if (last && invalid !== plan.invalidLines.join(','))
    fail(`invalid lines reported ${invalid}, expected ${plan.invalidLines.join(',')}`);
  if (!h.repeat || !handedOver(h.repeat) || h.repeat.outcome !== 'same' || !h.repeat.alreadyHandedOver)
    fail(`the same command again did not answer "already handed over" (${JSON.stringify(h.repeat)})`);

  // Mid-campaign: a kill and a restart while its runs were open.
  const mid = input.chaos.filter((c) => h.endedAt !== undefined && c.at > h.endedAt && c.openCampaignRuns > 0);
  const midCampaign = {
    kills: mid.filter((c) => c.event === 'kill').length,
    restarts: mid.filter((c) => c.event === 'restart').length,
  };
  if (!midCampaign.kills || !midCampaign.restarts)
    fail(`chaos mid-campaign: ${midCampaign.kills} kills, ${midCampaign.restarts} restarts with its runs open`);

  // One run per accepted record (visibility), none for duplicates or invalid lines.
  if (input.runsInVisibility !== accepted)
    fail(`${input.runsInVisibility} runs carry HeroCampaignId, expected ${accepted} (one per accepted record)`);

  // The report: one row per record, its run's outcome, and no patient data.
  let rows: Record<string, unknown>[] = [];
  if (input.report.code !== 0)
    fail(`campaign report exited ${input.report.code}: ${input.report.stderr.trim().slice(-300)}`);
  try {
    rows = input.report.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    fail('campaign report --format jsonl printed a line that is not JSON');
  }
  const seen = new Set<string>();
  for (const row of rows) {
    const id = String(row.recordId);
    const want = plan.recordIds.get(id);
    if (seen.has(id)) fail(`report: ${id} twice`);
    seen.add(id);
    if (!want) {
      fail(`report: a row for ${id}, which the list does not hold`);
      continue;
    }
    if (want.workflowId && row.workflowId !== want.workflowId) fail(`report: ${id} names ${String(row.workflowId)}`);
    if (want.duplicateOf && (row.duplicateOf !== want.duplicateOf || row.outcome !== undefined))
      fail(`report: ${id} should be a duplicate of ${want.duplicateOf} without a run`);
    const outcome = want.workflowId ? input.outcomes.get(want.workflowId) : undefined;
    if (outcome && row.outcome !== outcome) fail(`report: ${id} says ${String(row.outcome)}, its run ended ${outcome}`);
  }
  for (const id of plan.recordIds.keys()) if (!seen.has(id)) fail(`report: no row for ${id}`);
  const text = input.report.stdout;
  const leaked = plan.secrets.filter((s) => text.includes(s));
  if (leaked.length) fail(`report holds patient data (${leaked.length} NHS numbers or dates of birth)`);
  if (/https?:\/\/|\/b\/|\+44|\b07\d{9}\b|\b\d{10}\b/.test(text)) fail('report holds a link or a phone-like number');

  // `campaign status`: its totals agree with the list and the runs.
  let status: Record<string, unknown> | undefined;
  try {
    status = JSON.parse(input.status.stdout) as Record<string, unknown>;
  } catch {
    fail(`campaign status exited ${input.status.code} without JSON: ${input.status.stderr.trim().slice(-300)}`);
  }
  const outcomes: Record<string, number> = {};
  for (const s of plan.specs) {
    const o = input.outcomes.get(s.workflowId) ?? 'not_closed';
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  if (status) {
    const want: Record<string, unknown> = {
      total: accepted + plan.patientDuplicates,
      started: accepted,
      finished: accepted,
      running: 0,
      invalid: plan.invalidLines.length,
      handedOver: true,
      pagesDone: status.pages,
    };
    for (const [k, v] of Object.entries(want))
      if (status[k] !== v) fail(`status ${k} ${JSON.stringify(status[k])}, expected ${JSON.stringify(v)}`);
    const byOutcome = (status.byOutcome ?? {}) as Record<string, number>;
    const keys = new Set([...Object.keys(byOutcome), ...Object.keys(outcomes)]);
    for (const k of keys)
      if ((byOutcome[k] ?? 0) !== (outcomes[k] ?? 0))
        fail(`status byOutcome ${k} ${byOutcome[k] ?? 0}, the runs ended ${k} ${outcomes[k] ?? 0}`);
  }

  return {
    campaignId: plan.campaignId,
    records: accepted,
    lines: plan.list.split('\n').filter(Boolean).length,
    recordDuplicates: plan.recordDuplicates,
    patientDuplicates: plan.patientDuplicates,
    invalidLines: plan.invalidLines.length,
    handOff: {
      attempts: h.attempts.map((a) => ({
        at: at(a.startedAt),
        seconds: Number(((a.endedAt - a.startedAt) / 1000).toFixed(1)),
        code: a.code,
        outcome: a.outcome,
        ...(a.error && { error: a.error }),
      })),
      begunAt: at(h.begunAt),
      killAt: at(h.killAt),
      restartAt: at(h.restartAt),
      endedAt: at(h.endedAt),
      repeat:
        h.repeat &&
        `${h.repeat.code} ${h.repeat.outcome}${h.repeat.alreadyHandedOver ? ' (already handed over)' : ''}` +
          ` after ${h.repeatAttempts?.length ?? 1} command(s)`,
    },
    midCampaign,
    runsInVisibility: input.runsInVisibility,
    outcomes,
    reportRows: rows.length,
    status,
    failures,
  };
}
