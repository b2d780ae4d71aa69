/** The sandbox's public types: other code (worker tests, dev scripts) depends on these exact names. */

export interface SandboxPatient {
  /** 10 digits, passing the NHS Modulus 11 check. */
  nhsNumber: string;
  /** YYYY-MM-DD. */
  dob: string;
  /** Hero patient id: a numeric string. */
  patientId: string;
  /** register_pds answers `{message, login_url}` until the patient has verified. */
  needsVerification?: boolean;
  verified?: boolean;
}

export interface RateLimitOptions {
  /** Bucket size: how many calls may burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Form of the `Retry-After` header on a 429: delta-seconds (default), HTTP-date, or absent. */
  retryAfter?: 'seconds' | 'http-date' | 'none';
}

export type SandboxEndpoint =
  | 'register_pds'
  | 'create_booking_link'
  | 'get_booking_link'
  | 'send_message'
  | 'get_message'
  | 'get_appointment'
  | 'list_sent_messages'
  | 'create_webhook'
  | 'list_webhooks'
  | 'verify_page'
  | 'verify_submit'
  /** `GET /s/{code}`: the short link's booking page. */
  | 'booking_page'
  /** `POST /s/{code}/book`: the booking page's form. */
  | 'booking_submit'
  | 'admin'
  | 'unknown';

export type Fault =
  /** Any status, with an optional JSON body (default: a Hero-like error body). */
  | { kind: 'status'; status: number; body?: unknown }
  /** 429 with exactly this `Retry-After` value (no header if undefined). */
  | { kind: 'rate_limit'; retryAfter?: string }
  /** 200 whose body is not JSON. */
  | { kind: 'malformed_json' }
  /** 200 JSON that does not match the documented shape. */
  | { kind: 'schema_violation' }
  /** Wait `ms`, then handle the request normally (for client timeouts). */
  | { kind: 'delay'; ms: number }
  /** Destroy the socket without processing the request. */
  | { kind: 'reset_before' }
  /** Process the request (side effects happen) then destroy the socket instead of answering. */
  | { kind: 'reset_after' };

/** Kinds of fault the sandbox can inject at random, at a configured rate (see `FaultRates`). */
export type RandomFaultKind =
  /** A 500, 502 or 503 with a Hero-like error body. */
  | 'server_error'
  /** Wait `latencyMs`, then answer normally. */
  | 'latency'
  /** Hold the response for `timeoutMs` (longer than a client's timeout), then answer normally. */
  | 'timeout'
  /** Destroy the socket without processing the request. */
  | 'reset_before'
  /** Process the request (side effects happen), then destroy the socket instead of answering. */
  | 'reset_after'
  /** 200 whose body is not JSON. */
  | 'malformed_json'
  /** 200 JSON that does not match the documented shape. */
  | 'schema_violation'
  /** 429 with `Retry-After: 1`. */
  | 'rate_limit_storm';

/**
 * Random fault injection: each /v1 request to one of `endpoints` independently draws at most one
 * fault, kind `k` with probability `rates[k]` (the rates must sum to at most 1), from a PRNG seeded
 * with `seed`, so the same requests in the same order get the same faults. Scripted faults
 * (`injectFault`) take precedence.
 */
export interface FaultRates {
  /** PRNG seed (default 1). */
  seed?: number;
  rates: Partial<Record<RandomFaultKind, number>>;
  /** Added by a 'latency' fault; default 200. */
  latencyMs?: number;
  /** How long a 'timeout' fault holds the response; default 15000. */
  timeoutMs?: number;
  /**
   * Default: every /v1 endpoint (register_pds, create/get booking link, send/get/list messages, get appointment,
   * create/list webhooks).
   */
  endpoints?: SandboxEndpoint[];
}

