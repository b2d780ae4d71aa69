import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { REQUEST_FINGERPRINT_MEMO_KEY } from '../src/client/fingerprint';
import { HeroFlowClient } from '../src/client/outreach-client';
import { parseKeyRing, workerDataConverter } from '../src/codec';
import { HeroClient } from '../src/hero/client';
import { setupTracing, type Tracing } from '../src/observability/tracing';
import { createHeroWorker } from '../src/worker/create-worker';
import { OUTREACH_WORKFLOW_TYPE } from '../src/workflows/definitions';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';

/** The span attributes hero-flow exports: identifiers, never values from a payload, memo or search attribute. */
const ID_ATTRIBUTES = new Set([
  'temporalWorkflowId',
  'run_id',
  'temporalActivityId',
  'temporalUpdateId',
  'workflowId',
  'runId',
  'firstExecutionRunId',
  'continuedFromExecutionRunId',
  'workflowType',
  'taskQueue',
  'namespace',
  'attempt',
]);

/** One span as OTLP/JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: unknown[];
  events?: unknown[];
}
interface OtlpExport {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP receiver in this process: keeps every span POSTed to /v1/traces as JSON. */
async function startOtlpReceiver(): Promise<{
  server: Server;
  url: string;
  spans: OtlpSpan[];
  contentTypes: string[];
}> {
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes };
}

describe('OpenTelemetry tracing over OTLP, on a dev server', () => {
  const keys = `test:${randomBytes(32).toString('base64')}`;
  const ring = parseKeyRing(keys);
  let stack: TestStack;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let tracing: Tracing;

  before(async () => {
    [stack, receiver] = await Promise.all([startTestStack({ server: 'dev', ring }), startOtlpReceiver()]);
  });

  after(async () => {
    await tracing?.shutdown();
    receiver?.server.close();
    await stopTestStack(stack);
  });

  it('sets up nothing without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    assert.equal(setupTracing({}), undefined);
  });

  it('gives one run one connected trace, from StartWorkflow through the workflow to sendMessage, with no patient data', async () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      TEMPORAL_ADDRESS: stack.env.address,
      TEMPORAL_NAMESPACE: 'default',
      HERO_TASK_QUEUE: uniqueId('tq'),
      HERO_CODEC_KEYS: keys,
    };
    const made = setupTracing(env, 'hero-flow-test');
    assert.ok(made);
    tracing = made;
    const worker = await createHeroWorker({
      connection: stack.env.nativeConnection,
      namespace: 'default',
      taskQueue: env.HERO_TASK_QUEUE,
      workflowBundle: stack.bundle,
      dataConverter: workerDataConverter(ring),
      hero: new HeroClient({
        apiKey: stack.sandbox.apiKey,
        practiceGroupId: stack.sandbox.practiceGroupId,
        baseUrl: stack.sandbox.url,
        timeoutMs: 2_000,
      }),
      tracing,
    });
    const client = await HeroFlowClient.connect(env);
    const patient = newPatient();
    stack.sandbox.addPatient(patient);
    let workflowId = '';
    let memo: Record<string, unknown> | undefined;
    // One failed attempt, retried: its RunActivity span records the error as an event.
    stack.sandbox.injectFault('register_pds', { kind: 'status', status: 500 });
    try {
      const result = await worker.runUntil(async () => {
        ({ workflowId } = await client.start(outreachRequest(patient), { workflowId: uniqueId('trace') }));
        return client.result(workflowId);
      });
      assert.equal(result.outcome, 'completed');
      memo = (await client.client.workflow.getHandle(workflowId).describe()).memo;
      // An operator's termination reason is free text (here with an NHS number): the span must not carry it.
      const other = await client.start(outreachRequest(newPatient()), { workflowId: uniqueId('trace-terminated') });
      await client.client.workflow.getHandle(other.workflowId).terminate(`wrong patient ${patient.nhsNumber}`);
    } finally {
      await client.close();
    }

    // The workflow's spans reach the exporter through a sink, after its last task: flush until all are in.
    const ofRun = () => {
      const start = receiver.spans.find(
        (s) =>
          s.name === `StartWorkflow:${OUTREACH_WORKFLOW_TYPE}` && JSON.stringify(s.attributes).includes(workflowId),
      );
      return start ? receiver.spans.filter((s) => s.traceId === start.traceId) : [];
    };
    const spans = await eventually(
      async () => {
        await tracing.flush();
        const found = ofRun();
        const names = new Set(found.map((s) => s.name));
        return names.has(`RunWorkflow:${OUTREACH_WORKFLOW_TYPE}`) && names.has('RunActivity:sendMessage') && found;
      },
      15_000,
      'the run spans at the OTLP receiver',
    );

    assert.ok(
      receiver.contentTypes.every((t) => t.startsWith('application/json')),
      receiver.contentTypes.join(),
    );
    const names = spans.map((s) => s.name);
    for (const name of [
      `StartWorkflow:${OUTREACH_WORKFLOW_TYPE}`,
      `RunWorkflow:${OUTREACH_WORKFLOW_TYPE}`,
      'StartActivity:sendMessage',
      'RunActivity:sendMessage',
    ]) {
      assert.ok(names.includes(name), `no ${name} span in ${names.join(', ')}`);
    }
    // Connected: one root (the client's StartWorkflow), every other span's parent is a span of this trace.
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId);
    assert.deepEqual(
      roots.map((s) => s.name),
      [`StartWorkflow:${OUTREACH_WORKFLOW_TYPE}`],
    );
    for (const s of spans) {
      if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `${s.name}: parent not in the trace`);
    }
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const runSend = spans.find((s) => s.name === 'RunActivity:sendMessage')!;
    assert.equal(byId.get(runSend.parentSpanId!)?.name, 'StartActivity:sendMessage');

    // No patient data in any span the run gave (every span received is checked, other runs' included).
    const exported = JSON.stringify(receiver.spans);
    for (const value of [patient.nhsNumber, outreachRequest(patient).nhsNumber, patient.dob]) {
      assert.ok(!exported.includes(value), 'a span carries patient data');
    }
    // IDs only: no memo (its request fingerprint), search attribute or other payload-derived value, in any
    // span attribute or event, whichever of client, workflow sandbox or activity made the span.
    const fingerprint = memo?.[REQUEST_FINGERPRINT_MEMO_KEY];
    assert.equal(typeof fingerprint, 'string', 'the run has a fingerprint in its memo');
    assert.ok(!exported.includes(fingerprint as string), 'a span carries the request fingerprint');
    assert.ok(
      spans.some((s) => s.events?.length),
      'the failed attempt gave an event (so the check of events below checks something)',
    );
    assert.ok(
      receiver.spans.some((s) => s.name.startsWith('TerminateWorkflow')),
      'the termination span is in (its reason is checked above)',
    );
    for (const s of receiver.spans) {
      for (const attr of s.attributes ?? []) {
        const { key, value } = attr as { key: string; value: Record<string, unknown> };
        assert.ok(ID_ATTRIBUTES.has(key), `${s.name}: attribute ${key} is not an ID`);
        assert.ok(!('kvlistValue' in value) && !('arrayValue' in value), `${s.name}: ${key} is not one value`);
      }
      for (const event of (s.events ?? []) as { name: string; attributes?: { key: string }[] }[]) {
        for (const { key } of event.attributes ?? []) {
          assert.equal(key, 'exception.type', `${s.name}: event ${event.name} carries ${key}`);
        }
      }
    }
  });
});
