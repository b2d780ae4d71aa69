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
  | 'verify_page'
  | 'verify_submit'
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
  /** Default: every /v1 endpoint (register_pds, create/get booking link, send/get message). */
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
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43123 (no trailing slash). */
  readonly url: string;
  readonly apiKey: string;
  readonly practiceGroupId: string;
  requests(filter?: { endpoint?: SandboxEndpoint }): RecordedRequest[];
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
   * ones (`injectFault`) by `Fault['kind']`.
   */
  faultCounts(): Record<string, number>;
  bookingLinks(): BookingLinkSummary[];
  messages(): MessageSummary[];
  /**
   * Clears requests, links, messages, faults and fault counts; restores patients, rate limit and
   * fault rates to the start options.
   */
  reset(): void;
  close(): Promise<void>;
}
