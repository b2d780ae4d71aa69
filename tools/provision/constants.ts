/** Pinned Temporal CLI release built by `go install` when nothing else provides one. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** Pinned `io.temporal:temporal-test-server` release fetched from Maven Central when nothing else provides one. */
export const TEST_SERVER_VERSION = '1.38.0';

export const CLI_GO_PACKAGE = 'github.com/temporalio/cli/cmd/temporal';
/** Release builds stamp the version with this ldflag; without it `temporal --version` says 0.0.0-DEV. */
export const CLI_VERSION_LDFLAG = 'github.com/temporalio/cli/temporalcli.Version';
export const TEST_SERVER_MAIN_CLASS = 'io.temporal.testserver.TestServer';
export const MAVEN_DEPENDENCY_PLUGIN_VERSION = '3.8.1';

/**
 * `--sqlite-pragma` values for dev servers with a database file. SQLite's default rollback journal
 * syncs a journal file on every commit; WAL with synchronous=NORMAL keeps commits across process
 * crashes (not power loss) and doubled a dev server's throughput on 2 cores (BENCHMARKS.md).
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'] as const;

/**
 * `--dynamic-config-value` settings for dev servers: one partition per task queue. The server
 * splits `maxTaskQueueActivitiesPerSecond` evenly across a queue's read partitions (4 by default),
 * so a backlog left in one partition drains at R/4; one partition serves the whole limit, and a
 * queue at Hero's 20 calls/s is far below what one partition can carry.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
] as const;

/**
 * Task-queue Priority and Fairness, which server 1.29.1 has but leaves off (docs/priority.md): the
 * priority-aware matcher, and fairness between fairness keys (which implies it). Turning fairness on
 * strands a task backlog queued before it in 1.29.1, so a server keeps the setting it was first run with.
 */
export const PRIORITY_FAIRNESS_DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
] as const;

/**
 * The `temporal server start-dev` flags above; `wal: false` leaves SQLite's default journal,
 * `priorityFairness: false` leaves dispatch first in, first out.
 */
export function devServerTuningArgs(
  opts: { wal?: boolean; onePartition?: boolean; priorityFairness?: boolean } = {},
): string[] {
  const { wal = true, onePartition = true, priorityFairness = true } = opts;
  return [
    ...(wal ? DEV_SERVER_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]) : []),
    ...(onePartition ? DEV_SERVER_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]) : []),
    ...(priorityFairness ? PRIORITY_FAIRNESS_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]) : []),
  ];
}

/**
 * Pinned Temporal server for the production-shaped suite (`npm run test:production`): the server
 * version the pinned CLI embeds (`temporal --version` says "Server 1.29.1"), built with `go install`.
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const SERVER_GO_PACKAGE = 'go.temporal.io/server/cmd/server';
/** The server's SQL schema tool (`temporal-sql-tool`): creates the databases and applies the schema. */
export const SQL_TOOL_GO_PACKAGE = 'go.temporal.io/server/cmd/tools/sql';
/** The schema folder for PostgreSQL 12+ inside the server's Go module. */
export const POSTGRES_SCHEMA_PATH = 'schema/postgresql/v12';
/** Oldest PostgreSQL the server's `postgres12` plugin supports. */
export const MIN_POSTGRES_MAJOR = 12;
