/**
 * The characters a Hero id (appointment, booking link, message, patient) may have where we put it into
 * a request path, a workflow ID or a visibility query: Hero's ids are numeric strings
 * (docs/hero-api.md §2.6, §6), so anything outside this set is not one of Hero's, and must not reach
 * the path, the ID or the query. No `g` flag: `.test()` keeps no state, so the one RegExp can be shared.
 */
export const HERO_ID = /^[A-Za-z0-9_-]{1,64}$/;
