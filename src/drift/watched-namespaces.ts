// Namespaces the drift monitor watches beyond its configuration: a Redis set the hardening step
// (step 5) adds the namespaces it hardened to, so that a hand edit there raises a drift alert even
// where `drift.enabled` is off or `drift.namespaces` does not match. Any replica may add; the
// watcher role's monitor reads it before each evaluation.
import type { RedisClient } from '../redis/connect.js';
import type { DriftWatch } from '../playbook/steps/types.js';
import { globMatches } from './compare.js';
import type { DriftConfig } from './config-schema.js';

const MAX_WATCHED = 1000;

export class WatchedNamespaces {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:drift:watched-namespaces`;
  }

  async list(): Promise<string[]> {
    return (await this.redis.smembers(this.key)).sort();
  }

  /** Adds them; returns the ones that were not in the set. */
  async add(namespaces: readonly string[]): Promise<string[]> {
    const added: string[] = [];
    for (const ns of namespaces) if ((await this.redis.scard(this.key)) < MAX_WATCHED && (await this.redis.sadd(this.key, ns)) === 1) added.push(ns);
    return added;
  }
}

/** Whether the configuration alone has the monitor compare this namespace. */
export function configCovers(config: Pick<DriftConfig, 'enabled' | 'namespaces'>, namespace: string): boolean {
  return config.enabled && config.namespaces.some((g) => globMatches(g, namespace));
}

/** The namespaces an evaluation compares: the configured globs (when enabled) plus the watched set. */
export function monitoredNamespaces(config: Pick<DriftConfig, 'enabled' | 'namespaces'>, watched: readonly string[]): string[] {
  return [...new Set([...(config.enabled ? config.namespaces : []), ...watched])];
}

/** The step's view: covered by config or the set, and adding to the set. */
export function driftWatch(watched: WatchedNamespaces, config: Pick<DriftConfig, 'enabled' | 'namespaces'>, unavailable?: string): DriftWatch {
  return {
    unavailable: () => unavailable,
    async watch(namespaces) {
      const before = new Set(await watched.list());
      const covered = (ns: string): boolean => configCovers(config, ns) || before.has(ns);
      const alreadyOn = namespaces.filter(covered);
      const wanted = namespaces.filter((ns) => !covered(ns));
      await watched.add(wanted);
      return { turnedOn: wanted, alreadyOn };
    },
  };
}

/** The watched set as last read, refreshed in the background; nothing to read: always empty. */
export class WatchedSnapshot {
  current: string[] = [];
  private reading = false;

  constructor(
    private readonly read: (() => Promise<string[]>) | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Reads again unless a read is under way; `changed` runs when the set differs from the last read. */
  refresh(changed: () => void): void {
    if (!this.read || this.reading) return;
    this.reading = true;
    void this.read()
      .then((list) => {
        const differs = list.join(',') !== this.current.join(',');
        this.current = list;
        if (differs) changed();
      })
      .catch(this.onError)
      .finally(() => {
        this.reading = false;
      });
  }

  async load(): Promise<string[]> {
    if (this.read) this.current = await this.read();
    return this.current;
  }
}
