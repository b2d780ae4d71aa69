import { createHmac } from 'node:crypto';
import { isValidNhsNumber } from '../hero/nhs-number';
import type { OutreachInput } from '../workflows/schemas';

export const WORKFLOW_ID_PREFIX = 'outreach-';

export class WorkflowIdError extends Error {}

/**
 * Workflow IDs are visible to anyone with namespace access, so they never carry patient data:
 * either the caller's own business ID (checked not to contain an NHS number or a date), or an
 * HMAC of the request keyed by HERO_WORKFLOW_ID_SECRET (an unkeyed hash of an NHS number is
 * reversible by enumeration). The same request then maps to the same ID, so a retried start
 * finds the run already going instead of starting a second one.
 */
export function outreachWorkflowId(input: OutreachInput, opts: { businessId?: string; secret?: string }): string {
  if (opts.businessId !== undefined) {
    const id = opts.businessId.trim();
    if (!/^[A-Za-z0-9._:@-]{1,200}$/.test(id)) {
      throw new WorkflowIdError('workflow ID must be 1-200 characters of letters, digits and . _ : @ -');
    }
    const digits = id.replace(/[^0-9]/g, ' ');
    if (digits.split(/\s+/).some((run) => run.length >= 10 && containsNhsNumber(run)) || /\d{4}-\d{2}-\d{2}/.test(id)) {
      throw new WorkflowIdError(
        'workflow ID looks like it contains an NHS number or a date; use an identifier that is not patient data',
      );
    }
    return id;
  }
  if (!opts.secret) {
    throw new WorkflowIdError(
      'no workflow ID: pass your own business ID (--workflow-id) or set HERO_WORKFLOW_ID_SECRET so one is derived',
    );
  }
  const canonical = JSON.stringify([input.nhsNumber, input.dob, input.booking, input.message]);
  return WORKFLOW_ID_PREFIX + createHmac('sha256', opts.secret).update(canonical).digest('hex').slice(0, 32);
}

function containsNhsNumber(run: string): boolean {
  for (let i = 0; i + 10 <= run.length; i++) if (isValidNhsNumber(run.slice(i, i + 10))) return true;
  return false;
}
