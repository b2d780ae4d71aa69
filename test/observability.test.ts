import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { generateKeySpec, parseKeyRing } from '../src/codec';
import { createLogger, loadLogFormat } from '../src/observability';
import { METRICS } from '../src/observability/metric-names';
import { statusQuery } from '../src/workflows/definitions';
import { patientOutreachWorkflow } from '../src/workflows/patient-outreach';
import type { OutreachRequest } from '../src/workflows/schemas';
import { eventually, newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { freePort, Proc, ROOT } from './support/processes';
import { startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { writeTestLog } from './support/test-log';

const DASHBOARD = join(ROOT, 'docs', 'grafana-dashboard.json');

/** `hero-flow worker` as production runs it (runWorker, configured from env), from the sources. */
function startWorkerProcess(env: NodeJS.ProcessEnv): Proc {
  const main =
    `require(${JSON.stringify(join(ROOT, 'src', 'worker', 'run.ts'))}).runWorker()` +
    `.catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); })`;
  return Proc.start(process.execPath, ['--import', 'tsx', '-e', main], env, {
    name: 'hero-flow worker',
    ready: { line: 'hero-flow worker polling', timeoutMs: 90_000 },
  });
}

/** Every series name in a Prometheus text exposition (`name{labels} value` or `name value`). */
function seriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** The value of the series `name` whose labels include all of `labels` (summed over the rest), or 0. */
function valueOf(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const text = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => text.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * The metric names a PromQL expression reads: identifiers that are not functions, keywords, label
 * names (inside braces or by/without lists) or range selectors. Enough for the dashboard's queries.
 */
function metricsInQuery(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/"[^"]*"/g, ' ') // strings
    .replace(/(?<![a-zA-Z_:])\d+(\.\d+)?(e[+-]?\d+)?/gi, ' '); // numbers, 1e-9 included
  const words = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const notMetrics = new Set([
    'sum',
    'rate',
    'irate',
    'increase',
    'histogram_quantile',
    'avg',
    'max',
    'min',
    'count',
    'topk',
    'clamp_min',
    'by',
    'without',
    'or',
    'and',
    'unless',
    'offset',
    'bool',
    'le',
  ]);
  return words.filter((w) => !notMetrics.has(w));
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every panel of the dashboard, rows' panels included. */
function panelsOf(dashboard: { panels?: Panel[] }): Panel[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

describe('observability: JSON logs, business metrics and the Grafana dashboard, from a running worker', () => {
  const keySpec = generateKeySpec('observability');
  const ring = parseKeyRing(keySpec);
  let stack: TestStack;
  let worker: Proc;
  let metricsPort: number;
  let taskQueue: string;
  let scrape: string;
  const patients: ReturnType<typeof newPatient>[] = [];
  const workflowIds: string[] = [];

  const start = async (request: OutreachRequest): Promise<WorkflowHandle<typeof patientOutreachWorkflow>> => {
    const workflowId = uniqueId('obs');
    workflowIds.push(workflowId);
    return stack.env.client.workflow.start(patientOutreachWorkflow, { taskQueue, workflowId, args: [request] });
  };
  const patient = (opts: { needsVerification?: boolean } = {}) => {
    const p = newPatient(opts);
    stack.sandbox.addPatient(p);
    patients.push(p);
    return p;
  };

  before(async () => {
    // The time-skipping server: a review waits two minutes before asking Hero, then days for an operator.
    stack = await startTestStack({ server: 'time-skipping', ring });
    metricsPort = await freePort();
    taskQueue = uniqueId('tq-obs');
    const { HERO_METRICS_PORT: _m, HERO_HEALTH_PORT: _h, ...base } = process.env;
    worker = startWorkerProcess({
      ...base,
      TEMPORAL_ADDRESS: stack.env.address,
      TEMPORAL_NAMESPACE: 'default',
      HERO_API_KEY: stack.sandbox.apiKey,
      HERO_PRACTICE_GROUP_ID: stack.sandbox.practiceGroupId,
      HERO_API_BASE_URL: stack.sandbox.url,
      HERO_HTTP_TIMEOUT_MS: '2000',
      HERO_CODEC_KEYS: keySpec,
      HERO_TASK_QUEUE: taskQueue,
      HERO_METRICS_PORT: String(metricsPort),
      HERO_LOG_FORMAT: 'json',
      HERO_LOG_LEVEL: 'DEBUG',
    });
    await worker.ready;

    // A couple of runs, one after the other (injected faults go to the next request), that reach every
    // outcome and Hero answer the dashboard shows.
    const outcome = async (request: OutreachRequest) => (await (await start(request)).result()).outcome;
    assert.equal(await outcome(outreachRequest(patient())), 'completed');
    assert.equal(await outcome(outreachRequest(newPatient())), 'patient_not_found');
    stack.sandbox.injectFault('register_pds', { kind: 'rate_limit', retryAfter: '5' });
    assert.equal(await outcome(outreachRequest(patient())), 'completed');
    // A send Hero may have processed, and a list of sent messages that cannot tell: a review, which expires.
    stack.sandbox.setSentMessagesList(false);
    stack.sandbox.injectFault('send_message', { kind: 'status', status: 500 });
    assert.equal(await outcome(outreachRequest(patient(), { review: { deadline: '1 day' } })), 'needs_review_expired');
    stack.sandbox.setSentMessagesList(true);
    // Verified before the 6-hour re-check, which finds the patient.
    const verifying = await start(outreachRequest(patient({ needsVerification: true })));
    await eventually(async () => (await verifying.query(statusQuery)).state === 'awaiting_verification');
    stack.sandbox.markVerified(patients.at(-1)!.nhsNumber);
    assert.equal((await verifying.result()).outcome, 'completed');
    scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    writeTestLog('scrape', scrape);
  });

  after(async () => {
    await worker?.stop('SIGTERM');
    if (worker) writeTestLog('worker', worker.output);
    await stopTestStack(stack);
  });

  it('counts runs by outcome, with the time each took, beside the SDK metrics', () => {
    assert.equal(valueOf(scrape, METRICS.runs, { outcome: 'completed' }), 3);
    assert.equal(valueOf(scrape, METRICS.runs, { outcome: 'patient_not_found' }), 1);
    assert.equal(valueOf(scrape, METRICS.runs, { outcome: 'needs_review_expired' }), 1);
    assert.equal(valueOf(scrape, `${METRICS.timeToOutcome}_count`), 5);
    // The review run waited 2 minutes, then a day: its time to outcome is in the day's bucket, not before.
    assert.equal(
      valueOf(scrape, `${METRICS.timeToOutcome}_bucket`, { outcome: 'needs_review_expired', le: '3600' }),
      0,
    );
    assert.equal(
      valueOf(scrape, `${METRICS.timeToOutcome}_bucket`, { outcome: 'needs_review_expired', le: '172800' }),
      1,
    );
    assert.match(scrape, /^temporal_workflow_completed/m);
  });

  it('records the time to verification: the patient verified before the 6-hour re-check found them', () => {
    assert.equal(valueOf(scrape, `${METRICS.timeToVerification}_count`), 1);
    // Six hours of workflow time, and then some milliseconds: past the 6-hour bound, within the 12-hour one.
    assert.equal(valueOf(scrape, `${METRICS.timeToVerification}_bucket`, { le: '3600' }), 0);
    assert.equal(valueOf(scrape, `${METRICS.timeToVerification}_bucket`, { le: '43200' }), 1);
  });

  it('counts reviews opened and how they closed, by action and step', () => {
    assert.equal(valueOf(scrape, METRICS.reviews, { action: 'opened', step: 'send_message' }), 1);
    assert.equal(valueOf(scrape, METRICS.reviews, { action: 'expired', step: 'send_message' }), 1);
  });

  it('counts Hero calls by endpoint and status, and 429s on their own', () => {
    assert.equal(valueOf(scrape, METRICS.heroCalls, { endpoint: 'register_pds', status: '404' }), 1);
    assert.equal(valueOf(scrape, METRICS.heroCalls, { endpoint: 'register_pds', status: '429' }), 1);
    assert.equal(valueOf(scrape, METRICS.heroCalls, { endpoint: 'send_message', status: '500' }), 1);
    assert.equal(valueOf(scrape, METRICS.heroCalls, { endpoint: 'send_message', status: 'ok' }), 3);
    assert.equal(valueOf(scrape, METRICS.heroCalls, { endpoint: 'list_sent_messages', status: 'ok' }), 1);
    assert.equal(valueOf(scrape, METRICS.heroRateLimited, { endpoint: 'register_pds' }), 1);
    assert.equal(valueOf(scrape, METRICS.heroRateLimited), 1);
    // Every call the sandbox answered is counted once.
    const heroEndpoints = new Set([
      'register_pds',
      'create_booking_link',
      'send_message',
      'get_message',
      'list_sent_messages',
    ]);
    const answered = stack.sandbox.requests().filter((r) => heroEndpoints.has(r.endpoint)).length;
    assert.equal(valueOf(scrape, METRICS.heroCalls), answered);
  });

  it('puts no patient data and no workflow ID in any metric', () => {
    for (const p of patients) {
      for (const datum of [p.nhsNumber, p.dob, p.patientId]) assert.ok(!scrape.includes(datum), 'patient data');
    }
    for (const id of workflowIds) assert.ok(!scrape.includes(id), 'a workflow ID');
  });

  it('writes its log as one JSON object per line: time, level, message, service, fields; redacted', () => {
    const lines = worker.stderr.split('\n').filter((l) => l.trim());
    assert.ok(lines.length > 5, 'the worker logged');
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(entry).slice(0, 4), ['time', 'level', 'message', 'service'], line);
      assert.match(String(entry.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(String(entry.level)));
      assert.equal(entry.service, 'hero-flow-worker');
    }
    const polling = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => /polling/.test(String(e.message)));
    assert.ok(polling, 'the start-up line');
    // The SDK's own lines, with their fields as fields: an activity's, tagged with its run.
    assert.ok(
      lines.some((l) => {
        const e = JSON.parse(l) as Record<string, unknown>;
        return e.message === 'Activity completed' && workflowIds.includes(String(e.workflowId)) && e.activityType;
      }),
      'an activity log line with its fields',
    );
    // The core's lines, forwarded to the same logger rather than printed by the core itself.
    assert.ok(
      lines.some((l) => String((JSON.parse(l) as Record<string, unknown>).target).startsWith('temporalio_sdk_core')),
      'a line from the SDK core',
    );
    for (const p of patients) {
      for (const datum of [p.nhsNumber, p.dob]) assert.ok(!worker.stderr.includes(datum), 'patient data in the log');
    }
  });

  it('has a Grafana dashboard on a Prometheus datasource whose every query names metrics the worker serves', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels?: Panel[];
      templating?: { list?: { definition?: string }[] };
    };
    const panels = panelsOf(dashboard);
    assert.ok(panels.length >= 8, `${panels.length} panels`);
    const served = seriesNames(scrape);
    const used = new Set<string>();
    for (const panel of panels) {
      assert.equal(panel.datasource?.type, 'prometheus', `${panel.title}: a Prometheus datasource`);
      assert.ok(panel.targets?.length, `${panel.title}: a query`);
      for (const target of panel.targets ?? []) {
        const names = metricsInQuery(target.expr ?? '');
        assert.ok(names.length, `${panel.title}: "${target.expr}" names a metric`);
        for (const name of names) {
          assert.ok(served.has(name), `${panel.title}: ${name} is not in the worker's /metrics`);
          used.add(name);
        }
      }
    }
    for (const variable of dashboard.templating?.list ?? []) {
      const metric = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(variable.definition ?? '')?.[1];
      assert.ok(metric && served.has(metric), `variable "${variable.definition}" reads a served metric`);
    }
    // Every business metric has a panel, and so do the SDK's task latencies, activity failures and sticky cache.
    for (const name of Object.values(METRICS)) {
      assert.ok(
        [...used].some((u) => u.startsWith(name)),
        `no panel shows ${name}`,
      );
    }
    for (const sdk of [
      /^temporal_workflow_task_schedule_to_start_latency/,
      /^temporal_activity_schedule_to_start_latency/,
      /^temporal_activity_execution_failed/,
      /^temporal_sticky_cache/,
    ]) {
      assert.ok(
        [...used].some((u) => sdk.test(u)),
        `no panel shows ${sdk}`,
      );
    }
  });
});

