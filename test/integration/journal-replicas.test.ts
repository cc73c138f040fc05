// Watcher replicas: only the lock holder journals; a replica that takes over (after a graceful stop
// or a crash) continues without doubling a change or losing one, and a replica that lost the lock
// but still runs is fenced. A watcher that starts after downtime journals what changed meanwhile.
import { afterEach, describe, expect, it } from 'vitest';
import type { CiliumNetworkPolicy, KubeNetworkPolicy } from '../../src/kube/index.js';
import { watcherLockKey } from '../../src/journal/index.js';
import { JournalCluster, line, settle, waitFor } from '../helpers/journal-cluster.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

let cluster: JournalCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function np(name: string, port: number, namespace = 'api'): KubeNetworkPolicy {
  return { metadata: { name, namespace }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port }] }] } };
}

function cnp(name: string, app: string): CiliumNetworkPolicy {
  return { metadata: { name, namespace: 'db' }, spec: { endpointSelector: { matchLabels: { app } }, egressDeny: [{ toEntities: ['world'] }] } };
}

const rvOf = (o: { metadata?: { resourceVersion?: string } }): string => String(o.metadata?.resourceVersion);

/** No (kind, object, type, version) twice. */
function expectNoDoubles(lines: string[]): void {
  expect(lines.filter((l, i) => lines.indexOf(l) !== i)).toEqual([]);
}

