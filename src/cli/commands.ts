import { once } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import {
  CancelledFailure,
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { loadCodecServerOptions, loadKeyRing, parseKeyRing, startCodecServer } from '../codec';
import { PayloadDecryptionError } from '../codec/errors';
import { loadTemporalSettings } from '../config/temporal';
import { ConfigError } from '../hero/config';
import { BatchFileError, type BatchEntry, formatBytes, MAX_REQUEST_TEXT_BYTES, readBatch } from '../client/batch';
import { describeCounts, runBatch } from '../client/batch-run';
import {
  DEFAULT_START_CONCURRENCY,
  HeroFlowClient,
  InvalidOutreachRequestError,
  InvalidReviewResolutionError,
  OutreachIdConflictError,
  OutreachRunFinishedError,
  ReviewRejectedError,
} from '../client/outreach-client';
import { outreachWorkflowId, WorkflowIdError } from '../client/workflow-id';
import { loadHeroConfig } from '../hero/config';
import { HeroClient } from '../hero/client';
import { HeroApiError } from '../hero/errors';
import { loadWebhookReceiverSettings, loadWebhookSigningKey } from '../webhooks/config';
import { createLogger, loadLogFormat } from '../observability/logging';
import { startWebhookReceiver, WEBHOOK_PATH, WEBHOOKS_SERVICE_NAME } from '../webhooks/receiver';
import { registerWebhooks, type WebhookRegistration } from '../webhooks/register';
import { type OutreachResult, type ReviewResolution, reviewResolutionSchema } from '../workflows/schemas';
import { describeProblems } from '../shared/problems';
import { DEV_KEYS_RELATIVE, devKeysFile, type ResolvedKeys, resolveCodecKeys } from './dev-keys';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import {
  batchLineText,
  describeResult,
  registrationText,
  resolvedText,
  reviewLineText,
  emit,
  type FinishedRun,
  finishedLine,
  forPeople,
  type OutputOptions,
  runUrl,
  startedText,
  statusText,
  verifiedText,
} from './present';

/**
 * The commands that talk to Temporal (loaded by main.ts only when one runs). Each resolves with its
 * exit code; failures are thrown and put in words by describeError.
 */

export interface ClientOptions extends OutputOptions {
  insecureNoEncryption?: boolean;
}

const say = (line: string) => process.stderr.write(`hero-flow: ${line}\n`);

/** Input larger than hero-flow accepts: refused before it is read whole, and before connecting. */
class InputTooLargeError extends Error {}

/** Exit codes of a run stopped by a signal: 128 + the signal's number, as shells report them. */
const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

const readError = (file: string, err: unknown) =>
  new UsageError(`cannot read --input ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);

/** A file's size when it is a regular file (a pipe or a device has none worth trusting). */
function regularFileSize(file: string): number | undefined {
  try {
    const stats = statSync(file);
    return stats.isFile() ? stats.size : undefined;
  } catch (err) {
    throw readError(file, err);
  }
}

/**
 * Reads a request file, or stdin for "-", refusing it past MAX_REQUEST_TEXT_BYTES: a file's size is checked
 * before reading (a 200 MB file was once read whole, for 42 s and 1.3 GB, then failed at Temporal), and
 * a stream of unknown size is read no further than the cap.
 */
async function readRequestText(file: string): Promise<string> {
  const tooLarge = (size?: number) =>
    new InputTooLargeError(
      `--input ${file} is too large (${size === undefined ? `over ${formatBytes(MAX_REQUEST_TEXT_BYTES)}` : formatBytes(size)}): ` +
        `a request may be at most ${formatBytes(MAX_REQUEST_TEXT_BYTES)} (a valid one is a few KiB); nothing was started`,
    );
  const size = file === '-' ? undefined : regularFileSize(file);
  if (size !== undefined && size > MAX_REQUEST_TEXT_BYTES) throw tooLarge(size);
  const source = file === '-' ? process.stdin : createReadStream(file);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_REQUEST_TEXT_BYTES) throw tooLarge();
      parts.push(chunk);
    }
  } catch (err) {
    throw err instanceof InputTooLargeError ? err : readError(file, err);
  }
  return Buffer.concat(parts, length).toString('utf8');
}

async function readInput(file: string): Promise<unknown> {
  const text = await readRequestText(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--input ${file} is not valid JSON`);
  }
}

