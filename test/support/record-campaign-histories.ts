/**
 * Records the committed replay histories of the campaign workflows (test/histories/campaign-*.json) from
 * real runs on the time-skipping test server against the sandbox, as record-histories.ts does for runs:
 *   node --import tsx test/support/record-campaign-histories.ts v1
 * With `measure` instead: the history of a page of 500 records (events, bytes), without and with a spread.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { testServerExecutable } from '../../tools/provision';
import { startSandbox } from '../../tools/sandbox';
import { ensureSearchAttributes } from '../../src/worker/search-attributes';
import { campaignPageWorkflowId, campaignRunWorkflowId, campaignWorkflowId } from '../../src/shared/campaign-ids';
import { campaignWorkflow } from '../../src/workflows/campaign';
import { campaignPageWorkflow } from '../../src/workflows/campaign-page';
import {
  campaignStateQuery,
  completeListUpdate,
  pauseCampaignSignal,
  registerListUpdate,
  resumeCampaignUpdate,
} from '../../src/workflows/campaign-definitions';
import type { PageRecord } from '../../src/workflows/campaign-schemas';
import { PRIORITY } from '../../src/shared/priority';
import { eventually, newPatient, outreachRequest, uniqueId } from './fixtures';
import { bundleWorkflows, quietRuntime, sandboxWorker } from './temporal';

async function main() {
  quietRuntime();
  const version = process.argv[2] ?? 'v1';
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
      const campaignId = version === 'measure' ? uniqueId('measure') : 'recorded';
      const records = (n: number, prefix: string): PageRecord[] =>
        Array.from({ length: n }, (_, i) => {
          const p = newPatient();
          sandbox.addPatient(p);
          return {
            recordId: `${prefix}-r${i.toString(36)}x`,
            workflowId: campaignRunWorkflowId(campaignId, randomBytes(16).toString('hex')),
            request: outreachRequest(p),
          };
        });
      const campaign = await env.client.workflow.start(campaignWorkflow, {
        taskQueue,
        workflowId: campaignWorkflowId(campaignId),
        args: [{ campaignId, createdAt: new Date().toISOString(), sendWindow: null, spreadOver: 3600_000 }],
      });
      const startPage = (page: number, list: PageRecord[], spread: boolean) =>
        env.client.workflow.start(campaignPageWorkflow, {
          taskQueue,
          workflowId: campaignPageWorkflowId(campaignId, page),
          args: [
            {
              campaignId,
              page,
              startIndex: 0,
              total: list.length,
              records: list,
              // As the client starts pages since v2: the runs' key in the input, the page's own ahead of it.
              runPriority: PRIORITY.campaign,
              ...(spread && { spreadOver: 3600_000, spreadStart: Date.now() }),
            },
          ],
        });

      if (version === 'measure') {
        await campaign.executeUpdate(registerListUpdate, {
          args: [{ fingerprint: randomBytes(16).toString('hex'), records: 1000, duplicates: 0, invalid: 0, pages: 2 }],
        });
        for (const [page, spread] of [
          [0, false],
          [1, true],
        ] as const) {
          const t0 = Date.now();
          const handle = await startPage(page, records(500, `p${page}`), spread);
          await handle.result();
          const history = await handle.fetchHistory();
          const bytes = temporal.api.history.v1.History.encode(history).finish().length;
          console.log(
            `page of 500 records${spread ? ', spread over an hour' : ''}: ${history.events!.length} events, ` +
              `${bytes} bytes (${(bytes / 1024 / 1024).toFixed(2)} MiB); ${Date.now() - t0} ms`,
          );
        }
        return;
      }

      const list = records(2, 'a');
      const fingerprint = 'recordedlist0001';
      await campaign.executeUpdate(registerListUpdate, {
        args: [{ fingerprint, records: 3, duplicates: 1, invalid: 1, pages: 1 }],
      });
      await campaign.signal(pauseCampaignSignal, { reason: 'recorder', by: 'operator' });
      await campaign.executeUpdate(resumeCampaignUpdate);
      const page = await startPage(
        0,
        [...list, { recordId: 'a-dup', workflowId: list[0]!.workflowId, duplicateOf: list[0]!.recordId }],
        true,
      );
      await campaign.executeUpdate(completeListUpdate, { args: [{ fingerprint }] });
      await page.result();
      // Its commands are what replay checks: the history as it stands, open, is enough.
      await eventually(async () => (await campaign.query(campaignStateQuery)).pagesDone === 1);
      for (const [name, handle] of [
        ['campaign', campaign],
        ['campaign-page', page],
      ] as const) {
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
