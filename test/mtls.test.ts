import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { HeroFlowClient } from '../src/client/outreach-client';
import { parseKeyRing } from '../src/codec';
import { loadTemporalSettings, type TemporalSettings } from '../src/config/temporal';
import { newPatient, outreachRequest, uniqueId } from './support/fixtures';
import { cli, Proc, ROOT } from './support/processes';
import { sandboxWorker, startTestStack, stopTestStack, type TestStack } from './support/temporal';
import { makeTestPki, type MtlsProxy, startMtlsProxy, type TestPki } from './support/tls';

/** What the proxy reports when a TLS client offered no certificate. */
const NO_CLIENT_CERTIFICATE = 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE';

/** Connection options from hero-flow's settings, every field the SDK's connections take from them. */
const connectOptions = (s: TemporalSettings) => ({
  address: s.address,
  tls: s.tls,
  apiKey: s.apiKey,
  metadata: s.metadata,
});

/**
 * A real mTLS connection: a Temporal dev server behind a TLS proxy that demands a client certificate
 * signed by a CA made for this run (test/support/tls.ts), as an mTLS-only Temporal frontend does.
 * Everything is configured the way another service would configure it: Temporal's standard variables
 * or a temporal.toml profile, read by loadTemporalSettings.
 */
describe('hero-flow over mTLS, configured with Temporal’s standard settings', () => {
  const keys = `test:${randomBytes(32).toString('base64')}`;
  const ring = parseKeyRing(keys);
  let stack: TestStack;
  let pki: TestPki;
  let proxy: MtlsProxy;

  before(async () => {
    [stack, pki] = await Promise.all([startTestStack({ server: 'dev', ring }), makeTestPki()]);
    proxy = await startMtlsProxy({ target: stack.env.address, pki });
  });

  after(async () => {
    await proxy?.close();
    await stopTestStack(stack);
    await pki?.remove();
  });

  /** A service set up the standard way: the proxy's address and the CA to trust; `extra` adds its identity. */
  const serviceEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.certPath,
    HERO_CODEC_KEYS: keys,
    ...extra,
  });
  const clientCertPaths = () => ({
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.client.keyPath,
  });

  /**
   * Completes one outreach run with a hero-flow worker (createHeroWorker, against the sandbox) and a
   * HeroFlowClient, both configured by `env` alone and both connected through the proxy.
   */
  async function completeRunThroughProxy(env: Record<string, string>): Promise<void> {
    const acceptedBefore = proxy.accepted;
    const native = await NativeConnection.connect(connectOptions(loadTemporalSettings(env)));
    try {
      const { worker, taskQueue } = await sandboxWorker({
        connection: native,
        sandbox: stack.sandbox,
        bundle: stack.bundle,
        ring,
      });
      const client = await HeroFlowClient.connect({ ...env, HERO_TASK_QUEUE: taskQueue });
      try {
        const patient = newPatient();
        stack.sandbox.addPatient(patient);
        const result = await worker.runUntil(async () => {
          const { workflowId } = await client.start(outreachRequest(patient), { workflowId: uniqueId('mtls') });
          return client.result(workflowId);
        });
        assert.equal(result.outcome, 'completed');
        assert.ok(result.outcome === 'completed');
        assert.equal(result.patientId, patient.patientId);
        assert.ok(stack.sandbox.messages().some((m) => m.id === result.messageId));
      } finally {
        await client.close();
      }
    } finally {
      await native.close();
    }
    // The worker's native connection and the client's gRPC connection: both went through the proxy.
    assert.ok(
      proxy.accepted >= acceptedBefore + 2,
      `expected 2 proxied connections, saw ${proxy.accepted - acceptedBefore}`,
    );
  }

  it('refuses a worker and a client that trust the CA but present no client certificate', async () => {
    const settings = loadTemporalSettings(serviceEnv());
    assert.ok(typeof settings.tls === 'object' && settings.tls.serverRootCACertificate);
    assert.equal(settings.tls.clientCertPair, undefined);
    const [seen, accepted] = [proxy.refusals.length, proxy.accepted];

    await assert.rejects(NativeConnection.connect(connectOptions(settings)));
    // The SDK's client retries until its connect deadline; a short one keeps the test quick.
    await assert.rejects(Connection.connect({ ...connectOptions(settings), connectTimeout: '2s' }));

    assert.equal(await proxy.refusal(seen), NO_CLIENT_CERTIFICATE);
    assert.equal(proxy.accepted, accepted, 'no connection reached the server');
  });

  it('refuses a client certificate signed by another CA', async () => {
    const settings = loadTemporalSettings(
      serviceEnv({
        TEMPORAL_TLS_CLIENT_CERT_PATH: pki.strangerClient.certPath,
        TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerClient.keyPath,
      }),
    );
    const [seen, accepted] = [proxy.refusals.length, proxy.accepted];
    await assert.rejects(NativeConnection.connect(connectOptions(settings)));
    await proxy.refusal(seen);
    assert.equal(proxy.accepted, accepted, 'no connection reached the server');
  });

  it('passes TEMPORAL_TLS_SERVER_NAME to the connection: a name the server certificate does not carry is refused', async () => {
    const withName = (name: string) =>
      loadTemporalSettings(serviceEnv({ ...clientCertPaths(), TEMPORAL_TLS_SERVER_NAME: name }));
    await assert.rejects(
      NativeConnection.connect(connectOptions(withName('not-the-server.example'))),
      /NotValidForName/,
    );
    const connection = await NativeConnection.connect(connectOptions(withName('localhost')));
    await connection.close();
  });

  it('with TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH, a worker and a client connected through the proxy complete a run', async () => {
    await completeRunThroughProxy(serviceEnv(clientCertPaths()));
  });

  it('with a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) holding the certificate paths, a run completes', async () => {
    const file = join(pki.dir, 'temporal.toml');
    await writeFile(
      file,
      [
        // The default profile points nowhere: a run completes only if TEMPORAL_PROFILE selects "mtls".
        '[profile.default]',
        'address = "localhost:1"',
        '',
        '[profile.mtls]',
        `address = ${JSON.stringify(proxy.address)}`,
        'namespace = "default"',
        '',
        '[profile.mtls.tls]',
        `client_cert_path = ${JSON.stringify(pki.client.certPath)}`,
        `client_key_path = ${JSON.stringify(pki.client.keyPath)}`,
        `server_ca_cert_path = ${JSON.stringify(pki.ca.certPath)}`,
        'server_name = "localhost"',
        '',
      ].join('\n'),
    );
    await completeRunThroughProxy({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls', HERO_CODEC_KEYS: keys });
  });

  it('with the _DATA forms (certificate, key and CA as PEM text in the environment), a run completes', async () => {
    await completeRunThroughProxy({
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TLS_CLIENT_CERT_DATA: pki.client.cert,
      TEMPORAL_TLS_CLIENT_KEY_DATA: pki.client.key,
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: pki.ca.cert,
      HERO_CODEC_KEYS: keys,
    });
  });

  it('the hero-flow worker process and the CLI, with the client certificate, complete a run; the CLI without it is refused', async () => {
    // The environment a deployed service would have; nothing inherited may point elsewhere.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(TEMPORAL_|HERO_)/.test(name)),
    );
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      XDG_CONFIG_HOME: pki.dir, // no user temporal.toml
      ...serviceEnv(clientCertPaths()),
      HERO_TASK_QUEUE: uniqueId('tq'),
    };
    const worker = Proc.start(process.execPath, [join(ROOT, 'bin', 'hero-flow.js'), 'worker'], {
      ...env,
      HERO_API_KEY: stack.sandbox.apiKey,
      HERO_PRACTICE_GROUP_ID: stack.sandbox.practiceGroupId,
      HERO_API_BASE_URL: stack.sandbox.url,
    });
    try {
      await worker.waitFor('hero-flow worker polling', 120_000);
      const patient = newPatient();
      stack.sandbox.addPatient(patient);
      const input = join(pki.dir, `${uniqueId('request')}.json`);
      await writeFile(input, JSON.stringify(outreachRequest(patient)));
      const workflowId = uniqueId('mtls-cli');

      const started = await cli(['start', '--input', input, '--workflow-id', workflowId, '--wait'], env);
      assert.equal(started.code, 0, started.stderr);
      const { result } = JSON.parse(started.stdout) as { result: { outcome: string; patientId: string } };
      assert.equal(result.outcome, 'completed');
      assert.equal(result.patientId, patient.patientId);
      const status = await cli(['status', workflowId], env);
      assert.equal(status.code, 0, status.stderr);
      assert.equal((JSON.parse(status.stdout) as { state: string }).state, 'completed');

      const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...withoutCert } = env;
      const seen = proxy.refusals.length;
      const refused = await cli(['status', workflowId], withoutCert);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /TLS without a client certificate.*TEMPORAL_TLS_CLIENT_CERT_PATH/);
      assert.equal(await proxy.refusal(seen), NO_CLIENT_CERTIFICATE);
      assert.doesNotMatch(refused.stdout + refused.stderr, /BEGIN|PRIVATE KEY/);
    } finally {
      const code = await worker.stop('SIGINT');
      assert.equal(code, 0, worker.output);
    }
  });
});
