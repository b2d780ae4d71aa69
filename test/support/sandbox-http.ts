import type { Sandbox } from '../../tools/sandbox';

/** A sandbox answer, its body read once: as text, and as JSON when it parses. */
export interface SandboxResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * One request to the sandbox over loopback HTTP, by default with its API key and practice group, as
 * Hero's callers send them. A string body goes as it is (for malformed JSON); any other is JSON-encoded.
 */
export async function call(
  sb: Sandbox,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'x-api-key': sb.apiKey, 'x-practice-group-id': sb.practiceGroupId },
): Promise<SandboxResponse> {
  const res = await fetch(sb.url + path, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A request to the sandbox's admin API (`/__sandbox/...`), sent without credentials. */
export const admin = (sb: Sandbox, method: string, path: string, body?: unknown) =>
  call(sb, method, `/__sandbox${path}`, body, {});
