/**
 * OpenTelemetry tracing of client, workflow and activities through @temporalio/interceptors-opentelemetry,
 * exported over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT when that is set.
 *
 * The OpenTelemetry packages are optional peers: they are required here, lazily, only when the endpoint is
 * set, so a client-only consumer without them keeps working. Loads no @temporalio/worker code.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as OtelApi from '@opentelemetry/api';
import type * as OtelResources from '@opentelemetry/resources';
import type * as OtelTraceBase from '@opentelemetry/sdk-trace-base';
import type * as OtelExporter from '@opentelemetry/exporter-trace-otlp-http';
import type * as TemporalOtel from '@temporalio/interceptors-opentelemetry';

/** What a process needs installed to trace (named in the error when one is missing). */
export const TRACING_PACKAGES = [
  '@temporalio/interceptors-opentelemetry',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/resources',
  '@opentelemetry/exporter-trace-otlp-http',
] as const;

/** The module the workflow bundle must carry for workflow spans (resolved, not loaded). */
const WORKFLOW_INTERCEPTORS_MODULE = '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';

/** The workflow interceptors' sink name (OpenTelemetrySinks in @temporalio/interceptors-opentelemetry). */
const EXPORTER_SINK = 'exporter';

// Structural types, so that no OpenTelemetry type appears in this package's declarations.
interface SinkFunction {
  fn: (...args: never[]) => void;
  callDuringReplay?: boolean;
}
export type WorkflowTracingSinks = Record<string, Record<string, SinkFunction>>;

/** The interceptors and sinks one process traces with; one per process (the tracer provider is global). */
export interface Tracing {
  readonly endpoint: string;
  /** For `new Client({ interceptors })`: StartWorkflow, signal, update and query spans, and their headers. */
  readonly clientInterceptors: { workflow: unknown[] };
  /** For WorkerOptions.interceptors.activity: RunActivity spans, children of the workflow's StartActivity. */
  readonly activityInterceptors: unknown[];
  /** For WorkerOptions.sinks: exports the spans the workflow sandbox makes (not during replay). */
  readonly workflowSinks: WorkflowTracingSinks;
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

/** OTEL_EXPORTER_OTLP_ENDPOINT, the OTLP/HTTP base URL (spans go to its /v1/traces), when set. */
export function tracingEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
}

/**
 * The workflow interceptors module's path, when @temporalio/interceptors-opentelemetry is installed: a worker
 * that bundles its workflows at start includes it only then.
 */
export function workflowInterceptorsModule(): string | undefined {
  try {
    return require.resolve(WORKFLOW_INTERCEPTORS_MODULE);
  } catch {
    return undefined;
  }
}

/**
 * The sinks a bundle carrying the workflow interceptors calls, exporting nothing: registered whenever tracing
 * is off, as the prebuilt bundle carries them and an unregistered sink is logged as an error on every task.
 * Written by hand so it needs none of the OpenTelemetry packages.
 */
export function noopWorkflowSinks(): WorkflowTracingSinks {
  return { [EXPORTER_SINK]: { export: { fn: () => undefined, callDuringReplay: false } } };
}

let installed: Tracing | undefined;

/**
 * Tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (undefined otherwise): registers a global
 * tracer provider exporting in batches to `${endpoint}/v1/traces`, once; later calls get the same one.
 * Throws naming the packages to install when the endpoint is set and one is missing.
 */
