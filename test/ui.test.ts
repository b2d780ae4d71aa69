import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  type CodecServer,
  ENCRYPTED_ENCODING,
  generateKeySpec,
  heroDataConverter,
  parseKeyRing,
  startCodecServer,
} from '../src/codec';
import { devServerExecutable } from '../tools/provision';
import { type Sandbox, startSandbox } from '../tools/sandbox';
import { HeroFlowClient } from '../src/client';
import { ensureSearchAttributes } from '../src/worker/search-attributes';
import { statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import { launchChromium, pageSnippet, textOf, waitForText } from './support/browser';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { freePort, ROOT } from './support/processes';
import { bundleWorkflows, quietRuntime, sandboxWorker } from './support/temporal';

const ARTIFACTS = join(ROOT, 'test-artifacts');
const ring = parseKeyRing(generateKeySpec());
/** How the UI shows an encrypted payload's `encoding` metadata when it cannot decode it: base64. */
const ENCRYPTED_MARKER = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

/** A Temporal dev server with its Web UI, the UI pointed at `codec` if given. */
interface Stack {
  env: TestWorkflowEnvironment;
  uiUrl: string;
}

async function startStack(uiPort: number, codec?: CodecServer): Promise<Stack> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: await devServerExecutable(),
      ui: true,
      uiPort,
      extraArgs: codec ? ['--ui-codec-endpoint', codec.url] : [],
    },
    client: { dataConverter: heroDataConverter(ring) },
  });
  await ensureSearchAttributes(env.nativeConnection, 'default');
  return { env, uiUrl: `http://localhost:${uiPort}` };
}

function safeDecodeURIComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The read-only JSON editor under the "Input" heading of a run's History tab. */
const inputPanel = (page: Page) =>
  page
    .getByTestId('input-and-result')
    .locator('div', { has: page.locator('h2', { hasText: /^Input$/ }) })
    .locator('.cm-content');

/**
 * Opens a run's page in the Temporal Web UI with headless Chromium, once on a dev server whose UI
 * uses our codec server and once on one whose UI has none, and checks what a person would see.
 */
