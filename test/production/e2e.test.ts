import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { heroDataConverter, parseKeyRing } from '../../src/codec';
import { HERO_BOOKING_LINK_ID, HERO_FLOW_STATE } from '../../src/shared/search-attributes';
import { DEFAULT_TASK_QUEUE } from '../../src/shared/task-queue';
import { KEEP_TAIL, type Proc, startWorker } from '../../tools/processes';
import { type Sandbox, startSandbox } from '../../tools/sandbox';
import { eventually, newPatient, outreachRequest, uniqueId } from '../support/fixtures';
import { cli } from '../support/processes';
import { type ExternalTemporalServer, externalTemporalServer } from './external';

/**
 * End to end on the production-shaped server `npm run test:production` starts (test/production/run.ts):
 * Temporal server 1.29.1 on PostgreSQL with SQL visibility, its frontend behind mTLS, one task-queue
 * partition from dynamic config, the namespace and search attributes made with `temporal operator`.
 * A hero-flow worker (`hero-flow worker`, a child process) and the `hero-flow` CLI reach it with
 * Temporal's standard TLS variables only, as a deployment would configure them; Hero is the sandbox
 * over loopback HTTP. Run through the runner, which passes the server in HERO_TEST_TEMPORAL_* (external.ts).
 */
describe('hero-flow end to end on Temporal 1.29.1 with PostgreSQL and mTLS', () => {
  // Inside the runner's folder when it gives one, which its teardown removes even after a Ctrl-C here.
  const tmp = mkdtempSync(join(process.env.HERO_PRODUCTION_TMP ?? tmpdir(), 'hero-flow-production-e2e-'));
  const keys = `prod:${randomBytes(32).toString('base64')}`;
  let server: ExternalTemporalServer;
  let sandbox: Sandbox;
  let worker: Proc;
  let client: Client;
  let connection: Connection;
  /** What a service gets: Temporal's standard variables (address, namespace, TLS files) and the keys. */
  let cliEnv: NodeJS.ProcessEnv;

  const json = (text: string) => JSON.parse(text) as Record<string, unknown>;
  const requestFile = (name: string, body: unknown) => {
    const file = join(tmp, `${name}.json`);
    writeFileSync(file, JSON.stringify(body));
    return file;
  };
  /** Every patient this suite sends, for the log scan. */
  const used: { nhsNumber: string; dob: string }[] = [];
  const addPatient = (opts: { needsVerification?: boolean } = {}) => {
    const patient = newPatient(opts);
    sandbox.addPatient(patient);
    used.push(patient);
    return patient;
  };
  const stateOf = async (id: string) => {
    const s = await cli(['status', id], cliEnv);
    return s.code === 0 ? json(s.stdout) : undefined;
  };
  /** Workflow IDs visibility (PostgreSQL, SQL advanced visibility) lists for `query`. */
  const listed = async (query: string) => {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids;
  };

  before(async () => {
    const found = externalTemporalServer();
    if (!found)
      throw new Error('no server given: run this suite with `npm run test:production` (test/production/run.ts)');
    server = found;
    sandbox = await startSandbox();
    // Temporal's standard variables, inherited from the runner (TEMPORAL_TLS_*), and nothing else of Temporal's.
    const { HERO_TASK_QUEUE: _q, HERO_METRICS_PORT: _m, HERO_API_KEY: _k, ...base } = process.env;
    cliEnv = { ...base, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', HERO_CODEC_KEYS: keys };
    worker = startWorker({
      env: {
        ...cliEnv,
        HERO_API_KEY: sandbox.apiKey,
        HERO_PRACTICE_GROUP_ID: sandbox.practiceGroupId,
        HERO_API_BASE_URL: sandbox.url,
        HERO_LOG_LEVEL: 'INFO',
      },
      keep: KEEP_TAIL,
      exitWithParent: true,
    });
    await worker.ready;
    connection = await Connection.connect(server.connectOptions);
    client = new Client({ connection, namespace: 'default', dataConverter: heroDataConverter(parseKeyRing(keys)) });
  });

  after(async () => {
    await connection?.close();
    await worker?.stop('SIGTERM', 20_000);
    await sandbox?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * A TLS handshake with the frontend, then what it says: 'served' once it sends its first HTTP/2 frame,
   * else the error code of the alert it ended the handshake with.
   */
  const handshake = (identity?: { cert?: string; key?: string }) =>
    new Promise<string>((resolve) => {
      const { hostname, port } = new URL(`tcp://${server.address}`);
      const socket = tlsConnect({
        host: hostname,
        port: Number(port),
        servername: 'localhost',
        ca: readFileSync(process.env.TEMPORAL_TLS_SERVER_CA_CERT_PATH!),
        ALPNProtocols: ['h2'],
        ...(identity?.cert && { cert: readFileSync(identity.cert), key: readFileSync(identity.key!) }),
      });
      const done = (outcome: string) => {
        socket.destroy();
        resolve(outcome);
      };
      socket.once('data', () => done('served'));
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      socket.once('close', () => done('closed'));
    });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    assert.equal(
      await handshake({
        cert: process.env.TEMPORAL_TLS_CLIENT_CERT_PATH,
        key: process.env.TEMPORAL_TLS_CLIENT_KEY_PATH,
      }),
      'served',
    );
    assert.equal(await handshake(), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.match(
      await handshake({ cert: process.env.HERO_TEST_STRANGER_CERT_PATH, key: process.env.HERO_TEST_STRANGER_KEY_PATH }),
      /^ERR_SSL_(SSLV3|TLSV1)_ALERT_(BAD_CERTIFICATE|UNKNOWN_CA)$/,
    );

    // What a hero-flow service without its certificate sees; with it, the same command reaches the server.
    const {
      TEMPORAL_TLS_CLIENT_CERT_PATH: _c,
      TEMPORAL_TLS_CLIENT_KEY_PATH: _k,
      ...withoutCertificate
    } = cliEnv as Record<string, string>;
    const anonymous = await cli(['status', uniqueId('none')], withoutCertificate);
    assert.equal(anonymous.code, 1, anonymous.stderr);
    assert.match(
      anonymous.stderr,
      /Cannot reach Temporal.*TLS without a client certificate.*TEMPORAL_TLS_CLIENT_CERT_PATH/,
    );
    const known = await cli(['status', uniqueId('none')], cliEnv);
    assert.equal(known.code, 1);
    assert.match(known.stderr, /No hero-flow run with that workflow ID/);
  });

  it("gives the hero-flow task queue one partition, and the suites' task queues too, from the dynamic config file", async () => {
    // docs/deploy.md's entry names hero-flow's queue; the namespace-wide one covers the queues the
    // reliability suite and the bench name per run.
    for (const name of [DEFAULT_TASK_QUEUE, uniqueId('bench')]) {
      const partitions = await connection.workflowService.listTaskQueuePartitions({
        namespace: 'default',
        taskQueue: { name },
      });
      assert.equal(partitions.workflowTaskQueuePartitions?.length, 1, name);
      assert.equal(partitions.activityTaskQueuePartitions?.length, 1, name);
    }
  });

  it('completes a run started with the CLI, the worker and the CLI both over mTLS', async () => {
    const patient = addPatient();
    const id = uniqueId('prod-plain');
    const run = await cli(
      ['start', '--input', requestFile(id, outreachRequest(patient)), '--workflow-id', id, '--wait'],
      cliEnv,
    );
    assert.equal(run.code, 0, run.stderr);
    const result = json(run.stdout).result as { outcome: string; patientId: string; messageId: string };
    assert.equal(result.outcome, 'completed');
    assert.equal(result.patientId, patient.patientId);
    assert.ok(sandbox.messages().some((m) => m.id === result.messageId && m.patientId === patient.patientId));
    const described = await client.workflow.getHandle(id).describe();
    assert.equal(described.taskQueue, DEFAULT_TASK_QUEUE);
    assert.equal(described.typedSearchAttributes.get(HERO_FLOW_STATE), 'completed');
  });

  it('lists a waiting run by HeroFlowState from PostgreSQL visibility, keeps it across a server restart, and completes it after `verify`', async () => {
    const patient = addPatient({ needsVerification: true });
    const id = uniqueId('prod-verify');
    const start = await cli(
      ['start', '--input', requestFile(id, outreachRequest(patient)), '--workflow-id', id],
      cliEnv,
    );
    assert.equal(start.code, 0, start.stderr);
    const waiting = await eventually(
      async () => {
        const s = await stateOf(id);
        return s?.state === 'awaiting_verification' && s;
      },
      30_000,
      'awaiting_verification',
    );
    await eventually(
      async () => (await listed(`HeroFlowState = "awaiting_verification"`)).includes(id),
      30_000,
      'the run listed by HeroFlowState',
    );

    // The run's state is in PostgreSQL: a restart of the server loses nothing, and the worker carries on.
    await server.stop();
    await server.start();
    assert.equal((await stateOf(id))?.state, 'awaiting_verification');

    const page = await fetch(String(waiting.loginUrl), { method: 'POST' });
    assert.equal(page.status, 200);
    const verify = await cli(['verify', id], cliEnv);
    assert.equal(verify.code, 0, verify.stderr);
    const result = await cli(['result', id], cliEnv);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(json(result.stdout).outcome, 'completed');
    await eventually(
      async () => (await listed(`HeroFlowState = "completed" AND WorkflowId = "${id}"`)).includes(id),
      30_000,
      'the completed run listed by HeroFlowState',
    );
  });

  it('finds a run waiting for its booking by HeroBookingLinkId, and cancels it with `cancel`', async () => {
    const patient = addPatient();
    const id = uniqueId('prod-booking');
    const request = outreachRequest(patient, {
      awaitBooking: { window: '1 hour', recheckEvery: '10 minutes', reminders: [] },
    });
    const start = await cli(['start', '--input', requestFile(id, request), '--workflow-id', id], cliEnv);
    assert.equal(start.code, 0, start.stderr);
    const waiting = await eventually(
      async () => {
        const s = await stateOf(id);
        return s?.state === 'awaiting_booking' && s;
      },
      30_000,
      'awaiting_booking',
    );
    const linkId = String(waiting.bookingLinkId);
    assert.ok(sandbox.bookingLinks().some((l) => l.id === linkId));
    const found = await eventually(
      async () => {
        const ids = await listed(`${HERO_BOOKING_LINK_ID.name} = "${linkId}"`);
        return ids.length > 0 && ids;
      },
      30_000,
      'the run listed by HeroBookingLinkId',
    );
    assert.deepEqual(found, [id]);

    const cancel = await cli(['cancel', id], cliEnv);
    assert.equal(cancel.code, 0, cancel.stderr);
    const result = await cli(['result', id], cliEnv);
    assert.equal(json(result.stdout).outcome, 'cancelled');
  });

  it('starts a practice list with `start-batch`, and a second run of the list starts nothing twice', async () => {
    const patients = [addPatient(), addPatient(), addPatient()];
    const ids = patients.map(() => uniqueId('prod-batch'));
    const file = join(tmp, 'batch.jsonl');
    writeFileSync(
      file,
      patients.map((p, i) => JSON.stringify({ workflowId: ids[i], request: outreachRequest(p) })).join('\n'),
    );
    const first = await cli(['start-batch', '--input', file], cliEnv);
    assert.equal(first.code, 0, first.stderr);
    for (const id of ids) {
      const result = await cli(['result', id], cliEnv);
      assert.equal(json(result.stdout).outcome, 'completed', result.stderr);
    }
    const again = await cli(['start-batch', '--input', file], cliEnv);
    const finished = again.stdout
      .trim()
      .split('\n')
      .map(json)
      .filter((l) => l.alreadyFinished === true)
      .map((l) => l.workflowId);
    assert.deepEqual(finished.sort(), [...ids].sort());
    for (const p of patients) {
      assert.equal(sandbox.messages().filter((m) => m.patientId === p.patientId).length, 1, 'one message per patient');
    }
  });

  it('never writes an NHS number or date of birth in the worker log', () => {
    const output = worker.output;
    assert.ok(output.includes('worker polling task queue') && used.length >= 6, 'the suite ran its patients');
    for (const p of used) {
      const spaced = p.nhsNumber.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3');
      assert.ok(!output.includes(p.nhsNumber) && !output.includes(spaced), 'an NHS number in the worker log');
      assert.ok(!output.includes(p.dob), 'a date of birth in the worker log');
    }
  });
});
