import { z } from 'zod';
import { SandboxConflictError, SandboxNotFoundError } from './errors';
import { faultRatesSchema, faultSchema, sandboxEndpointSchema, timesSchema } from './faults';
import { json, NOT_JSON, type Reply } from './http';
import { messageStatusOptionsSchema, messageStatusSchema } from './messages';
import { sandboxPatientSchema } from './patients';
import { rateLimitOptionsSchema } from './rate-limit';
import type { Fault, Sandbox } from './types';
import { webhookFaultKindSchema, webhookFaultRatesSchema, webhookSigningSchema } from './webhooks';

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
const id = z.string().min(1).max(64);
const startTime = z.iso.datetime({ offset: true });
const bookBodySchema = z.strictObject({ linkId: id, startTime: startTime.optional(), notify: z.boolean().optional() });
const cancelBodySchema = z.strictObject({ appointmentId: id, notify: z.boolean().optional() });
const rescheduleBodySchema = z.strictObject({ appointmentId: id, startTime, notify: z.boolean().optional() });
const messageStatusBodySchema = z.strictObject({ messageId: id, status: messageStatusSchema });
const sequenceBodySchema = messageStatusOptionsSchema.nullable();
const sentMessagesListBodySchema = z.strictObject({ enabled: z.boolean() });
const webhookFaultBodySchema = z.strictObject({ fault: webhookFaultKindSchema, times: timesSchema.optional() });
const webhookFaultRatesBodySchema = webhookFaultRatesSchema.nullable();
const webhookSigningBodySchema = webhookSigningSchema.nullable();

export async function handleAdmin(sandbox: Sandbox, method: string, url: URL, body: unknown): Promise<Reply> {
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
        appointments: sandbox.appointments(),
        webhooks: sandbox.webhooks(),
        faultCounts: sandbox.faultCounts(),
      });
    case 'GET /appointments':
      return json(200, { appointments: sandbox.appointments() });
    case 'POST /book':
      return withBody(bookBodySchema, body, (b) => ({
        appointment: sandbox.book(b.linkId, { startTime: b.startTime, notify: b.notify }),
      }));
    case 'POST /cancel':
      return withBody(cancelBodySchema, body, (b) => ({
        appointment: sandbox.cancelAppointment(b.appointmentId, { notify: b.notify }),
      }));
    case 'POST /reschedule':
      return withBody(rescheduleBodySchema, body, (b) => ({
        appointment: sandbox.rescheduleAppointment(b.appointmentId, b.startTime, { notify: b.notify }),
      }));
    case 'POST /message-status':
      return withBody(messageStatusBodySchema, body, (b) => sandbox.setMessageStatus(b.messageId, b.status));
    case 'POST /message-status-sequence':
      return withBody(sequenceBodySchema, body, (opts) => sandbox.setMessageStatusSequence(opts?.sequence));
    case 'POST /sent-messages-list':
      return withBody(sentMessagesListBodySchema, body, (b) => sandbox.setSentMessagesList(b.enabled));
    case 'GET /webhooks':
      return json(200, { webhooks: sandbox.webhooks() });
    case 'GET /webhook-deliveries':
      return json(200, { deliveries: sandbox.webhookDeliveries() });
    case 'POST /webhook-faults':
      return withBody(webhookFaultBodySchema, body, (b) => sandbox.injectWebhookFault(b.fault, b.times));
    case 'POST /webhook-fault-rates':
      return withBody(webhookFaultRatesBodySchema, body, (rates) => sandbox.setWebhookFaultRates(rates ?? undefined));
    case 'POST /webhook-signing':
      return withBody(webhookSigningBodySchema, body, (opts) => sandbox.setWebhookSigning(opts ?? undefined));
    case 'POST /settle-webhooks':
      // Answers once no delivery is pending: another process's stand-in for `await sandbox.settleWebhooks()`.
      await sandbox.settleWebhooks();
      return json(200, { ok: true });
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

/**
 * Errors thrown by the action become 404 (unknown patient, link, message, appointment), 409 (an inactive link,
 * a cancelled appointment) or 400 (an id clash). The answer is `{ ok: true }` and what the action returned.
 */
function withBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  action: (value: z.output<S>) => Record<string, unknown> | void,
): Reply {
  if (body === NOT_JSON) return json(400, { error: 'body is not JSON' });
  const parsed = schema.safeParse(body);
  if (!parsed.success) return badRequest(parsed.error);
  let result: Record<string, unknown> | void;
  try {
    result = action(parsed.data);
  } catch (err) {
    if (err instanceof SandboxNotFoundError) return json(404, { error: err.message });
    if (err instanceof SandboxConflictError) return json(409, { error: err.message });
    return json(400, { error: err instanceof Error ? err.message : String(err) });
  }
  return json(200, { ok: true, ...result });
}

function badRequest(error: z.ZodError): Reply {
  return json(400, {
    error: 'invalid request',
    issues: error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

export class UnknownPatientError extends SandboxNotFoundError {
  constructor() {
    super('no sandbox patient has that NHS number');
    this.name = 'UnknownPatientError';
  }
}
