import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { handleAdmin, UnknownPatientError } from './admin';
import { type ApiContext, handleApi } from './api';
import { AppointmentStore, appointmentSummary, type StoredAppointment } from './appointments';
import {
  badBookingPage,
  bookedPage,
  BookingLinkStore,
  bookingFormPage,
  linkActive,
  linkInactivePage,
  linkNotFoundPage,
  offeredSlots,
} from './booking-links';
import { SandboxConflictError, SandboxNotFoundError } from './errors';
import { FaultQueue, MALFORMED_JSON_BODY, RandomFaults, schemaViolationBody } from './faults';
import { BodyTooLargeError, heroError, html, json, NOT_JSON, parseJsonBody, readBody, type Reply } from './http';
import { MessageStore } from './messages';
import { DEFAULT_PATIENTS, PatientStore } from './patients';
import { rateLimitOptionsSchema, TokenBucket } from './rate-limit';
import { classify, isApiPath, type Route } from './routes';
import { DEFAULT_MAX_RECORDED, recordBySeq, wakeableSleep } from './shared';
import type {
  AppointmentEventType,
  AppointmentSummary,
  BookingLinkSummary,
  BookOptions,
  Fault,
  FaultRates,
  MessageStatusOptions,
  MessageSummary,
  RandomFaultKind,
  RateLimitOptions,
  RecordedRequest,
  Sandbox,
  SandboxEndpoint,
  SandboxOptions,
  SandboxPatient,
  WebhookDeliveryRecord,
  WebhookFaultKind,
  WebhookFaultRates,
  WebhookSigningOptions,
  WebhookSummary,
} from './types';
import { notFoundPage, verifiedPage, verifyFormPage } from './verify-page';
import { deliveryTarget, WebhookDispatcher, WebhookStore } from './webhooks';

const startTimeSchema = z.iso.datetime({ offset: true });
const bookOptionsSchema = z.strictObject({ startTime: startTimeSchema.optional(), notify: z.boolean().optional() });

/** What to do with the socket once handling is done. */
type Outcome = { reply: Reply; resetAfter?: boolean } | { resetBefore: true } | { abandoned: true };

/**
 * Order of checks on a /v1 request: latency, then authentication (401, then 403), then an
 * injected fault, then the rate limit, then normal handling. Authenticating before rate
 * limiting is how an API gateway behaves: unauthenticated calls never spend a practice's
 * quota. Faults come before the rate limit so that "the next request gets this fault" holds
 * even when the bucket is empty; 'delay' and 'reset_after' go on to the rate limit and the
 * normal handler. /verify, /s and /__sandbox take no auth, latency or rate limit, but faults.
 */
class SandboxServer implements Sandbox {
  readonly apiKey: string;
  readonly practiceGroupId: string;
  readonly practiceGroups: Readonly<Record<string, string>>;
  url = '';

  readonly #server: Server;
  readonly #now: () => number;
  readonly #latencyMs: number;
  readonly #initialRateLimit: RateLimitOptions | undefined;
  /** Each key's digest and the one group it is tied to. */
  readonly #keys: { digest: Buffer; group: string }[];
  readonly #patients: PatientStore;
  readonly #links = new BookingLinkStore();
  readonly #messages = new MessageStore();
  readonly #appointments = new AppointmentStore();
  readonly #webhooks = new WebhookStore();
  readonly #dispatcher: WebhookDispatcher;
  readonly #initialMessageStatus: MessageStatusOptions | undefined;
  readonly #initialSentMessagesList: boolean;
  #sentMessagesList: boolean;
  readonly #initialWebhookSigning: WebhookSigningOptions | undefined;
  readonly #initialWebhookFaultRates: WebhookFaultRates | undefined;
  readonly #faults = new FaultQueue();
  readonly #initialFaultRates: FaultRates | undefined;
  #randomFaults: RandomFaults | undefined;
  #faultCounts = new Map<string, number>();
  #bucket: TokenBucket | undefined;
  #log: RecordedRequest[] = [];
  readonly #maxRecorded: number;
  #dropped = 0;
  #seq = 0;
  /** Bumped by reset() and close(): requests in flight across it are abandoned unrecorded. */
  #generation = 0;
  readonly #sleeps = new Set<() => void>();

