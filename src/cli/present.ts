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
  needs_review: 'needs review: check in Hero whether the link or message went out',
  cancelled: 'cancelled',
  failed: 'failed',
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
};

/** One line for a run's outcome (the workflow's result). */
export function describeResult(result: Result): string {
  switch (result.outcome) {
    case 'completed':
      return `completed: booking link ${result.bookingLink?.url ?? '?'} sent (message ${result.messageId ?? '?'}, Hero patient ${result.patientId ?? '?'})`;
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

export function statusText(v: {
  workflowId: string;
  state: string;
  loginUrl?: string;
  attempts: number;
  updatedAt: string;
  uiUrl: string;
}): string {
  const lines = [`${v.workflowId}: ${stateInWords(v.state)}`];
  if (v.loginUrl) {
    lines.push(`  The patient verifies at: ${v.loginUrl}`);
    lines.push(`  Once they have: hero-flow verify ${v.workflowId}`);
  }
  lines.push(`  Traces: ${v.attempts}, updated ${v.updatedAt}`, `  UI: ${v.uiUrl}`);
  return lines.join('\n');
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

export interface FinishedRun {
  workflowId: string;
  finished: true;
  status: string;
  closedAt?: string;
  outcome: string;
  result?: Result;
  failure?: { type?: string; message: string };
  /** Why the outcome could not be read (e.g. no key for it). */
  outcomeUnreadable?: string;
}

/** "<id> already finished at <time>: <outcome>" */
export function finishedLine(run: FinishedRun): string {
  const outcome = run.result
    ? describeResult(run.result)
    : run.failure
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
