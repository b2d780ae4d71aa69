/** Something needed to run Temporal locally is missing; the message says what and how to fix it. */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export interface ProvisionLog {
  (line: string): void;
}

export const defaultLog: ProvisionLog = (line) => {
  process.stderr.write(`[provision] ${line}\n`);
};
