import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { prepareOutreach } from '../client/outreach-client';
import type { OutreachResult } from '../workflows/schemas';
import { describeError } from './describe-error';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { PRIORITY } from '../shared/priority';
import { priorityOption, readInput } from './input';
import {
  describeResult,
  emit,
  type FinishedRun,
  finishedLine,
  forPeople,
  startedText,
  statusText,
  verifiedText,
} from './present';
import { type ClientOptions, say, type Session, uiUrlOf, withClient } from './session';

/** `start`, `status`, `result`, `verify`, `cancel`: one run, by its workflow ID. */

/**
 * `start --input FILE`: the request is parsed, and its workflow ID derived, once, before connecting.
 * @throws {UsageError} no --input, unreadable or not JSON. @throws {InvalidOutreachRequestError}
 * @throws {WorkflowIdError} (exit 2, nothing connected).
 */
export async function start(
  opts: ClientOptions & { input?: string; workflowId?: string; wait?: boolean; priority?: string },
): Promise<number> {
  if (!opts.input) throw new UsageError('start needs --input FILE (a JSON outreach request)');
  const priority = priorityOption(opts.priority, PRIORITY.single);
  const prepared = prepareOutreach(await readInput(opts.input), {
    workflowId: opts.workflowId,
    secret: process.env.HERO_WORKFLOW_ID_SECRET || undefined,
  });
  return withClient(opts, async (client) => {
    const started = await client.start(prepared, { priority });
    const out = opts.wait ? { ...started, result: await client.result(started.workflowId) } : started;
    emit(out, opts, (v) => startedText({ ...v, uiUrl: uiUrlOf(client, v.workflowId) }));
    return EXIT_OK;
  });
}

export async function status(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const out = { ...(await client.status(workflowId)), uiUrl: uiUrlOf(client, workflowId) };
    emit(out, opts, (v) => statusText({ workflowId, ...v }));
    return EXIT_OK;
  });
}

export async function result(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    emit(await client.result(workflowId), opts, describeResult);
    return EXIT_OK;
  });
}

/** The answer of confirmVerification: `retraced` and `found` from workers that wait for the re-trace. */
type VerifyAnswer = { accepted: true; state: string; retraced?: boolean; found?: string };

export async function verify(workflowId: string, opts: ClientOptions & { signal?: boolean }): Promise<number> {
  return withClient(opts, async (client, session) => {
    const handle = client.client.workflow.getHandle(workflowId);
    // A finished run is described, not refused as unknown: the server answers "not found" to it.
    if (!(await isRunning(handle))) return reportFinished(session, workflowId, 'verify', opts);
    try {
      if (opts.signal) {
        await client.signalVerification(workflowId);
        emit({ workflowId, signalled: 'verificationCompleted' }, opts, verifiedText);
      } else {
        const answer = (await client.confirmVerification(workflowId)) as VerifyAnswer;
        emit({ workflowId, ...answer }, opts, verifiedText);
      }
      return EXIT_OK;
    } catch (err) {
      // It may have ended since it was described.
      if (await isRunning(handle).catch(() => true)) throw err;
      return reportFinished(session, workflowId, 'verify', opts);
    }
  });
}

export async function cancel(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client, session) => {
    const handle = client.client.workflow.getHandle(workflowId);
    if (!(await isRunning(handle))) return reportFinished(session, workflowId, 'cancel', opts);
    try {
      await client.cancel(workflowId);
    } catch (err) {
      if (await isRunning(handle).catch(() => true)) throw err;
      return reportFinished(session, workflowId, 'cancel', opts);
    }
    emit({ workflowId, cancelRequested: true }, opts, () =>
      [
        `Cancellation requested for ${workflowId}: it aborts any Hero request in flight and ends "cancelled".`,
        `  See it end: hero-flow result ${workflowId}`,
      ].join('\n'),
    );
    return EXIT_OK;
  });
}

/** True while the latest run of the workflow ID runs; WorkflowNotFoundError when there is none. */
async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  return (await handle.describe()).status.name === 'RUNNING';
}

/**
 * A command that needs a running run met a finished one: says so, with its outcome's name (never the
 * result, which holds patient data: only `result` prints it), on stdout as the command's answer and on
 * stderr as one line. Exit 1.
 */
export async function reportFinished(
  session: Session,
  workflowId: string,
  command: 'cancel' | 'verify' | 'resolve',
  opts: ClientOptions,
): Promise<number> {
  const handle = session.client.client.workflow.getHandle(workflowId);
  const described = await handle.describe();
  const run: FinishedRun = {
    workflowId,
    finished: true,
    status: described.status.name,
    closedAt: described.closeTime?.toISOString(),
    outcome: described.status.name.toLowerCase(),
  };
  try {
    run.outcome = ((await handle.result()) as OutreachResult).outcome;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const cause = err.cause as { message?: string; type?: string } | undefined;
      if (err.cause instanceof CancelledFailure) run.outcome = 'cancelled';
      else run.failure = { type: cause?.type, message: cause?.message ?? err.message };
    } else {
      run.outcomeUnreadable = describeError(err, session).message;
    }
  }
  const what =
    command === 'cancel'
      ? 'there is nothing to cancel'
      : command === 'verify'
        ? 'it no longer waits for verification'
        : 'it has no review to resolve';
  const answer = command === 'cancel' ? { cancelRequested: false } : { accepted: false };
  emit({ ...run, ...answer }, opts, (v) => `${finishedLine(v)}: ${what}.`);
  if (!forPeople(opts)) say(`${finishedLine(run)}: ${what}`);
  return EXIT_FAILED;
}