/** A whole number of at least `min`, or a usage error naming the option. */
function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number of at least ${min}`);
  return n;
}

/**
 * `start-batch`: streams the file, starting items as they are read (never more than `concurrency`
 * ahead), one JSON line per item on stdout, progress on stderr about once a second. SIGINT/SIGTERM stop
 * the reading; the starts in flight finish, and a summary says which index to resume from.
 */
async function startBatch(
  file: string,
  opts: { concurrency: number; from: number; client: ClientOptions },
): Promise<number> {
  const knownSize = file === '-' ? undefined : regularFileSize(file);
  const source = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 64 * 1024 });
  const iterator = readBatch(source as AsyncIterable<Buffer>, { knownSize, from: opts.from })[Symbol.asyncIterator]();
  // The first entry is read before connecting: an empty or unusable file is refused without Temporal.
  let first: IteratorResult<BatchEntry>;
  try {
    first = await iterator.next();
  } catch (err) {
    source.destroy();
    if (err instanceof BatchFileError) throw new UsageError(`--input ${file}: ${err.message}`);
    throw readError(file, err);
  }
  let head: IteratorResult<BatchEntry> | undefined = first;
  const entries: AsyncIterable<BatchEntry> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const value = head;
        head = undefined;
        return value ? Promise.resolve(value) : iterator.next();
      },
      return: (value?: unknown) => iterator.return(value),
    }),
  };

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      process.stderr.write(`hero-flow: ${signal} again: exiting without waiting for the starts in flight\n`);
      process.exit(SIGNAL_EXIT_CODES[signal] ?? 1);
    }
    process.stderr.write(`hero-flow: ${signal}: stopped reading; waiting for the starts in flight to finish\n`);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const people = forPeople(opts.client);
  const line = (value: Record<string, unknown>) =>
    process.stdout.write((people ? batchLineText(value) : JSON.stringify(value)) + '\n');
  try {
    return await withClient(opts.client, async (client) => {
      const outcome = await runBatch({
        entries,
        start: (item) => client.startOrFind(item.request, { workflowId: item.workflowId }),
        concurrency: opts.concurrency,
        from: opts.from,
        onResult: line,
        // stdout is asynchronous on some platforms: reading waits while output is backed up.
        beforeRead: async () => {
          if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
        },
        onProgress: (counts, seconds) =>
          process.stderr.write(`hero-flow: progress: ${describeCounts(counts, seconds)}\n`),
        signal: stop.signal,
      });
      const { counts } = outcome;
      const there = counts.started + counts.alreadyThere;
      process.stderr.write(
        `hero-flow: ${outcome.stoppedBy ? `stopped by ${outcome.stoppedBy}` : 'done'}: ` +
          `${describeCounts(counts, outcome.seconds)} in ${outcome.seconds.toFixed(1)} s\n`,
      );
      if (outcome.stoppedBy) {
        const resume = outcome.firstNotStarted!;
        process.stderr.write(
          `hero-flow: interrupted: started or already there: ${there} of ${counts.read} read` +
            (counts.failed ? `; ${counts.failed} not started (the lines with "error")` : '') +
            `. Items from index ${resume} on were not started; to resume: start-batch --input ${file} --from ${resume} ` +
            '(re-running the whole file also starts nothing twice)\n',
        );
        return SIGNAL_EXIT_CODES[outcome.stoppedBy as NodeJS.Signals] ?? 1;
      }
      process.stderr.write(
        `hero-flow: started or already there: ${there} of ${counts.read}` +
          (counts.failed ? `; ${counts.failed} not started (the lines with "error")\n` : '\n'),
      );
      return counts.failed ? 1 : 0;
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    source.destroy();
  }
}

/** The keys of the command that runs, to name them when a payload cannot be decrypted. */
let keys: ResolvedKeys = { env: process.env };

/** HERO_CODEC_KEYS, or in development the dev server's keys (src/cli/dev-keys.ts). */
function resolveKeys(insecure: boolean): ResolvedKeys {
  keys = resolveCodecKeys({
    env: process.env,
    insecure,
    target: () => {
      try {
        const settings = loadTemporalSettings(process.env);
        const tls = settings.tls !== undefined && settings.tls !== false;
        return { address: settings.address, secured: tls || !!settings.apiKey };
      } catch {
        return undefined;
      }
    },
    say,
  });
  return keys;
}

async function withClient<T>(opts: ClientOptions, fn: (client: HeroFlowClient) => Promise<T>): Promise<T> {
  const insecure = opts.insecureNoEncryption ?? false;
  const resolved = resolveKeys(insecure);
  let client: HeroFlowClient;
  try {
    client = await HeroFlowClient.connect(resolved.env, { insecureNoEncryption: insecure });
  } catch (err) {
    if (err instanceof ConfigError && resolved.ignoredDevFile && !loadKeyRing(resolved.env)) {
      throw new CliError(
        `${err.message}\n  - ${DEV_KEYS_RELATIVE} is here but was not used: it holds the keys of the dev server ` +
          `of npm run dev (localhost:7233, or HERO_DEV_TEMPORAL_PORT), and the target is ${resolved.ignoredDevFile.address}`,
        EXIT_USAGE,
      );
    }
    throw err;
  }
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** The run's page in the Temporal UI, in the client's namespace. */
const uiUrlOf = (client: HeroFlowClient, workflowId: string) => runUrl(client.client.options.namespace, workflowId);

export async function worker(opts: ClientOptions): Promise<number> {
  const insecure = opts.insecureNoEncryption ?? false;
  // Loaded only here: the worker (and its native bridge) is heavy for the other commands.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runWorker } = require('../worker/run') as typeof import('../worker/run');
  await runWorker(resolveKeys(insecure).env, { insecureNoEncryption: insecure });
  return EXIT_OK;
}

export async function codecServer(): Promise<number> {
  const ring = loadKeyRing();
  if (!ring)
    throw new ConfigError(
      ['HERO_CODEC_KEYS must be set: the codec server decrypts with it'],
      'codec server configuration',
    );
  const options = loadCodecServerOptions();
  const server = await startCodecServer({ ring, ...options });
  const say = serviceLog('hero-flow-codec-server');
  say(
    `codec server on ${server.url} (origins: ${options.allowedOrigins.join(', ') || 'none'}; ` +
      `auth: ${options.authToken ? 'bearer token' : 'none'}). Temporal UI: --ui-codec-endpoint ${server.url}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return EXIT_OK;
}

