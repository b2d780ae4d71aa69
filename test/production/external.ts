/**
 * Points a suite (the reliability suite, the bench) at a Temporal server it did not start: the one
 * `npm run test:production` runs (test/production/run.ts). Set by that runner:
 *
 *   HERO_TEST_TEMPORAL_ADDRESS   the server's frontend (host:port). TLS comes from Temporal's standard
 *                                variables (TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH,
 *                                TEMPORAL_TLS_CLIENT_KEY_PATH), which the suites' workers and CLI calls
 *                                inherit as well.
 *   HERO_TEST_TEMPORAL_CONTROL   the runner's control endpoint (http://127.0.0.1:PORT/TOKEN): POST
 *                                `/stop` and `/start` stop and start that server (the reliability suite's
 *                                server restart); GET `/cpu` gives its CPU seconds so far.
 *   HERO_TEST_TEMPORAL_TOPOLOGY  what it is, for reports (e.g. "Temporal 1.29.1 on PostgreSQL 15, mTLS").
 */
import { loadTemporalSettings } from '../../src/config/temporal';

export interface ServerCpu {
  /** CPU seconds of the Temporal server process(es) so far, across restarts. */
  server: number;
  /** CPU seconds of its database (PostgreSQL: postmaster and backends) so far. */
  database: number;
}

export interface ExternalTemporalServer {
  readonly address: string;
  readonly topology: string;
  /** For Connection.connect / NativeConnection.connect: address, TLS, API key, gRPC headers. */
  readonly connectOptions: {
    address: string;
    tls?: ReturnType<typeof loadTemporalSettings>['tls'];
    apiKey?: string;
    metadata?: Record<string, string>;
  };
  /** Starts the server again after stop(); resolves once it serves. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, as a deploy or a crash-free restart does). */
  stop(): Promise<void>;
  cpu(): Promise<ServerCpu>;
}

/** The external server the environment names, or undefined (the suite then starts its own dev server). */
export function externalTemporalServer(env: NodeJS.ProcessEnv = process.env): ExternalTemporalServer | undefined {
  const address = env.HERO_TEST_TEMPORAL_ADDRESS;
  if (!address) return undefined;
  const control = env.HERO_TEST_TEMPORAL_CONTROL;
  const settings = loadTemporalSettings({ ...env, TEMPORAL_ADDRESS: address });
  const call = async (method: 'GET' | 'POST', action: string): Promise<unknown> => {
    if (!control)
      throw new Error(`HERO_TEST_TEMPORAL_CONTROL is not set: the server at ${address} cannot be ${action}ed`);
    const res = await fetch(`${control}/${action}`, { method, signal: AbortSignal.timeout(120_000) });
    if (!res.ok)
      throw new Error(
        `the Temporal server's control endpoint answered ${res.status} to ${action}: ${await res.text()}`,
      );
    return res.json();
  };
  return {
    address,
    topology: env.HERO_TEST_TEMPORAL_TOPOLOGY || `external Temporal server at ${address}`,
    connectOptions: { address, tls: settings.tls, apiKey: settings.apiKey, metadata: settings.metadata },
    start: async () => void (await call('POST', 'start')),
    stop: async () => void (await call('POST', 'stop')),
    cpu: async () => (await call('GET', 'cpu')) as ServerCpu,
  };
}