export interface RecordedRequest {
  /** Arrival order, from 1 (restarts at 1 after reset()). */
  seq: number;
  /** Arrival time from the sandbox clock, ms since epoch. */
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  endpoint: SandboxEndpoint;
  /** The `x-practice-group-id` of a /v1 request, when it had one. */
  practiceGroupId?: string;
  /** Status sent; 0 if the socket was reset instead. */
  status: number;
  /** Parsed JSON body, or undefined (no body, or not JSON). */
  body: unknown;
  fault?: Fault['kind'];
  /** A random fault's kind (`FaultRates`), which `fault` alone does not tell: a timeout and a latency are both 'delay'. */
  randomFault?: RandomFaultKind;
}

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** Default 'sandbox-key'. */
  apiKey?: string;
  /** Default '1'. */
  practiceGroupId?: string;
  /**
   * More practice groups, each with its own key (group → key), besides `practiceGroupId` with `apiKey`. A key
   * is tied to its group, as a practice-tied Hero key is: with another group's `x-practice-group-id` it gets 403.
   * Default: none. Data (patients, links, messages) is shared by the groups.
   */
  practiceGroups?: Record<string, string>;
  /** Default DEFAULT_PATIENTS. */
  patients?: SandboxPatient[];
  /** Default: no rate limit. */
  rateLimit?: RateLimitOptions;
  /** Added to every /v1 response, default 0. */
  latencyMs?: number;
  /** Injectable clock (rate limit, timestamps), default Date.now. */
  now?: () => number;
  /** Default: no random faults. */
  faultRates?: FaultRates;
  /** Delivery status that `GET /v1/messages/{id}` reports. Default: 'delivered' at once. */
  messageStatus?: MessageStatusOptions;
  /** Whether `GET /v1/messages?patient_id=…` (INFERRED, src/hero/inferred.ts) exists. Default true; false → 404. */
  sentMessagesList?: boolean;
  /** How deliveries are signed. Default: hex signature, timestamp in Unix seconds. */
  webhookSigning?: WebhookSigningOptions;
  /** Retries, timeouts and the hold of a 'reordered' delivery. */
  webhookDelivery?: WebhookDeliveryOptions;
  /** Default: no random webhook faults. */
  webhookFaultRates?: WebhookFaultRates;
  /**
   * How many requests `requests()` keeps: the oldest are dropped beyond it (`requestsDropped` counts them).
   * A positive whole number; default 10,000. A benchmark that counts every call sets it above its calls.
   */
  maxRecordedRequests?: number;
}

export interface MessageStatusOptions {
  /**
   * Each read of one message (`GET /v1/messages/{id}`) reports the next status of the sequence, then stays on
   * the last, e.g. ['queued', 'sent', 'delivered']. Non-empty; any strings (unknown ones test "not final").
   */
  sequence: string[];
}

/** docs/hero-api.md §5: the appointment events a delivery can carry. */
export type AppointmentEventType = 'appointment.confirmed' | 'appointment.cancelled' | 'appointment.rescheduled';

/** docs/hero-api.md §5 leaves both NOT DOCUMENTED, so the sandbox lets a test choose. */
export interface WebhookSigningOptions {
  /** Encoding of `X-Herohealth-Signature`. Default 'hex'. */
  encoding?: 'hex' | 'base64';
  /** Form of `X-Herohealth-Timestamp`: '1718000000', '1718000000000' or '2024-06-10T06:13:20.000Z'. Default 'unix-seconds'. */
  timestamp?: 'unix-seconds' | 'unix-ms' | 'iso';
}

export interface WebhookDeliveryOptions {
  /** Attempts per delivery, the first included (default 4): retried on a non-2xx or a connection error. */
  attempts?: number;
  /** Wait before the second attempt, doubling after each (default 200). */
  backoffMs?: number;
  /** One attempt's timeout; a timeout is recorded as status 0 (default 5000). */
  timeoutMs?: number;
  /** A 'reordered' delivery waits for a later event's delivery, at most this long (default 1000). */
  maxHoldMs?: number;
}

export type WebhookFaultKind =
  /** Never sent, not retried (recorded with attempt 0, status 0). */
  | 'lost'
  /** Sent twice: the delivery, then a second copy (recorded with this fault), each retried. */
  | 'duplicated'
  /** Held back until a later event's delivery has finished (or `maxHoldMs`), then sent. */
  | 'reordered'
  /** Before the real delivery, one copy of the same body signed with a wrong key (not retried). */
  | 'forged';

/**
 * Random webhook faults: each delivery (one event to one subscription) independently draws at most one fault,
 * kind `k` with probability `rates[k]` (sum at most 1), from a PRNG seeded with `seed`. Scripted ones
 * (`injectWebhookFault`) take precedence.
 */
export interface WebhookFaultRates {
  /** PRNG seed (default 1). */
  seed?: number;
  rates: Partial<Record<WebhookFaultKind, number>>;
}

/** One delivery attempt (or one lost delivery), in the order attempts started. */
export interface WebhookDeliveryRecord {
  /** From 1 (restarts after reset()). */
  seq: number;
  /** Which event (from 1): every copy and attempt of one event's deliveries shares it. */
  eventSeq: number;
  event: AppointmentEventType;
  appointmentId: string;
  webhookId: string;
  url: string;
  /** 1 for the first attempt of a copy; 0 when nothing was sent ('lost'). */
  attempt: number;
  /** The receiver's HTTP status; 0 for a connection error, a timeout, or nothing sent. */
  status: number;
  /** Set on the copy the fault made or changed: the lost one, the second copy, the held one, the forged one. */
  fault?: WebhookFaultKind;
  /** When the attempt started, from the sandbox clock (ms since epoch). */
  at: number;
}

export interface AppointmentSummary {
  /** Numeric string, from 7001. */
  id: string;
  /** The booking link it was booked through. */
  linkId: string;
  patientId?: string;
  /** ISO 8601. */
  startTime: string;
  status: 'confirmed' | 'cancelled';
  /** ms since epoch. */
  bookingConfirmedAt: number;
  cancelledAt?: number;
}