export async function start(
  opts: ClientOptions & { input?: string; workflowId?: string; wait?: boolean },
): Promise<number> {
  if (!opts.input) throw new UsageError('start needs --input FILE (a JSON outreach request)');
  const request = await readInput(opts.input);
  // Fail before connecting: the request, and the workflow ID it will run under.
  outreachWorkflowId(HeroFlowClient.validate(request), {
    businessId: opts.workflowId,
    secret: process.env.HERO_WORKFLOW_ID_SECRET || undefined,
  });
  return withClient(opts, async (client) => {
    const started = await client.start(request as never, { workflowId: opts.workflowId });
    const out = opts.wait ? { ...started, result: await client.result(started.workflowId) } : started;
    emit(out, opts, (v) => startedText({ ...v, uiUrl: uiUrlOf(client, v.workflowId) }));
    return EXIT_OK;
  });
}

export async function startBatchCommand(
  opts: ClientOptions & { input?: string; concurrency?: string; from?: string },
): Promise<number> {
  if (!opts.input) throw new UsageError('start-batch needs --input FILE (JSON Lines of {"workflowId", "request"})');
  const concurrency = wholeNumber('concurrency', opts.concurrency, DEFAULT_START_CONCURRENCY, 1);
  const from = wholeNumber('from', opts.from, 0, 0);
  return startBatch(opts.input, { concurrency, from, client: opts });
}

export async function status(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const out = { ...(await client.status(workflowId)), uiUrl: uiUrlOf(client, workflowId) };
    emit(out, opts, (v) => statusText({ workflowId, ...v }));
    return EXIT_OK;
  });
}

export async function result(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    emit(await client.result(workflowId), opts, describeResult);
    return EXIT_OK;
  });
}

/** The answer of confirmVerification: `retraced` and `found` from workers that wait for the re-trace. */
type VerifyAnswer = { accepted: true; state: string; retraced?: boolean; found?: string };

export async function verify(workflowId: string, opts: ClientOptions & { signal?: boolean }): Promise<number> {
  return withClient(opts, async (client) => {
    const handle = client.client.workflow.getHandle(workflowId);
    // A finished run is described, not refused as unknown: the server answers "not found" to it.
    if (!(await isRunning(handle))) return reportFinished(client, workflowId, 'verify', opts);
    try {
      if (opts.signal) {
        await client.signalVerification(workflowId);
        emit({ workflowId, signalled: 'verificationCompleted' }, opts, verifiedText);
      } else {
        const answer = (await client.confirmVerification(workflowId)) as VerifyAnswer;
        emit({ workflowId, ...answer }, opts, verifiedText);
      }
      return EXIT_OK;
    } catch (err) {
      // It may have ended since it was described.
      if (await isRunning(handle).catch(() => true)) throw err;
      return reportFinished(client, workflowId, 'verify', opts);
    }
  });
}

