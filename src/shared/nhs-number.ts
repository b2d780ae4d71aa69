import { z } from 'zod';

/**
 * NHS number: 10 digits, the last a Modulus 11 check digit. Callers may write it with
 * spaces or hyphens ("943 476 5919", "943-476-5919"); it is normalised to digits.
 * Error messages never echo the value: it is patient data.
 */
export function normaliseNhsNumber(raw: string): string {
  return raw.replace(/[\s-]/g, '');
}

export function isValidNhsNumber(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(digits[9]);
}

/** Longest NHS number accepted as written: ten digits with generous separators. */
export const NHS_NUMBER_MAX_LENGTH = 32;

export const nhsNumberSchema = z
  .string({ error: 'must be a string' })
  .max(NHS_NUMBER_MAX_LENGTH, { message: `must be at most ${NHS_NUMBER_MAX_LENGTH} characters`, abort: true })
  .transform(normaliseNhsNumber)
  .refine((v) => /^\d{10}$/.test(v), { message: 'must be 10 digits (spaces or hyphens allowed)', abort: true })
  .refine(isValidNhsNumber, { message: 'fails the NHS Modulus 11 check digit' });
