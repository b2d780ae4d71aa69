import type { Client } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import {
  decodeFromPayloadsAtIndex,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow';
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;
/** The attributes this file reads, whichever event they belong to. */
interface Attributes {
  activityType?: { name?: string | null } | null;
  scheduledEventId?: unknown;
  result?: Payloads;
  failure?: temporal.api.failure.v1.IFailure | null;
  signalName?: string | null;
  input?: Payloads;
  acceptedRequest?: { input?: { name?: string | null; args?: Payloads } | null } | null;
  startToFireTimeout?: Parameters<typeof tsToMs>[0];
}

/** Activities whose results carry no patient data and tell how the run decided: shown decoded. */
const SHOWN_RESULTS = new Set(['checkBookingLink', 'sendMessage', 'findSentMessages', 'checkMessageStatus']);

/**
 * A failing run's history as one line per event that matters (workflow tasks left out), times in seconds
 * since the suite's start, for test-artifacts/reliability-failures.json. Never the run's input, trace
 * results or login URLs: only activity names, the results above, failure messages (which name no patient
 * data, src/hero/errors.ts), signal and update payloads (Hero's ids, an operator's decision) and timers.
 */
export async function timeline(
  client: Client,
  converter: LoadedDataConverter,
  workflowId: string,
  t0: number,
): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const activityOf = new Map<string, string>();
  const lines: string[] = [];
  const decode = async (payloads: Payloads) =>
    JSON.stringify(await decodeFromPayloadsAtIndex(converter, 0, payloads?.payloads).catch(() => '(undecodable)'));
  const failure = async (f: temporal.api.failure.v1.IFailure | null | undefined) =>
    (await decodeOptionalFailureToOptionalError(converter, f).catch(() => undefined))?.message ?? '(no message)';
  for (const e of history.events ?? []) {
    const key = Object.keys(e).find(
      (k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k] != null,
    ) as keyof Event | undefined;
    if (!key) continue;
    const type = key.replace(/EventAttributes$/, '');
    if (type.startsWith('workflowTask')) continue;
    const a = e[key] as Attributes;
    let detail = '';
    switch (type) {
      case 'activityTaskScheduled': {
        const name = a.activityType?.name ?? '?';
        activityOf.set(String(e.eventId), name);
        detail = name;
        break;
      }
      case 'activityTaskCompleted': {
        const name = activityOf.get(String(a.scheduledEventId)) ?? '?';
        detail = SHOWN_RESULTS.has(name) ? `${name} ${await decode(a.result)}` : name;
        break;
      }
      case 'activityTaskFailed':
      case 'activityTaskTimedOut':
        detail = `${activityOf.get(String(a.scheduledEventId)) ?? '?'}: ${await failure(a.failure)}`;
        break;
      case 'workflowExecutionSignaled':
        detail = `${a.signalName ?? '?'} ${await decode(a.input)}`;
        break;
      case 'workflowExecutionUpdateAccepted': {
        const input = a.acceptedRequest?.input;
        detail = `${input?.name ?? '?'} ${await decode(input?.args)}`;
        break;
      }
      case 'timerStarted':
        detail = `${tsToMs(a.startToFireTimeout) / 1000} s`;
        break;
      case 'workflowExecutionCompleted': {
        const result = await decodeFromPayloadsAtIndex(converter, 0, a.result?.payloads).catch(() => undefined);
        detail = (result as { outcome?: string } | undefined)?.outcome ?? '(undecodable)';
        break;
      }
      case 'workflowExecutionFailed':
        detail = await failure(a.failure);
        break;
      default:
        break;
    }
    const at = e.eventTime ? `${((tsToMs(e.eventTime) - t0) / 1000).toFixed(1)}s` : '?';
    lines.push(`${at} ${type}${detail ? ` ${detail}` : ''}`);
  }
  return lines;
}
