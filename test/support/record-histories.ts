/**
 * Records the committed replay histories (test/histories/) from real runs on the time-skipping
 * test server against the sandbox. Run after a deliberate, patched() workflow change:
 *   npm run histories:record
 * and commit the new files next to the old ones (never replace a released shape's history).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../tools/provision';
import { startSandbox } from '../../tools/sandbox';
import { ensureSearchAttributes } from '../../src/worker/search-attributes';
import { confirmVerificationUpdate, statusQuery, verificationCompletedSignal } from '../../src/workflows/definitions';
import { patientOutreachWorkflow } from '../../src/workflows/patient-outreach';
import type { OutreachRequest } from '../../src/workflows/schemas';
import { eventually, newPatient, outreachRequest } from './fixtures';
import { bundleWorkflows, quietRuntime, sandboxWorker } from './temporal';

async function main() {
  quietRuntime();
  const version = process.argv[2] ?? 'v1';
  // Optionally only some shapes, e.g. the one a change added: `npm run histories:record -- v3 needs-review`.
  const only = process.argv.slice(3);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: await testServerExecutable() },
  });
  const sandbox = await startSandbox();
  try {
    await ensureSearchAttributes(env.nativeConnection, 'default');
    // Plaintext on purpose: replay checks the workflow's commands, and these runs hold synthetic data only.
    const { worker, taskQueue } = await sandboxWorker({
      connection: env.nativeConnection,
      sandbox,
      bundle: await bundleWorkflows(),
    });
    await worker.runUntil(async () => {
      const [plain, verifying, cancelling, expiring, reviewing, confirming] = [
        newPatient(),
        newPatient({ needsVerification: true }),
        newPatient({ needsVerification: true }),
        newPatient({ needsVerification: true }),
        newPatient(),
        newPatient({ needsVerification: true }),
      ];
      for (const p of [plain, verifying, cancelling, expiring, reviewing, confirming]) sandbox.addPatient(p);
      const start = (id: string, input: OutreachRequest) =>
        env.client.workflow.start(patientOutreachWorkflow, { taskQueue, workflowId: id, args: [input] });
      const awaitingVerification = (handle: Awaited<ReturnType<typeof start>>) =>
        eventually(async () => (await handle.query(statusQuery)).state === 'awaiting_verification');

      const completed = await start('completed', outreachRequest(plain));
      await completed.result();

      const verification = await start('verification', outreachRequest(verifying));
      await awaitingVerification(verification);
      sandbox.markVerified(verifying.nhsNumber);
      await verification.signal(verificationCompletedSignal);
      await verification.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      await verification.result();

      // confirmVerification waits for the re-trace it causes (v5): once too early, once after verifying.
      const verificationUpdate = await start('verification-update', outreachRequest(confirming));
      await awaitingVerification(verificationUpdate);
      await verificationUpdate.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      sandbox.markVerified(confirming.nhsNumber);
      await verificationUpdate.executeUpdate(confirmVerificationUpdate, { args: [{ source: 'recorder' }] });
      await verificationUpdate.result();

      const cancelled = await start('cancelled', outreachRequest(cancelling));
      await awaitingVerification(cancelled);
      await cancelled.cancel();
      await cancelled.result();

      const expired = await start('expired', outreachRequest(expiring));
      await expired.result(); // time skips through 7 days of re-checks

      sandbox.injectFault('send_message', { kind: 'reset_after' });
      const needsReview = await start('needs-review', outreachRequest(reviewing));
      await needsReview.result();

      for (const [name, handle] of [
        ['needs-review', needsReview],
        ['completed', completed],
        ['verification', verification],
        ['verification-update', verificationUpdate],
        ['cancelled', cancelled],
        ['expired', expired],
      ] as const) {
        if (only.length && !only.includes(name)) continue;
        const file = join(__dirname, '..', 'histories', `${name}-${version}.json`);
        writeFileSync(file, historyToJSON(await handle.fetchHistory()));
        console.log(`wrote ${file}`);
      }
    });
  } finally {
    await sandbox.close();
    await env.teardown();
  }
}

void main();
