import { execFile } from 'node:child_process';
import { resolveTemporalCli } from '../../tools/provision';

/** Where the Temporal CLI's remote codec lives, as a service in another language would pass it. */
export interface CodecEndpoint {
  url: string;
  /** The whole Authorization header value, e.g. `Bearer <token>`. */
  auth: string;
}

export interface TemporalCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The Temporal CLI (the binary `npm run dev` and the dev server use, see tools/provision) pointed at one
 * server: a client that is not hero-flow's library, for the cross-language contract in docs/.
 */
export class TemporalCli {
  private constructor(
    readonly path: string,
    private readonly address: string,
    private readonly namespace: string,
  ) {}

  static async create(address: string, namespace = 'default'): Promise<TemporalCli> {
    return new TemporalCli(await resolveTemporalCli(() => {}), address, namespace);
  }

  /** Runs `temporal <args>` with `--output json`, through `codec` when given; never throws on a non-zero exit. */
  run(args: string[], codec?: CodecEndpoint): Promise<TemporalCliResult> {
    // Only the flags below may choose the server: no inherited TEMPORAL_* variable or temporal.toml.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));
    const argv = [
      ...args,
      '--address',
      this.address,
      '--namespace',
      this.namespace,
      '--disable-config-file',
      '--output',
      'json',
      '--color',
      'never',
      ...(codec ? ['--codec-endpoint', codec.url, '--codec-auth', codec.auth] : []),
    ];
    return new Promise((resolve, reject) => {
      execFile(this.path, argv, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      });
    });
  }

  /** Runs `temporal <args>` and parses its JSON output; a non-zero exit throws with the CLI's error. */
  async json<T = unknown>(args: string[], codec?: CodecEndpoint): Promise<T> {
    const { code, stdout, stderr } = await this.run(args, codec);
    if (code !== 0) throw new Error(`temporal ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.trim()}`);
    return JSON.parse(stdout) as T;
  }
}
