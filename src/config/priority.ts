import { ConfigError } from '../shared/errors';
import { fairnessWeightsSchema, type FairnessWeights } from '../shared/priority';

/**
 * HERO_FAIRNESS_WEIGHTS of a client that starts runs and campaigns: each practice group's weight in
 * Temporal's fairness between groups (docs/priority.md). Unset: every group weighs 1.
 * @throws {ConfigError} a pair that is not `group=weight`, a weight outside 0.001-1000, a group twice.
 */
export function loadFairnessWeights(env: NodeJS.ProcessEnv = process.env): FairnessWeights {
  const text = env.HERO_FAIRNESS_WEIGHTS?.trim();
  if (!text) return {};
  const parsed = fairnessWeightsSchema.safeParse(text);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `HERO_FAIRNESS_WEIGHTS: ${i.message} (e.g. practice-a=2,practice-b=1)`),
    );
  }
  return parsed.data;
}
