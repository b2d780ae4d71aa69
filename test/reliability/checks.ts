/**
 * The reliability suite's verdicts, each from the sandbox's own records (what Hero "did") set against what
 * the runs said they did: lost runs, duplicate messages, bookings, reminders, reviews and webhooks.
 */
import type {
  AppointmentSummary,
  BookingLinkSummary,
  MessageSummary,
  RandomFaultKind,
  RecordedRequest,
  WebhookDeliveryRecord,
} from '../../tools/sandbox';
import type { PatientRecord } from './booking';
import type { ReliabilityReport } from './report';
import type { ReviewRecord } from './reviews';
import { kindOfText, type MessageKind, RECONCILE_AFTER_MS, type RunRecord, type RunSpec } from './scenario';

/**
 * Faults after which Hero may have acted on a create/send without hero-flow learning so: a timeout,
 * a reset (the client cannot tell before from after processing), a 5xx, an unreadable 2xx.
 * Latency and 429s are not: the answer arrives, or Hero says it did nothing.
 */
const UNCERTAIN_FAULTS: ReadonlySet<RandomFaultKind> = new Set([
  'timeout',
  'reset_before',
  'reset_after',
  'server_error',
  'malformed_json',
  'schema_violation',
]);

/** The HeroTimeoutError message (src/hero/errors.ts): the client gave up waiting for Hero's answer. */
const CLIENT_TIMEOUT = /: no response within \d+ ms/;

/** The failure of a retry whose previous attempt was cut off (src/activities/failures.ts uncertainAfterCutOff). */
const CUT_OFF = /the previous attempt ended without saying Hero did not get its request/;

/**
 * A reminder sent this soon after a booking is the run's inherent race (it read the link's use count, then
 * sent); a worker kill, server restart or connection fault in between widens it to the time the run was stalled.
 */
const REMINDER_RACE_MS = 5_000;
const REMINDER_RACE_AFTER_CHAOS_MS = 30_000;

/** Why the run's reconciliation could not tell, from its reason, when the sandbox's records bear it out. */
export type ListExplanation = 'list_off' | 'list_fault' | 'list_unreadable' | 'resends_exhausted';

export interface CheckInput {
  specs: RunSpec[];
  records: RunRecord[];
  messages: MessageSummary[];
  links: BookingLinkSummary[];
  appointments: AppointmentSummary[];
  requests: RecordedRequest[];
  deliveries: WebhookDeliveryRecord[];
  patients: PatientRecord[];
  reviews: ReviewRecord[];
  /**
   * When each worker kill, server restart or fault of the worker's connections (the proxy's drops, resets,
   * and each stall's start and end) happened (ms since epoch): a send cut off then explains a review.
   */
  chaosTimes: number[];
  /** When the suite turned the sent-messages list off and on again (ms since epoch). */
  listOutage: { from?: number; to?: number };
  t0: number;
}

export type Checked = Pick<
  ReliabilityReport,
  | 'lostRuns'
  | 'booking'
  | 'reminders'
  | 'reviews'
  | 'duplicates'
  | 'duplicateMessages'
  | 'patientsWithDuplicateMessages'
  | 'patientsWithSecondLink'
  | 'runsWithoutMessage'
  | 'sentMessagesList'
> & {
  webhooks: Omit<ReliabilityReport['webhooks'], 'signing' | 'bookingEvents' | 'faults'>;
  failedRuns: Set<string>;
  globalFailures: string[];
};

const body = (q: RecordedRequest) => (q.body ?? {}) as Record<string, unknown>;

