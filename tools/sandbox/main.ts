/**
 * Runs the Hero API sandbox until SIGINT/SIGTERM: `npx tsx tools/sandbox/main.ts`.
 *
 *   SANDBOX_PORT                    default 4010
 *   SANDBOX_HOST                    default 127.0.0.1
 *   SANDBOX_API_KEY                 default sandbox-key
 *   SANDBOX_PRACTICE_GROUP_ID       default 1
 *   SANDBOX_RATE_LIMIT_PER_SECOND   optional: a token bucket of that capacity and refill rate
 *   SANDBOX_FAULT_RATES             optional JSON FaultRates, e.g. {"seed":7,"rates":{"server_error":0.05}}
 *
 * Prints the URL, the credentials and the seeded SYNTHETIC patients; never the request log.
 */
import { z } from 'zod';
import { faultRatesSchema } from './faults';
import { DEFAULT_PATIENTS, startSandbox } from './index';

const envSchema = z.object({
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_API_KEY: z.string().min(1).default('sandbox-key'),
  SANDBOX_PRACTICE_GROUP_ID: z.string().min(1).default('1'),
  SANDBOX_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().finite().optional(),
  SANDBOX_FAULT_RATES: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"rates":{"server_error":0.05}}' });
        return z.NEVER;
      }
    })
    .pipe(faultRatesSchema)
    .optional(),
});

async function main(): Promise<void> {
  const raw = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, process.env[k] || undefined]));
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) console.error(`${i.path.join('.')}: ${i.message}`);
    process.exitCode = 2;
    return;
  }
  const env = parsed.data;
  const rate = env.SANDBOX_RATE_LIMIT_PER_SECOND;
  const sandbox = await startSandbox({
    host: env.SANDBOX_HOST,
    port: env.SANDBOX_PORT,
    apiKey: env.SANDBOX_API_KEY,
    practiceGroupId: env.SANDBOX_PRACTICE_GROUP_ID,
    rateLimit: rate === undefined ? undefined : { capacity: Math.max(1, Math.ceil(rate)), refillPerSecond: rate },
    faultRates: env.SANDBOX_FAULT_RATES,
  });

  const patients = DEFAULT_PATIENTS.map((p) => {
    const state = !p.needsVerification ? 'no verification' : p.verified ? 'already verified' : 'must verify first';
    return `  NHS ${p.nhsNumber}  dob ${p.dob}  patient_id ${p.patientId}  (${state})`;
  });
  console.log(
    [
      `Hero API sandbox listening on ${sandbox.url}`,
      '',
      'Use these settings:',
      `  HERO_API_BASE_URL=${sandbox.url}`,
      `  HERO_API_KEY=${sandbox.apiKey}`,
      `  HERO_PRACTICE_GROUP_ID=${sandbox.practiceGroupId}`,
      '',
      'Seeded synthetic test patients (not real people):',
      ...patients,
      '',
      `Rate limit: ${rate === undefined ? 'none' : `${rate} requests/second`}`,
      `Random faults: ${env.SANDBOX_FAULT_RATES === undefined ? 'none' : JSON.stringify(env.SANDBOX_FAULT_RATES.rates)}`,
      `Admin: ${sandbox.url}/__sandbox/requests, /__sandbox/state, POST /__sandbox/{patients,verify,faults,fault-rates,rate-limit,reset}`,
      'Press Ctrl+C to stop.',
    ].join('\n'),
  );

  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: closing the sandbox`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('failed to close the sandbox:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error('sandbox failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
