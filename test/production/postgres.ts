/**
 * A PostgreSQL cluster of the production-shaped suite's own: made with initdb in a folder the suite
 * creates, run as the `postgres` user when the suite runs as root (PostgreSQL refuses root), listening
 * on 127.0.0.1 at a free port with its unix socket in that folder, so it never meets a system cluster.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresInstall } from '../../tools/provision';
import { run, tail } from '../../tools/provision/util';

/** Runs `file args` as the cluster's owner: `runuser -u postgres --` when this process is root. */
function asOwner(file: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
}

function ownerIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error(
      "running as root, but there is no `postgres` user to own the cluster (Debian's postgresql package creates it)",
    );
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface Database {
  host: string;
  port: number;
  user: string;
  password: string;
}

export class PostgresCluster {
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  #running = false;
  /** The major version of the binaries in use. */
  readonly major: number;

  constructor(
    private readonly pg: PostgresInstall,
    /** A folder this suite owns; the cluster lives in `<dir>/pgdata`. */
    dir: string,
    readonly port: number,
  ) {
    this.dataDir = join(dir, 'pgdata');
    this.socketDir = join(dir, 'pgsocket');
    this.logFile = join(dir, 'postgres.log');
    this.major = pg.major;
  }

  async #run(file: string, args: string[], what: string, timeoutMs = 120_000): Promise<string> {
    const [cmd, argv] = asOwner(file, args);
    const r = await run(cmd, argv, { timeoutMs });
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${tail(r.stderr + r.stdout)}`);
    return r.stdout;
  }

  /** initdb, then the settings this cluster runs with (appended to its postgresql.conf). */
  async create(): Promise<void> {
    const ids = ownerIds();
    for (const d of [this.dataDir, this.socketDir]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      if (ids) chownSync(d, ids.uid, ids.gid);
    }
    writeFileSync(this.logFile, '');
    if (ids) chownSync(this.logFile, ids.uid, ids.gid);
    // Local (socket) connections trust the OS user, TCP ones need a password, as on a server.
    await this.#run(
      this.pg.initdb,
      [
        '-D',
        this.dataDir,
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--no-locale',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--no-sync',
      ],
      'initdb',
    );
    appendFileSync(
      join(this.dataDir, 'postgresql.conf'),
      [
        '',
        '# hero-flow test:production (test/production/postgres.ts)',
        `port = ${this.port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${this.socketDir}'`,
        // Each Temporal service keeps its own pool per store (maxConns in the server config): 4 services.
        'max_connections = 200',
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    await this.#run(this.pg.pgCtl, ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', 'start'], 'pg_ctl start');
    this.#running = true;
  }

  /** A clean, fast stop (`pg_ctl stop -m fast`): sessions are ended, the cluster checkpoints. */
  async stop(): Promise<void> {
    if (!this.#running || !existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    await this.#run(this.pg.pgCtl, ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], 'pg_ctl stop');
    this.#running = false;
  }

  /** The postmaster's pid (every backend is its child), or undefined when it is not running. */
  get pid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * For exit paths that cannot wait: SIGQUIT is PostgreSQL's immediate shutdown (no checkpoint, which
   * a cluster about to be deleted does not need). Synchronous, so it also runs from an 'exit' handler.
   */
  killNow(): void {
    const pid = this.pid;
    if (!pid) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }

  /** Runs SQL as the superuser over the unix socket. */
  async sql(statement: string): Promise<string> {
    const psql = existsSync(join(this.pg.binDir, 'psql')) ? join(this.pg.binDir, 'psql') : 'psql';
    return this.#run(
      psql,
      [
        '-h',
        this.socketDir,
        '-p',
        String(this.port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-qAt',
        '-c',
        statement,
      ],
      'psql',
    );
  }

  /** A login role that may create databases (the SQL tool creates Temporal's two), with a password. */
  async createRole(user: string, password: string): Promise<Database> {
    await this.sql(`CREATE ROLE ${user} LOGIN CREATEDB PASSWORD '${password}'`);
    return { host: '127.0.0.1', port: this.port, user, password };
  }

  /** `postgres --version` of the binaries in use, for the report. */
  version(): string {
    return execFileSync(this.pg.postgres, ['--version'], { encoding: 'utf8' }).trim();
  }
}
