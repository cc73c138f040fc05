// The drift comparison in chunks: the same report as the one-piece comparison (drift of every
// kind, ignore rules, namespace limits, skipped input), cut into chunks of at most `chunkSize`
// objects with the event loop free between them (a setImmediate probe runs at every pause, and
// never during the one-piece comparison); bad chunk sizes are refused with a clear error.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { COMPARE_CHUNK, compareState, compareStateYielding, type CompareOptions, type DesiredInput } from '../../src/drift/compare.js';
import { mapYielding } from '../../src/drift/yielding.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;

/** `count` NetworkPolicies of a synthetic cluster, as Git declares them. */
function policies(count: number): Obj[] {
  const all = (syntheticCluster({ pods: Math.ceil(count / 90) * 100, policiesPerPod: 1, openNamespaces: 0, seed: 7 }) as Obj[]).filter((o) => o.kind === 'NetworkPolicy');
  if (all.length < count) throw new Error(`the synthetic cluster has ${all.length} policies, fewer than ${count}`);
  return all.slice(0, count);
}

/** The live side: every 50th widened, every 97th deleted, a few extra, one hostile entry. */
function drifted(desired: Obj[]): Obj[] {
  const live: Obj[] = desired
    .filter((_, i) => i % 97 !== 5)
    .map((p, i) => (i % 50 === 3 ? { ...p, spec: { ...(p.spec as Obj), ingress: [{}] } } : p));
  for (let k = 0; k < 5; k++) live.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `hotfix-${k}`, namespace: 'ns-1' }, spec: { podSelector: {}, ingress: [{}] } });
  live.push({ kind: 'NetworkPolicy', metadata: { namespace: 'ns-2' } } as Obj); // no name: skipped
  return live;
}

const asGit = (objects: Obj[]): DesiredInput[] => objects.map((object, i) => ({ object, source: { repository: 'policies', path: `p/${i}.yaml`, via: 'plain' as const } }));

/** Counts the turns of the event loop: re-arms itself with setImmediate until stopped. */
function turnProbe(): { readonly turns: number; stop(): void } {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop() {
      running = false;
    },
  };
}

describe('compareStateYielding', () => {
  const desiredObjects = policies(2000);
  const desired = asGit(desiredObjects);
  const live = drifted(desiredObjects);
  const cases: Array<[string, CompareOptions]> = [
    ['everything', {}],
    ['ignore rules and namespace limits', { ignore: [{ names: ['allow-dns'] }, { namespaces: ['ns-3'], labelSelector: { matchLabels: { never: 'there' } } }, { namespaces: ['ns-4'] }], namespaces: ['ns-1', 'ns-2', 'ns-4', 'ns-1*'] }],
    ['a kind Git does not manage', { kinds: ['CiliumNetworkPolicy'] }],
  ];

  it.each(cases)('gives the same report as compareState (%s), whatever the chunk size', async (_label, options) => {
    const whole = compareState(live, desired, options);
    expect(whole.items.length + whole.skipped.length).toBeGreaterThan(0);
    for (const chunkSize of [1, 7, COMPARE_CHUNK, 100_000]) expect(await compareStateYielding(live, desired, { ...options, chunkSize })).toEqual(whole);
  });

  it('finds every kind of drift the fixture holds', async () => {
    const report = await compareStateYielding(live, desired);
    const count = (status: string): number => report.items.filter((i) => i.status === status).length;
    expect(count('missing')).toBe(desiredObjects.filter((_, i) => i % 97 === 5).length);
    expect(count('extra')).toBe(5);
    expect(count('modified')).toBeGreaterThan(30);
    expect(report.skipped).toEqual([expect.objectContaining({ side: 'live', reason: 'no metadata.name' })]);
  });

  it('refuses a chunk size that is not a positive integer, before comparing anything', async () => {
    for (const chunkSize of [0, -1, 1.5, Number.NaN]) await expect(compareStateYielding(live, desired, { chunkSize })).rejects.toThrow(/chunkSize must be a positive integer/);
  });
});

describe('a 10k-policy comparison and the event loop', () => {
  const desiredObjects = policies(10_000);
  const desired = asGit(desiredObjects);
  const live = drifted(desiredObjects);
  const keys = new Set([...desiredObjects, ...live].map((o) => `${String((o.metadata as Obj).namespace)}/${String((o.metadata as Obj).name)}`)).size - 1; // the nameless one has no key

  it('pauses after every chunk: desired, live and compared keys each cut into chunks of COMPARE_CHUNK', async () => {
    let pauses = 0;
    await compareStateYielding(live, desired, {
      pause: async () => {
        pauses++;
      },
    });
    const chunks = (n: number): number => Math.floor(n / COMPARE_CHUNK);
    expect(pauses).toBe(chunks(desired.length) + chunks(live.length) + chunks(keys));
    expect(pauses).toBeGreaterThan(100);
  });

  it('a setImmediate probe runs at every pause of the default comparison, and never during the one-piece one', async () => {
    const blocking = turnProbe();
    const whole = compareState(live, desired);
    const turnsDuringWhole = blocking.turns;
    blocking.stop();
    expect(turnsDuringWhole).toBe(0);
    await nextTurn();

    // The default pause is the next turn of the event loop: the probe gets a turn at every one of them.
    const probe = turnProbe();
    const seen: number[] = [];
    const report = await compareStateYielding(live, desired, {
      pause: async () => {
        seen.push(probe.turns);
        await nextTurn();
      },
    });
    seen.push(probe.turns);
    probe.stop();
    expect(report).toEqual(whole);
    const between = seen.slice(1).map((turns, i) => turns - (seen[i] as number));
    expect(between.length).toBeGreaterThan(100);
    expect(between.every((n) => n >= 1)).toBe(true);

    // Without a pause option: the same, as the probe counts at least one turn per chunk.
    const plain = turnProbe();
    await compareStateYielding(live, desired);
    const turns = plain.turns;
    plain.stop();
    expect(turns).toBeGreaterThanOrEqual(between.length);
  });
});

describe('mapYielding', () => {
  it('maps like Array.prototype.map, pausing after every chunk', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    let pauses = 0;
    const out = await mapYielding(items, (x, i) => x * 2 + i, 10, async () => {
      pauses++;
    });
    expect(out).toEqual(items.map((x, i) => x * 2 + i));
    expect(pauses).toBe(2);
    expect(await mapYielding([], (x: number) => x, 3)).toEqual([]);
  });

  it('refuses a chunk that is not a positive integer', async () => {
    for (const chunk of [0, -3, 2.5]) await expect(mapYielding([1], (x) => x, chunk)).rejects.toThrow(/chunk must be a positive integer/);
  });
});
