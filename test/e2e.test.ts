import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { heroDataConverter, parseKeyRing } from '../src/codec';
import { DEFAULT_PATIENTS } from '../tools/sandbox';
import { HERO_FLOW_STATE } from '../src/shared/search-attributes';
import {
  delayFaultsTaken,
  eventually,
  newPatient,
  outreachRequest,
  uniqueId,
  untilSandboxHolds,
} from './support/fixtures';
import { devEnvironment } from './support/dev-env';
import { cli, freePort, Proc, ROOT } from './support/processes';

/**
 * End to end as a user runs it: `npm run dev` (real Temporal dev server, sandbox, worker as a
 * child process) and the `hero-flow` CLI, all over the network on loopback.
 */
describe('hero-flow end to end on the Temporal dev server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hero-flow-e2e-'));
  const plain = DEFAULT_PATIENTS.find((p) => !p.needsVerification)!;
  let dev: Proc;
  let devEnv: NodeJS.ProcessEnv;
  let cliEnv: NodeJS.ProcessEnv;
  let sandboxUrl: string;
  let metricsPort: number;
  let codecPort: number;
  let client: Client;
  const devOutputs: string[] = [];
  /**
   * Every NHS number and date of birth this suite sends (the sandbox's seeded patients, examples/request.json
   * among them, each patient it adds, and the invalid values of the bad-input test), and every login URL
   * it saw: the log scan looks for each in all its forms.
   */
  const patientData: { nhsNumbers: string[]; dobs: string[]; loginUrls: string[] } = {
    nhsNumbers: DEFAULT_PATIENTS.map((p) => p.nhsNumber),
    dobs: DEFAULT_PATIENTS.map((p) => p.dob),
    loginUrls: [],
  };

  const startDev = async () => {
    const proc = Proc.start(process.execPath, ['--import', 'tsx', join(ROOT, 'tools', 'dev', 'index.ts')], devEnv);
    await proc.waitFor('[dev] ready.', 120_000);
    return proc;
  };

  const requestFile = (name: string, body: unknown) => {
    const file = join(tmp, name);
    writeFileSync(file, JSON.stringify(body));
    return file;
  };

  /** Adds a patient to the dev sandbox through its admin API (it runs in another process). */
  const addPatient = async <P extends { nhsNumber: string; dob: string }>(patient: P): Promise<P> => {
    patientData.nhsNumbers.push(patient.nhsNumber);
    patientData.dobs.push(patient.dob);
    const res = await fetch(`${sandboxUrl}/__sandbox/patients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(patient),
    });
    assert.equal(res.status, 200, await res.text());
    return patient;
  };

  const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

  before(async () => {
    const env = await devEnvironment(tmp, 'e2e');
    ({ metrics: metricsPort, codec: codecPort } = env.ports);
    const sandboxPort = env.ports.sandbox;
    devEnv = env.dev;
    cliEnv = env.cli;
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    dev = await startDev();
    client = new Client({
      connection: await Connection.connect({ address: cliEnv.TEMPORAL_ADDRESS }),
      dataConverter: heroDataConverter(parseKeyRing(cliEnv.HERO_CODEC_KEYS!)),
    });
  });

  after(async () => {
    await client?.connection.close();
    if (dev) {
      await dev.stop();
      devOutputs.push(dev.output);
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints the UI URL and a ready-to-paste start command', () => {
    assert.match(dev.output, /Temporal UI: http:\/\/localhost:\d+/);
    assert.match(dev.output, /npx hero-flow start --input examples\/request\.json --workflow-id demo-[a-z]{6} --wait/);
  });

  it('starts a run with the CLI and waits for the completed result', async () => {
    const id = uniqueId('e2e-plain');
    const run = await cli(
      ['start', '--input', join(ROOT, 'examples', 'request.json'), '--workflow-id', id, '--wait'],
      cliEnv,
    );
    assert.equal(run.code, 0, run.stderr);
    const out = json(run.stdout);
    assert.equal(out.workflowId, id);
    assert.equal(typeof out.runId, 'string');
    const result = out.result as {
      outcome: string;
      patientId: string;
      bookingLink: { url: string };
      messageId: string;
    };
    assert.equal(result.outcome, 'completed');
    assert.equal(result.patientId, plain.patientId);
    assert.match(result.bookingLink.url, /^http:\/\/127\.0\.0\.1:\d+\//);
    const state = (await (await fetch(`${sandboxUrl}/__sandbox/state`)).json()) as {
      messages: { id: string; text: string }[];
    };
    const message = state.messages.find((m) => m.id === result.messageId);
    assert.ok(message, 'the sandbox received the message');
    assert.ok(message.text.includes(result.bookingLink.url));
  });

  it('runs the worker on a server that honours task-queue priority, and starts a run with --priority 1 to 4', async () => {
    await eventually(async () => /Temporal task-queue priority: honoured/.test(dev.output), 20_000, 'the probe line');
    const id = uniqueId('e2e-priority');
    const request = join(ROOT, 'examples', 'request.json');
    const run = await cli(['start', '--input', request, '--workflow-id', id, '--priority', '1'], cliEnv);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await client.workflow.getHandle(id).describe()).priority?.priorityKey, 1);
    const refused = await cli(['start', '--input', request, '--workflow-id', `${id}-x`, '--priority', '5'], cliEnv);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--priority must be at most 4 \(5 is kept for bookkeeping reads/);
  });

  it('starts a practice list with `start-batch`: bad lines reported, the rest started, a re-run starts nothing twice', async () => {
    const [a, b] = [await addPatient(newPatient()), await addPatient(newPatient())];
    const [idA, idB] = [uniqueId('e2e-batch'), uniqueId('e2e-batch')];
    const file = join(tmp, 'batch.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ workflowId: idA, request: outreachRequest(a) }),
        JSON.stringify({ workflowId: uniqueId('e2e-batch'), request: { ...outreachRequest(b), dob: '1990-02-30' } }),
        '{ "workflowId": ',
        '',
        JSON.stringify({ workflowId: idB, request: outreachRequest(b) }),
      ].join('\n'),
    );
    patientData.dobs.push('1990-02-30');
    const run = await cli(['start-batch', '--input', file, '--concurrency', '2'], cliEnv);
    assert.equal(run.code, 1, 'exit 1: not every item started');
    const lines = run.stdout
      .trim()
      .split('\n')
      .map(json)
      .sort((x, y) => Number(x.index) - Number(y.index));
    assert.deepEqual(
      lines.map((l) => [l.index, l.workflowId ?? null, l.error ?? null]),
      [
        [0, idA, null],
        [1, null, 'Invalid outreach request:\n  - dob: must be a real calendar date written YYYY-MM-DD'],
        [2, null, 'line 3 is not valid JSON'],
        [3, idB, null],
      ],
    );
    assert.match(run.stderr, /started or already there: 2 of 4; 2 not started/);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(`${a.nhsNumber}|${b.nhsNumber}|${b.dob}`));
    for (const id of [idA, idB]) {
      const result = await cli(['result', id], cliEnv);
      assert.equal(json(result.stdout).outcome, 'completed', result.stderr);
    }

    // The same list again: the finished runs are not started again, so no patient hears twice.
    const again = await cli(['start-batch', '--input', file], cliEnv);
    const finished = again.stdout
      .trim()
      .split('\n')
      .map(json)
      .filter((l) => l.alreadyFinished === true)
      .map((l) => l.workflowId)
      .sort();
    assert.deepEqual(finished, [idA, idB].sort());
    const single = await cli(
      ['start', '--input', requestFile('batch-a.json', outreachRequest(a)), '--workflow-id', idA],
      cliEnv,
    );
    assert.equal(single.code, 1);
    assert.match(single.stderr, /already finished, so it is not started again/);
    const state = (await (await fetch(`${sandboxUrl}/__sandbox/state`)).json()) as {
      messages: { patientId: string }[];
    };
    assert.equal(state.messages.filter((m) => m.patientId === a.patientId).length, 1, 'one message for patient a');
  });

  it('waits for verification, shows the login URL in status, and completes after `verify`', async () => {
    const id = uniqueId('e2e-verify');
    const patient = await addPatient(newPatient({ needsVerification: true }));
    const file = requestFile('verify.json', outreachRequest(patient));
    const first = await cli(['start', '--input', file, '--workflow-id', id], cliEnv);
    assert.equal(first.code, 0, first.stderr);
    const again = await cli(['start', '--input', file, '--workflow-id', id], cliEnv);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      json(again.stdout).runId,
      json(first.stdout).runId,
      'starting the same ID twice returns the existing run',
    );

    const status = await eventually(
      async () => {
        const s = await cli(['status', id], cliEnv);
        const body = s.code === 0 ? json(s.stdout) : undefined;
        return body?.state === 'awaiting_verification' && body;
      },
      20_000,
      'awaiting_verification',
    );
    assert.equal(typeof status.loginUrl, 'string');
    patientData.loginUrls.push(String(status.loginUrl));
    assert.equal(status.attempts, 1);
    assert.ok(!Number.isNaN(Date.parse(String(status.updatedAt))));

    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({ query: `HeroFlowState="awaiting_verification"` }))
          ids.push(wf.workflowId);
        return ids.includes(id) && ids;
      },
      20_000,
      'the run to be listed by HeroFlowState',
    );
    assert.ok(listed.includes(id));

    const page = await fetch(String(status.loginUrl), { method: 'POST' });
    assert.equal(page.status, 200);
    const verify = await cli(['verify', id], cliEnv);
    assert.equal(verify.code, 0, verify.stderr);
    const result = await cli(['result', id], cliEnv);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(json(result.stdout).outcome, 'completed');

    const described = await client.workflow.getHandle(id).describe();
    assert.equal(described.typedSearchAttributes.get(HERO_FLOW_STATE), 'completed');
    assert.match((await described.staticSummary()) ?? '', /Patient outreach: sms/);
  });

  it('runs a codec server the Temporal UI may call, and refuses other origins', async () => {
    assert.match(dev.output, /payloads decoded by the codec server at http:\/\/localhost:\d+/);
    const preflight = (origin: string) =>
      fetch(`http://127.0.0.1:${codecPort}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
    const uiOrigin = `http://localhost:${devEnv.HERO_DEV_UI_PORT}`;
    const allowed = await preflight(uiOrigin);
    assert.ok(allowed.ok);
    assert.equal(allowed.headers.get('access-control-allow-origin'), uiOrigin);
    const refused = await preflight('http://evil.example');
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
  });

  it('refuses to run a worker or client without encryption keys, unless opted out loudly', async () => {
    const { HERO_CODEC_KEYS: _k, ...noKeys } = cliEnv;
    const status = await cli(['status', 'x'], noKeys);
    assert.equal(status.code, 2);
    assert.match(status.stderr, /HERO_CODEC_KEYS is not set/);
    assert.match(status.stderr, /hero-flow keys generate/);
    // One message lists every configuration problem, so one restart fixes them all.
    const worker = await cli(['worker'], {
      ...noKeys,
      HERO_PRACTICE_GROUP_ID: '',
      HERO_SHUTDOWN_GRACE_SECONDS: 'soon',
    });
    assert.equal(worker.code, 2);
    for (const problem of [
      /HERO_API_KEY: is required/,
      /HERO_PRACTICE_GROUP_ID: is required/,
      /HERO_SHUTDOWN_GRACE_SECONDS/,
      /HERO_CODEC_KEYS is not set/,
    ]) {
      assert.match(worker.stderr, problem);
    }
    const optedOut = await cli(['status', uniqueId('none'), '--insecure-no-encryption'], noKeys);
    assert.match(optedOut.stderr, /ENCRYPTION DISABLED/);
    const generated = await cli(['keys', 'generate'], noKeys);
    assert.equal(generated.code, 0);
    assert.match(String(json(generated.stdout).key), /^[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=$/);
  });

  it('serves Prometheus metrics from the worker on HERO_METRICS_PORT', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /temporal_worker_task_slots_available|temporal_request/);
    assert.match(text, /namespace="default"/);
  });

  it('cancels a waiting run with `cancel`: the cancelled outcome', async () => {
    const id = uniqueId('e2e-cancel');
    const patient = await addPatient(newPatient({ needsVerification: true }));
    const file = requestFile('cancel.json', outreachRequest(patient));
    assert.equal((await cli(['start', '--input', file, '--workflow-id', id], cliEnv)).code, 0);
    await eventually(
      async () => json((await cli(['status', id], cliEnv)).stdout).state === 'awaiting_verification',
      20_000,
    );
    const cancel = await cli(['cancel', id], cliEnv);
    assert.equal(cancel.code, 0, cancel.stderr);
    const result = await cli(['result', id], cliEnv);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(json(result.stdout), { outcome: 'cancelled' });
    // A finished run is not reported as unknown: the answer says it finished, and with what outcome.
    const late = await cli(['verify', id], cliEnv);
    assert.equal(late.code, 1);
    assert.match(
      late.stderr,
      new RegExp(`${id} already finished at \\S+: cancelled: it no longer waits for verification\n$`),
    );
    assert.equal(json(late.stdout).outcome, 'cancelled');
    const again = await cli(['cancel', id], cliEnv);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already finished at \S+: cancelled: there is nothing to cancel\n$/);
  });

  it('aborts the in-flight Hero request when a run is cancelled mid-activity', async () => {
    const id = uniqueId('e2e-abort');
    const patient = await addPatient(newPatient());
    // Held for less than the worker's HTTP timeout (10 s), so only the abort can end the call sooner.
    const held = await delayFaultsTaken(sandboxUrl);
    const fault = await fetch(`${sandboxUrl}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: 'register_pds', fault: { kind: 'delay', ms: 9_000 }, times: 1 }),
    });
    assert.equal(fault.status, 200);
    const file = requestFile('abort.json', outreachRequest(patient));
    assert.equal((await cli(['start', '--input', file, '--workflow-id', id], cliEnv)).code, 0);
    await untilSandboxHolds(sandboxUrl, 1, held); // the request is on the wire, held by the sandbox
    assert.equal((await cli(['cancel', id], cliEnv)).code, 0);
    const result = await cli(['result', id], cliEnv);
    assert.deepEqual(json(result.stdout), { outcome: 'cancelled' });
    // The sandbox records a request once it has answered it: none yet for this patient.
    const traces = (await (await fetch(`${sandboxUrl}/__sandbox/requests?endpoint=register_pds`)).json()) as {
      requests: { body?: { nhs_number?: string } }[];
    };
    assert.deepEqual(
      traces.requests.filter((r) => r.body?.nhs_number === patient.nhsNumber),
      [],
      'the run ended while its request was still held, unanswered',
    );
  });

  it('derives a keyed, PII-free workflow ID when no business ID is given', async () => {
    const env = { ...cliEnv, HERO_WORKFLOW_ID_SECRET: 'test-secret-for-ids' };
    const run = await cli(['start', '--input', join(ROOT, 'examples', 'request.json'), '--wait'], env);
    assert.equal(run.code, 0, run.stderr);
    const { workflowId } = json(run.stdout) as { workflowId: string };
    assert.match(workflowId, /^outreach-[0-9a-f]{32}$/);
    assert.ok(!workflowId.includes(plain.nhsNumber));
    const none = await cli(['start', '--input', join(ROOT, 'examples', 'request.json')], cliEnv);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--workflow-id.*HERO_WORKFLOW_ID_SECRET/);
  });

  it('gives clear CLI errors for bad input and unknown runs, without echoing patient data', async () => {
    patientData.nhsNumbers.push('9434765918');
    patientData.dobs.push('1992-13-01');
    const bad = requestFile('bad.json', {
      nhsNumber: '943 476 5918',
      dob: '1992-13-01',
      booking: {},
      message: { type: 'sms' },
    });
    const invalid = await cli(['start', '--input', bad, '--workflow-id', 'x1'], cliEnv);
    assert.equal(invalid.code, 2);
    for (const field of ['nhsNumber', 'dob', 'booking.appointmentTypeId', 'message.text']) {
      assert.ok(invalid.stderr.includes(field), `names ${field}: ${invalid.stderr}`);
    }
    assert.ok(!invalid.stderr.includes('5918') && !invalid.stderr.includes('1992-13-01'));
    assert.equal(invalid.stdout, '');

    const notJson = await cli(['start', '--input', '-', '--workflow-id', 'x2'], cliEnv, '{ nope');
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /not valid JSON/);

    const unknown = await cli(['status', uniqueId('no-such-run')], cliEnv);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No hero-flow run with that workflow ID/);

    const piiId = await cli(
      ['start', '--input', join(ROOT, 'examples', 'request.json'), '--workflow-id', 'p-9434765919'],
      cliEnv,
    );
    assert.equal(piiId.code, 2);
    assert.match(piiId.stderr, /NHS number/);

    const down = await cli(['status', 'x'], { ...cliEnv, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /Cannot reach Temporal/);
  });

  it('keeps runs across a restart (SQLite state), and stops cleanly on Ctrl-C', async () => {
    const id = uniqueId('e2e-persist');
    const run = await cli(
      ['start', '--input', join(ROOT, 'examples', 'request.json'), '--workflow-id', id, '--wait'],
      cliEnv,
    );
    assert.equal(run.code, 0, run.stderr);
    await client.connection.close();
    const code = await dev.stop('SIGINT');
    assert.equal(code, 0);
    assert.match(dev.output, /\[dev\] stopped/);
    devOutputs.push(dev.output);

    dev = await startDev();
    client = new Client({
      connection: await Connection.connect({ address: cliEnv.TEMPORAL_ADDRESS }),
      dataConverter: heroDataConverter(parseKeyRing(cliEnv.HERO_CODEC_KEYS!)),
    });
    const status = await cli(['status', id], cliEnv);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(json(status.stdout).state, 'completed');
  });

  it('never writes an NHS number, date of birth or login URL in worker or dev logs', () => {
    // The dev banner lists the sandbox's synthetic patients on purpose; nothing else may.
    const lines = (devOutputs.join('\n') + dev.output)
      .split('\n')
      .filter((l) => !l.startsWith('[dev]   synthetic patient'))
      // ... and the sandbox's verify link of a waiting run, which is what a newcomer needs next (only the
      // link is taken out: the rest of that line is scanned like any other).
      .map((l) =>
        /^\[dev\] run \S+ awaiting verification: /.test(l) ? l.replace(/https?:\/\/\S*\/verify\/\S*/g, '') : l,
      );
    assert.ok(lines.length > 10);
    const leaks = (needle: string) =>
      lines.filter((l) => l.includes(needle)).map((l) => l.split(needle).join('<HERE>'));
    const needles = [
      ...new Set([
        ...patientData.nhsNumbers.flatMap((n) => [
          n,
          n.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3'),
          n.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1-$2-$3'),
        ]),
        ...patientData.dobs.flatMap((d) => [d, d.replace(/-/g, '')]),
        ...patientData.loginUrls,
        '/verify/',
      ]),
    ];
    assert.ok(patientData.nhsNumbers.length >= 8 && patientData.loginUrls.length >= 1, 'the suite ran its patients');
    assert.deepEqual(
      needles.flatMap((needle) => leaks(needle)),
      [],
      'an NHS number, date of birth or login URL in the logs',
    );
  });
});