export function setupTracing(env: NodeJS.ProcessEnv = process.env, serviceName = 'hero-flow'): Tracing | undefined {
  const endpoint = tracingEndpoint(env);
  if (!endpoint) return undefined;
  if (installed) return installed;
  const m = loadPackages();
  const resource = new m.resources.Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || serviceName });
  // Every span passes here, whichever of client, activity or workflow sandbox made it: IDs only beyond.
  const processor = idOnlySpans(
    new m.traceBase.BatchSpanProcessor(
      new m.exporter.OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    ),
  );
  const provider = new m.traceBase.BasicTracerProvider({ resource, spanProcessors: [processor] });
  // The interceptors find their parent span in the active context: without a context manager every span
  // would be a root and the trace would fall apart (sdk-trace-base ships none; this one is Node's own).
  provider.register({ contextManager: asyncLocalStorageContextManager(m.api) });
  const tracing: Tracing = {
    endpoint,
    clientInterceptors: { workflow: [new m.temporal.OpenTelemetryWorkflowClientInterceptor()] },
    activityInterceptors: [
      (ctx: ConstructorParameters<typeof TemporalOtel.OpenTelemetryActivityInboundInterceptor>[0]) => ({
        inbound: new m.temporal.OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new m.temporal.OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    workflowSinks: { [EXPORTER_SINK]: m.temporal.makeWorkflowExporter(processor, resource) } as WorkflowTracingSinks,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  // A short-lived process (the CLI) would otherwise exit with its last batch unsent.
  process.once('beforeExit', () => void provider.forceFlush().catch(() => undefined));
  installed = tracing;
  return tracing;
}

/**
 * The span attributes exported: identifiers only. The interceptors add more than docs/deploy.md (Tracing) promises:
 * workflow spans get the whole WorkflowInfo (memo, search attributes, parent, last result...), a
 * termination span the operator's reason; anything not named here is dropped.
 */
export const EXPORTED_SPAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  // Set by @temporalio/interceptors-opentelemetry on client, activity and update spans.
  'temporalWorkflowId',
  'run_id',
  'temporalActivityId',
  'temporalUpdateId',
  // The identifying fields of WorkflowInfo, which the workflow exporter copies onto every workflow span.
  'workflowId',
  'runId',
  'firstExecutionRunId',
  'continuedFromExecutionRunId',
  'workflowType',
  'taskQueue',
  'namespace',
  'attempt',
]);
/** Of an event's attributes (recordException's), only the error's type: its message and stack can quote data. */
const EXPORTED_EVENT_ATTRIBUTES: ReadonlySet<string> = new Set(['exception.type']);

type Attributes = OtelTraceBase.ReadableSpan['attributes'];

function pick(attributes: Attributes | undefined, allowed: ReadonlySet<string>): Attributes {
  const kept: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    // A single value only: an object (memo, search attributes) copied under an allowed name is dropped too.
    if (allowed.has(key) && ['string', 'number', 'boolean'].includes(typeof value)) kept[key] = value;
  }
  return kept;
}

/**
 * A span processor passing `next` each ended span with ID attributes only (EXPORTED_SPAN_ATTRIBUTES),
 * events with their error type only, links without attributes, and the status without its message
 * (an error message). Structure, names and timing are untouched, so a trace stays one connected trace.
 */
function idOnlySpans(next: OtelTraceBase.SpanProcessor): OtelTraceBase.SpanProcessor {
  return {
    onStart: (span, context) => next.onStart(span, context),
    onEnd: (span) => next.onEnd(idOnly(span)),
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}

function idOnly(span: OtelTraceBase.ReadableSpan): OtelTraceBase.ReadableSpan {
  const overrides: Partial<Record<keyof OtelTraceBase.ReadableSpan, unknown>> = {
    attributes: pick(span.attributes, EXPORTED_SPAN_ATTRIBUTES),
    events: span.events.map((e) => ({
      name: e.name,
      time: e.time,
      attributes: pick(e.attributes, EXPORTED_EVENT_ATTRIBUTES),
    })),
    links: span.links.map((l) => ({ context: l.context })),
    status: { code: span.status.code },
  };
  // A view rather than a copy: whatever else the SDK version reads (scope, parent context) comes from the span.
  return new Proxy(span, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof typeof overrides];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface Packages {
  api: typeof OtelApi;
  resources: typeof OtelResources;
  traceBase: typeof OtelTraceBase;
  exporter: typeof OtelExporter;
  temporal: typeof TemporalOtel;
}

function loadPackages(): Packages {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    return {
      api: require('@opentelemetry/api') as typeof OtelApi,
      resources: require('@opentelemetry/resources') as typeof OtelResources,
      traceBase: require('@opentelemetry/sdk-trace-base') as typeof OtelTraceBase,
      exporter: require('@opentelemetry/exporter-trace-otlp-http') as typeof OtelExporter,
      temporal: require('@temporalio/interceptors-opentelemetry') as typeof TemporalOtel,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error(
      `OTEL_EXPORTER_OTLP_ENDPOINT is set, but tracing needs these packages installed: ${TRACING_PACKAGES.join(' ')} ` +
        '(npm install them, or unset OTEL_EXPORTER_OTLP_ENDPOINT)',
    );
  }
}

function asyncLocalStorageContextManager(api: typeof OtelApi): OtelApi.ContextManager {
  const storage = new AsyncLocalStorage<OtelApi.Context>();
  const manager: OtelApi.ContextManager = {
    active: () => storage.getStore() ?? api.ROOT_CONTEXT,
    with: (context, fn, thisArg, ...args) => storage.run(context, () => fn.apply(thisArg, args)),
    bind: <T>(context: OtelApi.Context, target: T): T => {
      if (typeof target !== 'function') return target;
      const f = target as (...a: unknown[]) => unknown;
      return function (this: unknown, ...a: unknown[]) {
        return storage.run(context, () => f.apply(this, a));
      } as T;
    },
    enable: () => manager,
    disable: () => {
      storage.disable();
      return manager;
    },
  };
  return manager;
}
