import { z } from 'zod';
import { msToNumber } from '../shared/duration';
import { ConfigError } from '../shared/errors';
import { describeProblems } from '../shared/problems';
import { practiceGroupIdSchema } from '../shared/campaign-ids';
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

export const MIN_TOLERANCE_MS = 1_000;
export const MAX_TOLERANCE_MS = 24 * 3600_000;
/** Hero's payloads are a few hundred bytes; a larger limit only lets a stranger make the receiver read more. */
export const MAX_BODY_BYTES_LIMIT = 16 * 1024 * 1024;
/** How long a delivery may wait for Temporal at most: Hero's own timeout is NOT DOCUMENTED, 1 minute is ample. */
export const MAX_START_TIMEOUT_MS = 60_000;

const portSchema = z
  .number({ error: 'must be a port number 0-65535' })
  .int('must be a port number 0-65535')
  .min(0, 'must be a port number 0-65535')
  .max(65535, 'must be a port number 0-65535');
const toleranceMsSchema = z
  .number({ error: 'must be a number of milliseconds from 1000 (1 second) to 86400000 (1 day)' })
  .min(MIN_TOLERANCE_MS, 'must be a number of milliseconds from 1000 (1 second) to 86400000 (1 day)')
  .max(MAX_TOLERANCE_MS, 'must be a number of milliseconds from 1000 (1 second) to 86400000 (1 day)');
const textSchema = z.string({ error: 'must be a non-empty string' }).trim().min(1, 'must be a non-empty string');

/**
 * The receiver's settings, one schema for both entries: `startWebhookReceiver`'s options (the library) and
 * the environment (`hero-flow webhooks`, whose variables are parsed from text into these fields below).
 * zod's numbers refuse NaN and Infinity, so neither can turn replay protection or the body limit off.
 */
export const webhookReceiverSettingsSchema = z.object({
  signingKey: signingKeySchema,
  host: textSchema.optional(),
  port: portSchema.optional(),
  toleranceMs: toleranceMsSchema.optional(),
  maxBodyBytes: z
    .number({ error: `must be a whole number of bytes from 1 to ${MAX_BODY_BYTES_LIMIT}` })
    .int(`must be a whole number of bytes from 1 to ${MAX_BODY_BYTES_LIMIT}`)
    .min(1, `must be a whole number of bytes from 1 to ${MAX_BODY_BYTES_LIMIT}`)
    .max(MAX_BODY_BYTES_LIMIT, `must be a whole number of bytes from 1 to ${MAX_BODY_BYTES_LIMIT}`)
    .optional(),
  practiceGroupId: textSchema.optional(),
  /** Every practice group served: events of others are answered 200 and ignored. */
  practiceGroupIds: z.array(practiceGroupIdSchema).min(1, 'must name at least one practice group').optional(),
  startTimeoutMs: z
    .number({ error: `must be a number of milliseconds from 1 to ${MAX_START_TIMEOUT_MS}` })
    .min(1, `must be a number of milliseconds from 1 to ${MAX_START_TIMEOUT_MS}`)
    .max(MAX_START_TIMEOUT_MS, `must be a number of milliseconds from 1 to ${MAX_START_TIMEOUT_MS}`)
    .optional(),
});
const fields = webhookReceiverSettingsSchema.shape;

/** The library's options beside the settings: checked for their type, so a mistake is named at start. */
const receiverOptionsSchema = webhookReceiverSettingsSchema.extend({
  client: z.custom<unknown>(
    (c) => typeof (c as { startBookingEvent?: unknown } | null)?.startBookingEvent === 'function',
    'must have startBookingEvent() (a HeroFlowClient)',
  ),
  log: z.custom<unknown>((l) => typeof l === 'function', 'must be a function').optional(),
});

/**
 * Checks `startWebhookReceiver`'s options as strictly as the environment is checked, every problem at once,
 * each naming its option; no value is echoed (the signing key is one). Unknown options are left alone.
 */
export function parseWebhookReceiverOptions(opts: unknown): WebhookReceiverSettingsInput {
  const parsed = receiverOptionsSchema.safeParse(opts);
  if (!parsed.success) {
    throw new ConfigError(describeProblems(parsed.error, '(options)'), 'startWebhookReceiver options');
  }
  return parsed.data;
}

export type WebhookReceiverSettingsInput = z.infer<typeof webhookReceiverSettingsSchema>;

/** A duration ("5 minutes", "90s") or milliseconds, from 1 second to 1 day. */
const toleranceSchema = z
  .string()
  .transform((value, ctx) => {
    let ms = Number.NaN;
    try {
      ms = msToNumber(value.trim() as never);
    } catch {
      // Reported below.
    }
    if (!Number.isFinite(ms) || ms < MIN_TOLERANCE_MS || ms > MAX_TOLERANCE_MS) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration from 1 second to 1 day, e.g. "5 minutes"' });
      return z.NEVER;
    }
    return ms;
  })
  .pipe(fields.toleranceMs.unwrap());

/** The environment's names for the settings: text parsed, then checked by the same field schemas. */
const receiverEnvSchema = z.object({
  HERO_WEBHOOK_PORT: z.coerce
    .number({ error: 'must be a port number 0-65535' })
    .pipe(fields.port.unwrap())
    .default(DEFAULT_WEBHOOK_PORT),
  HERO_WEBHOOK_HOST: fields.host.unwrap().default(DEFAULT_WEBHOOK_HOST),
  HERO_WEBHOOK_SIGNING_KEY: fields.signingKey,
  HERO_WEBHOOK_TOLERANCE: toleranceSchema.optional(),
  /** When set, events of another practice group are acknowledged and ignored. */
  HERO_PRACTICE_GROUP_ID: fields.practiceGroupId,
  /** The groups served (as the worker's): events of any of them are routed, with their group. */
  HERO_PRACTICE_GROUP_IDS: z
    .string()
    .transform((text) => text.split(',').map((g) => g.trim()))
    .pipe(fields.practiceGroupIds.unwrap())
    .optional(),
});

export interface WebhookReceiverSettings {
  port: number;
  host: string;
  signingKey: string;
  toleranceMs: number;
  practiceGroupId?: string;
  /** HERO_PRACTICE_GROUP_IDS, when set. */
  practiceGroupIds?: string[];
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
  const ids = c.HERO_PRACTICE_GROUP_IDS;
  if (ids && c.HERO_PRACTICE_GROUP_ID !== undefined && !ids.includes(c.HERO_PRACTICE_GROUP_ID)) {
    throw new ConfigError(
      [`HERO_PRACTICE_GROUP_ID: practice group ${c.HERO_PRACTICE_GROUP_ID} is not one of HERO_PRACTICE_GROUP_IDS`],
      'webhook receiver configuration',
    );
  }
  return {
    ...(ids && { practiceGroupIds: ids }),
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
