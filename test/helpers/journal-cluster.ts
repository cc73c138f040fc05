// A simulated cluster, watcher replicas and their journal, for the change journal's integration
// tests and benchmark: real redis-server, the simulated API server over HTTPS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ChangeJournal, JournalWatcher, type AppendResult, type JournalEntry, type JournalKind } from '../../src/journal/index.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { createLogger } from '../../src/log.js';
import { startKubeApiServer, type KubeApiSim, type KubeApiSimOptions } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

export const BOT = 'system:serviceaccount:netpol-responder:netpol-responder';
export const DAY = 86_400_000;

export interface Replica {
  watcher: JournalWatcher;
  journal: ChangeJournal;
  results: Array<{ kind: JournalKind; result: AppendResult }>;
  redis: Redis;
}

export class JournalCluster {
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'journal-'));

  private constructor(
    readonly sim: KubeApiSim,
    readonly gateway: KubeGateway,
    readonly prefix: string,
    private readonly connect: () => Redis,
  ) {
    this.cleanups.push(() => rmSync(this.dir, { recursive: true, force: true }));
    this.cleanups.push(() => sim.close());
  }

  static async start(prefix: string, connect: () => Redis, opts: KubeApiSimOptions = {}): Promise<JournalCluster> {
    const sim = await startKubeApiServer({ users: { [`t-${Math.random()}`]: BOT }, cluster: { cni: 'cilium', adminNetworkPolicy: true }, ...opts });
    sim.seed(shopObjects());
    const dir = mkdtempSync(join(tmpdir(), 'journal-kc-'));
    const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
    const cluster = new JournalCluster(sim, gateway, prefix, connect);
    cluster.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return cluster;
  }

  /** A watcher replica with its own Redis connection (not started). */
  replica(opts: { maxObjectBytes?: number; lockTtlMs?: number; maxEntries?: number; instance?: string } = {}): Replica {
    const redis = this.connect();
    const journal = new ChangeJournal(redis, this.prefix, { maxAgeMs: 30 * DAY, maxEntries: opts.maxEntries ?? 200_000 }, opts.maxObjectBytes ? { limits: { maxObjectBytes: opts.maxObjectBytes } } : {});
    const results: Replica['results'] = [];
    const watcher = new JournalWatcher({
      gateway: this.gateway,
      redis,
      keyPrefix: this.prefix,
      journal,
      logger: createLogger({ level: 'silent' }),
      lockTtlMs: opts.lockTtlMs ?? 3000,
      watchBackoff: { initialMs: 5, maxMs: 50 },
      retryMs: 20,
      instance: opts.instance ?? 'replica',
      onResult: (kind, result) => results.push({ kind, result }),
    });
    this.cleanups.push(async () => {
      await watcher.stop();
      redis.disconnect();
    });
    return { watcher, journal, results, redis };
  }

  /** Every entry so far, oldest first. */
  async entries(journal: ChangeJournal): Promise<JournalEntry[]> {
    return journal.query({ since: '1970-01-01T00:00:00Z', limit: 10_000 });
  }

  async close(): Promise<void> {
    while (this.cleanups.length > 0) await this.cleanups.pop()?.();
  }
}

export function line(e: JournalEntry): string {
  return `${e.type} ${e.kind} ${e.namespace ?? ''}/${e.name}@${e.resourceVersion}${e.inferred ? ' (inferred)' : ''}`;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until the journal holds `count` entries (and a moment more, to catch any extra). */
export async function settle(cluster: JournalCluster, journal: ChangeJournal, count: number): Promise<JournalEntry[]> {
  await waitFor(`${count} journal entries`, async () => (await journal.size()) >= count);
  await new Promise((r) => setTimeout(r, 150));
  return cluster.entries(journal);
}
