/**
 * A TCP proxy between a client (the reliability suite's worker) and a server (Temporal's frontend) that
 * breaks the connections on command, as a network between them would:
 *
 *   drop()     closes every open connection gracefully (FIN to both ends), as a load balancer or NAT
 *              gateway closing idle or draining connections does;
 *   reset()    aborts every open connection (RST to both ends), as a crashed middlebox or a firewall does;
 *   stall(ms)  forwards nothing in either direction for `ms`, connections kept open, then delivers what
 *              it held in order, as a partition that heals does. Connections accepted meanwhile are held too.
 *
 * It forwards bytes as they come, so TLS (mTLS included) passes through it untouched: the client checks
 * the server's certificate against the name it was given, not against the proxy's address.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface ProxyEvent {
  kind: 'drop' | 'reset' | 'stall';
  /** ms since epoch: when it began. */
  at: number;
  /** Connections it cut (drop, reset) or held (stall: open at its start, or accepted during it). */
  connections: number;
  /** stall: how long it lasted, and the bytes it held then delivered. */
  ms?: number;
  heldBytes?: number;
}

export interface ProxyCounters {
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Bytes forwarded client -> server and server -> client. */
  bytesToServer: number;
  bytesToClient: number;
  /** Upstream connections that failed (e.g. the server was down); the client's was closed. */
  upstreamErrors: number;
}

/** Above this much held during a stall, the proxy stops reading: the senders' kernels then hold the rest. */
const STALL_HOLD_CAP = 16 * 1024 * 1024;
/** After a drop, a peer that never closes its side is closed for it. */
const DROP_LINGER_MS = 5_000;

interface Conn {
  client: Socket;
  upstream: Socket;
  /** Set once the proxy cut it (drop, reset) or either end closed: nothing more is forwarded. */
  cut: boolean;
}

export class TcpProxy {
  readonly #server: Server;
  readonly #conns = new Set<Conn>();
  readonly #events: ProxyEvent[] = [];
  readonly #counters: ProxyCounters = { accepted: 0, open: 0, bytesToServer: 0, bytesToClient: 0, upstreamErrors: 0 };
  /** While stalled: what arrived, in order, to be done when the stall ends. */
  #held: (() => void)[] | undefined;
  #heldBytes = 0;
  #stall: ProxyEvent | undefined;
  /** Resumes of the sources paused while stalled (held too much, or drained meanwhile). */
  readonly #paused = new Set<() => void>();

  private constructor(
    server: Server,
    readonly address: string,
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.#server = server;
    server.on('connection', (client) => this.#accept(client));
  }

  /** Listens on 127.0.0.1 at a free port and forwards each connection to `target` (`host:port`). */
  static async start(target: string): Promise<TcpProxy> {
    const { hostname, port } = new URL(`tcp://${target}`);
    if (!hostname || !port) throw new Error(`the proxy's target must be host:port, got ${target}`);
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port: own } = server.address() as { port: number };
    return new TcpProxy(server, `127.0.0.1:${own}`, hostname.replace(/^\[(.*)\]$/, '$1'), Number(port));
  }

