import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isIsoCalendarDate } from '../../src/hero/dob';
import { isValidNhsNumber } from '../../src/shared/nhs-number';
import type { SandboxPatient } from './types';

/**
 * Seeded SYNTHETIC patients (not real people). 9434765919 is the NHS's own example number;
 * the 999 range is reserved by the NHS for test data. All pass the Modulus 11 check.
 */
export const DEFAULT_PATIENTS: SandboxPatient[] = [
  { nhsNumber: '9434765919', dob: '1992-01-01', patientId: '1001' },
  { nhsNumber: '9990000018', dob: '1985-06-15', patientId: '1002', needsVerification: true },
  { nhsNumber: '9990000026', dob: '1970-12-31', patientId: '1003', needsVerification: true, verified: true },
];

export const sandboxPatientSchema = z.object({
  nhsNumber: z.string().refine(isValidNhsNumber, 'nhsNumber must be 10 digits passing the Modulus 11 check'),
  dob: z.string().refine(isIsoCalendarDate, 'dob must be a real date written YYYY-MM-DD'),
  patientId: z.string().regex(/^\d+$/, 'patientId must be a numeric string'),
  needsVerification: z.boolean().optional(),
  verified: z.boolean().optional(),
});

export interface StoredPatient extends SandboxPatient {
  /** Opaque token in the patient's login_url. */
  verifyToken: string;
}

/**
 * Patients by NHS number. Verification tokens come from a counter hashed with a fixed label:
 * deterministic across runs, opaque, and unrelated to the NHS number.
 */
export class PatientStore {
  #byNhs = new Map<string, StoredPatient>();
  #tokenCounter = 0;

  constructor(private readonly initial: readonly SandboxPatient[]) {
    this.reset();
  }

  reset(): void {
    this.#byNhs.clear();
    this.#tokenCounter = 0;
    for (const p of this.initial) this.add(p);
  }

  /** Validates and upserts by NHS number; throws if the patient id belongs to someone else. */
  add(input: SandboxPatient): StoredPatient {
    const p = sandboxPatientSchema.parse(input);
    const clash = this.byPatientId(p.patientId);
    if (clash && clash.nhsNumber !== p.nhsNumber) {
      throw new Error('patientId is already used by another sandbox patient');
    }
    const existing = this.#byNhs.get(p.nhsNumber);
    const stored: StoredPatient = { ...p, verifyToken: existing?.verifyToken ?? this.#nextToken() };
    this.#byNhs.set(p.nhsNumber, stored);
    return stored;
  }

  byNhsNumber(nhsNumber: string): StoredPatient | undefined {
    return this.#byNhs.get(nhsNumber);
  }

  byPatientId(patientId: string): StoredPatient | undefined {
    for (const p of this.#byNhs.values()) if (p.patientId === patientId) return p;
    return undefined;
  }

  byToken(token: string): StoredPatient | undefined {
    for (const p of this.#byNhs.values()) if (p.verifyToken === token) return p;
    return undefined;
  }

  /** Returns false if no such patient. */
  markVerified(nhsNumber: string): boolean {
    const p = this.#byNhs.get(nhsNumber);
    if (!p) return false;
    p.verified = true;
    return true;
  }

  #nextToken(): string {
    this.#tokenCounter += 1;
    return createHash('sha256').update(`hero-sandbox-verify:${this.#tokenCounter}`).digest('hex').slice(0, 32);
  }
}