export function check(input: CheckInput): Checked {
  const { specs, records, messages, appointments, requests, t0 } = input;
  const at = (ms: number | undefined) => (ms === undefined ? '?' : `${((ms - t0) / 1000).toFixed(1)}s`);
  const specOf = new Map(specs.map((s) => [s.workflowId, s]));
  const recordOf = new Map(records.map((r) => [r.spec.workflowId, r]));
  const messagesOf = (pid: string | undefined) => messages.filter((m) => m.patientId === pid);
  const appointmentsOf = (pid: string | undefined) => appointments.filter((a) => a.patientId === pid);
  const reviewsOf = (wf: string) => input.reviews.filter((r) => r.workflowId === wf);
  const abandonedBySuite = (wf: string) => reviewsOf(wf).some((r) => r.answer?.action === 'abandon');
  const bookedInSandbox = (pid: string | undefined) => appointmentsOf(pid).filter((a) => a.status === 'confirmed');
  const chaosBetween = (from: number, to: number) => input.chaosTimes.some((t) => t >= from && t <= to);

  // Every run's one expected outcome, from what the sandbox holds and what the operator decided.
  /** Cancellations no delivery of which reached the receiver: no run could learn of them (see below). */
  const cancellationUnseen = (a: AppointmentSummary) =>
    a.status === 'cancelled' &&
    !input.deliveries.some(
      (d) =>
        d.appointmentId === a.id &&
        d.event === 'appointment.cancelled' &&
        d.fault !== 'forged' &&
        d.status >= 200 &&
        d.status < 300,
    );
  const expected = (spec: RunSpec): string[] => {
    if (spec.kind === 'not_found') return ['patient_not_found'];
    if (abandonedBySuite(spec.workflowId)) return ['abandoned'];
    if (spec.awaitBooking) {
      if (bookedInSandbox(spec.patientId).length) return ['booked'];
      return appointmentsOf(spec.patientId).some(cancellationUnseen) ? ['not_booked', 'booked'] : ['not_booked'];
    }
    return ['completed'];
  };
  const lostRuns = records
    .filter((r) => !expected(r.spec).includes(r.outcome))
    .map((r) => ({
      workflowId: r.spec.workflowId,
      kind: r.spec.kind + (r.spec.awaitBooking ? '+booking' : ''),
      expected: expected(r.spec).join(' or '),
      got: r.failureType ? `${r.outcome} (${r.failureType})` : r.outcome,
    }));

  // A patient never gets one send twice: two messages of one kind (first message, reminder 1, reminder 2).
  const duplicates: Checked['duplicates'] = [];
  let duplicateMessages = 0;
  for (const spec of specs) {
    if (!spec.patientId) continue;
    const mine = messagesOf(spec.patientId);
    const byKind = new Map<string, number>();
    for (const m of mine)
      byKind.set(kindOfText(m.text) ?? 'other', (byKind.get(kindOfText(m.text) ?? 'other') ?? 0) + 1);
    const twice = [...byKind].filter(([, n]) => n > 1);
    if (!twice.length) continue;
    duplicateMessages += twice.reduce((sum, [, n]) => sum + n - 1, 0);
    duplicates.push({
      workflowId: spec.workflowId,
      kinds: twice.map(([k, n]) => `${k} x${n}`).join(', '),
      links: input.links.filter((l) => l.patientId === spec.patientId).length,
      requests: requests
        .filter((q) => q.endpoint === 'create_booking_link' || q.endpoint === 'send_message')
        .filter((q) => body(q).patient_id === spec.patientId)
        .map((q) => `${q.endpoint}:${q.status}${q.fault ? `/${q.fault}` : ''}@${at(q.at)}`),
    });
  }
  const linksPer = new Map<string, number>();
  for (const l of input.links) if (l.patientId) linksPer.set(l.patientId, (linksPer.get(l.patientId) ?? 0) + 1);
  const patientsWithSecondLink = [...linksPer.values()].filter((n) => n > 1).length;

  // A run that says it sent a message: the sandbox holds it, for its patient, of that kind.
  const runsWithoutMessage: Checked['runsWithoutMessage'] = [];
  for (const r of records) {
    const res = r.result;
    if (!res || (res.outcome !== 'completed' && res.outcome !== 'booked' && res.outcome !== 'not_booked')) continue;
    const mine = messagesOf(r.spec.patientId);
    const sent = res.messages ?? [
      { kind: 'message' as const, messageId: 'messageId' in res ? res.messageId : undefined },
    ];
    let reminder = 0;
    for (const m of sent) {
      const kind: MessageKind | undefined =
        m.kind === 'message' ? 'message' : (['reminder1', 'reminder2'] as const)[reminder++];
      const held = m.messageId
        ? mine.some((s) => s.id === m.messageId && kindOfText(s.text) === kind)
        : mine.some((s) => kindOfText(s.text) === kind) &&
          reviewsOf(r.spec.workflowId).some((v) => v.kind === kind && v.answer?.action === 'mark_sent');
      if (!held) {
        runsWithoutMessage.push({
          workflowId: r.spec.workflowId,
          kind: kind ?? m.kind,
          messageId: m.messageId ?? '(marked sent)',
        });
      }
    }
  }

  // Bookings: the sandbox's appointments against the runs' outcomes.
  const bookingRuns = records.filter((r) => r.spec.awaitBooking);
  const bookedNotRecorded: ReliabilityReport['booking']['bookedNotRecorded'] = [];
  const bookedWithoutAppointment: ReliabilityReport['booking']['bookedWithoutAppointment'] = [];
  const cancellationUndelivered: ReliabilityReport['booking']['cancellationUndelivered'] = [];
  const wrongAppointment: ReliabilityReport['booking']['wrongAppointment'] = [];
  const describeAppointment = (a: AppointmentSummary) => {
    const deliveries = (event: string) => {
      const mine = input.deliveries.filter((d) => d.appointmentId === a.id && d.event === event);
      if (!mine.length) return 'no webhook';
      return `webhook ${mine.map((d) => `${d.status}${d.fault ? `/${d.fault}` : ''}`).join(',')}`;
    };
    return (
      `appointment ${a.id} booked ${at(a.bookingConfirmedAt)} (${deliveries('appointment.confirmed')})` +
      (a.cancelledAt !== undefined ? `, cancelled ${at(a.cancelledAt)} (${deliveries('appointment.cancelled')})` : '')
    );
  };
  const linkReads = (linkId: string, from: number, to: number) =>
    requests
      .filter((q) => q.endpoint === 'get_booking_link' && q.at > from && q.at < to && q.path.endsWith(`/${linkId}`))
      .map((q) => `${q.status}${q.fault ? `/${q.fault}` : ''}@${at(q.at)}`)
      .join(' ') || 'none';
  const sendsOf = (pid: string | undefined) =>
    requests
      .filter((q) => q.endpoint === 'send_message' && body(q).patient_id === pid)
      .map((q) => `${q.status}${q.randomFault ? `/${q.randomFault}` : q.fault ? `/${q.fault}` : ''}@${at(q.at)}`)
      .join(' ');
  let bookedAfterAbandon = 0;
  for (const r of bookingRuns) {
    const wf = r.spec.workflowId;
    const confirmed = bookedInSandbox(r.spec.patientId);
    const all = appointmentsOf(r.spec.patientId);
    if (abandonedBySuite(wf)) {
      if (confirmed.length) bookedAfterAbandon += 1;
      continue;
    }
    if (confirmed.length && r.outcome !== 'booked') {
      const reads = linkReads(confirmed[0]!.linkId, confirmed[0]!.bookingConfirmedAt, r.closedAt ?? Infinity);
      bookedNotRecorded.push({
        workflowId: wf,
        got: r.outcome,
        sandbox: `${all.map(describeAppointment).join('; ')}; link reads after it: ${reads}; run closed ${at(r.closedAt)}`,
      });
    }
    if (r.outcome === 'booked' && !confirmed.length) {
      const entry = {
        workflowId: wf,
        sandbox: all.length ? all.map(describeAppointment).join('; ') : 'no appointment',
      };
      // A cancellation shows only in its webhook: Hero documents no cancelled status, and a link's use count
      // does not go down (docs/hero-api.md §2.3, §2.6). When no delivery of it reached the receiver, no run
      // could have learnt of it: reported apart, not failed. One that was delivered and missed is a bug.
      const cancellationDelivered = !all.some(cancellationUnseen);
      if (all.length && !cancellationDelivered) cancellationUndelivered.push(entry);
      else bookedWithoutAppointment.push(entry);
    }
    const res = r.result;
    if (res?.outcome === 'booked' && res.appointment.id !== null && confirmed.length) {
      if (!confirmed.some((a) => a.id === res.appointment.id)) {
        wrongAppointment.push({
          workflowId: wf,
          run: res.appointment.id,
          sandbox: confirmed.map((a) => a.id).join(','),
        });
      }
    }
  }
  const booking: ReliabilityReport['booking'] = {
    runs: bookingRuns.length,
    booked: bookingRuns.filter((r) => r.outcome === 'booked').length,
    notBooked: bookingRuns.filter((r) => r.outcome === 'not_booked').length,
    abandoned: bookingRuns.filter((r) => r.outcome === 'abandoned').length,
    bookedByWebhook: bookingRuns.filter((r) => r.result?.outcome === 'booked' && r.result.appointment.id !== null)
      .length,
    bookedByRecheck: bookingRuns.filter((r) => r.result?.outcome === 'booked' && r.result.appointment.id === null)
      .length,
    patientsBooked: input.patients.filter((p) => p.bookedAt !== undefined).length,
    silentBookings: input.patients.filter((p) => p.bookedAt !== undefined && !p.plan.notify).length,
    cancelled: input.patients.filter((p) => p.cancelledAt !== undefined).length,
    sandboxRefused: input.patients.filter((p) => p.error).map((p) => `${p.workflowId}: ${p.error}`),
    bookedAfterAbandon,
    bookedNotRecorded,
    bookedWithoutAppointment,
    cancellationUndelivered,
    wrongAppointment,
  };

  // Reminders: only to patients not booked when it went; and as many as the run says it sent.
  const toBookedPatients: ReliabilityReport['reminders']['toBookedPatients'] = [];
  const countMismatch: ReliabilityReport['reminders']['countMismatch'] = [];
  let sentReminders = 0;
  let reportedReminders = 0;
  for (const r of bookingRuns) {
    const pid = r.spec.patientId;
    const reminders = messagesOf(pid).filter((m) => kindOfText(m.text)?.startsWith('reminder'));
    sentReminders += reminders.length;
    for (const m of reminders) {
      const booked = appointmentsOf(pid).find((a) => {
        const race = chaosBetween(a.bookingConfirmedAt, m.createdAt) ? REMINDER_RACE_AFTER_CHAOS_MS : REMINDER_RACE_MS;
        return (
          a.bookingConfirmedAt <= m.createdAt - race && (a.cancelledAt === undefined || a.cancelledAt > m.createdAt)
        );
      });
      if (!booked) continue;
      const review = reviewsOf(r.spec.workflowId).find((v) => v.kind === kindOfText(m.text) && v.action);
      toBookedPatients.push({
        workflowId: r.spec.workflowId,
        reminder: kindOfText(m.text) ?? '?',
        sentAt: at(m.createdAt),
        booking: describeAppointment(booked),
        linkReadsBetween: linkReads(booked.linkId, booked.bookingConfirmedAt, m.createdAt),
        sends: sendsOf(pid),
        review: review ? `${review.action} decided ${at(review.decidedAt)}` : 'none',
      });
    }
    const res = r.result;
    if (res && (res.outcome === 'booked' || res.outcome === 'not_booked')) {
      reportedReminders += res.remindersSent;
      if (res.remindersSent !== reminders.length) {
        countMismatch.push({ workflowId: r.spec.workflowId, run: res.remindersSent, sandbox: reminders.length });
      }
    }
  }

  // Reviews: why each opened, whether Hero had acted, and what the operator's decision did.
  const outage = input.listOutage;
  const outageOverlaps = (from: number, to: number) =>
    outage.from !== undefined && outage.from <= to && (outage.to === undefined || outage.to >= from);
  const listRequestsBetween = (from: number, to: number) =>
    requests.filter((q) => q.endpoint === 'list_sent_messages' && q.at >= from && q.at <= to);
  const explain = (reason: string, openedAt: number): ListExplanation | undefined => {
    if (/sends again were uncertain too/.test(reason)) return 'resends_exhausted';
    if (/answered 404/.test(reason))
      return outageOverlaps(openedAt - 20_000, openedAt + 2_000) ? 'list_off' : undefined;
    if (/unknown shape/.test(reason)) {
      return listRequestsBetween(openedAt - 20_000, openedAt + 2_000).some(
        (q) => q.randomFault === 'malformed_json' || q.randomFault === 'schema_violation',
      )
        ? 'list_fault'
        : undefined;
    }
    if (/could not be read/.test(reason)) {
      const from = openedAt - 150_000;
      return listRequestsBetween(from, openedAt + 2_000).some((q) => q.status !== 200) || chaosBetween(from, openedAt)
        ? 'list_unreadable'
        : undefined;
    }
    return undefined;
  };
  const sendRequests = (pid: string | undefined, before: number) =>
    requests.filter((q) => q.endpoint === 'send_message' && body(q).patient_id === pid && q.at <= before);
  const stateAfter = (v: ReviewRecord, spec: RunSpec): string => {
    if (v.action === 'abandon') return 'abandoned';
    if (v.action === 'resend') return v.kind === 'message' ? 'sending_message' : 'sending_reminder';
    return v.kind === 'message' && !spec.awaitBooking ? 'completed' : 'awaiting_booking';
  };
  const resentInDoubtThenSkipped = (v: ReviewRecord, pid: string | undefined, rec: RunRecord | undefined) =>
    (rec?.outcome === 'booked' || rec?.outcome === 'not_booked') &&
    sendRequests(pid, Infinity).some(
      (q) => q.at >= (v.decidedAt ?? Infinity) && q.randomFault !== undefined && UNCERTAIN_FAULTS.has(q.randomFault),
    );
  const needless: ReliabilityReport['reviews']['needless'] = [];
  const unexplained: ReliabilityReport['reviews']['unexplained'] = [];
  const wrongEffects: ReliabilityReport['reviews']['wrongEffects'] = [];
  const unresolved: ReliabilityReport['reviews']['unresolved'] = [];
  const repeatsAccepted: string[] = [];
  const byExplanation: Record<string, number> = {};
  const resolved: Record<string, number> = { resend: 0, mark_sent: 0, abandon: 0, expired: 0 };
  const listed: ReliabilityReport['reviews']['list'] = [];
  for (const v of input.reviews) {
    const spec = specOf.get(v.workflowId)!;
    const rec = recordOf.get(v.workflowId);
    const pid = spec.patientId;
    const openedAt = Date.parse(v.openedAt);
    const explanation = explain(v.reason, openedAt);
    byExplanation[explanation ?? 'none'] = (byExplanation[explanation ?? 'none'] ?? 0) + 1;
    listed.push({
      workflowId: v.workflowId,
      step: v.step,
      kind: v.kind ?? '?',
      openedAt: at(openedAt),
      heroActed: v.held,
      explanation: explanation ?? 'none',
      action: v.action ?? '(none)',
      state: v.answer?.state ?? '(no answer)',
      reason: v.reason,
    });
    // The list could tell, and Hero had not acted: the run should have sent again by itself.
    if (v.held === false && explanation === undefined) {
      needless.push({ workflowId: v.workflowId, step: v.step, reason: v.reason });
    }
    // A review needs an uncertain send behind it: an injected fault, a client timeout, or a crash that cut one off.
    // The send in doubt came the reconciliation delay before the list was read, which may take retries.
    const reconcileAfter = RECONCILE_AFTER_MS;
    const sends = sendRequests(pid, openedAt - reconcileAfter + 5_000).filter(
      (q) => q.at >= openedAt - reconcileAfter - 150_000,
    );
    const uncertain = sends.some((q) => q.randomFault && UNCERTAIN_FAULTS.has(q.randomFault));
    const timedOut = CLIENT_TIMEOUT.test(v.reason) && sends.length > 0;
    const cutOff =
      CUT_OFF.test(v.reason) && chaosBetween(openedAt - reconcileAfter - 150_000, openedAt - reconcileAfter + 5_000);
    if (!uncertain && !timedOut && !cutOff)
      unexplained.push({ workflowId: v.workflowId, step: v.step, reason: v.reason });

    if (!v.answer || !v.action) {
      unresolved.push({ workflowId: v.workflowId, step: v.step, errors: v.errors.join(' | ') || 'never decided' });
      continue;
    }
    resolved[v.action] = (resolved[v.action] ?? 0) + 1;
    if (v.repeat && !v.repeat.refused) repeatsAccepted.push(v.workflowId);
    const wrong: string[] = [];
    if (v.answer.action !== v.action) wrong.push(`answered action ${v.answer.action}`);
    // A reminder is not sent again once the patient has booked or the window has closed: the run answers
    // the resend with the state it goes on in, and sends nothing.
    const skipped =
      v.action === 'resend' &&
      v.kind !== 'message' &&
      (v.answer.state === 'awaiting_booking' || v.answer.state === 'booked');
    if (!skipped && v.answer.state !== stateAfter(v, spec))
      wrong.push(`answered state ${v.answer.state}, expected ${stateAfter(v, spec)}`);
    const ofKind = messagesOf(pid).filter((m) => kindOfText(m.text) === v.kind);
    const after = messagesOf(pid).filter((m) => m.createdAt >= (v.decidedAt ?? Infinity));
    const laterAbandon = reviewsOf(v.workflowId).some(
      (o) => o !== v && o.kind === v.kind && o.action === 'abandon' && Date.parse(o.openedAt) > openedAt,
    );
    switch (v.action) {
      case 'abandon':
        if (rec?.outcome !== 'abandoned') wrong.push(`run ended ${rec?.outcome}, not abandoned`);
        else if (
          rec.result?.outcome === 'abandoned' &&
          (rec.result.review.action !== 'abandon' || rec.result.step !== v.step)
        ) {
          wrong.push(`result says ${rec.result.review.action} at ${rec.result.step}`);
        }
        if (after.length) wrong.push(`${after.length} message(s) sent after the abandon`);
        break;
      case 'mark_sent':
        if (!v.held) wrong.push('marked sent though the sandbox did not hold it (suite error)');
        if (ofKind.length !== 1) wrong.push(`the sandbox holds ${ofKind.length} ${v.kind} message(s), expected 1`);
        if (after.some((m) => kindOfText(m.text) === v.kind)) wrong.push(`${v.kind} sent again after mark_sent`);
        break;
      case 'resend':
        if (v.held) wrong.push('resent though the sandbox held it (suite error)');
        if (skipped) {
          if (ofKind.length !== 0) wrong.push(`skipped, yet the sandbox holds ${ofKind.length} ${v.kind} message(s)`);
          if (rec?.outcome !== 'booked' && rec?.outcome !== 'not_booked')
            wrong.push(`skipped, and the run ended ${rec?.outcome}`);
        } else if (ofKind.length === 0 && v.kind !== 'message' && resentInDoubtThenSkipped(v, pid, rec)) {
          // The resend itself was in doubt, the list then showed it unsent, and by then the patient had
          // booked or the window had closed: the run rightly sent nothing more.
        } else if (ofKind.length > 1 || (!laterAbandon && ofKind.length !== 1)) {
          wrong.push(`the sandbox holds ${ofKind.length} ${v.kind} message(s), expected 1`);
        }
        break;
    }
    if (rec?.outcome === 'needs_review_expired') wrong.push('the run ended needs_review_expired');
    if (wrong.length) wrongEffects.push({ workflowId: v.workflowId, action: v.action, problems: wrong.join('; ') });
  }
  resolved.expired = records.filter((r) => r.outcome === 'needs_review_expired').length;
  const reviews: ReliabilityReport['reviews'] = {
    opened: input.reviews.length,
    heroActed: input.reviews.filter((v) => v.held === true).length,
    heroHadNot: input.reviews.filter((v) => v.held === false).length,
    byExplanation,
    resolved,
    repeatsRefused: input.reviews.filter((v) => v.repeat?.refused).length,
    repeatsAccepted,
    needless,
    unexplained,
    wrongEffects,
    unresolved,
    list: listed,
  };

  // Webhooks: what the sandbox delivered, and the receiver's answers.
  const deliveries = input.deliveries;
  const attempts = deliveries.filter((d) => d.attempt > 0);
  const ok = (s: number) => s >= 200 && s < 300;
  const forgedAccepted = deliveries.filter((d) => d.fault === 'forged' && ok(d.status)).length;
  const events = new Set(deliveries.map((d) => d.eventSeq));
  const delivered = new Set(deliveries.filter((d) => ok(d.status) && d.fault !== 'forged').map((d) => d.eventSeq));
  const lost = new Set(deliveries.filter((d) => d.fault === 'lost').map((d) => d.eventSeq));
  const listReads = requests.filter((q) => q.endpoint === 'list_sent_messages');
  const sentMessagesList = {
    reads: listReads.length,
    notFound: listReads.filter((q) => q.status === 404).length,
    faulted: listReads.filter((q) => q.randomFault !== undefined).length,
  };
  const webhooks: Checked['webhooks'] = {
    events: events.size,
    attempts: attempts.length,
    accepted: attempts.filter((d) => ok(d.status)).length,
    refused: attempts.filter((d) => d.status === 401).length,
    failedAttempts: attempts.filter((d) => !ok(d.status) && d.status !== 401).length,
    eventsNeverDelivered: [...events].filter((e) => !delivered.has(e) && !lost.has(e)).length,
    forgedAccepted,
  };

  const globalFailures: string[] = [];
  if (forgedAccepted) globalFailures.push(`${forgedAccepted} forged webhook deliveries were accepted`);
  if (booking.sandboxRefused.length)
    globalFailures.push(`the sandbox refused ${booking.sandboxRefused.length} bookings`);
  const failedRuns = new Set([
    ...lostRuns.map((l) => l.workflowId),
    ...duplicates.map((d) => d.workflowId),
    ...runsWithoutMessage.map((m) => m.workflowId),
    ...bookedNotRecorded.map((b) => b.workflowId),
    ...bookedWithoutAppointment.map((b) => b.workflowId),
    ...wrongAppointment.map((b) => b.workflowId),
    ...toBookedPatients.map((b) => b.workflowId),
    ...countMismatch.map((b) => b.workflowId),
    ...needless.map((v) => v.workflowId),
    ...unexplained.map((v) => v.workflowId),
    ...wrongEffects.map((v) => v.workflowId),
    ...unresolved.map((v) => v.workflowId),
    ...repeatsAccepted,
  ]);

  return {
    lostRuns,
    booking,
    reminders: { sent: sentReminders, reportedByRuns: reportedReminders, toBookedPatients, countMismatch },
    reviews,
    duplicates,
    duplicateMessages,
    patientsWithDuplicateMessages: duplicates.length,
    patientsWithSecondLink,
    runsWithoutMessage,
    webhooks,
    sentMessagesList,
    failedRuns,
    globalFailures,
  };
}
