import type { CampaignReport } from './campaign';

/** The reliability suite's figures, printed as a table and written as JSON. */
export interface ReliabilityReport {
  seed: number;
  runs: number;
  mix: Record<string, number>;
  workerKills: number;
  workerUnexpectedExits: number;
  receiverUnexpectedExits: number;
  serverRestarts: number;
  /**
   * The TCP proxy between the worker and Temporal (test/reliability/tcp-proxy.ts): its faults that cut or
   * held at least one connection, its counters, and every fault with when it began (seconds since start).
   */
  proxy: {
    address: string;
    drops: number;
    resets: number;
    stalls: number;
    accepted: number;
    open: number;
    bytesToServer: number;
    bytesToClient: number;
    upstreamErrors: number;
    events: { kind: string; at: string; connections: number; ms?: number; heldBytes?: number }[];
  };
  /** What the chaos schedule set out to do; fewer kills, restarts or proxy faults fail the suite. */
  plannedChaos: { kills: number; restarts: number; drops: number; resets: number; stalls: number };
  /** Why the chaos fell short of the plan, if it did. */
  chaosShortfall: string[];
  /** Open runs at the moment of each kill, restart or proxy fault. */
  chaos: { at: string; event: string; openRuns: number; openCampaignRuns?: number }[];
  /** When the sandbox's sent-messages list was off (seconds since the suite started). */
  listOutage: { from: string; to: string };
  /** Reads of the sent-messages list (reconciliations): all, answered 404 (the outage), drawing a random fault. */
  sentMessagesList: { reads: number; notFound: number; faulted: number };
  /** Hero API faults (random and scripted), by kind. */
  faultsInjected: Record<string, number>;
  outcomes: Record<string, number>;
  failures: { workflowId: string; kind: string; failureType: string; message: string }[];
  /** Runs not closed, or closed with another outcome than the one the sandbox's records call for. */
  lostRuns: { workflowId: string; kind: string; expected: string; got: string }[];
  verificationsDelivered: Record<string, number>;
  /** The campaign handed over under chaos (campaign.ts): its hand-off, runs, report and status, and what failed. */
  campaign: CampaignReport;
  booking: {
    /** Runs that waited for the booking (awaitBooking). */
    runs: number;
    booked: number;
    notBooked: number;
    abandoned: number;
    /** Booked runs that learnt it from a webhook (appointment id) or from the link's use count (no id). */
    bookedByWebhook: number;
    bookedByRecheck: number;
    /** The suite's patients: bookings made in the sandbox, those without a webhook, cancellations. */
    patientsBooked: number;
    silentBookings: number;
    cancelled: number;
    /** Bookings or cancellations the sandbox refused (a suite error). */
    sandboxRefused: string[];
    /** Patients who booked through the link of a run the operator had abandoned (not checked). */
    bookedAfterAbandon: number;
    /** The sandbox holds a confirmed appointment, the run did not end booked. */
    bookedNotRecorded: { workflowId: string; got: string; sandbox: string }[];
    /** The run ended booked, the sandbox holds no confirmed appointment for its patient. */
    bookedWithoutAppointment: { workflowId: string; sandbox: string }[];
    /**
     * The run ended booked, the patient had cancelled, and no delivery of the cancellation reached the
     * receiver (lost): nothing Hero documents lets a run see a cancellation otherwise. Not failed.
     */
    cancellationUndelivered: { workflowId: string; sandbox: string }[];
    /** The run's appointment id is not the patient's confirmed one. */
    wrongAppointment: { workflowId: string; run: string; sandbox: string }[];
  };
  reminders: {
    /** Reminder messages the sandbox holds. */
    sent: number;
    /** The sum of the booked / not_booked runs' remindersSent. */
    reportedByRuns: number;
    /** Reminders that reached a patient already booked (beyond the run's read-then-send race). */
    toBookedPatients: {
      workflowId: string;
      reminder: string;
      sentAt: string;
      booking: string;
      linkReadsBetween: string;
      /** The patient's send requests (status/fault@time): shows a send that went again. */
      sends: string;
      review: string;
    }[];
    countMismatch: { workflowId: string; run: number; sandbox: number }[];
  };
  reviews: {
    opened: number;
    /** When the operator decided: the sandbox held the message in doubt, or did not. */
    heroActed: number;
    heroHadNot: number;
    /** Why the run's list could not tell: list_off, list_fault, list_unreadable, resends_exhausted, none. */
    byExplanation: Record<string, number>;
    /** resend / mark_sent / abandon (through the CLI), expired (runs that ended needs_review_expired). */
    resolved: Record<string, number>;
    /** The same decision given again to a resolved review: refused (as it must be) or accepted. */
    repeatsRefused: number;
    repeatsAccepted: string[];
    /** Reviews where Hero had not acted and the sandbox's records show the list could tell. */
    needless: { workflowId: string; step: string; reason: string }[];
    /** Reviews with no uncertain send (fault, client timeout, crash or connection fault) behind them. */
    unexplained: { workflowId: string; step: string; reason: string }[];
    /** Resolutions whose answer or effect is not what the action says. */
    wrongEffects: { workflowId: string; action: string; problems: string }[];
    /** Reviews the CLI listed but never resolved. */
    unresolved: { workflowId: string; step: string; errors: string }[];
    list: {
      workflowId: string;
      step: string;
      kind: string;
      openedAt: string;
      heroActed?: boolean;
      explanation: string;
      action: string;
      state: string;
      reason: string;
    }[];
  };
  webhooks: {
    /** How the sandbox signed: encoding and timestamp form. */
    signing: string;
    /** Webhook faults injected, by kind (lost, duplicated, reordered, forged). */
    faults: Record<string, number>;
    events: number;
    attempts: number;
    accepted: number;
    /** Answered 401 (the forged copies). */
    refused: number;
    failedAttempts: number;
    /** Events (not lost on purpose) that no attempt delivered. */
    eventsNeverDelivered: number;
    forgedAccepted: number;
    /** Booking-event workflows by outcome (signalled, run_closed, unknown_link, no_link, running, failed). */
    bookingEvents: Record<string, number>;
  };
  /** Patients with two messages of one kind, and their create/send requests (status/fault). */
  duplicates: { workflowId: string; kinds: string; links: number; requests: string[] }[];
  duplicateMessages: number;
  patientsWithDuplicateMessages: number;
  /** Patients with a second booking link (allowed: a link made but never sent reaches nobody). */
  patientsWithSecondLink: number;
  /** Messages a run says it sent that the sandbox does not hold for its patient. */
  runsWithoutMessage: { workflowId: string; kind: string; messageId: string }[];
  /** Failures that belong to no run (a forged delivery accepted, a booking the sandbox refused). */
  globalFailures: string[];
  /** The sandbox's request log dropped its oldest entries (the review checks then see less). */
  requestLogTruncated: boolean;
  duplicatesNote: string;
  /** The runs that closed last (what the wall time waited for): workflow ID, outcome, when. */
  lastToClose: string[];
  wallTimeSeconds: number;
  passed: number;
  failed: number;
}