export async function cancel(workflowId: string, opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const handle = client.client.workflow.getHandle(workflowId);
    if (!(await isRunning(handle))) return reportFinished(client, workflowId, 'cancel', opts);
    try {
      await client.cancel(workflowId);
    } catch (err) {
      if (await isRunning(handle).catch(() => true)) throw err;
      return reportFinished(client, workflowId, 'cancel', opts);
    }
    emit({ workflowId, cancelRequested: true }, opts, () =>
      [
        `Cancellation requested for ${workflowId}: it aborts any Hero request in flight and ends "cancelled".`,
        `  See it end: hero-flow result ${workflowId}`,
      ].join('\n'),
    );
    return EXIT_OK;
  });
}

/** Waits for SIGINT or SIGTERM. */
const untilStopped = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

/**
 * The log of a long-running service command: the CLI's own lines, or with HERO_LOG_FORMAT=json one
 * redacted JSON object per line (src/observability), as the worker writes them.
 */
function serviceLog(service: string): (line: string) => void {
  if (loadLogFormat() !== 'json') return say;
  const logger = createLogger({ service, format: 'json' });
  return (line) => logger.info(line);
}

/** `webhooks`: the receiver, until SIGINT or SIGTERM. Settings are checked before connecting. */
export async function webhooks(opts: ClientOptions): Promise<number> {
  const settings = loadWebhookReceiverSettings(process.env);
  const say = serviceLog(WEBHOOKS_SERVICE_NAME);
  return withClient(opts, async (client) => {
    const json = loadLogFormat() === 'json';
    const receiver = await startWebhookReceiver({ client, ...settings, ...(json && { log: say }) }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE' && err.code !== 'EADDRNOTAVAIL') throw err;
        throw new CliError(
          `cannot listen on ${settings.host}:${settings.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : 'no such address here'} ` +
            '(set HERO_WEBHOOK_PORT or HERO_WEBHOOK_HOST)',
          EXIT_FAILED,
        );
      },
    );
    say(
      `webhook receiver on ${receiver.url}${WEBHOOK_PATH} (task queue ${client.taskQueue}; ` +
        `timestamps within ${Math.round(settings.toleranceMs / 1000)} s` +
        `${settings.practiceGroupId ? '; this practice group only' : ''}). Stop with Ctrl-C or SIGTERM.`,
    );
    const signal = await untilStopped();
    say(`${signal}: finishing the deliveries in flight`);
    await receiver.close();
    return EXIT_OK;
  });
}