describe('createLogger: the logger every hero-flow service can use', () => {
  const collect = (format?: 'json') => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 'hero-flow-test',
      level: 'INFO',
      ...(format && { format }),
      sink: { write: (l) => lines.push(l) },
    });
    return { lines, logger };
  };

  it('writes one JSON object per line, masking patient data in the message and every field', () => {
    const { lines, logger } = collect('json');
    logger.info('trace 943 476 5919 at https://patient.herohealth.net/verify/abc123\nsecond line', {
      nested: { dob: '1992-01-01', parts: ['943', '476', '5919'], digits: 9434765919 },
      workflowId: 'referral-8812',
      message: 'a field named like a line field',
    });
    logger.debug('dropped below INFO');
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n') && lines[0]!.indexOf('\n') === lines[0]!.length - 1, 'one line');
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry).slice(0, 4), ['time', 'level', 'message', 'service']);
    assert.equal(entry.level, 'INFO');
    assert.equal(entry.service, 'hero-flow-test');
    assert.equal(entry.message, 'trace [nhs-number] at [login-url]\nsecond line');
    assert.equal(entry.workflowId, 'referral-8812');
    assert.equal(entry.meta_message, 'a field named like a line field');
    for (const leak of ['9434765919', '1992', '"476"', 'abc123']) assert.ok(!lines[0]!.includes(leak), leak);
  });

  it('stays one valid JSON line when a mask joins two fields', () => {
    const { lines, logger } = collect('json');
    // Serialised, ["943 476",5919] holds an NHS number across the two values; masked, it is no longer JSON.
    logger.warn('split', { parts: ['943 476', 5919], workflowId: 'referral-8812' });
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.ok(!lines[0]!.includes('5919'), lines[0]);
    assert.equal(entry.message, 'split');
    assert.match(String(entry.meta), /\[nhs-number\]/);
    assert.match(String(entry.meta), /referral-8812/);
  });

  it('writes text lines as before by default', () => {
    const { lines, logger } = collect();
    logger.error('failed for 943 476 5919', { dob: '01/01/1992' });
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[ERROR\] failed for \[nhs-number\] \{"dob":"\[date\]"\}\n$/);
  });

  it('reads HERO_LOG_FORMAT: text by default, json, and refuses anything else without echoing it', () => {
    assert.equal(loadLogFormat({}), 'text');
    assert.equal(loadLogFormat({ HERO_LOG_FORMAT: 'json' }), 'json');
    assert.equal(loadLogFormat({ HERO_LOG_FORMAT: 'JSON' }), 'json');
    assert.throws(
      () => loadLogFormat({ HERO_LOG_FORMAT: 'logfmt-9434765919' }),
      (err: Error) => /HERO_LOG_FORMAT: must be text or json/.test(err.message) && !err.message.includes('logfmt'),
    );
  });
});
