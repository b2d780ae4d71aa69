import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import {
  CAMPAIGN_GATE_QUERY,
  CAMPAIGN_PAUSE_SIGNAL,
  type CampaignGate,
  campaignGateSchema,
  type CampaignPause,
  campaignWorkflowId,
} from '../shared/campaign-ids';
import { FailureType } from '../shared/failure-types';

/** How long one campaign's gate answer is reused by a worker: a pause reaches every worker within about this. */
export const CAMPAIGN_GATE_CACHE_MS = 1_000;
/**
 * The oldest gate answer a worker still acts on while it asks again in the background: a pause reaches every
 * call within about this plus one query, well inside the 5 s a pause promises.
 */
export const CAMPAIGN_GATE_MAX_STALE_MS = 3_000;
/** 401/403 answers in a row, for one campaign on one worker, after which the worker pauses the campaign. */
export const CREDENTIAL_REFUSALS_TO_PAUSE = 3;
/** How long the gate query may take; no answer in time counts as closed (the call is retried later). */
const GATE_QUERY_TIMEOUT_MS = 5_000;
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 5 * 60_000;

/** What the activities ask of a campaign's gate; {@link createCampaignGate} makes the worker's. */
export interface CampaignGateKeeper {
  /** The campaign's gate (cached ~1 s); an open gate when the campaign workflow does not exist. */
  read(campaignId: string): Promise<CampaignGate>;
  /**
   * Hero refused a run's credentials (401/403) for this campaign: counted; at the third in a row the
   * campaign is signalled `pauseCampaign` {by: 'credentials'} with a reason naming the group and status.
   */
  credentialsRefused(campaignId: string, practiceGroupId: string, status: number): Promise<void>;
  /** A Hero call of the campaign succeeded: the count of refusals in a row starts again. */
  succeeded(campaignId: string): void;
}

/**
 * The retryable failure of a campaign run's activity that made no Hero call because its campaign is paused
 * or cancelled (or refused credentials). The server retries it after `min(5 s × 2^(attempt-1), 5 min)`;
 * when the activity's attempts run out the run calls it again, so no run fails for a pause.
 */
export function campaignPausedFailure(campaignId: string, why: string, attempt: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.CampaignPaused,
    message: `campaign ${campaignId} ${why}; no Hero call was made, retried later`,
    nextRetryDelay: Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1), MAX_RETRY_MS),
    details: [{ campaignId }],
    // A wait, not a fault: logged without a warning and stack trace per attempt.
    category: ApplicationFailureCategory.BENIGN,
  });
}

/** Why a closed gate stops a call, for {@link campaignPausedFailure}'s message. */
export function gateClosedWhy(gate: CampaignGate): string | undefined {
  if (gate.cancelled) return `is cancelled${gate.reason ? ` (${gate.reason})` : ''}`;
  if (gate.paused) return `is paused${gate.reason ? ` (${gate.reason})` : ''}`;
  return undefined;
}

/**
 * A worker's campaign gate: queries `campaignGate` of `hero-campaign.<id>` with the worker's own client
 * (cached per campaign for `cacheMs`, then served for up to `maxStaleMs` while one query per campaign refreshes
 * it), and counts credential refusals.
 * A query that fails for another reason than a missing campaign workflow throws, so the call is retried
 * rather than made while the gate cannot be read.
 */
export function createCampaignGate(
  client: Client,
  opts: { cacheMs?: number; maxStaleMs?: number; refusalsToPause?: number; log?: (line: string) => void } = {},
): CampaignGateKeeper {
  const cacheMs = opts.cacheMs ?? CAMPAIGN_GATE_CACHE_MS;
  const refusalsToPause = opts.refusalsToPause ?? CREDENTIAL_REFUSALS_TO_PAUSE;
  const maxStaleMs = Math.max(cacheMs, opts.maxStaleMs ?? CAMPAIGN_GATE_MAX_STALE_MS);
  const entries = new Map<string, { at: number; value?: CampaignGate; refresh?: Promise<CampaignGate> }>();
  const refusals = new Map<string, { count: number; signalled: boolean }>();
  const OPEN: CampaignGate = { paused: false, cancelled: false };

  const query = async (campaignId: string): Promise<CampaignGate> => {
    try {
      const raw = await client.withDeadline(Date.now() + GATE_QUERY_TIMEOUT_MS, () =>
        client.workflow.getHandle(campaignWorkflowId(campaignId)).query<unknown>(CAMPAIGN_GATE_QUERY),
      );
      return campaignGateSchema.parse(raw);
    } catch (err) {
      // No campaign workflow (an ID that only looks like a campaign's, or one past retention): nothing to obey.
      if (err instanceof WorkflowNotFoundError) return OPEN;
      throw err;
    }
  };

  return {
    read(campaignId) {
      const now = Date.now();
      let entry = entries.get(campaignId);
      if (!entry) entries.set(campaignId, (entry = { at: 0 }));
      const age = now - entry.at;
      if (entry.value && age < cacheMs) return Promise.resolve(entry.value);
      let refresh = entry.refresh;
      if (!refresh) {
        const e = entry;
        refresh = e.refresh = query(campaignId)
          .then((gate) => {
            e.value = gate;
            e.at = Date.now();
            return gate;
          })
          .finally(() => {
            e.refresh = undefined;
          });
        // Whoever waits on it sees a failure; the background refresh itself must not be an unhandled rejection.
        refresh.catch(() => undefined);
      }
      // While the last answer is recent, serve it and refresh behind it: calls that waited for one query all
      // together would reach Hero in a burst when it answered, past its rate limit. A failed read is not
      // reused: past maxStaleMs the call waits for a fresh answer, and fails (retried later) without one.
      if (entry.value && age < maxStaleMs) return Promise.resolve(entry.value);
      return refresh;
    },

    async credentialsRefused(campaignId, practiceGroupId, status) {
      const r = refusals.get(campaignId) ?? { count: 0, signalled: false };
      r.count += 1;
      refusals.set(campaignId, r);
      if (r.count < refusalsToPause || r.signalled) return;
      const pause: CampaignPause = {
        by: 'credentials',
        reason:
          `Hero refused the credentials of practice group ${practiceGroupId} (HTTP ${status}) ` +
          `${r.count} times in a row: check that group's API key, then resume the campaign`,
      };
      // Marked before the signal goes: refusals arriving meanwhile (calls in flight together) send no second one.
      r.signalled = true;
      try {
        await client.workflow.getHandle(campaignWorkflowId(campaignId)).signal(CAMPAIGN_PAUSE_SIGNAL, pause);
      } catch (err) {
        r.signalled = false;
        throw err;
      }
      entries.delete(campaignId);
      opts.log?.(`campaign ${campaignId} paused: ${pause.reason}`);
    },

    succeeded(campaignId) {
      refusals.delete(campaignId);
    },
  };
}
