import type { SandboxEndpoint } from './types';

export interface Route {
  endpoint: SandboxEndpoint;
  /** `{id}`, `{token}` or `{code}` from the path. */
  param?: string;
}

/** Maps method and path (never the query string) to an endpoint. /v1 paths not listed here are 'unknown' (404 after auth). */
export function classify(method: string, path: string): Route {
  if (path === '/__sandbox' || path.startsWith('/__sandbox/')) return { endpoint: 'admin' };
  let m: RegExpExecArray | null;
  if (method === 'POST' && path === '/v1/patients/register_pds') return { endpoint: 'register_pds' };
  // CreateBookingLink's path is INFERRED (docs/hero-api.md §2.2), like src/hero/inferred.ts.
  if (method === 'POST' && path === '/v1/booking_links') return { endpoint: 'create_booking_link' };
  if (method === 'GET' && (m = /^\/v1\/booking_links\/([^/]+)$/.exec(path))) {
    return { endpoint: 'get_booking_link', param: m[1] };
  }
  if (method === 'POST' && path === '/v1/messages/send') return { endpoint: 'send_message' };
  if (method === 'GET' && (m = /^\/v1\/messages\/([^/]+)$/.exec(path))) return { endpoint: 'get_message', param: m[1] };
  // The sent-messages list's path is INFERRED (src/hero/inferred.ts LIST_SENT_MESSAGES_PATH).
  if (method === 'GET' && path === '/v1/messages') return { endpoint: 'list_sent_messages' };
  if (method === 'GET' && (m = /^\/v1\/appointments\/([^/]+)$/.exec(path))) {
    return { endpoint: 'get_appointment', param: m[1] };
  }
  if (method === 'POST' && path === '/v1/webhooks') return { endpoint: 'create_webhook' };
  if (method === 'GET' && path === '/v1/webhooks') return { endpoint: 'list_webhooks' };
  if (method === 'GET' && (m = /^\/s\/([^/]+)$/.exec(path))) return { endpoint: 'booking_page', param: m[1] };
  if (method === 'POST' && (m = /^\/s\/([^/]+)\/book$/.exec(path))) return { endpoint: 'booking_submit', param: m[1] };
  if ((m = /^\/verify\/([^/]+)$/.exec(path))) {
    if (method === 'GET') return { endpoint: 'verify_page', param: m[1] };
    if (method === 'POST') return { endpoint: 'verify_submit', param: m[1] };
  }
  return { endpoint: 'unknown' };
}

export function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}
