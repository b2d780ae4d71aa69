/**
 * The characters a Hero id (appointment, booking link, message, patient) may have where we put it into
 * a request path, a workflow ID or a visibility query: Hero's ids are numeric strings
 * (docs/hero-api.md §2.6, §6), so anything outside this set is not one of Hero's, and must not reach
 * the path, the ID or the query. No `g` flag: `.test()` keeps no state, so the one RegExp can be shared.
 */
export const HERO_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * One or more visible ASCII characters (0x21-0x7e): no spaces, line breaks or control characters. What
 * an HTTP or gRPC header value (an API key, a bearer token) must be for fetch and gRPC to send it as
 * given, and what the Temporal CLI and UI show unambiguously (a build ID). No `g` flag, as above.
 */
export const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
