import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, createServer as createTlsServer, Server as TlsServer, type TLSSocket } from 'node:tls';
import { TcpProxy } from './reliability/tcp-proxy';
import { makeTestPki, type TestPki } from './support/tls';

/**
 * One end of a real loopback connection: keeps what it received, and says when (performance.now()) the
 * bytes up to each count arrived, whether it saw a FIN ('end') and which error, if any.
 */
class Peer {
  readonly chunks: Buffer[] = [];
  /** When each chunk arrived (performance.now()). */
  readonly chunkTimes: number[] = [];
  received = 0;
  endedAt: number | undefined;
  error: NodeJS.ErrnoException | undefined;
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
  #waiters: { bytes: number; resolve: (at: number) => void }[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now();
      this.chunks.push(chunk);
      this.chunkTimes.push(now);
      this.received += chunk.length;
      this.#waiters = this.#waiters.filter((w) => (this.received >= w.bytes ? (w.resolve(now), false) : true));
    });
    this.ended = new Promise((resolve) => socket.once('end', () => ((this.endedAt = performance.now()), resolve())));
    socket.on('error', (err: NodeJS.ErrnoException) => (this.error ??= err));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves with the time the `bytes`-th byte arrived. */
  bytes(bytes: number): Promise<number> {
    if (this.received >= bytes) return Promise.resolve(performance.now());
    return new Promise((resolve) => this.#waiters.push({ bytes, resolve }));
  }
}

/** A real TCP server on loopback that echoes what it gets; `next()` gives the server's end of each connection. */
class EchoServer {
  readonly #accepted: Peer[] = [];
  readonly #sockets = new Set<Socket>();
  #waiting: ((p: Peer) => void)[] = [];

