/**
 * The Temporal server's configuration for the production-shaped suite, as text: the static config
 * (PostgreSQL persistence and SQL visibility, frontend mTLS) and the dynamic config file (one
 * task-queue partition). docs/deploy.md is written from these.
 */
import { DEFAULT_TASK_QUEUE } from '../../src/shared/task-queue';

export interface ServerPorts {
  frontend: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

export interface ServerConfigOptions {
  ports: ServerPorts;
  db: { host: string; port: number; user: string; password: string };
  tls: { serverCert: string; serverKey: string; ca: string; workerCert: string; workerKey: string };
  dynamicConfigFile: string;
  /** Fixed for the cluster's life (the shard of a workflow is hash(id) mod this). */
  historyShards: number;
}

const q = (s: string) => JSON.stringify(s); // a YAML double-quoted scalar

function service(grpc: number, membership: number): string {
  return [
    `    rpc:`,
    `      grpcPort: ${grpc}`,
    `      membershipPort: ${membership}`,
    `      bindOnLocalHost: true`,
  ].join('\n');
}

function sqlStore(db: ServerConfigOptions['db'], database: string, maxConns: number): string {
  return [
    `      sql:`,
    `        pluginName: "postgres12"`,
    `        databaseName: ${q(database)}`,
    `        connectAddr: ${q(`${db.host}:${db.port}`)}`,
    `        connectProtocol: "tcp"`,
    `        user: ${q(db.user)}`,
    `        password: ${q(db.password)}`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    `        maxConnLifetime: "1h"`,
  ].join('\n');
}

/**
 * Temporal server 1.29 static config (`--env production` reads `production.yaml`). Internode traffic
 * stays on loopback in plaintext; the frontend, which every worker and client reaches, demands a client
 * certificate signed by the CA, and the server's own system worker presents one too.
 */
export function serverConfig(o: ServerConfigOptions): string {
  const { ports: p, tls } = o;
  return `# Temporal server 1.29.1, written by hero-flow test/production/server-config.ts
log:
  stdout: true
  level: info

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${o.historyShards}
  datastores:
    postgres-default:
${sqlStore(o.db, 'temporal', 20)}
    postgres-visibility:
${sqlStore(o.db, 'temporal_visibility', 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:${p.metrics}"
  tls:
    frontend:
      server:
        certFile: ${q(tls.serverCert)}
        keyFile: ${q(tls.serverKey)}
        clientCaFiles: [${q(tls.ca)}]
        requireClientAuth: true
      client:
        serverName: "localhost"
        rootCaFiles: [${q(tls.ca)}]
    systemWorker:
      certFile: ${q(tls.workerCert)}
      keyFile: ${q(tls.workerKey)}
      client:
        serverName: "localhost"
        rootCaFiles: [${q(tls.ca)}]

services:
  frontend:
${service(p.frontend, p.frontendMembership)}
  history:
${service(p.history, p.historyMembership)}
  matching:
${service(p.matching, p.matchingMembership)}
  worker:
${service(p.worker, p.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${p.frontend}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${q(o.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

/**
 * The dynamic config file. The server splits `maxTaskQueueActivitiesPerSecond` (the worker's
 * HERO_RATE_LIMIT_PER_SECOND) evenly across a queue's partitions, 4 by default, so a backlog left in
 * one partition drains at a quarter of Hero's limit (docs/deploy.md, rate limit and throughput): hero-flow's task queue gets
 * one. The suites also run workers on task queues named per run (the reliability suite's, the
 * bench's), which no entry can name in advance: `namespaceWide: true` adds an entry giving every queue of
 * the namespace one partition too.
 */
export function dynamicConfig(opts: {
  namespace: string;
  taskQueue?: string;
  namespaceWide: boolean;
  /** Task-queue Priority and Fairness for the namespace (off by default in 1.29.1). @default true */
  priorityFairness?: boolean;
}): string {
  const taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const entries = (key: string) =>
    [
      `${key}:`,
      `  - value: 1`,
      `    constraints:`,
      `      namespace: ${q(opts.namespace)}`,
      `      taskQueueName: ${q(taskQueue)}`,
      ...(opts.namespaceWide ? [`  - value: 1`, `    constraints:`, `      namespace: ${q(opts.namespace)}`] : []),
    ].join('\n');
  return [
    '# hero-flow: one partition for the task queue (test/production/server-config.ts)',
    entries('matching.numTaskqueueReadPartitions'),
    entries('matching.numTaskqueueWritePartitions'),
    ...(opts.priorityFairness === false
      ? []
      : [
          '# Task-queue Priority and Fairness for the whole namespace (docs/priority.md)',
          ...['matching.useNewMatcher', 'matching.enableFairness'].map((key) =>
            [`${key}:`, `  - value: true`, `    constraints:`, `      namespace: ${q(opts.namespace)}`].join('\n'),
          ),
        ]),
    '',
  ].join('\n');
}
