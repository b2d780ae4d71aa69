import { createHmac } from 'node:crypto';
import { patientDataKinds } from '../shared/patient-data';
import type { OutreachInput } from '../workflows/schemas';

export const WORKFLOW_ID_PREFIX = 'outreach-';

export class WorkflowIdError extends Error {}

/**
 * Workflow IDs are visible to anyone with namespace access, so they never carry patient data:
 * either the caller's own business ID (checked not to contain an NHS number or a date), or an
 * HMAC of the request keyed by HERO_WORKFLOW_ID_SECRET (an unkeyed hash of an NHS number is
 * reversible by enumeration). The same request then maps to the same ID, so a retried start
 * finds the run already going instead of starting a second one.
 * @throws {WorkflowIdError} no business ID and no secret, or a business ID that looks like patient data
 * or has other characters than letters, digits and . _ : @ - (never echoed).
 */
export function outreachWorkflowId(input: OutreachInput, opts: { businessId?: string; secret?: string }): string {
  if (opts.businessId !== undefined) return checkBusinessId(opts.businessId);
  if (!opts.secret) {
    throw new WorkflowIdError(
      'no workflow ID: pass your own business ID (--workflow-id) or set HERO_WORKFLOW_ID_SECRET so one is derived',
    );
  }
  // The exact format (prefix, JSON canonical form, 32 hex characters) is kept across versions:
  // callers rely on the same request mapping to the same ID, and redact() keeps this form whole.
  const canonical = JSON.stringify([input.nhsNumber, input.dob, input.booking, input.message]);
  return WORKFLOW_ID_PREFIX + createHmac('sha256', opts.secret).update(canonical).digest('hex').slice(0, 32);
}

const ID_CHARS = /^[A-Za-z0-9._:@-]+$/;
const ID_MAX = 200;

/**
 * A caller's business ID, refused when it looks like patient data in any separators (the one
 * definition in src/shared/patient-data.ts, which redact() masks too): ten digits passing the
 * Modulus 11 check, any run of exactly eight digits (a real date or not), or three numbers forming
 * a calendar date. The error says why, never echoing the ID. Patient data is looked for before
 * the character set, so "943 476 5919" is told it looks like an NHS number, not that spaces are
 * not allowed.
 */
function checkBusinessId(raw: string): string {
  const id = raw.trim();
  const charset = `workflow ID must be 1-${ID_MAX} characters of letters, digits and . _ : @ -`;
  if (id.length < 1 || id.length > ID_MAX) throw new WorkflowIdError(charset);
  const kinds = patientDataKinds(id);
  if (kinds.size) {
    const what = [
      kinds.has('nhs-number') && 'an NHS number (ten digits that pass the Modulus 11 check, whatever separates them)',
      kinds.has('date') && 'a date (eight digits in a row, or three numbers that form a calendar date)',
    ].filter(Boolean);
    throw new WorkflowIdError(
      `workflow ID looks like it contains ${what.join(' and ')}; use an identifier that is not patient data (if it is not, put a letter inside long numbers, e.g. 1234r5678)`,
    );
  }
  if (!ID_CHARS.test(id)) throw new WorkflowIdError(charset);
  return id;
}
