import { z } from 'zod';
import { ConfigError } from '../shared/errors';
import { VISIBLE_ASCII } from '../shared/patterns';
import { describeProblems } from '../shared/problems';

export const HERO_STAGING_URL = 'https://api.staging.htech.app';
export const HERO_PRODUCTION_URL = 'https://api.herohealth.net';

const headerValue = () =>
  z
    .string({ error: 'is required' })
    .trim()
    .min(1, { error: 'must not be empty', abort: true })
    // Sent as an HTTP header: visible ASCII only, so fetch never rejects it.
    .regex(VISIBLE_ASCII, 'must be printable ASCII without spaces or line breaks');

const heroEnvSchema = z.object({
  HERO_API_KEY: headerValue(),
  HERO_PRACTICE_GROUP_ID: headerValue(),
  HERO_API_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default(HERO_STAGING_URL)
    // A URL with user:password@ would print its password wherever the URL is shown (the worker's
    // start-up line); Hero authenticates with HERO_API_KEY, so credentials here are a mistake.
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
      error: 'must not contain credentials (user:password@); Hero authenticates with HERO_API_KEY',
    })
    .transform((u) => u.replace(/\/+$/, '')),
  HERO_HTTP_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .positive('must be positive')
    .max(300_000, 'must be at most 300000')
    .default(10_000),
});

/** What `HeroClient` needs; {@link loadHeroConfig} reads it from the environment. */
export interface HeroConfig {
  /** HERO_API_KEY, sent as `x-api-key`. Staging and production keys differ. */
  apiKey: string;
  /** HERO_PRACTICE_GROUP_ID, sent as `x-practice-group-id`. */
  practiceGroupId: string;
  /** HERO_API_BASE_URL, without a trailing slash. loadHeroConfig's default: {@link HERO_STAGING_URL}. */
  baseUrl: string;
  /** HERO_HTTP_TIMEOUT_MS: the longest one request may take. loadHeroConfig's default: 10000. */
  timeoutMs: number;
}

/**
 * Reads Hero settings from env, reporting every problem at once. Never echoes values. An empty
 * variable counts as unset.
 *
 * @param env where to read HERO_API_KEY, HERO_PRACTICE_GROUP_ID, HERO_API_BASE_URL (default
 *   {@link HERO_STAGING_URL}) and HERO_HTTP_TIMEOUT_MS (default 10000, at most 300000).
 *   @default process.env
 * @throws ConfigError (src/shared/errors.ts) naming every missing or invalid variable.
 */
export function loadHeroConfig(env: NodeJS.ProcessEnv = process.env): HeroConfig {
  const raw = Object.fromEntries(Object.keys(heroEnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = heroEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(describeProblems(parsed.error, '(environment)', heroEnvSchema), 'Hero API configuration');
  }
  const c = parsed.data;
  return {
    apiKey: c.HERO_API_KEY,
    practiceGroupId: c.HERO_PRACTICE_GROUP_ID,
    baseUrl: c.HERO_API_BASE_URL,
    timeoutMs: c.HERO_HTTP_TIMEOUT_MS,
  };
}
