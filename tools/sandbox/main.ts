/**
 * Runs the Hero API sandbox until SIGINT/SIGTERM: `npx tsx tools/sandbox/main.ts`.
 *
 *   SANDBOX_PORT                    default 4010
 *   SANDBOX_HOST                    default 127.0.0.1
 *   SANDBOX_API_KEY                 default sandbox-key
 *   SANDBOX_PRACTICE_GROUP_ID       default 1
 *   SANDBOX_PRACTICE_GROUPS         optional: more groups, each with its own key, e.g. 2=key-two,3=key-three
 *   SANDBOX_RATE_LIMIT_PER_SECOND   optional: a token bucket of that capacity and refill rate
 *   SANDBOX_FAULT_RATES             optional JSON FaultRates, e.g. {"seed":7,"rates":{"server_error":0.05}}
 *   SANDBOX_MESSAGE_STATUS          optional comma-separated status sequence, e.g. queued,sent,delivered
 *   SANDBOX_SENT_MESSAGES_LIST      'false' makes GET /v1/messages?patient_id=… answer 404 (default true)
 *   SANDBOX_WEBHOOK_SIGNING         optional JSON, e.g. {"encoding":"base64","timestamp":"iso"}
 *   SANDBOX_WEBHOOK_FAULT_RATES     optional JSON, e.g. {"seed":7,"rates":{"lost":0.1,"duplicated":0.1}}
 *
 * Prints the URL, the credentials and the seeded SYNTHETIC patients; never the request log.
 */
import { z } from 'zod';
import { practiceGroupKeyVariable } from '../../src/hero/config';
import { faultRatesSchema } from './faults';
import { DEFAULT_PATIENTS, startSandbox } from './index';
import { messageStatusSchema } from './messages';
import { webhookFaultRatesSchema, webhookSigningSchema } from './webhooks';

function jsonText(example: string) {
  return z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be JSON, e.g. ${example}` });
      return z.NEVER;
    }
  });
}

const envSchema = z.object({
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_API_KEY: z.string().min(1).default('sandbox-key'),
  SANDBOX_PRACTICE_GROUP_ID: z.string().min(1).default('1'),
  SANDBOX_PRACTICE_GROUPS: z
    .string()
    .transform((text, ctx) => {
      const groups: Record<string, string> = {};
      for (const pair of text
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z0-9_-]{1,64})=(\S+)$/.exec(pair);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: 'must be GROUP=KEY pairs separated by commas, e.g. 2=key-two' });
          return z.NEVER;
        }
        groups[m[1]!] = m[2]!;
      }
      return groups;
    })
    .optional(),
  SANDBOX_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().finite().optional(),
  SANDBOX_FAULT_RATES: jsonText('{"rates":{"server_error":0.05}}').pipe(faultRatesSchema).optional(),
  SANDBOX_MESSAGE_STATUS: z
    .string()
    .transform((text) => text.split(',').map((s) => s.trim()))
    .pipe(z.array(messageStatusSchema).min(1))
    .optional(),
  SANDBOX_SENT_MESSAGES_LIST: z.enum(['true', 'false']).default('true'),
  SANDBOX_WEBHOOK_SIGNING: jsonText('{"encoding":"base64","timestamp":"iso"}').pipe(webhookSigningSchema).optional(),
  SANDBOX_WEBHOOK_FAULT_RATES: jsonText('{"rates":{"lost":0.1}}').pipe(webhookFaultRatesSchema).optional(),
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
    practiceGroups: env.SANDBOX_PRACTICE_GROUPS,
    rateLimit: rate === undefined ? undefined : { capacity: Math.max(1, Math.ceil(rate)), refillPerSecond: rate },
    faultRates: env.SANDBOX_FAULT_RATES,
    messageStatus: env.SANDBOX_MESSAGE_STATUS && { sequence: env.SANDBOX_MESSAGE_STATUS },
    sentMessagesList: env.SANDBOX_SENT_MESSAGES_LIST === 'true',
    webhookSigning: env.SANDBOX_WEBHOOK_SIGNING,
    webhookFaultRates: env.SANDBOX_WEBHOOK_FAULT_RATES,
  });
  const signing = { encoding: 'hex', timestamp: 'unix-seconds', ...env.SANDBOX_WEBHOOK_SIGNING };

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
      ...(Object.keys(sandbox.practiceGroups).length > 1
        ? [
            `  HERO_PRACTICE_GROUP_IDS=${Object.keys(sandbox.practiceGroups).join(',')}`,
            // Sandbox keys are not secrets; a real worker reads its keys from HERO_API_KEYS_FILE.
            ...Object.entries(sandbox.practiceGroups)
              .filter(([g]) => g !== sandbox.practiceGroupId)
              .map(([g, key]) => `  ${practiceGroupKeyVariable(g)}=${key}`),
          ]
        : []),
      '',
      'Seeded synthetic test patients (not real people):',
      ...patients,
      '',
      `Rate limit: ${rate === undefined ? 'none' : `${rate} requests/second`}`,
      `Random faults: ${env.SANDBOX_FAULT_RATES === undefined ? 'none' : JSON.stringify(env.SANDBOX_FAULT_RATES.rates)}`,
      '',
      "Booking page: open a booking link's short_link (" + sandbox.url + '/s/CODE) in a browser, pick a time and',
      'press Book. That books an appointment through the link (its number_of_uses goes up) and sends',
      'appointment.confirmed to every webhook subscribed with POST /v1/webhooks; tick the box to book without',
      "the webhook, as if Hero's delivery were lost.",
      `Webhook signing: ${signing.encoding} signature, ${signing.timestamp} timestamp; random webhook faults: ${
        env.SANDBOX_WEBHOOK_FAULT_RATES === undefined ? 'none' : JSON.stringify(env.SANDBOX_WEBHOOK_FAULT_RATES.rates)
      }`,
      `Message status: ${env.SANDBOX_MESSAGE_STATUS?.join(' → ') ?? 'delivered'}; sent-messages list: ${
        env.SANDBOX_SENT_MESSAGES_LIST === 'true' ? 'on' : 'off (404)'
      }`,
      '',
      `Admin: GET ${sandbox.url}/__sandbox/{requests,state,appointments,webhooks,webhook-deliveries}`,
      '  POST /__sandbox/{patients,verify,faults,fault-rates,rate-limit,reset}',
      '  POST /__sandbox/{book,cancel,reschedule,message-status,message-status-sequence,sent-messages-list}',
      '  POST /__sandbox/{webhook-faults,webhook-fault-rates,webhook-signing,settle-webhooks}',
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
