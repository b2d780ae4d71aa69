import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { practiceGroupIdSchema } from '../shared/campaign-ids';
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

/** Where a practice group's key came from: named in errors and logs instead of the key. */
export type HeroKeySource = 'HERO_API_KEYS_FILE' | `HERO_API_KEY_${string}` | 'HERO_API_KEY';

/** The practice groups a worker serves, each with its own HeroConfig (its own key, or HERO_API_KEY). */
export interface HeroPracticeGroupsConfig {
  /** HERO_PRACTICE_GROUP_ID, or the first of HERO_PRACTICE_GROUP_IDS: the group of a run that names none. */
  defaultPracticeGroupId: string;
  /** HERO_PRACTICE_GROUP_IDS in order (default: [HERO_PRACTICE_GROUP_ID]). */
  practiceGroupIds: string[];
  /** One per served group, keyed by group. */
  groups: Record<string, HeroConfig & { keySource: HeroKeySource }>;
  baseUrl: string;
  timeoutMs: number;
}

/**
 * The variable that holds `group`'s own key: HERO_API_KEY_ and the group upper-cased, `-` as `_` (environment
 * variable names hold letters, digits and `_` only).
 */
export function practiceGroupKeyVariable(group: string): `HERO_API_KEY_${string}` {
  return `HERO_API_KEY_${group.toUpperCase().replace(/-/g, '_')}`;
}

const groupListSchema = z
  .string()
  .transform((text) => text.split(',').map((g) => g.trim()))
  .pipe(z.array(practiceGroupIdSchema.min(1, 'must not be empty')).min(1, 'must name at least one group'));

/** A key as a header value, its problem described without the value. */
const keyProblem = (key: unknown): string | undefined => {
  const r = headerValue().safeParse(key);
  return r.success ? undefined : r.error.issues[0]?.message;
};

/**
 * Reads HERO_API_KEYS_FILE once: a JSON object `{"<group>": "<key>"}`. Problems name the variable and the
 * group, never a key nor the file's text (a JSON parse error quotes the text it failed on, so it is not
 * passed on). A file readable by group or others is used, with a warning: mounted secrets are often 0644.
 */
