import { ApplicationFailure } from '@temporalio/common';
import { HeroClient } from '../hero/client';
import type { HeroKeySource, HeroPracticeGroupsConfig } from '../hero/config';
import { FailureType } from '../shared/failure-types';

/**
 * The Hero clients of the practice groups a worker serves, one per group, each with its own key. An
 * activity picks one by its input's `practiceGroupId` ({@link HeroClients.for}); a run that names none is
 * the default group's. Holds no key itself: each HeroClient keeps its own, privately.
 */
export class HeroClients {
  readonly defaultPracticeGroupId: string;
  readonly #clients = new Map<string, HeroClient>();
  readonly #keySources = new Map<string, HeroKeySource>();

  /**
   * @param clients one per group (their `practiceGroupId`s differ); the first is the default group's unless
   *   `defaultPracticeGroupId` says otherwise.
   * @throws TypeError when there is no client, two share a group, or the default group has none.
   */
  constructor(
    clients: readonly HeroClient[],
    opts: { defaultPracticeGroupId?: string; keySources?: Record<string, HeroKeySource> } = {},
  ) {
    if (clients.length === 0) throw new TypeError('HeroClients needs at least one HeroClient');
    for (const c of clients) {
      if (this.#clients.has(c.practiceGroupId)) {
        throw new TypeError(`two Hero clients for practice group ${c.practiceGroupId}`);
      }
      this.#clients.set(c.practiceGroupId, c);
      const source = opts.keySources?.[c.practiceGroupId];
      if (source) this.#keySources.set(c.practiceGroupId, source);
    }
    this.defaultPracticeGroupId = opts.defaultPracticeGroupId ?? clients[0]!.practiceGroupId;
    if (!this.#clients.has(this.defaultPracticeGroupId)) {
      throw new TypeError(`no Hero client for the default practice group ${this.defaultPracticeGroupId}`);
    }
  }

  /** The clients of a worker's configuration (loadHeroPracticeGroups). */
  static fromConfig(config: HeroPracticeGroupsConfig): HeroClients {
    const groups = config.practiceGroupIds.map((g) => config.groups[g]!);
    return new HeroClients(
      groups.map((g) => new HeroClient(g)),
      {
        defaultPracticeGroupId: config.defaultPracticeGroupId,
        keySources: Object.fromEntries(groups.map((g) => [g.practiceGroupId, g.keySource])),
      },
    );
  }

  /** `hero` as it is, or one HeroClient (the single-group form of createActivities) as the only group. */
  static of(hero: HeroClient | HeroClients): HeroClients {
    return hero instanceof HeroClients ? hero : new HeroClients([hero]);
  }

  get practiceGroupIds(): string[] {
    return [...this.#clients.keys()];
  }

  /** The longest HTTP timeout of the clients: what the shutdown grace period must exceed. */
  get timeoutMs(): number {
    return Math.max(...[...this.#clients.values()].map((c) => c.timeoutMs));
  }

  /** Where the group's key came from (a variable's name), when the configuration said. */
  keySource(practiceGroupId: string): HeroKeySource | undefined {
    return this.#keySources.get(practiceGroupId);
  }

  /**
   * The client of `practiceGroupId` (the default group's when undefined).
   * @throws ApplicationFailure, non-retryable, type HeroConfiguration, naming the group and
   *   HERO_PRACTICE_GROUP_IDS, when this worker does not serve the group: no retry can fix it, an
   *   operator must add the group (and its key) to the workers.
   */
  for(practiceGroupId: string | undefined): HeroClient {
    const group = practiceGroupId ?? this.defaultPracticeGroupId;
    const client = this.#clients.get(group);
    if (client) return client;
    throw ApplicationFailure.create({
      type: FailureType.Configuration,
      nonRetryable: true,
      message:
        `practice group ${group} is not served by this worker: add it to HERO_PRACTICE_GROUP_IDS ` +
        `(served: ${this.practiceGroupIds.join(', ')}), with its key, and restart the workers`,
      details: [{ practiceGroupId: group }],
    });
  }
}
