import { z } from 'zod';
import { msToNumber } from '../shared/duration';
import { ConfigError } from '../shared/errors';
import { describeProblems } from '../shared/problems';
import { DEFAULT_TOLERANCE_MS } from './signature';

export const DEFAULT_WEBHOOK_PORT = 8787;
export const DEFAULT_WEBHOOK_HOST = '127.0.0.1';
/** The shortest signing key accepted: Hero's subscriptions take any string; a short one is guessable. */
export const MIN_SIGNING_KEY_LENGTH = 16;

const signingKeySchema = z
  .string({ error: 'is required (the signing key given to Hero with `hero-flow webhooks register`)' })
  .min(MIN_SIGNING_KEY_LENGTH, `must be at least ${MIN_SIGNING_KEY_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`)
  .max(512, 'must be at most 512 characters')
  .refine((k) => k.trim() === k, 'must not begin or end with spaces or line breaks');

/** A duration ("5 minutes", "90s") or milliseconds, from 1 second to 1 day. */
const toleranceSchema = z.string().transform((value, ctx) => {
  let ms = Number.NaN;
  try {
    ms = msToNumber(value.trim() as never);
  } catch {
    // Reported below.
  }
  if (!Number.isFinite(ms) || ms < 1_000 || ms > 24 * 3600_000) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration from 1 second to 1 day, e.g. "5 minutes"' });
    return z.NEVER;
  }
  return ms;
});

const receiverEnvSchema = z.object({
  HERO_WEBHOOK_PORT: z.coerce
    .number({ error: 'must be a port number 0-65535' })
    .int('must be a port number 0-65535')
    .min(0, 'must be a port number 0-65535')
    .max(65535, 'must be a port number 0-65535')
    .default(DEFAULT_WEBHOOK_PORT),
  HERO_WEBHOOK_HOST: z.string().trim().min(1).default(DEFAULT_WEBHOOK_HOST),
  HERO_WEBHOOK_SIGNING_KEY: signingKeySchema,
  HERO_WEBHOOK_TOLERANCE: toleranceSchema.optional(),
  /** When set, events of another practice group are acknowledged and ignored. */
  HERO_PRACTICE_GROUP_ID: z.string().trim().min(1).optional(),
});

export interface WebhookReceiverSettings {
  port: number;
  host: string;
  signingKey: string;
  toleranceMs: number;
  practiceGroupId?: string;
}

/** Empty values count as unset, as in the other settings (src/hero/config.ts). */
const pick = (env: NodeJS.ProcessEnv, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, env[k] === '' ? undefined : env[k]]));

/** The receiver's settings from the environment; every problem at once, the signing key never echoed. */
export function loadWebhookReceiverSettings(env: NodeJS.ProcessEnv = process.env): WebhookReceiverSettings {
  const parsed = receiverEnvSchema.safeParse(pick(env, Object.keys(receiverEnvSchema.shape)));
  if (!parsed.success) {
    throw new ConfigError(
      describeProblems(parsed.error, '(environment)', receiverEnvSchema),
      'webhook receiver configuration',
    );
  }
  const c = parsed.data;
  return {
    port: c.HERO_WEBHOOK_PORT,
    host: c.HERO_WEBHOOK_HOST,
    signingKey: c.HERO_WEBHOOK_SIGNING_KEY,
    toleranceMs: c.HERO_WEBHOOK_TOLERANCE ?? DEFAULT_TOLERANCE_MS,
    practiceGroupId: c.HERO_PRACTICE_GROUP_ID,
  };
}

/** HERO_WEBHOOK_SIGNING_KEY alone, for `hero-flow webhooks register`. */
export function loadWebhookSigningKey(env: NodeJS.ProcessEnv = process.env): string {
  const schema = z.object({ HERO_WEBHOOK_SIGNING_KEY: signingKeySchema });
  const parsed = schema.safeParse(pick(env, ['HERO_WEBHOOK_SIGNING_KEY']));
  if (!parsed.success) {
    throw new ConfigError(describeProblems(parsed.error, '(environment)', schema), 'webhook configuration');
  }
  return parsed.data.HERO_WEBHOOK_SIGNING_KEY;
}