describe('Temporal Web UI shows patient data only through our codec server', () => {
  let browser: Browser;
  let sandbox: Sandbox;
  let bundle: WorkflowBundleWithSourceMap;
  let codec: CodecServer;
  let withCodec: Stack;
  let withoutCodec: Stack;

  before(async () => {
    quietRuntime();
    mkdirSync(ARTIFACTS, { recursive: true });
    const [codecUiPort, plainUiPort] = [await freePort(), await freePort()];
    codec = await startCodecServer({
      ring,
      allowedOrigins: [`http://localhost:${codecUiPort}`, `http://127.0.0.1:${codecUiPort}`],
    });
    [browser, sandbox, bundle, withCodec, withoutCodec] = await Promise.all([
      launchChromium(),
      startSandbox(),
      bundleWorkflows(),
      startStack(codecUiPort, codec),
      startStack(plainUiPort),
    ]);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([withCodec?.env.teardown(), withoutCodec?.env.teardown()]);
    await codec?.close();
    await sandbox?.close();
  });

  /** Runs one outreach to completion on `stack`, with a unique message text to look for in the UI. */
  async function runOutreach(stack: Stack) {
    const patient = newPatient();
    sandbox.addPatient(patient);
    const workflowId = uniqueId('ui-run');
    const messageText = `Book your appointment (${uniqueId('ui-check')}): {booking_link}`;
    const request = outreachRequest(patient, { message: { type: 'sms', text: messageText } });
    const { worker, taskQueue } = await sandboxWorker({
      connection: stack.env.nativeConnection,
      sandbox,
      bundle,
      ring,
    });
    const result = await worker.runUntil(
      stack.env.client.workflow.execute(patientOutreachWorkflow, { taskQueue, workflowId, args: [request] }),
    );
    assert.equal(result.outcome, 'completed');
    return { workflowId, request, patient };
  }

  /**
   * Opens the run's page in a fresh browser profile; `body` gets the page, the decode calls it made,
   * and every other request it sent (URL and body, percent-decoded), for data that leaves the browser.
   */
  async function onRunPage(
    stack: Stack,
    workflowId: string,
    screenshot: string,
    body: (page: Page, decodeCalls: { url: string; namespace?: string }[], otherRequests: string[]) => Promise<void>,
  ): Promise<void> {
    let context: BrowserContext | undefined;
    try {
      context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      const decodeCalls: { url: string; namespace?: string }[] = [];
      const otherRequests: string[] = [];
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname.endsWith('/decode')) {
          decodeCalls.push({ url: req.url(), namespace: req.headers()['x-namespace'] });
        } else {
          const sent = `${req.method()} ${req.url()} ${req.postData() ?? ''}`;
          otherRequests.push(safeDecodeURIComponent(sent));
        }
      });
      // The UI redirects to the latest run's History tab, which shows the Input and Result.
      await page.goto(`${stack.uiUrl}/namespaces/default/workflows/${workflowId}`, { timeout: 30_000 });
      try {
        await body(page, decodeCalls, otherRequests);
      } finally {
        await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
      }
    } finally {
      await context?.close();
    }
  }

  it('shows the decoded workflow input when the UI uses the codec server', { timeout: 60_000 }, async () => {
    const { workflowId, request } = await runOutreach(withCodec);

    await onRunPage(withCodec, workflowId, 'ui-decoded.png', async (page, decodeCalls) => {
      const input = await waitForText(inputPanel(page), 'the decoded message text in the Input panel', (text) =>
        text.includes(request.message.text),
      );
      // Started with the caller's request as it is (not through the library), so spelt as the caller spelt it.
      assert.ok(input.includes(`"nhsNumber": "${request.nhsNumber}"`), `Input shows the NHS number: ${input}`);
      assert.ok(!input.includes(ENCRYPTED_MARKER), `Input shows no encrypted payload: ${input}`);
      // The event history's payloads are decoded too, so no ciphertext is left anywhere on the page.
      await waitForText(page.locator('body'), `no "${ENCRYPTED_MARKER}" on the page`, (text) => {
        return text.includes('Event History') && !text.includes(ENCRYPTED_MARKER);
      });

      assert.ok(decodeCalls.length > 0, 'the browser called the codec server');
      for (const call of decodeCalls) {
        assert.equal(call.url, `${codec.url}/decode`);
        assert.equal(call.namespace, 'default', 'the UI names the namespace in X-Namespace');
      }
    });
  });

  it(
    "shows a waiting run's state and verify link on its first tab, decoded through the codec server",
    { timeout: 90_000 },
    async () => {
      const patient = newPatient({ needsVerification: true });
      sandbox.addPatient(patient);
      const workflowId = uniqueId('ui-waiting');
      const { worker, taskQueue } = await sandboxWorker({
        connection: withCodec.env.nativeConnection,
        sandbox,
        bundle,
        ring,
      });
      // The worker must run while the page is open: current details are the answer of a query to it.
      await worker.runUntil(async () => {
        // Started as the library starts runs, with its static summary and details.
        await new HeroFlowClient(withCodec.env.client, taskQueue).start(outreachRequest(patient), { workflowId });
        const handle = withCodec.env.client.workflow.getHandle(workflowId);
        const waiting = await eventually(
          async () => {
            const status = await handle.query(statusQuery);
            return status.state === 'awaiting_verification' && status;
          },
          20_000,
          'the run to wait for verification',
        );
        const loginUrl = waiting.loginUrl!;
        assert.match(loginUrl, /\/verify\//);

        // What the UI reads arrives encrypted: the start event's summary and details and the wait timer's
        // summary (user metadata in history), and the current details in the worker's metadata query answer.
        const { history } = await withCodec.env.connection.workflowService.getWorkflowExecutionHistory({
          namespace: 'default',
          execution: { workflowId },
        });
        const metadata = history?.events?.[0]?.userMetadata;
        const timer = history?.events?.find((e) => e.timerStartedEventAttributes)?.userMetadata;
        for (const [name, payload] of [
          ['static summary', metadata?.summary],
          ['static details', metadata?.details],
          ["wait timer's summary", timer?.summary],
        ] as const) {
          assert.equal(
            Buffer.from(payload?.metadata?.encoding ?? []).toString(),
            ENCRYPTED_ENCODING,
            `the ${name} is stored encrypted`,
          );
          assert.ok(!Buffer.from(payload!.data!).toString('latin1').includes(new URL(loginUrl).pathname));
        }
        const raw = await withCodec.env.connection.workflowService.queryWorkflow({
          namespace: 'default',
          execution: { workflowId },
          query: { queryType: '__temporal_workflow_metadata' },
        });
        const [answer] = raw.queryResult?.payloads ?? [];
        assert.equal(
          Buffer.from(answer?.metadata?.encoding ?? []).toString(),
          ENCRYPTED_ENCODING,
          'current details reach the UI encrypted',
        );
        assert.ok(!Buffer.from(answer!.data!).toString('latin1').includes(new URL(loginUrl).pathname));

        const verifyPath = new URL(loginUrl).pathname;
        await onRunPage(
          withCodec,
          workflowId,
          'run-first-tab-awaiting-verification.png',
          async (page, decodeCalls, otherRequests) => {
            // The page opens on its first tab; the wait's timer in the event history carries state and link.
            const shown = await waitForText(
              page.locator('body'),
              'the state and the verify link in the event history',
              (text) =>
                text.includes('State: awaiting_verification (waiting for the patient to verify their identity)') &&
                text.includes(`verify link: ${loginUrl}`),
            );
            assert.match(new URL(page.url()).pathname, /\/history$/, 'on the first tab, History');
            // The rest of the history is decoded too (the UI decodes it in parts, hence the wait).
            await waitForText(page.locator('body'), `no "${ENCRYPTED_MARKER}" on the page`, (text) => {
              return text.includes(shown.slice(0, 40)) && !text.includes(ENCRYPTED_MARKER);
            });
            assert.ok(decodeCalls.length > 0, 'decoded through the codec server');
            const leaks = otherRequests.filter((r) => r.includes(verifyPath));
            assert.deepEqual(leaks, [], 'the decoded verify link is sent nowhere but shown');
          },
        );

        await onRunPage(
          withCodec,
          workflowId,
          'run-current-details-awaiting-verification.png',
          async (page, _decodeCalls, otherRequests) => {
            await page.getByText('User Metadata', { exact: true }).click();
            // The UI renders current details as Markdown in a frame it loads from its server.
            const frame = page.frameLocator('iframe[src*="awaiting_verification"]');
            await waitForText(frame.locator('body'), 'the state in words in the current details', (text) =>
              text.includes('State: awaiting_verification (waiting for the patient to verify their identity)'),
            );
            const leaks = otherRequests.filter((r) => r.includes(verifyPath));
            assert.deepEqual(leaks, [], 'no request carries the verify link (current details are sent to /render)');
            assert.ok(
              otherRequests.some((r) => r.includes('/render?content=**State: awaiting_verification**')),
              `the UI loads current details from its server: ${otherRequests.filter((r) => r.includes('/render')).join(' | ')}`,
            );
          },
        );
        await handle.cancel();
        await handle.result();
      });
    },
  );

  it('shows only ciphertext when the UI has no codec server', { timeout: 60_000 }, async () => {
    const { workflowId, request, patient } = await runOutreach(withoutCodec);
    const { history } = await withoutCodec.env.connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
    });
    const stored = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    assert.ok(stored, 'the stored input payload');
    const ciphertext = Buffer.from(stored).toString('base64');

    await onRunPage(withoutCodec, workflowId, 'ui-encrypted.png', async (page, decodeCalls) => {
      const input = await waitForText(inputPanel(page), 'the stored ciphertext in the Input panel', (text) =>
        text.includes(ciphertext.slice(0, 64)),
      );
      assert.ok(input.includes(`"encoding": "${ENCRYPTED_MARKER}"`), `Input is marked ${ENCRYPTED_ENCODING}: ${input}`);

      const text = await textOf(page);
      for (const plaintext of [request.message.text, request.nhsNumber, patient.nhsNumber, patient.dob]) {
        assert.ok(!text.includes(plaintext), `found "${plaintext}" on the page: ${await pageSnippet(page)}`);
      }
      assert.deepEqual(decodeCalls, [], 'the browser called no codec server');
    });
  });
});
