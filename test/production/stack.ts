/**
 * The production-shaped Temporal of `npm run test:production`: Temporal server 1.29.1 on a PostgreSQL
 * cluster made for the run (persistence and SQL advanced visibility), its frontend behind mTLS with
 * certificates made for the run, one task-queue partition from a dynamic config file, and the
 * namespace and search attributes created with the `temporal operator` commands docs/deploy.md documents.
 * Everything lives in one temporary folder, removed by teardown() (or killNow() on a hard exit).
 */
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, KEEP_TAIL, Proc } from '../../tools/processes';
import {
  resolvePostgres,
  resolveTemporalCli,
  resolveTemporalServer,
  type TemporalServerInstall,
} from '../../tools/provision';
import { run, tail } from '../../tools/provision/util';
import { REQUIRED_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { makeTestPki, type TestPki } from '../support/tls';
import { treeCpuSeconds } from '../../bench/cpu';
import { PostgresCluster } from './postgres';
import { dynamicConfig, serverConfig, type ServerPorts } from './server-config';

export const NAMESPACE = 'default';
/** Namespace retention: closed runs stay readable (and reviewable) for a month. */
export const RETENTION = '30d';

export type Say = (line: string) => void;

/** docs/deploy.md's `temporal operator` commands (ProductionStack.temporal() adds the address and TLS flags). */
export function operatorCommands(namespace = NAMESPACE): string[][] {
  return [
    ['operator', 'namespace', 'create', '--namespace', namespace, '--retention', RETENTION],
    ...REQUIRED_SEARCH_ATTRIBUTES.map((k) => [
      'operator',
      'search-attribute',
      'create',
      '--namespace',
      namespace,
      '--name',
      k.name,
      '--type',
      k.type[0] + k.type.slice(1).toLowerCase(), // Keyword, as docs/deploy.md spells it
    ]),
  ];
}

export interface StackOptions {
  say: Say;
  /** Where the server's and PostgreSQL's logs are copied (test-artifacts/). */
  artifacts: string;
  /** persistence.numHistoryShards: fixed for the cluster's life. */
  historyShards: number;
  /** Task-queue Priority and Fairness in the dynamic config (bench/load.ts turns them off to compare). @default true */
  priorityFairness?: boolean;
}

export class ProductionStack {
  readonly dir: string;
  readonly address: string;
  /** For the suites' own temporary files: removed with everything else by teardown(). */
  readonly suitesDir: string;
  #serverProc: Proc | undefined;
  #serverLog: WriteStream;
  /** CPU seconds of server processes that have exited (sampled as each was asked to stop). */
  #exitedServerCpu = 0;
  /** How many times the server was (re)started, and how long each start took. */
  readonly serverStarts: number[] = [];
  #tornDown = false;
  /** databaseBytes() with the schema in place and nothing else: what the runs added is the rest. */
  emptyDatabaseBytes = { temporal: 0, visibility: 0 };

  private constructor(
    private readonly opts: StackOptions,
    dir: string,
    readonly install: TemporalServerInstall,
    readonly cli: string,
    readonly pki: TestPki,
    readonly postgres: PostgresCluster,
    readonly ports: ServerPorts,
  ) {
    this.dir = dir;
    this.address = `localhost:${ports.frontend}`;
    this.suitesDir = join(dir, 'suites');
    mkdirSync(this.suitesDir, { mode: 0o700 });
    this.#serverLog = createWriteStream(join(opts.artifacts, 'production-temporal.log'));
  }

  /** Provisions (cached in .temporal/), then creates and starts everything; tears down what it made on failure. */
  static async start(opts: StackOptions): Promise<ProductionStack> {
    const { say } = opts;
    const provisionLog = (line: string) => say(`provision: ${line}`);
    const [install, cli, pg] = await Promise.all([
      resolveTemporalServer(provisionLog),
      resolveTemporalCli(provisionLog),
      resolvePostgres(provisionLog),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'hero-flow-production-'));
    // The cluster's owner (`postgres`) must reach its folders inside; nothing else here is readable.
    chmodSync(dir, 0o711);
    let stack: ProductionStack | undefined;
    let pki: TestPki | undefined;
    let postgres: PostgresCluster | undefined;
    try {
      // The membership ports go in a smallint column: freePort() stays below 32768.
      const port = async () => freePort();
      const ports: ServerPorts = {
        frontend: await port(),
        frontendMembership: await port(),
        history: await port(),
        historyMembership: await port(),
        matching: await port(),
        matchingMembership: await port(),
        worker: await port(),
        workerMembership: await port(),
        metrics: await port(),
      };
      postgres = new PostgresCluster(pg, dir, await port());
      const [madePki] = await Promise.all([makeTestPki(), postgres.create()]);
      pki = madePki;
      say(`PostgreSQL ${pg.major}: cluster created in ${postgres.dataDir} (port ${postgres.port}); certificates made`);
      await postgres.start();
      const db = await postgres.createRole('temporal', randomBytes(18).toString('base64url'));
      say('PostgreSQL started; role temporal created');
      stack = new ProductionStack(opts, dir, install, cli, pki, postgres, ports);
      await stack.#setupSchema(db);
      stack.emptyDatabaseBytes = await stack.databaseBytes();
      await stack.#writeConfig(db, opts.historyShards);
      await stack.startServer();
      await stack.#createNamespace();
      return stack;
    } catch (err) {
      if (stack) await stack.teardown();
      else {
        await postgres?.stop().catch(() => postgres?.killNow());
        await pki?.remove();
        rmSync(dir, { recursive: true, force: true });
      }
      throw err;
    }
  }

  /** `temporal-sql-tool`: create both databases, set up the schema at 0.0, update to the newest version. */
  async #setupSchema(db: { host: string; port: number; user: string; password: string }): Promise<void> {
    const started = Date.now();
    // The tool's own variables (SQL_*): the password never appears on a command line.
    const env = {
      ...process.env,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: db.host,
      SQL_PORT: String(db.port),
      SQL_USER: db.user,
      SQL_PASSWORD: db.password,
    };
    const tool = async (database: string, args: string[]) => {
      const r = await run(this.install.sqlTool, ['--db', database, ...args], { env, timeoutMs: 120_000 });
      if (r.code !== 0) {
        throw new Error(
          `temporal-sql-tool --db ${database} ${args[0]} failed (exit ${r.code}):\n${tail(r.stderr + r.stdout)}`,
        );
      }
    };
    await Promise.all(
      [
        ['temporal', 'temporal'],
        ['temporal_visibility', 'visibility'],
      ].map(async ([database, schema]) => {
        await tool(database!, ['create-database']);
        await tool(database!, ['setup-schema', '-v', '0.0']);
        await tool(database!, ['update-schema', '-d', join(this.install.postgresSchema, schema!, 'versioned')]);
      }),
    );
    this.opts.say(`schema: temporal and temporal_visibility created and updated (${secondsSince(started)})`);
  }

  async #writeConfig(db: { host: string; port: number; user: string; password: string }, historyShards: number) {
    const configDir = join(this.dir, 'config');
    mkdirSync(join(configDir, 'dynamicconfig'), { recursive: true, mode: 0o700 });
    const dynamicConfigFile = join(configDir, 'dynamicconfig', 'production.yaml');
    writeFileSync(
      dynamicConfigFile,
      dynamicConfig({ namespace: NAMESPACE, namespaceWide: true, priorityFairness: this.opts.priorityFairness }),
    );
    const check = await run(this.install.server, ['validate-dynamic-config', dynamicConfigFile], { timeoutMs: 30_000 });
    if (check.code !== 0 || /warning|error/i.test(check.stdout + check.stderr)) {
      throw new Error(`the dynamic config file does not validate:\n${tail(check.stdout + check.stderr)}`);
    }
    writeFileSync(
      join(configDir, 'production.yaml'),
      serverConfig({
        ports: this.ports,
        db,
        tls: {
          serverCert: this.pki.server.certPath,
          serverKey: this.pki.server.keyPath,
          ca: this.pki.ca.certPath,
          workerCert: this.pki.client.certPath,
          workerKey: this.pki.client.keyPath,
        },
        dynamicConfigFile,
        historyShards,
      }),
      { mode: 0o600 },
    );
  }

  /** The TLS flags every `temporal` command here takes. */
  tlsFlags(): string[] {
    return [
      '--address',
      this.address,
      '--tls-ca-path',
      this.pki.ca.certPath,
      '--tls-cert-path',
      this.pki.client.certPath,
      '--tls-key-path',
      this.pki.client.keyPath,
    ];
  }

  /** `temporal <args> <TLS flags>`; throws with its output on a non-zero exit. */
  async temporal(args: string[], timeoutMs = 60_000): Promise<string> {
    // Only the flags choose the server: no inherited TEMPORAL_* variable or temporal.toml.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
    const r = await run(this.cli, [...args, ...this.tlsFlags(), '--disable-config-file', '--color', 'never'], {
      env,
      timeoutMs,
    });
    if (r.code !== 0)
      throw new Error(`temporal ${args.slice(0, 3).join(' ')} failed (exit ${r.code}):\n${tail(r.stderr + r.stdout)}`);
    return r.stdout;
  }

  /** The namespace and the search attributes, with docs/deploy.md's operator commands, checked before any worker runs. */
  async #createNamespace(): Promise<void> {
    const started = Date.now();
    for (const args of operatorCommands()) await this.temporal(args);
    const listed = await this.temporal([
      'operator',
      'search-attribute',
      'list',
      '--namespace',
      NAMESPACE,
      '--output',
      'json',
    ]);
    const custom = (JSON.parse(listed) as { customAttributes?: Record<string, string> }).customAttributes ?? {};
    for (const k of REQUIRED_SEARCH_ATTRIBUTES) {
      if (custom[k.name] !== `INDEXED_VALUE_TYPE_${k.type}`) {
        throw new Error(
          `search attribute ${k.name} is not a ${k.type} after \`temporal operator search-attribute create\`: ${JSON.stringify(custom)}`,
        );
      }
    }
    this.opts.say(
      `namespace ${NAMESPACE} (retention ${RETENTION}) and search attributes ${REQUIRED_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')} created (${secondsSince(started)})`,
    );
  }

  get serverRunning(): boolean {
    return this.#serverProc?.running ?? false;
  }

  get serverPid(): number | undefined {
    return this.#serverProc?.pid;
  }

  /** Starts the server and resolves once its frontend answers `temporal operator cluster health` over mTLS. */
  async startServer(): Promise<void> {
    if (this.serverRunning) return;
    const started = Date.now();
    this.#serverLog.write(`\n[test:production] starting the Temporal server ${new Date().toISOString()}\n`);
    const proc = Proc.start(
      this.install.server,
      ['--root', this.dir, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
      process.env,
      { name: `temporal-server (${this.address})`, echo: this.#serverLog, keep: KEEP_TAIL },
    );
    this.#serverProc = proc;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (!proc.running) {
        throw new Error(`the Temporal server exited while starting; its output ends:\n${proc.tail()}`);
      }
      const health = await run(
        this.cli,
        ['operator', 'cluster', 'health', ...this.tlsFlags(), '--disable-config-file'],
        {
          timeoutMs: 10_000,
        },
      ).catch(() => undefined);
      if (health?.code === 0 && health.stdout.includes('SERVING')) break;
      if (Date.now() > deadline) {
        throw new Error(`the Temporal server did not serve within 90 s; its output ends:\n${proc.tail()}`);
      }
      // Health is polled: the server prints no single line that says every service is up.
      await new Promise((r) => setTimeout(r, 250));
    }
    this.serverStarts.push((Date.now() - started) / 1000);
    this.opts.say(
      `Temporal server ${this.install.version} serving on ${this.address} (mTLS) in ${secondsSince(started)}`,
    );
  }

  /** SIGTERM (a clean stop), SIGKILL after 30 s. */
  async stopServer(): Promise<void> {
    const proc = this.#serverProc;
    if (!proc?.running) return;
    const started = Date.now();
    this.#exitedServerCpu += treeCpuSeconds(proc.pid) ?? 0;
    await proc.stop('SIGTERM', 30_000);
    this.opts.say(`Temporal server stopped in ${secondsSince(started)}`);
  }

  /** CPU seconds so far: the server (every process it ran as) and PostgreSQL (postmaster, backends, reaped ones). */
  cpuSeconds(): { server: number; postgres: number } {
    return {
      server: this.#exitedServerCpu + (this.serverRunning ? (treeCpuSeconds(this.serverPid) ?? 0) : 0),
      postgres: treeCpuSeconds(this.postgres.pid) ?? 0,
    };
  }

  /** PostgreSQL's memory now: the proportional set size (shared buffers counted once) of every process. */
  postgresPssMiB(): number | undefined {
    const pss = (pid: number): number => {
      try {
        const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
        const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        return Number(kb ?? 0) + children.reduce((sum, c) => sum + pss(Number(c)), 0);
      } catch {
        return 0;
      }
    };
    const pid = this.postgres.pid;
    return pid ? Math.round(pss(pid) / 1024) : undefined;
  }

  /** Bytes on disk of Temporal's two databases (tables, indexes, TOAST), for the sizing figures. */
  async databaseBytes(): Promise<{ temporal: number; visibility: number }> {
    const out = await this.postgres.sql(
      "SELECT pg_database_size('temporal') || ' ' || pg_database_size('temporal_visibility')",
    );
    const [temporal, visibility] = out.trim().split(' ').map(Number);
    return { temporal: temporal!, visibility: visibility! };
  }

  /** Temporal's standard client variables for this stack (workers, hero-flow's CLI, HeroFlowClient). */
  clientEnv(): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: this.pki.ca.certPath,
      TEMPORAL_TLS_CLIENT_CERT_PATH: this.pki.client.certPath,
      TEMPORAL_TLS_CLIENT_KEY_PATH: this.pki.client.keyPath,
    };
  }

  /** Stops the server and the cluster, copies their logs to the artifacts, removes every file made. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    this.#tornDown = true;
    await this.stopServer().catch(() => this.#serverProc?.child.kill('SIGKILL'));
    await this.postgres.stop().catch(() => this.postgres.killNow());
    try {
      writeFileSync(join(this.opts.artifacts, 'production-postgres.log'), readFileSync(this.postgres.logFile));
    } catch {
      // no log to keep
    }
    await new Promise<void>((resolve) => this.#serverLog.end(resolve));
    await this.pki.remove();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }

  /** For an exit that cannot wait (the process 'exit' event): kill everything, remove the folders. */
  killNow(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    this.#serverProc?.child.kill('SIGKILL');
    this.postgres.killNow();
    rmSync(this.pki.dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

export function secondsSince(ms: number): string {
  return `${((Date.now() - ms) / 1000).toFixed(1)} s`;
}
