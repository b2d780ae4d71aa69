import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CancelledFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { generateKeySpec, loadCodecServerOptions, loadKeyRing, startCodecServer } from '../codec';
import { ConfigError } from '../hero/config';
import { BatchFileError, type BatchEntry, parseBatch } from './batch';
import {
  DEFAULT_START_CONCURRENCY,
  HeroFlowClient,
  InvalidOutreachRequestError,
  OutreachAlreadyFinishedError,
} from './outreach-client';
import { outreachWorkflowId, WorkflowIdError } from './workflow-id';

const USAGE = `Usage: hero-flow <command> [options]

Commands:
  worker                                   run a worker (env: HERO_API_KEY, HERO_PRACTICE_GROUP_ID, HERO_CODEC_KEYS, ...)
  start --input FILE [--workflow-id ID] [--wait]
                                           start an outreach run (FILE "-" reads stdin); prints {workflowId, runId}
  start-batch --input FILE [--concurrency N]
                                           start a practice list: FILE is JSON Lines (or a JSON array) of
                                           {"workflowId": ID, "request": {...}}; prints one JSON line per item,
                                           started or why not, and exits 1 if any was not started. N start
                                           requests in flight at once (default ${DEFAULT_START_CONCURRENCY}); re-running the same file
                                           starts only what is missing (finished ones: "alreadyFinished")
  status ID                                print the run's status query
  verify ID [--signal]                     tell the run the patient has verified (an update: exits 1 if the run
                                           is not waiting for verification; --signal sends it fire-and-forget)
  result ID                                wait for the run and print its result
  cancel ID                                request cancellation of the run
  codec-server                             serve Temporal's remote codec protocol, so the Web UI decodes payloads
                                           (env: HERO_CODEC_KEYS, HERO_CODEC_PORT, HERO_CODEC_CORS_ORIGINS, HERO_CODEC_AUTH_TOKEN)
  keys generate                            print a new key for HERO_CODEC_KEYS (put it first to rotate)

Payloads are encrypted with HERO_CODEC_KEYS ("id:base64key,..."; the first key encrypts, all decrypt).
--insecure-no-encryption runs worker and client commands without it, for synthetic data only.

Temporal connection: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*; task queue: HERO_TASK_QUEUE.`;

