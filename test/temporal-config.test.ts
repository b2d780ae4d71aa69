import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import {
  loadTemporalSettings,
  RENAMED_TEMPORAL_VARIABLES,
  type TemporalSettings,
  type TlsSettings,
} from '../src/config/temporal';
import { ConfigError } from '../src/shared/errors';
import { makeTestPki, type TestPki } from './support/tls';

/** The problems loadTemporalSettings reports for `env` (fails the test if it accepts it). */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadTemporalSettings(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  return assert.fail('expected a ConfigError');
}

function tlsOf(settings: TemporalSettings): TlsSettings {
  assert.ok(typeof settings.tls === 'object', `expected TLS settings, got ${String(settings.tls)}`);
  return settings.tls;
}

describe('loadTemporalSettings: Temporal’s standard connection settings, through @temporalio/envconfig', () => {
  let pki: TestPki;
  let dir: string;
  let n = 0;
  /** Writes a file in this suite's scratch directory and returns its path. */
  const scratch = async (name: string, content: string) => {
    const path = join(dir, `${n++}-${name}`);
    await writeFile(path, content);
    return path;
  };

  before(async () => {
    pki = await makeTestPki();
    dir = await mkdtemp(join(tmpdir(), 'hero-flow-temporal-config-'));
  });
  after(async () => {
    await pki?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  describe('defaults and plain settings', () => {
    it('connects to localhost:7233, namespace default, without TLS when nothing is set', () => {
      assert.deepEqual(loadTemporalSettings({}), {
        address: 'localhost:7233',
        namespace: 'default',
        taskQueue: 'hero-flow',
        apiKey: undefined,
        tls: undefined,
      });
    });

    it('keeps the defaults, without throwing, when the default temporal.toml location has no file', async () => {
      const home = await mkdtemp(join(dir, 'home-'));
      const settings = loadTemporalSettings({ HOME: home, XDG_CONFIG_HOME: join(home, 'config') });
      assert.equal(settings.address, 'localhost:7233');
      assert.equal(settings.namespace, 'default');
    });

    it('reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and hero-flow’s own HERO_TASK_QUEUE', () => {
      const s = loadTemporalSettings({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_NAMESPACE: 'outreach',
        HERO_TASK_QUEUE: 'hero-flow-eu',
      });
      assert.deepEqual(
        { address: s.address, namespace: s.namespace, taskQueue: s.taskQueue, tls: s.tls },
        { address: 'temporal.internal:7233', namespace: 'outreach', taskQueue: 'hero-flow-eu', tls: undefined },
      );
    });

    it('treats an empty variable as unset', () => {
      const s = loadTemporalSettings({
        TEMPORAL_ADDRESS: '',
        TEMPORAL_NAMESPACE: ' ',
        TEMPORAL_API_KEY: '',
        TEMPORAL_TLS: '',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '',
        TEMPORAL_CONFIG_FILE: '',
      });
      assert.equal(s.address, 'localhost:7233');
      assert.equal(s.namespace, 'default');
      assert.equal(s.apiKey, undefined);
      assert.equal(s.tls, undefined);
    });

    it('turns TLS on with TEMPORAL_API_KEY, and TEMPORAL_TLS turns it on or off', () => {
      assert.equal(loadTemporalSettings({ TEMPORAL_API_KEY: 'key-1' }).tls, true);
      assert.equal(loadTemporalSettings({ TEMPORAL_API_KEY: 'key-1' }).apiKey, 'key-1');
      assert.equal(loadTemporalSettings({ TEMPORAL_API_KEY: 'key-1\n' }).apiKey, 'key-1');
      assert.equal(loadTemporalSettings({ TEMPORAL_TLS: 'true' }).tls, true);
      assert.equal(loadTemporalSettings({ TEMPORAL_TLS: '1' }).tls, true);
      assert.equal(loadTemporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'key-1' }).tls, false);
    });

    it('refuses a TEMPORAL_TLS that is not true, false, 1 or 0, without echoing it', () => {
      const problems = problemsOf({ TEMPORAL_TLS: 'yes-please' });
      assert.deepEqual(problems, ['TEMPORAL_TLS must be true, false, 1 or 0']);
    });
  });

  describe('TLS from the standard variables', () => {
    it('reads TEMPORAL_TLS_CLIENT_CERT_PATH, _CLIENT_KEY_PATH, _SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME', () => {
      const tls = tlsOf(
        loadTemporalSettings({
          TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath,
          TEMPORAL_TLS_CLIENT_KEY_PATH: pki.client.keyPath,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.certPath,
          TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
        }),
      );
      assert.equal(tls.clientCertPair?.crt.toString(), pki.client.cert);
      assert.equal(tls.clientCertPair?.key.toString(), pki.client.key);
      assert.equal(tls.serverRootCACertificate?.toString(), pki.ca.cert);
      assert.equal(tls.serverNameOverride, 'temporal.internal');
    });

    it('reads the _DATA forms: TEMPORAL_TLS_CLIENT_CERT_DATA, _CLIENT_KEY_DATA, _SERVER_CA_CERT_DATA', () => {
      const tls = tlsOf(
        loadTemporalSettings({
          TEMPORAL_TLS_CLIENT_CERT_DATA: pki.client.cert,
          TEMPORAL_TLS_CLIENT_KEY_DATA: pki.client.key,
          TEMPORAL_TLS_SERVER_CA_CERT_DATA: pki.ca.cert,
        }),
      );
      assert.equal(tls.clientCertPair?.crt.toString(), pki.client.cert);
      assert.equal(tls.clientCertPair?.key.toString(), pki.client.key);
      assert.equal(tls.serverRootCACertificate?.toString(), pki.ca.cert);
    });

    it('gives the SDK the same connection options as envconfig’s own loadClientConnectConfig', async () => {
      const file = await scratch(
        'agree.toml',
        ['[profile.p]', 'address = "p.example:7233"', '[profile.p.grpc_meta]', 'x-team = "outreach"'].join('\n'),
      );
      const envs: Record<string, string>[] = [
        { TEMPORAL_ADDRESS: 'a.example:7233', TEMPORAL_API_KEY: 'k' },
        { TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'n.example' },
        {
          TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath,
          TEMPORAL_TLS_CLIENT_KEY_DATA: pki.client.key,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.certPath,
        },
        { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'p', TEMPORAL_GRPC_META_X_REGION: 'eu' },
      ];
      for (const env of envs) {
        const ours = loadTemporalSettings(env);
        const { connectionOptions: theirs, namespace } = loadClientConnectConfig({ overrideEnvVars: env });
        assert.equal(ours.address, theirs.address ?? 'localhost:7233');
        assert.equal(ours.namespace, namespace ?? 'default');
        assert.equal(ours.apiKey, theirs.apiKey);
        assert.deepEqual(ours.metadata, theirs.metadata);
        const theirTls = theirs.tls;
        if (typeof theirTls !== 'object' || theirTls === null) {
          assert.equal(ours.tls, theirTls);
          continue;
        }
        const bytes = (b?: Uint8Array) => (b ? Buffer.from(b).toString() : undefined);
        const tls = ours.tls === true ? {} : tlsOf(ours);
        assert.equal(tls.serverNameOverride, theirTls.serverNameOverride);
        assert.equal(bytes(tls.serverRootCACertificate), bytes(theirTls.serverRootCACertificate));
        assert.equal(bytes(tls.clientCertPair?.crt), bytes(theirTls.clientCertPair?.crt));
        assert.equal(bytes(tls.clientCertPair?.key), bytes(theirTls.clientCertPair?.key));
      }
    });

    it('accepts TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=false and refuses =true, which the TypeScript SDK cannot do', () => {
      assert.equal(loadTemporalSettings({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'false' }).tls, true);
      const [problem, ...rest] = problemsOf({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' });
      assert.deepEqual(rest, []);
      assert.match(problem!, /^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported .* TEMPORAL_TLS_SERVER_NAME/);
    });

    it('uses no certificate when TLS is turned off (TEMPORAL_TLS=false), as the Temporal CLI does', () => {
      const s = loadTemporalSettings({
        TEMPORAL_TLS: 'false',
        TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath,
        TEMPORAL_TLS_CLIENT_KEY_PATH: pki.client.keyPath,
      });
      assert.equal(s.tls, false);
    });
  });

  describe('gRPC headers (TEMPORAL_GRPC_META_*)', () => {
    it('passes TEMPORAL_GRPC_META_* to the settings’ metadata, named as the Temporal CLI names them', () => {
      const s = loadTemporalSettings({
        TEMPORAL_GRPC_META_X_TENANT: 'outreach',
        TEMPORAL_GRPC_META_X_HERO_ROUTING_CELL_ID: 'cell-7',
      });
      assert.deepEqual(s.metadata, { 'x-tenant': 'outreach', 'x-hero-routing-cell-id': 'cell-7' });
    });

    it('lets an empty TEMPORAL_GRPC_META_* remove a header the profile sets', async () => {
      const file = await scratch(
        'meta.toml',
        ['[profile.default.grpc_meta]', 'x-team = "outreach"', 'x-region = "eu"'].join('\n'),
      );
      const s = loadTemporalSettings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_GRPC_META_X_REGION: '' });
      assert.deepEqual(s.metadata, { 'x-team': 'outreach' });
    });

    it('refuses a header value gRPC cannot send, naming the variable but not the value', () => {
      const problems = problemsOf({ TEMPORAL_GRPC_META_X_TOKEN: 'secret-part-1\nsecret-part-2' });
      assert.deepEqual(problems, ['TEMPORAL_GRPC_META_X_TOKEN: the header value must be printable ASCII on one line']);
    });

    it('refuses an authorization header alongside TEMPORAL_API_KEY (the SDK would throw at connect)', () => {
      const problems = problemsOf({ TEMPORAL_API_KEY: 'k', TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer other' });
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /TEMPORAL_API_KEY and the gRPC header "authorization"/);
      assert.doesNotMatch(problems[0]!, /Bearer other/);
    });
  });

  describe('credentials only over TLS off this machine', () => {
    it('refuses TEMPORAL_API_KEY with TLS turned off to a server elsewhere, saying why and how, without the key', () => {
      const problems = problemsOf({
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_TLS: 'false',
        TEMPORAL_API_KEY: 'key-SECRET-1',
      });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(
        problems[0]!,
        /^the API key \(TEMPORAL_API_KEY\) would be sent to temporal\.example:7233 in plaintext/,
      );
      assert.match(problems[0]!, /TEMPORAL_TLS=false.*read the credential.*HERO_ALLOW_INSECURE_CREDENTIALS=true/);
      assert.doesNotMatch(problems[0]!, /SECRET/);
    });

    it('refuses a credential gRPC header with no TLS configured to a server elsewhere, naming the header only', async () => {
      const file = await scratch(
        'token.toml',
        ['[profile.default.grpc_meta]', 'x-auth-token = "tok-SECRET"'].join('\n'),
      );
      for (const env of [
        { TEMPORAL_ADDRESS: '10.0.0.7:7233', TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer SECRET' },
        { TEMPORAL_ADDRESS: '[2001:db8::7]:7233', TEMPORAL_CONFIG_FILE: file },
      ]) {
        const [problem, ...rest] = problemsOf(env);
        assert.deepEqual(rest, []);
        assert.match(
          problem!,
          /^the gRPC header "(authorization|x-auth-token)" would be sent to .* in plaintext: no TLS is configured: set TEMPORAL_TLS=true/,
        );
        assert.doesNotMatch(problem!, /SECRET/);
      }
    });

    it('sends them with TLS, to this machine, with HERO_ALLOW_INSECURE_CREDENTIALS=true, and other headers anywhere', () => {
      const remote = { TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_API_KEY: 'k' };
      assert.equal(loadTemporalSettings(remote).tls, true);
      assert.equal(
        loadTemporalSettings({ ...remote, TEMPORAL_TLS: 'false', HERO_ALLOW_INSECURE_CREDENTIALS: 'true' }).tls,
        false,
      );
      for (const address of [
        'localhost:7233',
        '127.0.0.1:7233',
        '127.8.9.10:7233',
        '[::1]:7233',
        'dev.localhost:7233',
      ]) {
        assert.equal(loadTemporalSettings({ ...remote, TEMPORAL_ADDRESS: address, TEMPORAL_TLS: 'false' }).apiKey, 'k');
      }
      const headers = loadTemporalSettings({
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_GRPC_META_X_TENANT: 'a',
      });
      assert.deepEqual(headers.metadata, { 'x-tenant': 'a' });
    });

    it('refuses a HERO_ALLOW_INSECURE_CREDENTIALS that is not true, false, 1 or 0', () => {
      assert.deepEqual(problemsOf({ HERO_ALLOW_INSECURE_CREDENTIALS: 'yes' }), [
        'HERO_ALLOW_INSECURE_CREDENTIALS must be true, false, 1 or 0',
      ]);
    });
  });

  describe('temporal.toml profiles', () => {
    let profiles: string;
    before(async () => {
      profiles = await scratch(
        'temporal.toml',
        [
          '[profile.default]',
          'address = "default.example:7233"',
          '',
          '[profile.prod]',
          'address = "prod.example:7233"',
          'namespace = "outreach-prod"',
          'api_key = "prod-key"',
          '[profile.prod.tls]',
          `client_cert_path = ${JSON.stringify(pki.client.certPath)}`,
          `client_key_data = ${JSON.stringify(pki.client.key)}`,
          `server_ca_cert_path = ${JSON.stringify(pki.ca.certPath)}`,
          'server_name = "prod.internal"',
          '[profile.prod.grpc_meta]',
          'x-team = "outreach"',
        ].join('\n'),
      );
    });

    it('reads the profile TEMPORAL_PROFILE names from TEMPORAL_CONFIG_FILE', () => {
      const s = loadTemporalSettings({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'prod' });
      assert.equal(s.address, 'prod.example:7233');
      assert.equal(s.namespace, 'outreach-prod');
      assert.equal(s.apiKey, 'prod-key');
      assert.deepEqual(s.metadata, { 'x-team': 'outreach' });
      const tls = tlsOf(s);
      assert.equal(tls.clientCertPair?.crt.toString(), pki.client.cert);
      assert.equal(tls.clientCertPair?.key.toString(), pki.client.key);
      assert.equal(tls.serverRootCACertificate?.toString(), pki.ca.cert);
      assert.equal(tls.serverNameOverride, 'prod.internal');
    });

    it('reads the "default" profile without TEMPORAL_PROFILE, and from the default location without TEMPORAL_CONFIG_FILE', async () => {
      assert.equal(loadTemporalSettings({ TEMPORAL_CONFIG_FILE: profiles }).address, 'default.example:7233');
      const config = await mkdtemp(join(dir, 'xdg-'));
      await mkdir(join(config, 'temporalio'));
      await writeFile(join(config, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "xdg.example:7233"\n');
      assert.equal(loadTemporalSettings({ XDG_CONFIG_HOME: config }).address, 'xdg.example:7233');
      assert.deepEqual(problemsOf({ XDG_CONFIG_HOME: config, TEMPORAL_PROFILE: 'prod' }), [
        `TEMPORAL_PROFILE: no profile "prod" in ${join(config, 'temporalio', 'temporal.toml')}`,
      ]);
    });

    it('lets the environment override the profile, as the Temporal CLI does', () => {
      const s = loadTemporalSettings({
        TEMPORAL_CONFIG_FILE: profiles,
        TEMPORAL_PROFILE: 'prod',
        TEMPORAL_ADDRESS: 'override.example:7233',
        TEMPORAL_TLS_SERVER_NAME: 'override.internal',
      });
      assert.equal(s.address, 'override.example:7233');
      assert.equal(tlsOf(s).serverNameOverride, 'override.internal');
      assert.equal(tlsOf(s).clientCertPair?.crt.toString(), pki.client.cert);
    });

    it('refuses a profile value of the wrong type, naming its key and the variable that can replace it', async () => {
      const file = await scratch('typed.toml', '[profile.default]\naddress = 7233\n');
      assert.deepEqual(problemsOf({ TEMPORAL_CONFIG_FILE: file }), [
        `profile "default" address (${file}) must be a string (or set TEMPORAL_ADDRESS)`,
      ]);
    });

    it('refuses a TEMPORAL_CONFIG_FILE that does not exist, and a TEMPORAL_PROFILE the file does not have', () => {
      const missing = join(dir, 'no-such.toml');
      assert.deepEqual(problemsOf({ TEMPORAL_CONFIG_FILE: missing }), [`TEMPORAL_CONFIG_FILE: no file at ${missing}`]);
      assert.deepEqual(problemsOf({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'staging' }), [
        `TEMPORAL_PROFILE: no profile "staging" in ${profiles}`,
      ]);
    });

    it('refuses a file that is not TOML without quoting it (it may hold an API key)', async () => {
      const file = await scratch('broken.toml', '[profile.default]\napi_key = "sentinel-api-key\n');
      const problems = problemsOf({ TEMPORAL_CONFIG_FILE: file });
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^TEMPORAL_CONFIG_FILE: not valid TOML at line 2, column \d+/);
      assert.doesNotMatch(problems[0]!, /sentinel-api-key/);
    });

    it('names the profile key and the file of a certificate file that is missing', async () => {
      const missing = join(dir, 'gone.crt');
      const file = await scratch(
        'missing-cert.toml',
        [
          '[profile.prod.tls]',
          `client_cert_path = ${JSON.stringify(missing)}`,
          `client_key_path = ${JSON.stringify(pki.client.keyPath)}`,
        ].join('\n'),
      );
      assert.deepEqual(problemsOf({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }), [
        `profile "prod" tls.client_cert_path (${file}): cannot read ${missing} (no such file)`,
      ]);
    });

    it('refuses a certificate given both as a path and as data, in the profile or across profile and environment', async () => {
      const both = await scratch(
        'both.toml',
        ['[profile.default.tls]', 'client_cert_path = "/a"', 'client_cert_data = "b"'].join('\n'),
      );
      assert.deepEqual(problemsOf({ TEMPORAL_CONFIG_FILE: both }), [
        `profile "default" in ${both}: tls.client_cert_path and tls.client_cert_data are both set: set only one`,
      ]);
      assert.deepEqual(
        problemsOf({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'prod', TEMPORAL_TLS_CLIENT_KEY_PATH: '/k' }),
        [
          `TEMPORAL_TLS_CLIENT_KEY_PATH and profile "prod" tls.client_key_data (${profiles}) both give the client key: remove one`,
        ],
      );
      assert.deepEqual(problemsOf({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/a', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'b' }), [
        'TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA are both set: set only one',
      ]);
    });
  });

  describe('hero-flow’s old TLS names', () => {
    it('refuses each old name, naming the standard one', () => {
      const expected: Record<string, string> = {
        TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
        TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
        TEMPORAL_TLS_CA_PATH: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
        TEMPORAL_TLS_CERT_DATA: 'TEMPORAL_TLS_CLIENT_CERT_DATA',
        TEMPORAL_TLS_KEY_DATA: 'TEMPORAL_TLS_CLIENT_KEY_DATA',
        TEMPORAL_TLS_CA_DATA: 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
      };
      assert.deepEqual(RENAMED_TEMPORAL_VARIABLES, expected);
      for (const [old, standard] of Object.entries(expected)) {
        assert.deepEqual(problemsOf({ [old]: 'sentinel-value' }), [
          `${old} is no longer read: use ${standard} (Temporal's standard name)`,
        ]);
      }
    });

    it('refuses them even alongside the standard names, so a half-migrated setup is caught', () => {
      const problems = problemsOf({
        TEMPORAL_TLS_CERT_PATH: pki.client.certPath,
        TEMPORAL_TLS_KEY_PATH: pki.client.keyPath,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.certPath,
      });
      assert.deepEqual(problems, [
        "TEMPORAL_TLS_CERT_PATH is no longer read: use TEMPORAL_TLS_CLIENT_CERT_PATH (Temporal's standard name)",
        "TEMPORAL_TLS_KEY_PATH is no longer read: use TEMPORAL_TLS_CLIENT_KEY_PATH (Temporal's standard name)",
      ]);
    });
  });

  describe('certificate and key problems, found before any connection', () => {
    it('names the variable and the path of a missing certificate, key or CA file', () => {
      const gone = (name: string) => join(dir, `missing-${name}.pem`);
      assert.deepEqual(
        problemsOf({
          TEMPORAL_TLS_CLIENT_CERT_PATH: gone('cert'),
          TEMPORAL_TLS_CLIENT_KEY_PATH: gone('key'),
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: gone('ca'),
        }),
        [
          `TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read ${gone('cert')} (no such file)`,
          `TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read ${gone('key')} (no such file)`,
          `TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read ${gone('ca')} (no such file)`,
        ],
      );
    });

    it('names the variable of a path it cannot read as a file', () => {
      assert.deepEqual(problemsOf({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: dir }), [
        `TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read ${dir} (a directory)`,
      ]);
    });

    it('refuses a client certificate without its key, and a key without its certificate', () => {
      const [certOnly] = problemsOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath });
      assert.match(
        certOnly!,
        /^TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate but no client key is set: set TEMPORAL_TLS_CLIENT_KEY_PATH/,
      );
      const [keyOnly] = problemsOf({ TEMPORAL_TLS_CLIENT_KEY_DATA: pki.client.key });
      assert.match(
        keyOnly!,
        /^TEMPORAL_TLS_CLIENT_KEY_DATA gives a client key but no client certificate is set: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
      );
    });

    it('refuses files that hold no PEM certificate or key, and a key that does not match the certificate, echoing no content', async () => {
      const sentinel = 'SENTINEL-CONTENT-7f3a';
      const notCert = await scratch(
        'not-a-cert.pem',
        `-----BEGIN CERTIFICATE-----\n${sentinel}\n-----END CERTIFICATE-----\n`,
      );
      const notKey = `-----BEGIN PRIVATE KEY-----\n${sentinel}\n-----END PRIVATE KEY-----\n`;
      const problems = problemsOf({
        TEMPORAL_TLS_CLIENT_CERT_PATH: notCert,
        TEMPORAL_TLS_CLIENT_KEY_DATA: notKey,
        TEMPORAL_TLS_SERVER_CA_CERT_DATA: sentinel,
      });
      assert.deepEqual(problems, [
        `TEMPORAL_TLS_CLIENT_CERT_PATH: the file ${notCert} is not a PEM certificate`,
        'TEMPORAL_TLS_CLIENT_KEY_DATA: the value is not an unencrypted PEM private key',
        'TEMPORAL_TLS_SERVER_CA_CERT_DATA: the value is not a PEM certificate',
      ]);
      assert.deepEqual(
        problemsOf({
          TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.certPath,
          TEMPORAL_TLS_CLIENT_KEY_PATH: pki.server.keyPath,
        }),
        ['the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH) and key (TEMPORAL_TLS_CLIENT_KEY_PATH) do not match'],
      );
      for (const message of [...problems, new ConfigError(problems).message]) {
        assert.doesNotMatch(message, new RegExp(sentinel));
        assert.doesNotMatch(message, /MII|BEGIN/);
      }
    });

    it('reports every problem at once, HERO_TASK_QUEUE’s too', () => {
      const missing = join(dir, 'nope.crt');
      assert.deepEqual(
        problemsOf({
          TEMPORAL_TLS_CA_PATH: '/old',
          TEMPORAL_TLS: 'maybe',
          TEMPORAL_TLS_CLIENT_CERT_PATH: missing,
          TEMPORAL_GRPC_META_X_BAD: 'a\u0007b',
          HERO_TASK_QUEUE: ' ',
        }),
        [
          "TEMPORAL_TLS_CA_PATH is no longer read: use TEMPORAL_TLS_SERVER_CA_CERT_PATH (Temporal's standard name)",
          'TEMPORAL_TLS must be true, false, 1 or 0',
          'HERO_TASK_QUEUE must not be empty',
          'TEMPORAL_GRPC_META_X_BAD: the header value must be printable ASCII on one line',
          `TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read ${missing} (no such file)`,
          'TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate but no client key is set: set ' +
            "TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA (or the profile's tls.client_key_path / client_key_data)",
        ],
      );
    });
  });
});