function readKeysFile(
  path: string,
  problems: string[],
  warn: (line: string) => void,
): Record<string, string> | undefined {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) {
      problems.push('HERO_API_KEYS_FILE: is not a regular file');
      return undefined;
    }
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      warn(
        `HERO_API_KEYS_FILE is readable by ${st.mode & 0o070 ? 'its group' : ''}${st.mode & 0o070 && st.mode & 0o007 ? ' and ' : ''}${st.mode & 0o007 ? 'others' : ''} ` +
          `(mode ${(st.mode & 0o777).toString(8)}): it holds API keys, make it readable by the worker's user only (chmod 600)`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`HERO_API_KEYS_FILE: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push('HERO_API_KEYS_FILE: is not JSON (expected {"<practice group>": "<API key>", ...})');
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    problems.push('HERO_API_KEYS_FILE: must be a JSON object {"<practice group>": "<API key>", ...}');
    return undefined;
  }
  const keys: Record<string, string> = {};
  for (const [group, key] of Object.entries(json)) {
    const g = practiceGroupIdSchema.safeParse(group);
    if (!g.success) {
      // The name may be a key pasted in the wrong place: not echoed.
      problems.push('HERO_API_KEYS_FILE: an entry is not named by a practice group ID (1-64 letters, digits, _ or -)');
      continue;
    }
    const problem = keyProblem(key);
    if (problem) problems.push(`HERO_API_KEYS_FILE: the key of practice group ${g.data} ${problem}`);
    else keys[g.data] = (key as string).trim();
  }
  return keys;
}

/**
 * The practice groups this worker serves and each one's key, from the environment:
 * - HERO_PRACTICE_GROUP_IDS: a comma list (default: [HERO_PRACTICE_GROUP_ID]); HERO_PRACTICE_GROUP_ID, when
 *   also set, must be one of them and is the default group (else the first of the list);
 * - each group's key: its entry in HERO_API_KEYS_FILE (a JSON object group → key, read once, here), else
 *   {@link practiceGroupKeyVariable} (HERO_API_KEY_<GROUP>), else HERO_API_KEY. Both the file and the
 *   variable for one group is refused (which wins would be a guess).
 * With neither HERO_PRACTICE_GROUP_IDS nor a per-group key this is {@link loadHeroConfig}'s configuration.
 * Keys stay in the returned objects: they are given only to HeroClient, which sends them as a header.
 *
 * @param env @default process.env
 * @param opts.warn where a warning goes (a keys file readable by others, a file entry for a group not
 *   served). @default nowhere
 * @throws ConfigError naming every problem, each with its variable and group, never a value.
 */
export function loadHeroPracticeGroups(
  env: NodeJS.ProcessEnv = process.env,
  opts: { warn?: (line: string) => void } = {},
): HeroPracticeGroupsConfig {
  const warn = opts.warn ?? (() => {});
  const value = (k: string) => (env[k] === '' ? undefined : env[k]);
  const problems: string[] = [];
  // The single-group settings, HERO_API_KEY made optional: groups with their own key need none.
  const base = heroEnvSchema
    .extend({ HERO_API_KEY: headerValue().optional(), HERO_PRACTICE_GROUP_ID: headerValue().optional() })
    .safeParse(Object.fromEntries(Object.keys(heroEnvSchema.shape).map((k) => [k, value(k)])));
  if (!base.success) problems.push(...describeProblems(base.error, '(environment)', heroEnvSchema));

  let served: string[] | undefined;
  const listed = value('HERO_PRACTICE_GROUP_IDS');
  if (listed !== undefined) {
    const parsed = groupListSchema.safeParse(listed);
    if (!parsed.success) {
      problems.push(...describeProblems(parsed.error, '(environment)').map((p) => `HERO_PRACTICE_GROUP_IDS: ${p}`));
    } else {
      served = [...new Set(parsed.data)];
      if (served.length !== parsed.data.length) problems.push('HERO_PRACTICE_GROUP_IDS: names a group twice');
    }
  }
  const single = base.success ? base.data.HERO_PRACTICE_GROUP_ID : undefined;
  if (served && single !== undefined && !served.includes(single)) {
    problems.push(
      `HERO_PRACTICE_GROUP_ID: practice group ${single} is not one of HERO_PRACTICE_GROUP_IDS (the groups this worker serves)`,
    );
  }
  if (!served && single === undefined && base.success) {
    problems.push('HERO_PRACTICE_GROUP_ID: is required (or HERO_PRACTICE_GROUP_IDS, the groups this worker serves)');
  }
  served ??= single !== undefined ? [single] : [];
  if (served.length === 0 && base.success && base.data.HERO_API_KEY === undefined) {
    problems.push('HERO_API_KEY: is required');
  }

  const variables = new Map<string, string>();
  for (const g of served) {
    const name = practiceGroupKeyVariable(g);
    const other = variables.get(name);
    if (other !== undefined) {
      problems.push(
        `${name}: names the key of both practice group ${other} and ${g}; give their keys in HERO_API_KEYS_FILE`,
      );
    }
    variables.set(name, g);
  }
  const filePath = value('HERO_API_KEYS_FILE');
  const fromFile = filePath === undefined ? {} : readKeysFile(filePath, problems, warn);
  const fileKeys = fromFile ?? {};
  for (const g of Object.keys(fileKeys)) {
    if (!served.includes(g))
      warn(
        `HERO_API_KEYS_FILE: has a key for practice group ${g}, which this worker does not serve (HERO_PRACTICE_GROUP_IDS)`,
      );
  }

  const groups: HeroPracticeGroupsConfig['groups'] = {};
  const fallback = base.success ? base.data.HERO_API_KEY : undefined;
  for (const g of served) {
    const variable = practiceGroupKeyVariable(g);
    const own = value(variable);
    const problem = own === undefined ? undefined : keyProblem(own);
    if (problem) problems.push(`${variable}: the key of practice group ${g} ${problem}`);
    if (own !== undefined && fileKeys[g] !== undefined) {
      problems.push(`${variable} and HERO_API_KEYS_FILE: both give a key for practice group ${g}; keep one`);
    }
    const [apiKey, keySource]: [string | undefined, HeroKeySource] =
      fileKeys[g] !== undefined
        ? [fileKeys[g], 'HERO_API_KEYS_FILE']
        : own !== undefined
          ? [own.trim(), variable]
          : [fallback, 'HERO_API_KEY'];
    // An unreadable file is the one problem to fix: its groups' keys are not also reported missing.
    if (apiKey === undefined && base.success && fromFile !== undefined) {
      problems.push(
        `HERO_API_KEY: is required for practice group ${g}, which has no key of its own (${variable} or an entry in HERO_API_KEYS_FILE)`,
      );
    }
    if (base.success && apiKey !== undefined) {
      groups[g] = {
        apiKey,
        practiceGroupId: g,
        baseUrl: base.data.HERO_API_BASE_URL,
        timeoutMs: base.data.HERO_HTTP_TIMEOUT_MS,
        keySource,
      };
    }
  }
  if (problems.length || !base.success) throw new ConfigError(problems, 'Hero API configuration');
  return {
    defaultPracticeGroupId: single ?? served[0]!,
    practiceGroupIds: served,
    groups,
    baseUrl: base.data.HERO_API_BASE_URL,
    timeoutMs: base.data.HERO_HTTP_TIMEOUT_MS,
  };
}
