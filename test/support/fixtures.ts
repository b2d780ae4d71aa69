import { randomBytes } from 'node:crypto';
import { isValidNhsNumber } from '../../src/shared/nhs-number';
import type { WorkflowHandle } from '@temporalio/client';
import type { Sandbox } from '../../tools/sandbox';
import type { OutreachRequest } from '../../src/workflows/schemas';

/** A valid (Modulus 11) synthetic NHS number derived from `seed`; not a real person. */
export function syntheticNhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const stem = String(900_000_000 + (n % 99_999_999)).padStart(9, '0');
    for (let d = 0; d <= 9; d++) if (isValidNhsNumber(stem + d)) return stem + d;
  }
}

let counter = 0;
/** A unique patient, with a numeric Hero patient id, for one test. */
export function newPatient(opts: { needsVerification?: boolean } = {}) {
  counter++;
  const seed = (process.pid * 1000 + counter * 7919) % 90_000_000;
  return {
    nhsNumber: syntheticNhsNumber(seed),
    dob: `19${50 + (counter % 40)}-0${1 + (counter % 9)}-1${counter % 9}`,
    patientId: String(20_000 + counter + (process.pid % 1000) * 100),
    needsVerification: opts.needsVerification ?? false,
  };
}

export function outreachRequest(patient: { nhsNumber: string; dob: string }, extra: Partial<OutreachRequest> = {}) {
  return {
    nhsNumber: patient.nhsNumber.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3'),
    dob: patient.dob,
    booking: {
      appointmentTypeId: '1',
      locationId: '5',
      practitionerId: '7',
      expiryDate: '2026-12-31',
      maximumUseCount: 1,
    },
    message: { type: 'sms', text: 'Book your appointment: {booking_link}' },
    ...extra,
  } satisfies OutreachRequest;
}

/**
 * A fresh ID with a random tail of letters only: random digits could form an NHS number or a date,
 * which the workflow-ID check refuses (patient data must not show in IDs).
 */
export const uniqueId = (prefix: string) =>
  `${prefix}-${[...randomBytes(10)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

/** Polls `fn` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * How many requests have taken an injected `delay` fault so far. The sandbox records a request
 * only once it has answered it, but counts a fault as soon as a request takes it, before the
 * delay: this count says a Hero call has arrived and is being held. `sandbox` is one in this
 * process, or the URL of one in another (read through GET /__sandbox/state).
 */
export async function delayFaultsTaken(sandbox: Sandbox | string): Promise<number> {
  if (typeof sandbox !== 'string') return sandbox.faultCounts().delay ?? 0;
  const res = await fetch(`${sandbox}/__sandbox/state`);
  return ((await res.json()) as { faultCounts: Record<string, number> }).faultCounts.delay ?? 0;
}

/**
 * Waits until the sandbox holds `count` more requests in a `delay` fault than `baseline` (the
 * count before the test injected its own; a shared sandbox keeps counting across tests).
 */
export async function untilSandboxHolds(sandbox: Sandbox | string, count = 1, baseline = 0): Promise<void> {
  await eventually(
    async () => (await delayFaultsTaken(sandbox)) - baseline >= count,
    10_000,
    `the sandbox to hold ${count} request(s)`,
  );
}

/** Waits until the run has completed a workflow task after the last signal it received: the signal was handled. */
export async function signalHandled(handle: WorkflowHandle): Promise<void> {
  await eventually(
    async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const signalled = events.map((e) => !!e.workflowExecutionSignaledEventAttributes).lastIndexOf(true);
      return signalled >= 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes);
    },
    10_000,
    'the signal to be handled',
  );
}

/**
 * `promise`, or a failure naming `what` once `ms` have passed: every wait on an update, a result or a child
 * process gets one, so a bug that leaves it pending fails the test at once instead of at the file timeout.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
