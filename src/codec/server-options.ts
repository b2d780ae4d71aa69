import type { KeyRing } from './keys';

export interface CodecServerOptions {
  /** Decrypts with every key, encrypts with the first. */
  ring: KeyRing;
  /** @default 0 (any free port; {@link CodecServer.url} says which) */
  port?: number;
  /** The address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Exact browser origins allowed to call, e.g. http://localhost:8233 (the Temporal Web UI). */
  allowedOrigins: string[];
  /**
   * `Host` header values served besides the defaults (the bind host, localhost, 127.0.0.1 and [::1], each
   * with the server's port): "name" (any port) or "name:port". Any other Host is refused (DNS rebinding).
   * @default [] (the defaults only)
   */
  allowedHosts?: string[];
  /**
   * If set, every request needs `Authorization: Bearer <token>` (16+ characters; 32+ off loopback).
   * @default undefined: no token, allowed on a loopback `host` only
   */
  authToken?: string;
  /** If set, only these `X-Namespace` values are served. @default undefined: any namespace */
  namespaces?: string[];
  /** Payloads per request. @default {@link DEFAULT_MAX_PAYLOADS} (1000) */
  maxPayloads?: number;
  /** Bytes per response body. @default {@link DEFAULT_MAX_RESPONSE_BYTES} (16 MiB) */
  maxResponseBytes?: number;
  /** Time to receive the request line and headers. @default {@link DEFAULT_HEADERS_TIMEOUT_MS} (5000) */
  headersTimeoutMs?: number;
  /** Time to receive the body once the headers are in. @default {@link DEFAULT_BODY_TIMEOUT_MS} (5000) */
  bodyTimeoutMs?: number;
  /**
   * Time to receive the whole request (headers and body). Not below headersTimeoutMs.
   * @default {@link DEFAULT_REQUEST_TIMEOUT_MS} (10000)
   */
  requestTimeoutMs?: number;
}

/**
 * The Temporal Web UI and `temporal --codec-endpoint` send one Payloads field per request (one call's
 * arguments, a result, one failure's attributes), and hero-flow's workflows and activities take a single
 * argument: a handful of payloads, never hundreds. 1,000 bounds a request's work to about 20 ms of
 * encryption (about 15-18 µs a payload, see docs/patient-data.md), where 1.39 million empty payloads took 21 s.
 */
export const DEFAULT_MAX_PAYLOADS = 1_000;
/** 4 MiB of request body at most (MAX_BODY_BYTES) encrypts to under 6 MiB; 16 MiB leaves room for decodes. */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 5_000;
export const DEFAULT_BODY_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface CodecServer {
  /** `http://host:port`, with the port it listens on. */
  url: string;
  /** Stops listening and ends open connections. Rejects only if the server was not listening. */
  close(): Promise<void>;
}
