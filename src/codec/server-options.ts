import type { KeyRing } from './keys';

export interface CodecServerOptions {
  ring: KeyRing;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Exact browser origins allowed to call, e.g. http://localhost:8233 (the Temporal Web UI). */
  allowedOrigins: string[];
  /** If set, every request needs `Authorization: Bearer <token>`. */
  authToken?: string;
  /** If set, only these `X-Namespace` values are served. */
  namespaces?: string[];
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}