  constructor(opts: SandboxOptions) {
    this.apiKey = opts.apiKey ?? 'sandbox-key';
    this.practiceGroupId = opts.practiceGroupId ?? '1';
    this.#now = opts.now ?? Date.now;
    this.#latencyMs = opts.latencyMs ?? 0;
    this.#maxRecorded = opts.maxRecordedRequests ?? DEFAULT_MAX_RECORDED;
    if (!Number.isSafeInteger(this.#maxRecorded) || this.#maxRecorded < 1)
      throw new RangeError('maxRecordedRequests must be a positive whole number');
    if (!Number.isFinite(this.#latencyMs) || this.#latencyMs < 0) throw new RangeError('latencyMs must be >= 0');
    this.#initialRateLimit = opts.rateLimit && rateLimitOptionsSchema.parse(opts.rateLimit);
    this.practiceGroups = Object.freeze({ ...opts.practiceGroups, [this.practiceGroupId]: this.apiKey });
    const keys = Object.values(this.practiceGroups);
    if (new Set(keys).size !== keys.length) throw new RangeError('each practice group needs a key of its own');
    this.#keys = Object.entries(this.practiceGroups).map(([group, key]) => ({ digest: digest(key), group }));
    this.#patients = new PatientStore(opts.patients ?? DEFAULT_PATIENTS);
    this.setRateLimit(this.#initialRateLimit);
    this.#initialFaultRates = opts.faultRates && structuredClone(opts.faultRates);
    this.setFaultRates(this.#initialFaultRates);
    this.#initialMessageStatus = opts.messageStatus && structuredClone(opts.messageStatus);
    this.#messages.setSequence(this.#initialMessageStatus);
    this.#initialSentMessagesList = z.boolean().parse(opts.sentMessagesList ?? true);
    this.#sentMessagesList = this.#initialSentMessagesList;
    this.#dispatcher = new WebhookDispatcher({
      now: this.#now,
      practiceGroupId: this.practiceGroupId,
      onFault: (kind) => this.#countFault(kind),
      delivery: opts.webhookDelivery,
    });
    this.#initialWebhookSigning = opts.webhookSigning && structuredClone(opts.webhookSigning);
    this.setWebhookSigning(this.#initialWebhookSigning);
    this.#initialWebhookFaultRates = opts.webhookFaultRates && structuredClone(opts.webhookFaultRates);
    this.setWebhookFaultRates(this.#initialWebhookFaultRates);
    this.#server = createServer((req, res) => {
      this.#onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    this.url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}`;
  }

  get requestsDropped(): number {
    return this.#dropped;
  }

  requests(filter: { endpoint?: SandboxEndpoint } = {}): RecordedRequest[] {
    return structuredClone(this.#log.filter((r) => filter.endpoint === undefined || r.endpoint === filter.endpoint));
  }

  addPatient(p: SandboxPatient): void {
    this.#patients.add(p);
  }

  markVerified(nhsNumber: string): void {
    if (!this.#patients.markVerified(nhsNumber)) throw new UnknownPatientError();
  }

  injectFault(endpoint: SandboxEndpoint, fault: Fault, times = 1): void {
    this.#faults.inject(endpoint, fault, times);
  }

  setRateLimit(opts: RateLimitOptions | undefined): void {
    this.#bucket = opts && new TokenBucket({ ...opts }, this.#now);
  }

  setFaultRates(rates: FaultRates | undefined): void {
    this.#randomFaults = rates && new RandomFaults(rates);
  }

  faultCounts(): Record<string, number> {
    return Object.fromEntries(this.#faultCounts);
  }

  bookingLinks(): BookingLinkSummary[] {
    return this.#links.list(this.url);
  }

  messages(): MessageSummary[] {
    return this.#messages.list();
  }

  book(linkId: string, opts: BookOptions = {}): AppointmentSummary {
    return appointmentSummary(this.#book(linkId, opts).appointment);
  }

  cancelAppointment(appointmentId: string, opts: { notify?: boolean } = {}): AppointmentSummary {
    const appointment = this.#openAppointment(appointmentId);
    appointment.cancelledAt = this.#now();
    if (opts.notify !== false) this.#emit('appointment.cancelled', appointment.id);
    return appointmentSummary(appointment);
  }

  rescheduleAppointment(appointmentId: string, startTime: string, opts: { notify?: boolean } = {}): AppointmentSummary {
    const start = new Date(startTimeSchema.parse(startTime)).toISOString();
    const appointment = this.#openAppointment(appointmentId);
    appointment.startTime = start;
    if (opts.notify !== false) this.#emit('appointment.rescheduled', appointment.id);
    return appointmentSummary(appointment);
  }

  appointments(): AppointmentSummary[] {
    return this.#appointments.list();
  }

  setMessageStatus(messageId: string, status: string): void {
    if (!this.#messages.setStatus(messageId, status)) throw new SandboxNotFoundError('no message has that id');
  }

  setMessageStatusSequence(sequence: string[] | undefined): void {
    this.#messages.setSequence(sequence && { sequence });
  }

  setSentMessagesList(enabled: boolean): void {
    this.#sentMessagesList = z.boolean().parse(enabled);
  }

  webhooks(): WebhookSummary[] {
    return this.#webhooks.summaries();
  }

  injectWebhookFault(fault: WebhookFaultKind, times = 1): void {
    this.#dispatcher.inject(fault, times);
  }

  setWebhookFaultRates(rates: WebhookFaultRates | undefined): void {
    this.#dispatcher.setFaultRates(rates);
  }

  setWebhookSigning(opts: WebhookSigningOptions | undefined): void {
    this.#dispatcher.setSigning(opts);
  }

  webhookDeliveries(): WebhookDeliveryRecord[] {
    return this.#dispatcher.records();
  }

  settleWebhooks(): Promise<void> {
    return this.#dispatcher.settle();
  }

  reset(): void {
    this.#generation += 1;
    this.#wakeSleepers();
    this.#dispatcher.reset();
    this.#log = [];
    this.#dropped = 0;
    this.#seq = 0;
    this.#links.reset();
    this.#messages.reset();
    this.#messages.setSequence(this.#initialMessageStatus);
    this.#sentMessagesList = this.#initialSentMessagesList;
    this.#appointments.reset();
    this.#webhooks.reset();
    this.setWebhookSigning(this.#initialWebhookSigning);
    this.setWebhookFaultRates(this.#initialWebhookFaultRates);
    this.#faults.clear();
    this.#patients.reset();
    this.setRateLimit(this.#initialRateLimit);
    this.#faultCounts.clear();
    this.setFaultRates(this.#initialFaultRates);
  }

  async close(): Promise<void> {
    this.#generation += 1;
    this.#wakeSleepers();
    this.#dispatcher.close();
    await new Promise<void>((resolve, reject) => {
      this.#server.close((err) => (err ? reject(err) : resolve()));
      this.#server.closeAllConnections();
    });
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const generation = this.#generation;
    const seq = ++this.#seq;
    const at = this.#now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const route = classify(method, url.pathname);
    const record: RecordedRequest = {
      seq,
      at,
      method,
      path: url.pathname,
      endpoint: route.endpoint,
      status: 0,
      body: undefined,
    };

    let outcome: Outcome;
    try {
      const text = await readBody(req);
      const body = parseJsonBody(text);
      if (body !== NOT_JSON) record.body = body;
      outcome =
        generation === this.#generation
          ? await this.#process(req, url, route, { text, json: body }, record, generation)
          : { abandoned: true };
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      outcome = { reply: heroError(413, 'Payload Too Large') };
    }

    if ('abandoned' in outcome) {
      req.socket.destroy();
      return;
    }
    if ('resetBefore' in outcome || outcome.resetAfter) {
      req.socket.destroy();
    } else {
      record.status = outcome.reply.status;
      res.writeHead(outcome.reply.status, outcome.reply.headers).end(outcome.reply.body);
    }
    // A request that itself reset the sandbox (POST /__sandbox/reset) is answered, not logged.
    if (generation === this.#generation) this.#record(record);
  }

  async #process(
    req: IncomingMessage,
    url: URL,
    route: Route,
    body: { text: string; json: unknown },
    record: RecordedRequest,
    generation: number,
  ): Promise<Outcome> {
    const api = isApiPath(url.pathname);
    if (api && this.#latencyMs > 0) {
      await this.#sleep(this.#latencyMs);
      if (generation !== this.#generation) return { abandoned: true };
    }
    let group = this.practiceGroupId;
    if (api) {
      const header = req.headers['x-practice-group-id'];
      if (typeof header === 'string') record.practiceGroupId = header;
      const auth = this.#authenticate(req);
      if ('denied' in auth) return { reply: auth.denied };
      group = auth.group;
    }

    const { fault, randomKind } = this.#takeFault(route.endpoint, api) ?? {};
    if (fault) record.fault = fault.kind;
    if (randomKind) record.randomFault = randomKind;
    let resetAfter = false;
    switch (fault?.kind) {
      case undefined:
        break;
      case 'status':
        return {
          reply: json(fault.status, fault.body ?? { error: true, statusCode: fault.status, message: 'Injected fault' }),
        };
      case 'rate_limit':
        return { reply: heroError(429, 'Too Many Requests', retryAfterHeader(fault.retryAfter)) };
      case 'malformed_json':
        return { reply: { status: 200, headers: { 'content-type': 'application/json' }, body: MALFORMED_JSON_BODY } };
      case 'schema_violation':
        return { reply: json(200, schemaViolationBody(route.endpoint)) };
      case 'reset_before':
        return { resetBefore: true };
      case 'delay':
        await this.#sleep(fault.ms);
        if (generation !== this.#generation) return { abandoned: true };
        break;
      case 'reset_after':
        resetAfter = true;
        break;
    }

    if (api && this.#bucket) {
      const taken = this.#bucket.take();
      if (!taken.ok) {
        const header = this.#bucket.retryAfterHeader(taken.retryAfterSeconds);
        return { reply: heroError(429, 'Too Many Requests', retryAfterHeader(header)), resetAfter };
      }
    }
    return { reply: await this.#handle(req.method ?? 'GET', url, route, body, group), resetAfter };
  }

  async #handle(
    method: string,
    url: URL,
    route: Route,
    body: { text: string; json: unknown },
    group: string,
  ): Promise<Reply> {
    if (isApiPath(url.pathname)) return handleApi(this.#apiContext(group), route, body.json, url.searchParams);
    switch (route.endpoint) {
      case 'admin':
        return handleAdmin(this, method, url, body.json);
      case 'verify_page': {
        const patient = this.#patients.byToken(route.param ?? '');
        return patient ? html(200, verifyFormPage(patient.verifyToken)) : html(404, notFoundPage());
      }
      case 'verify_submit': {
        const patient = this.#patients.byToken(route.param ?? '');
        if (!patient) return html(404, notFoundPage());
        this.#patients.markVerified(patient.nhsNumber);
        return html(200, verifiedPage());
      }
      case 'booking_page': {
        const link = this.#links.open(route.param ?? '');
        if (!link) return html(404, linkNotFoundPage());
        const now = this.#now();
        return linkActive(link, now) ? html(200, bookingFormPage(link, now)) : html(410, linkInactivePage());
      }
      case 'booking_submit':
        return this.#bookFromPage(route.param ?? '', body.text);
      default:
        return json(404, { error: 'Not Found' });
    }
  }

  /** The booking page's form (application/x-www-form-urlencoded): `start_time`, and `notify=false` to stay silent. */
  #bookFromPage(code: string, text: string): Reply {
    const link = this.#links.byCode(code);
    if (!link) return html(404, linkNotFoundPage());
    if (!linkActive(link, this.#now())) return html(410, linkInactivePage());
    const form = new URLSearchParams(text);
    const startTime = form.get('start_time') || undefined;
    if (startTime !== undefined && !startTimeSchema.safeParse(startTime).success) return html(400, badBookingPage());
    const { appointment, notified } = this.#book(link.id, { startTime, notify: form.get('notify') !== 'false' });
    return html(200, bookedPage(appointmentSummary(appointment), notified));
  }

  #book(linkId: string, opts: BookOptions): { appointment: StoredAppointment; notified: number | undefined } {
    const o = bookOptionsSchema.parse(opts);
    const link = this.#links.get(linkId);
    if (!link) throw new SandboxNotFoundError('no booking link has that id');
    const now = this.#now();
    if (!linkActive(link, now)) throw new SandboxConflictError('the booking link is not active: expired or used up');
    this.#links.recordUse(link);
    const r = link.request;
    const appointment = this.#appointments.create({
      linkId: link.id,
      patientId: r.patient_id,
      practitionerId: r.practitioner_id,
      locationId: r.location_id,
      appointmentTypeId: r.appointment_type_id,
      startTime: new Date(o.startTime ?? offeredSlots(link, now)[0]).toISOString(),
      bookingConfirmedAt: now,
    });
    const notified =
      o.notify === false ? undefined : this.#emit('appointment.confirmed', appointment.id, link.practiceGroupId);
    return { appointment, notified };
  }

  /** An appointment that exists and is not cancelled. */
  #openAppointment(appointmentId: string): StoredAppointment {
    const appointment = this.#appointments.get(appointmentId);
    if (!appointment) throw new SandboxNotFoundError('no appointment has that id');
    if (appointment.cancelledAt !== undefined) throw new SandboxConflictError('the appointment is cancelled');
    return appointment;
  }

  /** Hands the event to the dispatcher (which never blocks); returns how many subscriptions it goes to. */
  #emit(event: AppointmentEventType, appointmentId: string, practiceGroupId?: string): number {
    const targets = this.#webhooks.list(event).map(deliveryTarget);
    // About the group whose key made the appointment's link.
    const group =
      practiceGroupId ?? this.#links.get(this.#appointments.get(appointmentId)?.linkId ?? '')?.practiceGroupId;
    this.#dispatcher.emit(event, appointmentId, targets, group);
    return targets.length;
  }

  #countFault(kind: string): void {
    this.#faultCounts.set(kind, (this.#faultCounts.get(kind) ?? 0) + 1);
  }

  /** A scripted fault first (FIFO); else, for /v1 requests, a random one by rate. Counted by kind. */
  #takeFault(endpoint: SandboxEndpoint, api: boolean): { fault: Fault; randomKind?: RandomFaultKind } | undefined {
    const scripted = this.#faults.take(endpoint);
    if (scripted) {
      this.#countFault(scripted.kind);
      return { fault: scripted };
    }
    const drawn = api ? this.#randomFaults?.draw(endpoint) : undefined;
    if (!drawn) return undefined;
    this.#countFault(drawn.kind);
    return { fault: drawn.fault, randomKind: drawn.kind };
  }

  /**
   * 401 for a missing or unknown key; 403 for a known key with another (or no) practice group than the one it
   * is tied to, as Hero answers a practice-tied key (docs/hero-api.md, the 403 row).
   */
  #authenticate(req: IncomingMessage): { group: string } | { denied: Reply } {
    const key = req.headers['x-api-key'];
    const d = typeof key === 'string' ? digest(key) : undefined;
    const owner = d && this.#keys.find((k) => timingSafeEqual(d, k.digest));
    if (!owner) return { denied: heroError(401, 'Unauthorised') };
    if (req.headers['x-practice-group-id'] !== owner.group) return { denied: heroError(403, 'Forbidden') };
    return { group: owner.group };
  }

  #apiContext(group: string): ApiContext {
    return {
      baseUrl: this.url,
      practiceGroupId: group,
      now: this.#now,
      patients: this.#patients,
      links: this.#links,
      messages: this.#messages,
      appointments: this.#appointments,
      webhooks: this.#webhooks,
      sentMessagesList: this.#sentMessagesList,
    };
  }

  #record(r: RecordedRequest): void {
    this.#dropped += recordBySeq(this.#log, r, this.#maxRecorded);
  }

  /** A timer that reset() and close() cut short. */
  #sleep(ms: number): Promise<void> {
    return wakeableSleep(ms, this.#sleeps);
  }

  #wakeSleepers(): void {
    for (const wake of [...this.#sleeps]) wake();
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function retryAfterHeader(value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { 'retry-after': value };
}

/** Starts a sandbox Hero API on loopback (a random port unless `port` is given). */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = new SandboxServer(opts);
  await sandbox.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return sandbox;
}