/** `webhooks register --url URL`: one JSON line per event. */
export async function webhooksRegister(opts: OutputOptions & { url?: string }): Promise<number> {
  if (!opts.url) throw new UsageError('webhooks register needs --url URL (where Hero reaches the receiver)');
  let url: URL | undefined;
  try {
    url = new URL(opts.url);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new UsageError('--url must be an http(s) URL, e.g. https://hooks.example.com/hero/webhooks');
  }
  if (url.username || url.password) throw new UsageError('--url must not contain credentials (user:password@)');
  const problems: string[] = [];
  let signingKey = '';
  let hero: HeroClient | undefined;
  try {
    signingKey = loadWebhookSigningKey(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    hero = new HeroClient(loadHeroConfig(process.env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length) throw new ConfigError(problems, 'configuration for webhooks register');
  const people = forPeople(opts);
  await registerWebhooks({
    hero: hero!,
    url: opts.url,
    signingKey,
    onResult: (r: WebhookRegistration) => process.stdout.write(`${people ? registrationText(r) : JSON.stringify(r)}\n`),
  });
  return EXIT_OK;
}

/** `review list`: one JSON line per run in review. */
export async function reviewList(opts: ClientOptions): Promise<number> {
  return withClient(opts, async (client) => {
    const reviews = await client.listReviews();
    const people = forPeople(opts);
    if (people && !reviews.length) process.stdout.write('No runs in review.\n');
    for (const review of reviews) {
      const line = people
        ? reviewLineText({ ...review, uiUrl: uiUrlOf(client, review.workflowId) })
        : JSON.stringify(review);
      process.stdout.write(`${line}\n`);
    }
    if (people && reviews.length) {
      process.stdout.write(
        `${reviews.length} run${reviews.length === 1 ? '' : 's'} in review. Resolve one: ` +
          'hero-flow review resolve ID --action resend|mark_sent|abandon\n',
      );
    }
    return EXIT_OK;
  });
}

/** `review resolve ID --action A [--note T]`: the decision is checked before connecting. */
export async function reviewResolve(
  workflowId: string,
  opts: ClientOptions & { action?: string; note?: string },
): Promise<number> {
  const actions = reviewResolutionSchema.shape.action.options;
  if (!opts.action || !(actions as readonly string[]).includes(opts.action)) {
    throw new UsageError(`--action must be one of ${actions.join(', ')}`);
  }
  const parsed = reviewResolutionSchema.safeParse({ action: opts.action, note: opts.note });
  if (!parsed.success) {
    throw new UsageError(
      describeProblems(parsed.error, '(decision)', reviewResolutionSchema)
        .map((p) => `--${p}`)
        .join('; '),
    );
  }
  const resolution: ReviewResolution = parsed.data;
  return withClient(opts, async (client) => {
    try {
      const answer = await client.resolveReview(workflowId, resolution);
      emit({ workflowId, ...answer }, opts, resolvedText);
      return EXIT_OK;
    } catch (err) {
      if (err instanceof OutreachRunFinishedError) return reportFinished(client, workflowId, 'resolve', opts);
      throw err;
    }
  });
}

/** True while the latest run of the workflow ID runs; WorkflowNotFoundError when there is none. */
async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  return (await handle.describe()).status.name === 'RUNNING';
}

/**
 * A command that needs a running run met a finished one: says so, with its outcome (from the run's
 * result, or its failure), on stdout as the command's answer and on stderr as one line. Exit 1.
 */
async function reportFinished(
  client: HeroFlowClient,
  workflowId: string,
  command: 'cancel' | 'verify' | 'resolve',
  opts: ClientOptions,
): Promise<number> {
  const handle = client.client.workflow.getHandle(workflowId);
  const described = await handle.describe();
  const run: FinishedRun = {
    workflowId,
    finished: true,
    status: described.status.name,
    closedAt: described.closeTime?.toISOString(),
    outcome: described.status.name.toLowerCase(),
  };
  try {
    // Only the outcome's name: the result holds patient data, which only `result` prints.
    run.outcome = ((await handle.result()) as OutreachResult).outcome;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const cause = err.cause as { message?: string; type?: string } | undefined;
      if (err.cause instanceof CancelledFailure) run.outcome = 'cancelled';
      else run.failure = { type: cause?.type, message: cause?.message ?? err.message };
    } else {
      run.outcomeUnreadable = describeError(err).message;
    }
  }
  const what =
    command === 'cancel'
      ? 'there is nothing to cancel'
      : command === 'verify'
        ? 'it no longer waits for verification'
        : 'it has no review to resolve';
  const answer = command === 'cancel' ? { cancelRequested: false } : { accepted: false };
  emit({ ...run, ...answer }, opts, (v) => `${finishedLine(v)}: ${what}.`);
  if (!forPeople(opts)) say(`${finishedLine(run)}: ${what}`);
  return EXIT_FAILED;
}

const quoteIds = (ids: string[]) => ids.map((id) => `'${id}'`).join(', ');

/** "key ids 'a', 'b' from HERO_CODEC_KEYS": what this CLI has, and where it looked. */
function describeKeys(): string {
  const spec = keys.env.HERO_CODEC_KEYS;
  let ids: string[] = [];
  try {
    ids = spec ? [...parseKeyRing(spec).keys.keys()] : [];
  } catch {
    // A ring that does not parse never got this far.
  }
  const where = keys.source?.from === 'dev-file' ? `${keys.source.file} (HERO_CODEC_KEYS is unset)` : 'HERO_CODEC_KEYS';
  return ids.length
    ? `it has key id${ids.length === 1 ? '' : 's'} ${quoteIds(ids)}, from ${where}`
    : 'it has no keys (HERO_CODEC_KEYS is unset)';
}

/** The error, or one of its causes, that `match` picks. */
function findCause(err: unknown, match: (e: Error) => boolean): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (match(e)) return e;
  }
  return undefined;
}