class UsageError extends Error {}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read --input ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function readInput(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--input ${file} is not valid JSON`);
  }
}

async function withClient<T>(insecure: boolean, fn: (client: HeroFlowClient) => Promise<T>): Promise<T> {
  const client = await HeroFlowClient.connect(process.env, { insecureNoEncryption: insecure });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      input: { type: 'string', short: 'i' },
      'workflow-id': { type: 'string' },
      wait: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'insecure-no-encryption': { type: 'boolean', default: false },
      signal: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
    },
  });
  const insecure = values['insecure-no-encryption'] ?? false;
  const id = () => {
    if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one workflow ID`);
    return positionals[0]!;
  };

  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    case 'worker': {
      // Loaded only here: the worker (and its native bridge) is heavy for the other commands.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runWorker } = require('../worker/run') as typeof import('../worker/run');
      await runWorker(process.env, { insecureNoEncryption: insecure });
      return 0;
    }
    case 'codec-server': {
      const ring = loadKeyRing();
      if (!ring)
        throw new ConfigError(
          ['HERO_CODEC_KEYS must be set: the codec server decrypts with it'],
          'codec server configuration',
        );
      const options = loadCodecServerOptions();
      const server = await startCodecServer({ ring, ...options });
      process.stderr.write(
        `hero-flow codec server on ${server.url} (origins: ${options.allowedOrigins.join(', ') || 'none'}; ` +
          `auth: ${options.authToken ? 'bearer token' : 'none'}). Temporal UI: --ui-codec-endpoint ${server.url}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      return 0;
    }
    case 'keys':
      if (positionals[0] !== 'generate') throw new UsageError('usage: hero-flow keys generate');
      print({
        key: generateKeySpec(),
        howTo: 'Prepend to HERO_CODEC_KEYS (comma-separated) to rotate; keep old keys while their runs are retained.',
      });
      return 0;
    case 'start': {
      if (!values.input) throw new UsageError('start needs --input FILE (a JSON outreach request)');
      const request = readInput(values.input);
      // Fail before connecting: the request, and the workflow ID it will run under.
      outreachWorkflowId(HeroFlowClient.validate(request), {
        businessId: values['workflow-id'],
        secret: process.env.HERO_WORKFLOW_ID_SECRET || undefined,
      });
      return withClient(insecure, async (client) => {
        const started = await client.start(request as never, { workflowId: values['workflow-id'] });
        print(values.wait ? { ...started, result: await client.result(started.workflowId) } : started);
        return 0;
      });
    }
    case 'start-batch': {
      if (!values.input)
        throw new UsageError('start-batch needs --input FILE (JSON Lines of {"workflowId", "request"})');
      const concurrency = Number(values.concurrency ?? DEFAULT_START_CONCURRENCY);
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new UsageError('--concurrency must be a whole number of at least 1');
      }
      let entries: BatchEntry[];
      try {
        entries = parseBatch(readText(values.input));
      } catch (err) {
        if (err instanceof BatchFileError) throw new UsageError(`--input ${values.input}: ${err.message}`);
        throw err;
      }
      const line = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');
      const readable = entries.flatMap((e) => ('item' in e ? [e] : []));
      let notStarted = entries.length - readable.length;
      for (const e of entries) if ('error' in e) line({ index: e.index, error: e.error });
      return withClient(insecure, async (client) => {
        await client.startMany(
          readable.map((e) => e.item),
          {
            concurrency,
            onResult: (r) => {
              const index = readable[r.index]!.index;
              if ('started' in r) return line({ index, ...r.started });
              // Already done is not a failure when the same list is run again.
              if (r.error instanceof OutreachAlreadyFinishedError) {
                return line({ index, workflowId: r.error.workflowId, alreadyFinished: true });
              }
              notStarted += 1;
              line({ index, error: r.error.message });
            },
          },
        );
        process.stderr.write(
          `hero-flow: started or already there: ${entries.length - notStarted} of ${entries.length}` +
            (notStarted ? `; ${notStarted} not started (the lines with "error")\n` : '\n'),
        );
        return notStarted ? 1 : 0;
      });
    }
    case 'status': {
      const workflowId = id();
      return withClient(insecure, async (c) => (print(await c.status(workflowId)), 0));
    }
    case 'verify': {
      const workflowId = id();
      return withClient(insecure, async (c) => {
        if (values.signal) {
          await c.signalVerification(workflowId);
          print({ workflowId, signalled: 'verificationCompleted' });
        } else {
          print({ workflowId, ...(await c.confirmVerification(workflowId)) });
        }
        return 0;
      });
    }
    case 'result': {
      const workflowId = id();
      return withClient(insecure, async (c) => (print(await c.result(workflowId)), 0));
    }
    case 'cancel': {
      const workflowId = id();
      return withClient(insecure, async (c) => {
        await c.cancel(workflowId);
        print({ workflowId, cancelRequested: true });
        return 0;
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** One clear line (or list) on stderr per failure; never a stack trace for expected errors. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError) return { message: `${err.message}\n\n${USAGE}`, code: 2 };
  if (err instanceof InvalidOutreachRequestError || err instanceof ConfigError || err instanceof WorkflowIdError) {
    return { message: err.message, code: 2 };
  }
  if (err instanceof WorkflowNotFoundError) {
    return { message: `No hero-flow run with that workflow ID: ${err.message}`, code: 1 };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    return { message: `The run did not accept it: ${err.cause?.message ?? err.message}`, code: 1 };
  }
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    return { message: 'The run was cancelled', code: 1 };
  }
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { message?: string; type?: string } | undefined;
    const detail = cause?.message ? `: ${cause.type ? `[${cause.type}] ` : ''}${cause.message}` : '';
    return { message: `The run failed${detail}`, code: 1 };
  }
  const e = err as Error & { code?: string };
  if (
    /ECONNREFUSED|UNAVAILABLE|transport error|Connection refused|Failed to connect before the deadline/i.test(
      String(e?.message),
    )
  ) {
    return {
      message: `Cannot reach Temporal at ${process.env.TEMPORAL_ADDRESS ?? 'localhost:7233'}: is the server running (npm run dev), and is TEMPORAL_ADDRESS right?`,
      code: 1,
    };
  }
  return { message: e?.message ?? String(err), code: 1 };
}
