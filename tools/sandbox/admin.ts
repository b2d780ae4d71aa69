import { z } from 'zod';
import { faultRatesSchema, faultSchema, sandboxEndpointSchema, timesSchema } from './faults';
import { json, NOT_JSON, type Reply } from './http';
import { sandboxPatientSchema } from './patients';
import { rateLimitOptionsSchema } from './rate-limit';
import type { Fault, Sandbox } from './types';

/**
 * `/__sandbox/*`: drive the sandbox from another process (e.g. a worker under test).
 * No auth: the sandbox listens on loopback by default and holds only synthetic data.
 */

const verifyBodySchema = z.object({ nhsNumber: z.string() });
const faultBodySchema = z.object({
  endpoint: sandboxEndpointSchema,
  fault: faultSchema,
  times: timesSchema.optional(),
});
const rateLimitBodySchema = rateLimitOptionsSchema.nullable();
const faultRatesBodySchema = faultRatesSchema.nullable();

export function handleAdmin(sandbox: Sandbox, method: string, url: URL, body: unknown): Reply {
  const action = `${method} ${url.pathname.replace(/^\/__sandbox/, '')}`;
  switch (action) {
    case 'GET /requests': {
      const endpoint = url.searchParams.get('endpoint');
      if (endpoint === null) return json(200, { requests: sandbox.requests() });
      const parsed = sandboxEndpointSchema.safeParse(endpoint);
      if (!parsed.success) return badRequest(parsed.error);
      return json(200, { requests: sandbox.requests({ endpoint: parsed.data }) });
    }
    case 'GET /state':
      return json(200, {
        bookingLinks: sandbox.bookingLinks(),
        messages: sandbox.messages(),
        faultCounts: sandbox.faultCounts(),
      });
    case 'POST /patients':
      return withBody(sandboxPatientSchema, body, (p) => sandbox.addPatient(p));
    case 'POST /verify':
      return withBody(verifyBodySchema, body, ({ nhsNumber }) => sandbox.markVerified(nhsNumber));
    case 'POST /faults':
      return withBody(faultBodySchema, body, (b) => sandbox.injectFault(b.endpoint, b.fault as Fault, b.times));
    case 'POST /rate-limit':
      return withBody(rateLimitBodySchema, body, (opts) => sandbox.setRateLimit(opts ?? undefined));
    case 'POST /fault-rates':
      return withBody(faultRatesBodySchema, body, (rates) => sandbox.setFaultRates(rates ?? undefined));
    case 'POST /reset':
      sandbox.reset();
      return json(200, { ok: true });
    default:
      return json(404, { error: 'unknown sandbox admin route' });
  }
}

/** Errors thrown by the action (unknown patient, id clash) become 404 / 400. */
function withBody<S extends z.ZodType>(schema: S, body: unknown, action: (value: z.output<S>) => void): Reply {
  if (body === NOT_JSON) return json(400, { error: 'body is not JSON' });
  const parsed = schema.safeParse(body);
  if (!parsed.success) return badRequest(parsed.error);
  try {
    action(parsed.data);
  } catch (err) {
    if (err instanceof UnknownPatientError) return json(404, { error: err.message });
    return json(400, { error: err instanceof Error ? err.message : String(err) });
  }
  return json(200, { ok: true });
}

function badRequest(error: z.ZodError): Reply {
  return json(400, {
    error: 'invalid request',
    issues: error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

export class UnknownPatientError extends Error {
  constructor() {
    super('no sandbox patient has that NHS number');
    this.name = 'UnknownPatientError';
  }
}