/** One clear line (or list) on stderr per failure; never a stack trace for expected errors. */
export function describeError(err: unknown): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (
    err instanceof UsageError ||
    err instanceof InvalidOutreachRequestError ||
    err instanceof ConfigError ||
    err instanceof WorkflowIdError ||
    err instanceof InputTooLargeError
  ) {
    return { message: err.message, code: EXIT_USAGE };
  }
  if (err instanceof InvalidReviewResolutionError) return { message: err.message, code: EXIT_USAGE };
  if (
    err instanceof OutreachIdConflictError ||
    err instanceof ReviewRejectedError ||
    err instanceof OutreachRunFinishedError ||
    err instanceof HeroApiError
  ) {
    return { message: err.message, code: EXIT_FAILED };
  }
  const undecryptable = findCause(err, (e) => e instanceof PayloadDecryptionError) as
    PayloadDecryptionError | undefined;
  if (undecryptable) {
    const unknownKey = undecryptable.keyId !== undefined && undecryptable.message.includes('which is not in');
    return {
      message: unknownKey
        ? `the run's data is encrypted with key id '${undecryptable.message.match(/key id '([^']*)'/)?.[1] ?? '?'}', ` +
          `which this CLI does not have: ${describeKeys()}. Use the HERO_CODEC_KEYS of the worker that wrote the run ` +
          `(npm run dev keeps its keys in ${DEV_KEYS_RELATIVE}, which the CLI reads itself, from that directory, ` +
          'when HERO_CODEC_KEYS is unset)'
        : `${undecryptable.message} (${describeKeys()})`,
      code: EXIT_FAILED,
    };
  }
  if (findCause(err, (e) => /Unknown encoding: binary\/encrypted/.test(e.message))) {
    return {
      message:
        "the run's data is encrypted, and --insecure-no-encryption (or HERO_INSECURE_NO_ENCRYPTION=true) reads " +
        'without keys, so it cannot read it. ' +
        'Run the command without it, with HERO_CODEC_KEYS set to the keys of the worker ' +
        'that wrote the run' +
        (devKeysFile() ? ` (here, against the dev server, the CLI uses ${DEV_KEYS_RELATIVE} by itself)` : ''),
      code: EXIT_FAILED,
    };
  }
  if (err instanceof WorkflowNotFoundError) {
    return { message: `No hero-flow run with that workflow ID: ${err.message}`, code: EXIT_FAILED };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    return { message: `The run did not accept it: ${err.cause?.message ?? err.message}`, code: EXIT_FAILED };
  }
  if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
    return { message: 'The run was cancelled', code: EXIT_FAILED };
  }
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as { message?: string; type?: string } | undefined;
    const detail = cause?.message ? `: ${cause.type ? `[${cause.type}] ` : ''}${cause.message}` : '';
    return { message: `The run failed${detail}`, code: EXIT_FAILED };
  }
  const e = err as Error & { code?: string };
  if (
    /ECONNREFUSED|UNAVAILABLE|transport error|Connection refused|Failed to connect before the deadline/i.test(
      String(e?.message),
    )
  ) {
    return { message: cannotReach(), code: EXIT_FAILED };
  }
  return { message: e?.message ?? String(err), code: EXIT_FAILED };
}

/**
 * Why a connection may have failed, from how it was made: a server that demands a client certificate
 * (mTLS) drops the handshake of a client without one, which reaches the CLI as an unreachable server.
 */
function cannotReach(): string {
  let settings: ReturnType<typeof loadTemporalSettings> | undefined;
  try {
    settings = loadTemporalSettings(process.env);
  } catch {
    settings = undefined;
  }
  const address = settings?.address ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const head = `Cannot reach Temporal at ${address}: is the server running (npm run dev), and is TEMPORAL_ADDRESS right?`;
  const tls = settings?.tls;
  if (tls === undefined || tls === false) {
    return `${head} If the server requires TLS, set TEMPORAL_TLS_SERVER_CA_CERT_PATH, and for mTLS TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH.`;
  }
  if ((tls === true || !tls.clientCertPair) && !settings?.apiKey) {
    return `${head} The connection used TLS without a client certificate: if the server requires mTLS, set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH.`;
  }
  return `${head} The connection used TLS: check that the server's CA signed its certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH), that the name it carries is TEMPORAL_TLS_SERVER_NAME or the address's host, and that the server accepts the client certificate.`;
}