  private constructor(
    readonly server: Server,
    readonly target: string,
  ) {
    // A TLS server's connections are ready for data at 'secureConnection'.
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      const peer = new Peer(socket);
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      const waiter = this.#waiting.shift();
      if (waiter) waiter(peer);
      else this.#accepted.push(peer);
    });
  }

  static async start(server: Server = createServer()): Promise<EchoServer> {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new EchoServer(server, `127.0.0.1:${(server.address() as { port: number }).port}`);
  }

  next(): Promise<Peer> {
    const peer = this.#accepted.shift();
    if (peer) return Promise.resolve(peer);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function connectThrough(proxy: TcpProxy): Promise<Peer> {
  const [host, port] = proxy.address.split(':');
  const socket = createConnection({ host, port: Number(port) });
  await once(socket, 'connect');
  return new Peer(socket);
}

/** A fresh connection through the proxy carries bytes there and back. */
async function assertEchoes(proxy: TcpProxy, echo: EchoServer): Promise<void> {
  const client = await connectThrough(proxy);
  const server = await echo.next();
  const payload = randomBytes(4096);
  client.socket.write(payload);
  await client.bytes(payload.length);
  assert.deepEqual(client.data, payload, 'a new connection echoes');
  client.socket.destroy();
  await server.closed;
}

describe("TcpProxy: the reliability suite's network between worker and Temporal", { timeout: 30_000 }, () => {
  let echo: EchoServer;
  let proxy: TcpProxy;

  before(async () => {
    echo = await EchoServer.start();
    proxy = await TcpProxy.start(echo.target);
  });
  after(async () => {
    await proxy?.close();
    await echo?.close();
  });

  it('forwards bytes both ways, unchanged, and counts them', async () => {
    const was = proxy.counters;
    const client = await connectThrough(proxy);
    await echo.next();
    const payload = randomBytes(1024 * 1024);
    client.socket.write(payload);
    await client.bytes(payload.length);
    assert.ok(client.data.equals(payload), 'the echo is the bytes sent, in order');
    const now = proxy.counters;
    assert.equal(now.accepted - was.accepted, 1);
    assert.equal(now.bytesToServer - was.bytesToServer, payload.length);
    assert.equal(now.bytesToClient - was.bytesToClient, payload.length);
    client.socket.destroy();
    await client.closed;
  });

  it('drop() closes every open connection with a FIN to both ends, and new connections still work', async () => {
    const clients = [await connectThrough(proxy), await connectThrough(proxy)];
    const servers = [await echo.next(), await echo.next()];
    // Both connections carry bytes before the drop.
    for (const c of clients) c.socket.write('ping');
    await Promise.all(clients.map((c) => c.bytes(4)));

    assert.equal(proxy.drop(), 2);
    await Promise.all([...clients, ...servers].map((p) => p.ended));
    await Promise.all([...clients, ...servers].map((p) => p.closed));
    for (const p of [...clients, ...servers]) assert.equal(p.error, undefined, 'a FIN, not an RST');
    assert.equal(proxy.counters.open, 0);
    assert.deepEqual(
      proxy.events.filter((e) => e.kind === 'drop').map((e) => e.connections),
      [2],
    );
    await assertEchoes(proxy, echo);
  });

  it('reset() aborts every open connection: the client gets ECONNRESET, and new connections still work', async () => {
    const client = await connectThrough(proxy);
    const server = await echo.next();
    client.socket.write('ping');
    await client.bytes(4);

    assert.equal(proxy.reset(), 1);
    await Promise.all([client.closed, server.closed]);
    assert.equal(client.error?.code, 'ECONNRESET');
    assert.equal(client.endedAt, undefined, 'no FIN before the RST');
    assert.equal(server.error?.code, 'ECONNRESET', 'the server gets the RST too');
    assert.equal(proxy.counters.open, 0);
    await assertEchoes(proxy, echo);
  });

  it('stall(ms) holds bytes both ways for at least ms on an open connection, then delivers them in order', async () => {
    const client = await connectThrough(proxy);
    const server = await echo.next();
    client.socket.write('before');
    await client.bytes(6);
    await server.bytes(6);

    const ms = 400;
    const stalledAt = performance.now();
    const stall = proxy.stall(ms);
    // Client -> server: many writes, 2 MB in all; server -> client: a push of the server's own.
    const parts = Array.from({ length: 32 }, (_, i) => Buffer.concat([Buffer.from(`[${i}]`), randomBytes(64 * 1024)]));
    for (const part of parts) client.socket.write(part);
    const push = Buffer.from('pushed by the server during the stall');
    server.socket.write(push);
    const sent = Buffer.concat(parts);

    const serverGotAll = await server.bytes(6 + sent.length);
    const clientGotPush = await client.bytes(6 + push.length);
    const event = await stall;
    // A timer may fire up to 1 ms early against performance.now().
    const firstAtServer = server.chunkTimes[1]!;
    assert.ok(firstAtServer >= stalledAt + ms - 1, `first byte reached the server ${firstAtServer - stalledAt} ms in`);
    assert.ok(clientGotPush >= stalledAt + ms - 1, `the push reached the client ${clientGotPush - stalledAt} ms in`);
    assert.ok(serverGotAll >= firstAtServer);
    assert.ok(server.data.subarray(6).equals(sent), 'the server got every byte, in order');
    assert.ok(client.data.subarray(6, 6 + push.length).equals(push), 'the client got the push');
    assert.equal(client.endedAt, undefined, 'the connection stayed open');
    assert.equal(client.error, undefined);
    assert.equal(event.connections, 1);
    assert.ok((event.heldBytes ?? 0) > 0, 'the proxy held bytes');

    // The echo of the held bytes flows once the stall is over, on the same connection.
    await client.bytes(6 + push.length + sent.length);
    assert.ok(client.data.subarray(6 + push.length).equals(sent));
    client.socket.destroy();
    await server.closed;
    await assertEchoes(proxy, echo);
  });

  it('holds a connection made during a stall until it ends, then serves it', async () => {
    const ms = 300;
    const stalledAt = performance.now();
    const stall = proxy.stall(ms);
    const client = await connectThrough(proxy);
    client.socket.write('hello');
    const server = await echo.next();
    const arrived = await server.bytes(5);
    assert.ok(arrived >= stalledAt + ms - 1, `reached the server ${arrived - stalledAt} ms in`);
    await client.bytes(5);
    assert.equal(client.data.toString(), 'hello');
    assert.equal((await stall).connections, 1);
    client.socket.destroy();
    await server.closed;
  });

  it('passes on a close that came during a stall only after the data before it', async () => {
    const client = await connectThrough(proxy);
    const server = await echo.next();
    const stall = proxy.stall(200);
    client.socket.end('last words');
    await server.ended;
    assert.equal(server.data.toString(), 'last words');
    await stall;
    await server.closed;
  });

  it("closes the client's connection when the server cannot be reached", async () => {
    const gone = await EchoServer.start();
    const target = gone.target;
    await gone.close();
    const orphan = await TcpProxy.start(target);
    try {
      const client = await connectThrough(orphan);
      await client.closed;
      assert.equal(orphan.counters.upstreamErrors, 1);
      assert.equal(orphan.counters.open, 0);
    } finally {
      await orphan.close();
    }
  });
});

describe('TcpProxy: TLS passes through untouched', { timeout: 30_000 }, () => {
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });
  after(async () => {
    await pki?.remove();
  });

  it('carries an mTLS session whose certificate names the server, not the proxy', async () => {
    const tlsServer = createTlsServer({
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.cert,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const echo = await EchoServer.start(tlsServer);
    const proxy = await TcpProxy.start(echo.target);
    try {
      const [host, port] = proxy.address.split(':');
      const socket: TLSSocket = tlsConnect({
        host,
        port: Number(port),
        servername: 'localhost',
        ca: pki.ca.cert,
        cert: pki.client.cert,
        key: pki.client.key,
      });
      await once(socket, 'secureConnect');
      assert.equal(socket.authorized, true);
      const client = new Peer(socket);
      socket.write('over tls');
      await client.bytes(8);
      assert.equal(client.data.toString(), 'over tls');
      assert.ok(proxy.counters.bytesToServer > 8, 'the proxy carried the handshake as well');
      socket.destroy();
      await client.closed;
    } finally {
      await proxy.close();
      await echo.close();
    }
  });
});
