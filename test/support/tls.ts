/**
 * Test-time PKI and a TLS-terminating proxy, for testing hero-flow over a real mTLS connection.
 *
 * Certificates are made with the `openssl` CLI in a fresh temporary directory on every run (nothing is
 * checked in, nothing outlives the run). The proxy stands in for an mTLS-only Temporal frontend: it
 * demands a client certificate signed by the test CA, then pipes the decrypted bytes to a plaintext
 * Temporal server (gRPC is HTTP/2 either way, so the server never knows TLS was there).
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const OPENSSL = process.env.OPENSSL_PATH ?? '/usr/bin/openssl';
const run = promisify(execFile);

export interface CertFiles {
  certPath: string;
  keyPath: string;
  /** PEM text of the certificate and key, for the _DATA forms. */
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA the proxy trusts for client certificates, and which signed the proxy's server certificate. */
  ca: CertFiles;
  /** The proxy's certificate: CN=localhost, SAN DNS:localhost and IP:127.0.0.1. */
  server: CertFiles;
  /** A client certificate (extendedKeyUsage clientAuth) signed by `ca`. */
  client: CertFiles;
  /** A client certificate signed by another CA, which the proxy must refuse. */
  strangerClient: CertFiles;
  remove(): Promise<void>;
}

// Extensions as strict verifiers (rustls/webpki in the SDK's native connection) require them: a CA
// marked as one, leaves that are not CAs, names in subjectAltName, and the right extendedKeyUsage.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** Makes a CA, a server certificate and client certificates with openssl (P-256 keys: fast to make). */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'hero-flow-mtls-'));
  const config = join(dir, 'openssl.cnf');
  await writeFile(config, OPENSSL_CONFIG);
  const openssl = (...args: string[]) => run(OPENSSL, args, { cwd: dir });
  const files = async (name: string): Promise<CertFiles> => {
    const certPath = join(dir, `${name}.crt`);
    const keyPath = join(dir, `${name}.key`);
    return { certPath, keyPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  };
  const newKey = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const makeCa = async (name: string, cn: string) => {
    await newKey(name);
    await openssl(
      ...['req', '-new', '-x509', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '2'],
      ...['-config', config, '-extensions', 'ca_ext', '-out', `${name}.crt`],
    );
  };
  const makeLeaf = async (name: string, cn: string, ca: string, extensions: string) => {
    await newKey(name);
    await openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-config', config, '-out', `${name}.csr`);
    await openssl(
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial'],
      ...['-days', '2', '-extfile', config, '-extensions', extensions, '-out', `${name}.crt`],
    );
  };
  try {
    await Promise.all([makeCa('ca', 'hero-flow test CA'), makeCa('stranger-ca', 'some other CA')]);
    await makeLeaf('server', 'localhost', 'ca', 'server_ext');
    await makeLeaf('client', 'hero-flow test client', 'ca', 'client_ext');
    await makeLeaf('stranger-client', 'hero-flow test client', 'stranger-ca', 'client_ext');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    ca: await files('ca'),
    server: await files('server'),
    client: await files('client'),
    strangerClient: await files('stranger-client'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface MtlsProxy {
  /** `localhost:PORT`, for TEMPORAL_ADDRESS (a name, not an IP: Node warns when TLS's server name is an IP). */
  address: string;
  /** Connections that presented a certificate signed by the CA and were piped to the server. */
  readonly accepted: number;
  /** The error code of every handshake the proxy refused, in order (e.g. ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE). */
  readonly refusals: readonly string[];
  /** Resolves with the code of the next refusal after the `seen`-th (default: the count so far). */
  refusal(seen?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * A TLS server on 127.0.0.1 that demands a client certificate signed by `pki.ca` and pipes each
 * accepted connection to `target` (`host:port`, plaintext).
 */
export async function startMtlsProxy(opts: { target: string; pki: TestPki }): Promise<MtlsProxy> {
  const { hostname, port } = new URL(`tcp://${opts.target}`);
  const sockets = new Set<Socket>();
  const refusals: string[] = [];
  const events = new EventEmitter();
  let accepted = 0;

  const server = createTlsServer(
    {
      cert: opts.pki.server.cert,
      key: opts.pki.server.key,
      ca: opts.pki.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client: TLSSocket) => {
      accepted++;
      const upstream = netConnect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
      sockets.add(upstream);
      upstream.once('close', () => sockets.delete(upstream));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.once('error', end).once('close', end);
      upstream.once('error', end).once('close', end);
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    refusals.push(err.code ?? err.message);
    events.emit('refusal');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port: proxyPort } = server.address() as { port: number };

  return {
    address: `localhost:${proxyPort}`,
    get accepted() {
      return accepted;
    },
    refusals,
    refusal(seen = refusals.length) {
      if (refusals.length > seen) return Promise.resolve(refusals[seen]!);
      return new Promise((resolve) => {
        const check = () => {
          if (refusals.length <= seen) return;
          events.off('refusal', check);
          resolve(refusals[seen]!);
        };
        events.on('refusal', check);
      });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