const fmt = (r: Record<string, number>) =>
  Object.keys(r).length === 0
    ? '(none)'
    : Object.entries(r)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export function formatTable(r: ReliabilityReport): string {
  const faultsTotal = Object.values(r.faultsInjected).reduce((a, b) => a + b, 0);
  const b = r.booking;
  const v = r.reviews;
  const w = r.webhooks;
  const rows: [string, string][] = [
    ['runs', `${r.runs} (${fmt(r.mix)}; ${b.runs} wait for the booking), seed ${r.seed}`],
    [
      'worker kills (SIGKILL)',
      `${r.workerKills} of ${r.plannedChaos.kills} planned (+ ${r.workerUnexpectedExits} unexpected worker exits, restarted)`,
    ],
    ['Temporal server restarts', `${r.serverRestarts} of ${r.plannedChaos.restarts} planned`],
    [
      'worker <-> Temporal proxy faults',
      `drops (FIN) ${r.proxy.drops} of ${r.plannedChaos.drops}, resets (RST) ${r.proxy.resets} of ${r.plannedChaos.resets}, ` +
        `stalls ${r.proxy.stalls} of ${r.plannedChaos.stalls} planned; ${r.proxy.accepted} connections accepted, ` +
        `${mb(r.proxy.bytesToServer)} MB to the server, ${mb(r.proxy.bytesToClient)} MB to the worker, ` +
        `${r.proxy.upstreamErrors} failed to reach the server`,
    ],
    [
      'chaos events',
      r.chaos
        .map(
          (c) =>
            `${c.at} ${c.event} (${c.openRuns} open${c.openCampaignRuns ? `, ${c.openCampaignRuns} of the campaign` : ''})`,
        )
        .join('; '),
    ],
    ['Hero faults injected', `${faultsTotal}: ${fmt(r.faultsInjected)}`],
    [
      'sent-messages list off',
      `${r.listOutage.from} to ${r.listOutage.to}; list reads ${r.sentMessagesList.reads} ` +
        `(404 ${r.sentMessagesList.notFound}, faulted ${r.sentMessagesList.faulted})`,
    ],
    ['outcomes', fmt(r.outcomes)],
    ['verification delivered by', fmt(r.verificationsDelivered)],
    [
      'booked',
      `${b.booked} (webhook ${b.bookedByWebhook}, link re-check ${b.bookedByRecheck}); patients booked ${b.patientsBooked} ` +
        `(${b.silentBookings} without webhook), cancelled ${b.cancelled}`,
    ],
    ['not booked', String(b.notBooked)],
    ['reminders sent', `${r.reminders.sent} (runs report ${r.reminders.reportedByRuns})`],
    ['reminders to booked patients', String(r.reminders.toBookedPatients.length)],
    [
      'booked in sandbox, run not booked',
      `${b.bookedNotRecorded.length} (run booked, no appointment: ${b.bookedWithoutAppointment.length}; wrong id: ${b.wrongAppointment.length})`,
    ],
    ['booked, cancellation webhook lost (not failed)', String(b.cancellationUndelivered.length)],
    [
      'reviews opened',
      `${v.opened} (Hero had acted: ${v.heroActed}, had not: ${v.heroHadNot}; why: ${fmt(v.byExplanation)})`,
    ],
    [
      'reviews resolved (CLI)',
      `resend ${v.resolved.resend ?? 0}, mark_sent ${v.resolved.mark_sent ?? 0}, abandon ${v.resolved.abandon ?? 0}, ` +
        `expired ${v.resolved.expired ?? 0}; unresolved ${v.unresolved.length}; wrong effect ${v.wrongEffects.length}; ` +
        `repeat refused ${v.repeatsRefused}, accepted ${v.repeatsAccepted.length}`,
    ],
    ['needs_review, Hero had not acted, list could tell', String(v.needless.length)],
    ['needs_review with no uncertain send or crash', String(v.unexplained.length)],
    [
      'webhook deliveries',
      `${w.events} events, ${w.attempts} attempts: ${w.accepted} accepted, ${w.refused} refused (401), ` +
        `${w.failedAttempts} failed; never delivered ${w.eventsNeverDelivered}; forged accepted ${w.forgedAccepted}; ${w.signing}`,
    ],
    ['webhook faults', fmt(w.faults)],
    ['booking events (workflows)', fmt(w.bookingEvents)],
    [
      'failed runs',
      r.failures.length === 0 ? '0' : r.failures.map((f) => `${f.workflowId} ${f.failureType}`).join('; '),
    ],
    ['lost runs (not closed / wrong outcome)', String(r.lostRuns.length)],
    ['second booking links (allowed)', `${r.patientsWithSecondLink} patients`],
    [
      'duplicate messages (same kind)',
      `${r.duplicateMessages} (patients affected: ${r.patientsWithDuplicateMessages})`,
    ],
    ['messages a run reports, not in sandbox', String(r.runsWithoutMessage.length)],
    [
      'campaign',
      `${r.campaign.campaignId}: ${r.campaign.records} records (${r.campaign.lines} lines: ${r.campaign.recordDuplicates} ` +
        `repeated record IDs, ${r.campaign.patientDuplicates} repeated patients, ${r.campaign.invalidLines} invalid); ` +
        `outcomes ${fmt(r.campaign.outcomes)}`,
    ],
    [
      'campaign hand-off (CLI)',
      `${r.campaign.handOff.attempts.map((a) => `${a.at} exit ${a.code} ${a.outcome ?? a.error ?? ''} in ${a.seconds} s`).join('; ')}; ` +
        `begun ${r.campaign.handOff.begunAt}, kill ${r.campaign.handOff.killAt}, restart ${r.campaign.handOff.restartAt}, ` +
        `held ${r.campaign.handOff.endedAt}; again: ${r.campaign.handOff.repeat ?? 'not run'}`,
    ],
    [
      'campaign mid-run chaos',
      `${r.campaign.midCampaign.kills} kills, ${r.campaign.midCampaign.restarts} restarts with its runs open`,
    ],
    [
      'campaign runs / report / status',
      `${r.campaign.runsInVisibility} runs in visibility; report ${r.campaign.reportRows} rows; status total ` +
        `${String(r.campaign.status?.total)}, finished ${String(r.campaign.status?.finished)}; ` +
        `${r.campaign.failures.length ? `${r.campaign.failures.length} FAILED` : 'all agree'}`,
    ],
    ['wall time', `${r.wallTimeSeconds.toFixed(1)} s (last to close: ${r.lastToClose.join('; ')})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, val]) => `| ${k.padEnd(width)} | ${val}`);
  const rule = `+${'-'.repeat(width + 2)}+${'-'.repeat(60)}`;
  return [rule, ...lines, rule].join('\n');
}