describe('watcher replicas', () => {
  it('only the lock holder journals; a graceful handover continues without doubling', async () => {
    const c = (cluster = await JournalCluster.start(uniquePrefix('journal'), testRedis));
    const a = c.replica({ instance: 'a' });
    const b = c.replica({ instance: 'b' });
    await a.watcher.start();
    await b.watcher.start();
    expect(a.watcher.isActive).toBe(true);
    expect(b.watcher.isActive).toBe(false);
    await a.watcher.ready();
    const initial = (await c.entries(a.journal)).length;
    const nps = c.gateway.objects('NetworkPolicy');
    const one = await nps.apply(np('handover', 1), { fieldManager: 'kubectl' });
    await settle(c, a.journal, initial + 1);
    expect(b.results).toEqual([]);

    await a.watcher.stop();
    await waitFor('b to take over', () => b.watcher.isActive);
    await b.watcher.ready();
    const two = await nps.apply(np('handover', 2), { fieldManager: 'kubectl' });
    const entries = (await settle(c, b.journal, initial + 2)).slice(initial);
    expect(entries.map(line)).toEqual([`added NetworkPolicy api/handover@${rvOf(one)}`, `modified NetworkPolicy api/handover@${rvOf(two)}`]);
    // b listed every object again: all known to the journal already, so all skipped.
    expect(b.results.filter((r) => r.result.outcome === 'stored')).toHaveLength(1);
    expect(b.results.filter((r) => r.result.outcome === 'skipped').length).toBeGreaterThanOrEqual(initial);
  });

  it('after a crash, the successor journals what changed in the gap once, and the crashed replica is fenced', async () => {
    const c = (cluster = await JournalCluster.start(uniquePrefix('journal'), testRedis));
    const a = c.replica({ instance: 'a', lockTtlMs: 1500 });
    const b = c.replica({ instance: 'b', lockTtlMs: 1500 });
    await a.watcher.start();
    await a.watcher.ready();
    const initial = (await c.entries(a.journal)).length;
    const nps = c.gateway.objects('NetworkPolicy');
    const cnps = c.gateway.objects('CiliumNetworkPolicy');
    const keep = await cnps.apply(cnp('keep', 'v1'), { fieldManager: 'kubectl' });
    const doomed = await cnps.apply(cnp('doomed', 'v1'), { fieldManager: 'kubectl' });
    await settle(c, a.journal, initial + 2);

    // a "crashes": it stops renewing its lock but its watches keep delivering.
    a.watcher.lock.abandon();
    await waitFor('the lock to expire', async () => (await a.redis.get(watcherLockKey(c.prefix))) === null, 5000);
    // Nobody may write now: a's writes are fenced, so these changes wait for the successor's list.
    const changed = await cnps.apply(cnp('keep', 'v2'), { fieldManager: 'kubectl' });
    await cnps.delete({ namespace: 'db', name: 'doomed' });
    const born = await nps.apply(np('born-in-the-gap', 7), { fieldManager: 'kubectl' });
    await waitFor('a to be fenced', () => a.results.filter((r) => r.result.outcome === 'fenced').length >= 3);

    await b.watcher.start();
    expect(b.watcher.isActive).toBe(true);
    await b.watcher.ready();
    const after = await nps.apply(np('born-in-the-gap', 8), { fieldManager: 'kubectl' });
    const entries = (await settle(c, b.journal, initial + 6)).slice(initial);
    const lines = entries.map(line);
    expectNoDoubles(lines);
    expect(lines.slice(0, 2)).toEqual([`added CiliumNetworkPolicy db/keep@${rvOf(keep)}`, `added CiliumNetworkPolicy db/doomed@${rvOf(doomed)}`]);
    expect(lines.slice(2, 5).sort()).toEqual(
      [`modified CiliumNetworkPolicy db/keep@${rvOf(changed)}`, `deleted CiliumNetworkPolicy db/doomed@${rvOf(doomed)} (inferred)`, `added NetworkPolicy api/born-in-the-gap@${rvOf(born)}`].sort(),
    );
    expect(lines[5]).toBe(`modified NetworkPolicy api/born-in-the-gap@${rvOf(after)}`);
    // a still watches, but stores nothing after its lock expired: each write it tries is refused by
    // the fence (an event b journaled first is skipped as a duplicate before a gets that far).
    const afterCrash = a.results.slice(a.results.findIndex((r) => r.result.outcome === 'fenced'));
    expect(afterCrash.filter((r) => r.result.outcome === 'stored')).toEqual([]);
    expect(afterCrash.length).toBeGreaterThanOrEqual(3);
    expect(a.watcher.isActive).toBe(true);
  });

  it('catches up after downtime: changes, deletions and recreations made while no watcher ran', async () => {
    const c = (cluster = await JournalCluster.start(uniquePrefix('journal'), testRedis));
    const first = c.replica();
    await first.watcher.start();
    await first.watcher.ready();
    const listed = (await c.entries(first.journal)).length;
    const cnps = c.gateway.objects('CiliumNetworkPolicy');
    const firstRv = new Map<string, string>();
    for (const name of ['same', 'edited', 'removed', 'reborn']) firstRv.set(name, rvOf(await cnps.apply(cnp(name, 'v1'), { fieldManager: 'kubectl' })));
    const initial = (await settle(c, first.journal, listed + 4)).length;
    await first.watcher.stop();

    const edited = await cnps.apply(cnp('edited', 'v2'), { fieldManager: 'kubectl' });
    await cnps.delete({ namespace: 'db', name: 'removed' });
    await cnps.delete({ namespace: 'db', name: 'reborn' });
    const reborn = await cnps.apply(cnp('reborn', 'v1'), { fieldManager: 'kubectl' });

    const second = c.replica();
    await second.watcher.start();
    await second.watcher.ready();
    const entries = (await settle(c, second.journal, initial + 4)).slice(initial);
    // The inferred deletions carry the last version the journal saw.
    expect(entries.map(line).sort()).toEqual(
      [
        `modified CiliumNetworkPolicy db/edited@${rvOf(edited)}`,
        `deleted CiliumNetworkPolicy db/removed@${firstRv.get('removed')} (inferred)`,
        `deleted CiliumNetworkPolicy db/reborn@${firstRv.get('reborn')} (inferred)`,
        `added CiliumNetworkPolicy db/reborn@${rvOf(reborn)} (inferred)`,
      ].sort(),
    );
    const rebornEntries = entries.filter((e) => e.name === 'reborn');
    expect(rebornEntries.map((e) => e.type)).toEqual(['deleted', 'added']);
  });
});
