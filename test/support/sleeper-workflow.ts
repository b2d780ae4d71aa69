import type { Duration } from '@temporalio/common';
import { proxyActivities, sleep } from '@temporalio/workflow';

const { hold } = proxyActivities<{ hold(): Promise<void> }>({ startToCloseTimeout: '1 day' });

/**
 * Sleeps `duration` of workflow time, then runs the `hold` activity, which the test completes when it is
 * done. On the time-skipping test server, awaiting this workflow's result lets time skip by `duration`
 * (the SDK unlocks skipping while a result is awaited), and the activity in flight then stops it there
 * (the server does not skip time while an activity runs), so the test can act at that point of a run's
 * days-long wait. Without the hold, the server may skip on to the run's next timer in the moment between
 * this workflow completing and the client locking again. (TestWorkflowEnvironment.sleep() crashed the
 * Java test server with "Unbalanced lock and unlock calls" while activities ran.)
 */
export async function sleeper(duration: Duration): Promise<void> {
  await sleep(duration);
  await hold();
}
