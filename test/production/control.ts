import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { ProductionStack } from './stack';

/**
 * The runner's control endpoint on 127.0.0.1 (see external.ts): lets a suite running as another
 * process stop and start the server this runner owns, and read its CPU time. A random token in the
 * path keeps anything else on the machine from restarting it.
 */
export class ServerControl {
  readonly url: string;
  private constructor(
    private readonly server: Server,
    url: string,
    /** Every stop and start asked for, in order; `changed`: the server was not already so. */
    readonly requests: { action: string; at: number; changed: boolean }[],
  ) {
    this.url = url;
  }

  static async start(stack: ProductionStack): Promise<ServerControl> {
    const token = randomBytes(16).toString('hex');
    const requests: { action: string; at: number; changed: boolean }[] = [];
    const server = createServer((req, res) => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const action = req.url?.startsWith(`/${token}/`) ? req.url.slice(token.length + 2) : undefined;
      const act = async () => {
        if (req.method === 'GET' && action === 'cpu') {
          const cpu = stack.cpuSeconds();
          return answer(200, { server: cpu.server, database: cpu.postgres });
        }
        if (req.method === 'POST' && (action === 'stop' || action === 'start')) {
          const changed = stack.serverRunning === (action === 'stop');
          requests.push({ action, at: Date.now(), changed });
          await (action === 'stop' ? stack.stopServer() : stack.startServer());
          return answer(200, { running: stack.serverRunning });
        }
        answer(404, { error: 'not found' });
      };
      act().catch((err: unknown) => answer(500, { error: String(err) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return new ServerControl(server, `http://127.0.0.1:${port}/${token}`, requests);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