export interface WebhookSummary {
  id: string;
  eventType: string;
  url: string;
  hasSigningKey: boolean;
  headers: Record<string, string>;
  description?: string;
  createdAt: number;
  /** The practice group whose key subscribed it. */
  practiceGroupId?: string;
}

export interface BookOptions {
  /** ISO 8601 with an offset. Default: the first slot the booking page offers. */
  startTime?: string;
  /** Fire `appointment.confirmed` (default true). false: the booking happens, no webhook ever comes. */
  notify?: boolean;
}

export interface BookingLinkSummary {
  id: string;
  patientId?: string;
  url: string;
  createdAt: number;
}

export interface MessageSummary {
  id: string;
  patientId: string;
  messageType: string;
  text: string;
  shortLinkId?: string;
  createdAt: number;
  /** The status the last read reported (the first one of the sequence if never read); reading here advances nothing. */
  status: string;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43123 (no trailing slash). */
  readonly url: string;
  readonly apiKey: string;
  readonly practiceGroupId: string;
  /** Every group served and its key, `practiceGroupId` with `apiKey` included. */
  readonly practiceGroups: Readonly<Record<string, string>>;
  requests(filter?: { endpoint?: SandboxEndpoint }): RecordedRequest[];
  /** Requests dropped from `requests()` since the start (or reset()) because more than `maxRecordedRequests` came. */
  readonly requestsDropped: number;
  /** Adds a patient, or replaces the one with the same NHS number (its verification token is kept). */
  addPatient(p: SandboxPatient): void;
  markVerified(nhsNumber: string): void;
  /** The next `times` (default 1) requests to `endpoint` get `fault`, FIFO. */
  injectFault(endpoint: SandboxEndpoint, fault: Fault, times?: number): void;
  setRateLimit(opts: RateLimitOptions | undefined): void;
  /** Turns random fault injection on (validated; restarts the PRNG from the seed) or off (undefined). */
  setFaultRates(rates: FaultRates | undefined): void;
  /**
   * Faults injected since start or reset(), by kind: random ones by `RandomFaultKind`, scripted
   * ones (`injectFault`) by `Fault['kind']`, webhook ones (scripted or random) by `WebhookFaultKind`.
   */
  faultCounts(): Record<string, number>;
  bookingLinks(): BookingLinkSummary[];
  messages(): MessageSummary[];
  /**
   * The patient books through the link, as the booking page does: an appointment with `link_id`, the link's
   * `number_of_uses` + 1, and `appointment.confirmed` to every subscription unless `notify` is false.
   * Throws SandboxNotFoundError for an unknown link, SandboxConflictError for an inactive one (expired, used up).
   */
  book(linkId: string, opts?: BookOptions): AppointmentSummary;
  /** Fires `appointment.cancelled` unless `notify` is false. Throws for an unknown or already cancelled appointment. */
  cancelAppointment(appointmentId: string, opts?: { notify?: boolean }): AppointmentSummary;
  /** New start time (ISO 8601 with an offset); fires `appointment.rescheduled` unless `notify` is false. */
  rescheduleAppointment(appointmentId: string, startTime: string, opts?: { notify?: boolean }): AppointmentSummary;
  appointments(): AppointmentSummary[];
  /** From now on `GET /v1/messages/{id}` reports this status for the message (any non-empty string). */
  setMessageStatus(messageId: string, status: string): void;
  /** Replaces the `messageStatus` option's sequence for every message (undefined: 'delivered' at once). */
  setMessageStatusSequence(sequence: string[] | undefined): void;
  /** Turns `GET /v1/messages?patient_id=…` on or off (off: 404). */
  setSentMessagesList(enabled: boolean): void;
  webhooks(): WebhookSummary[];
  /** The next `times` (default 1) deliveries get `fault`, FIFO. One delivery is one event to one subscription. */
  injectWebhookFault(fault: WebhookFaultKind, times?: number): void;
  /** Random webhook faults on (validated; restarts the PRNG from the seed) or off (undefined). */
  setWebhookFaultRates(rates: WebhookFaultRates | undefined): void;
  setWebhookSigning(opts: WebhookSigningOptions | undefined): void;
  webhookDeliveries(): WebhookDeliveryRecord[];
  /** Resolves once no delivery is waiting (backoff, hold) or in flight. */
  settleWebhooks(): Promise<void>;
  /**
   * Clears requests, links, messages, appointments, webhooks, deliveries (pending ones are dropped), faults and
   * fault counts; restores patients, rate limit, fault rates, message status sequence, the sent-messages list,
   * webhook signing and webhook fault rates to the start options.
   */
  reset(): void;
  close(): Promise<void>;
}
