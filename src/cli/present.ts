/**
 * What the commands print: JSON on stdout (one value; other services parse it), or, with --pretty or
 * when stdout is a terminal, a few lines for a person. No Temporal code here: it is loaded by help.
 */

export interface OutputOptions {
  pretty?: boolean;
  json?: boolean;
}

/** A person reads the output: --pretty, or a terminal unless --json. */
export function forPeople(opts: OutputOptions): boolean {
  return !!opts.pretty || (!opts.json && !!process.stdout.isTTY);
}

/** Prints `value` as JSON, or `human(value)` for a person. */
export function emit<T>(value: T, opts: OutputOptions, human: (value: T) => string): void {
  process.stdout.write((forPeople(opts) ? human(value) : JSON.stringify(value, null, 2)) + '\n');
}

export const DEFAULT_UI_URL = 'http://localhost:8233';

/** The base of run links: HERO_TEMPORAL_UI_URL, else the dev UI (HERO_DEV_UI_PORT or 8233). */
export function uiBase(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.HERO_TEMPORAL_UI_URL?.trim();
  if (configured) return configured.replace(/\/+$/, '');
  const devPort = env.HERO_DEV_UI_PORT?.trim();
  return devPort ? `http://localhost:${devPort}` : DEFAULT_UI_URL;
}