  get counters(): Readonly<ProxyCounters> {
    return { ...this.#counters, open: this.#conns.size };
  }

  get events(): readonly ProxyEvent[] {
    return this.#events;
  }

  get stalled(): boolean {
    return this.#held !== undefined;
  }

  /** Closes every open connection with a FIN to each end; returns how many it closed. */
  drop(): number {
    const conns = [...this.#conns];
    this.#events.push({ kind: 'drop', at: Date.now(), connections: conns.length });
    for (const c of conns) {
      this.#forget(c);
      for (const s of [c.client, c.upstream]) {
        s.end();
        // end() only half-closes: the peer normally answers with its own FIN (Node then closes), but one
        // that does not must not keep the socket.
        setTimeout(() => s.destroy(), DROP_LINGER_MS).unref();
      }
    }
    return conns.length;
  }

  /** Aborts every open connection with an RST to each end; returns how many it aborted. */
  reset(): number {
    const conns = [...this.#conns];
    this.#events.push({ kind: 'reset', at: Date.now(), connections: conns.length });
    for (const c of conns) {
      this.#forget(c);
      for (const s of [c.client, c.upstream]) s.resetAndDestroy();
    }
    return conns.length;
  }

  /**
   * Forwards nothing for `ms`, then delivers everything held, in order (data, then any close that came
   * after it). Resolves once delivered, with the stall's event.
   */
  async stall(ms: number): Promise<ProxyEvent> {
    if (this.#stall) throw new Error('the proxy is already stalled');
    const event: ProxyEvent = { kind: 'stall', at: Date.now(), connections: this.#conns.size, ms, heldBytes: 0 };
    this.#events.push(event);
    this.#stall = event;
    this.#held = [];
    this.#heldBytes = 0;
    await new Promise((resolve) => setTimeout(resolve, ms));
    const held = this.#held;
    event.heldBytes = this.#heldBytes;
    this.#held = undefined;
    this.#stall = undefined;
    for (const act of held) act();
    const paused = [...this.#paused];
    this.#paused.clear();
    for (const resume of paused) resume();
    return event;
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const c of [...this.#conns]) {
      this.#forget(c);
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.#counters.accepted += 1;
    const upstream = createConnection({ host: this.upstreamHost, port: this.upstreamPort, noDelay: true });
    const conn: Conn = { client, upstream, cut: false };
    this.#conns.add(conn);
    if (this.#stall) this.#stall.connections += 1;
    this.#pipe(conn, client, upstream, 'bytesToServer');
    this.#pipe(conn, upstream, client, 'bytesToClient');
    let connected = false;
    upstream.once('connect', () => (connected = true));
    // Either end closing or failing ends the other: an RST seen is passed on as one, anything else as a close.
    const onError = (from: Socket, to: Socket) => (err: NodeJS.ErrnoException) => {
      if (from === upstream && !connected) this.#counters.upstreamErrors += 1;
      this.#whenFlowing(conn, () => {
        this.#forget(conn);
        if (err.code === 'ECONNRESET') to.resetAndDestroy();
        else to.destroy();
      });
    };
    client.on('error', onError(client, upstream));
    upstream.on('error', onError(upstream, client));
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('close', () => {
        this.#whenFlowing(conn, () => {
          this.#forget(conn);
          // Let what was written go out first (end), then close.
          to.end();
          setTimeout(() => to.destroy(), DROP_LINGER_MS).unref();
        });
      });
    }
  }

  /** Forwards `from` to `to`, counting bytes, with backpressure, holding everything while stalled. */
  #pipe(conn: Conn, from: Socket, to: Socket, counter: 'bytesToServer' | 'bytesToClient'): void {
    /** `to` has not drained what it was given: `from` stays paused until it has. */
    let blocked = false;
    const resume = () => {
      if (this.stalled) this.#paused.add(resume);
      else if (!blocked) from.resume();
    };
    const write = (chunk: Buffer) => {
      if (conn.cut) return;
      this.#counters[counter] += chunk.length;
      if (!to.write(chunk) && !blocked) {
        blocked = true;
        from.pause();
        to.once('drain', () => {
          blocked = false;
          resume();
        });
      }
    };
    from.on('data', (chunk: Buffer) => {
      if (!this.#held) return write(chunk);
      this.#held.push(() => write(chunk));
      this.#heldBytes += chunk.length;
      if (this.#heldBytes > STALL_HOLD_CAP) {
        from.pause();
        this.#paused.add(resume);
      }
    });
    from.on('end', () => this.#whenFlowing(conn, () => !conn.cut && to.end()));
  }

  /** Runs `act` now, or when the stall ends if one is on (after the data held before it). */
  #whenFlowing(conn: Conn, act: () => void): void {
    if (this.#held) this.#held.push(() => !conn.cut && act());
    else if (!conn.cut) act();
  }

  #forget(conn: Conn): void {
    conn.cut = true;
    this.#conns.delete(conn);
  }
}