/** The run's page in the Temporal UI. */
export function runUrl(namespace: string, workflowId: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${uiBase(env)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const STATE_WORDS: Record<string, string> = {
  tracing: 'tracing the patient on NHS PDS through Hero',
  awaiting_verification: 'waiting for the patient to verify their identity',
  creating_booking_link: 'creating the booking link',
  sending_message: 'sending the message',
  completed: 'completed: the booking link was sent',
  verification_expired: 'ended: the patient did not verify in time',
  patient_not_found: 'ended: NHS PDS has no such patient',
  needs_review: 'needs review: check in Hero whether the link or message went out, then hero-flow review resolve',
  cancelled: 'cancelled',
  failed: 'failed',
  awaiting_booking: 'waiting for the patient to book through the link',
  sending_reminder: 'sending a reminder',
  booked: 'booked: the patient booked through the link',
  not_booked: 'ended: the booking window closed without a booking',
  checking_with_hero: 'asking Hero whether the link or message went out',
  needs_review_expired: 'ended: nobody resolved the review in time',
  abandoned: 'ended: an operator abandoned it in review',
  awaiting_send_window: 'waiting for the sending hours to open before sending',
};

export const stateInWords = (state: string) => `${state} (${STATE_WORDS[state] ?? 'unknown state'})`;

type Result = {
  outcome: string;
  patientId?: string;
  bookingLink?: { id: string; url: string };
  messageId?: string;
  attempts?: number;
  step?: string;
  reason?: string;
  appointment?: Appointment;
  remindersSent?: number;
  review?: { action: string; note?: string };
};

type Appointment = { id: string | null; confirmedAt: string | null; startTime: string | null };

type SentMessage = {
  kind: string;
  messageId?: string;
  sentAt: string;
  deliveryStatus: string | null;
  deliveryFinal: boolean;
  deliveryFailed: boolean;
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line for a run's outcome (the workflow's result). */
export function describeResult(result: Result): string {
  switch (result.outcome) {
    case 'completed':
      return (
        `completed: booking link ${result.bookingLink?.url ?? '?'} sent ` +
        `(message ${result.messageId ?? (result.review ? 'marked sent by an operator' : '?')}, Hero patient ${result.patientId ?? '?'})`
      );
    case 'booked':
      return `booked: ${appointmentText(result.appointment)} (${plural(result.remindersSent ?? 0, 'reminder')} sent)`;
    case 'not_booked':
      return `not_booked: the booking window closed without a booking (${plural(result.remindersSent ?? 0, 'reminder')} sent)`;
    case 'abandoned':
      // The operator's note is free text (it may hold an NHS number or a phone number): never echoed.
      return `abandoned in review at ${result.step ?? '?'}${result.review?.note ? ' (with a note)' : ''}`;
    case 'needs_review_expired':
      return `needs_review_expired at ${result.step ?? '?'}: nobody resolved the review in time (${result.reason ?? ''})`;
    case 'patient_not_found':
      return 'patient_not_found: NHS PDS has no such patient';
    case 'verification_expired':
      return `verification_expired: the patient did not verify in time (${result.attempts ?? '?'} traces)`;
    case 'cancelled':
      return 'cancelled';
    case 'needs_review':
      return `needs_review at ${result.step ?? '?'}: ${result.reason ?? ''} (check in Hero whether it went out)`;
    default:
      return result.outcome;
  }
}

export function startedText(v: { workflowId: string; runId: string; uiUrl?: string; result?: Result }): string {
  const lines = [`Started ${v.workflowId} (run ${v.runId}).`];
  if (v.uiUrl) lines.push(`  UI: ${v.uiUrl}`);
  lines.push(v.result ? `  Outcome: ${describeResult(v.result)}` : `  Follow it: hero-flow status ${v.workflowId}`);
  return lines.join('\n');
}

/** "appointment 42, confirmed at …, starts …", or how the run learnt of the booking. */
function appointmentText(a: Appointment | undefined): string {
  if (!a) return 'booked';
  const parts = [a.id ? `appointment ${a.id}` : "booked (seen in the link's use count; no appointment id)"];
  if (a.confirmedAt) parts.push(`confirmed ${a.confirmedAt}`);
  if (a.startTime) parts.push(`starts ${a.startTime}`);
  return parts.join(', ');
}

/** "message 456: delivered" / "reminder 789: failed (not delivered)" / "message 456: no delivery status yet". */
function messageText(m: SentMessage): string {
  const id = m.messageId ? `${m.kind} ${m.messageId}` : `${m.kind} (marked sent by an operator)`;
  const status =
    m.deliveryStatus === null
      ? 'no delivery status yet'
      : `${m.deliveryStatus}${m.deliveryFailed ? ' (not delivered)' : m.deliveryFinal ? '' : ' (not final)'}`;
  return `${id}, sent ${m.sentAt}: ${status}`;
}

export function statusText(v: {
  workflowId: string;
  state: string;
  loginUrl?: string;
  attempts: number;
  updatedAt: string;
  uiUrl: string;
  bookingLinkId?: string;
  messages?: SentMessage[];
  appointment?: Appointment;
  bookingWindowEndsAt?: string;
  review?: { step: string; reason: string; openedAt: string; deadline: string };
}): string {
  const lines = [`${v.workflowId}: ${stateInWords(v.state)}`];
  if (v.loginUrl) {
    lines.push(`  The patient verifies at: ${v.loginUrl}`);
    lines.push(`  Once they have: hero-flow verify ${v.workflowId}`);
  }
  if (v.review) {
    lines.push(
      `  Review: ${v.review.step} since ${v.review.openedAt}: ${v.review.reason}`,
      `  Decide by ${v.review.deadline}: hero-flow review resolve ${v.workflowId} --action resend|mark_sent|abandon`,
    );
  }
  if (v.bookingLinkId) lines.push(`  Booking link: ${v.bookingLinkId}`);
  for (const m of v.messages ?? []) lines.push(`  ${messageText(m)}`);
  if (v.appointment) lines.push(`  Booked: ${appointmentText(v.appointment)}`);
  else if (v.bookingWindowEndsAt) lines.push(`  Waits for the booking until ${v.bookingWindowEndsAt}`);
  lines.push(`  Traces: ${v.attempts}, updated ${v.updatedAt}`, `  UI: ${v.uiUrl}`);
  return lines.join('\n');
}

/** One run in review, for a person. */
export function reviewLineText(v: {
  workflowId: string;
  step?: string;
  reason?: string;
  openedAt?: string;
  deadline?: string;
  error?: string;
  uiUrl: string;
}): string {
  if (v.error) return `${v.workflowId}: in review; ${v.error}\n  UI: ${v.uiUrl}`;
  return (
    `${v.workflowId}: ${v.step ?? '?'} since ${v.openedAt ?? '?'}, decide by ${v.deadline ?? '?'}: ${v.reason ?? ''}\n` +
    `  UI: ${v.uiUrl}`
  );
}

const ACTION_WORDS: Record<string, string> = {
  resend: 'it sends the message again',
  mark_sent: 'it carries on as sent',
  abandon: 'it ends, abandoned',
};

/** The answer of `review resolve`, for a person. */
export function resolvedText(v: { workflowId: string; action: string; state: string }): string {
  return [
    `${v.workflowId} accepted ${v.action}: ${ACTION_WORDS[v.action] ?? v.action}.`,
    `  State: ${stateInWords(v.state)}`,
    `  Follow it: hero-flow status ${v.workflowId}`,
  ].join('\n');
}

/** One event of `webhooks register`, for a person. */
export function registrationText(v: { event: string; id: string; created?: boolean; existing?: boolean }): string {
  return `${v.event}: ${v.created ? 'subscribed' : 'already subscribed'} (Hero webhook ${v.id})`;
}

const FOUND_WORDS: Record<string, string> = {
  patient: 'Hero found the patient verified: the run goes on to the booking link',
  verification_required: 'Hero still asks the patient to verify: the run keeps waiting',
  patient_not_found: 'NHS PDS has no such patient: the run ended',
  failed: 'the trace failed for good, and so did the run',
  cancelled: 'the run was cancelled first',
};

export function verifiedText(v: {
  workflowId: string;
  state?: string;
  retraced?: boolean;
  found?: string;
  signalled?: string;
}): string {
  if (v.signalled) {
    return `Signalled ${v.workflowId} (${v.signalled}); it re-traces if it is waiting. See: hero-flow status ${v.workflowId}`;
  }
  const lines = [`${v.workflowId} accepted the confirmation.`];
  if (v.retraced !== undefined) {
    lines.push(v.retraced ? '  It asked Hero again.' : '  A trace already in flight answered it.');
  }
  if (v.found !== undefined) lines.push(`  ${FOUND_WORDS[v.found] ?? `found: ${v.found}`}.`);
  if (v.state) lines.push(`  State: ${stateInWords(v.state)}`);
  return lines.join('\n');
}

/**
 * A finished run, as a command that needed a running one reports it: its outcome's name, never the
 * result itself (booking link, Hero patient id, an operator's note), which only `result` prints.
 */
export interface FinishedRun {
  workflowId: string;
  finished: true;
  status: string;
  closedAt?: string;
  outcome: string;
  failure?: { type?: string; message: string };
  /** Why the outcome could not be read (e.g. no key for it). */
  outcomeUnreadable?: string;
}

/** "<id> already finished at <time>: <outcome>" */
export function finishedLine(run: FinishedRun): string {
  const outcome = run.failure
    ? `${run.outcome}: ${run.failure.type ? `[${run.failure.type}] ` : ''}${run.failure.message}`
    : run.outcome;
  const unreadable = run.outcomeUnreadable ? ` (its outcome could not be read: ${run.outcomeUnreadable})` : '';
  return `${run.workflowId} already finished${run.closedAt ? ` at ${run.closedAt}` : ''}: ${outcome}${unreadable}`;
}

export function batchLineText(line: Record<string, unknown>): string {
  const at = `#${String(line.index)}`;
  if (typeof line.error === 'string') {
    return `${at} not started${line.workflowId ? ` (${String(line.workflowId)})` : ''}: ${line.error.replace(/\n\s*/g, '; ')}`;
  }
  const how = line.alreadyRunning ? 'already running' : line.alreadyFinished ? 'already finished' : 'started';
  return `${at} ${String(line.workflowId)}: ${how}`;
}
