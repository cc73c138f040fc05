// A run's engine session measures exactly what a fresh engine measures: random step sequences on
// synthetic clusters (updates, deletes, creates, new address blocks, other writers' edits in
// between, containment's objects and exclusions), compared measure by measure with measureDelta,
// and kept up to date in place rather than rebuilt wherever the rules allow.
import { describe, expect, it } from 'vitest';
import { withExclusion } from '../../src/containment/exclusion.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/containment/objects.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { EngineSession } from '../../src/restore/engine-session.js';
import { MAX_LINES } from '../../src/restore/plan.js';
import { measureDelta, withObject } from '../../src/restore/verify.js';
import { seededRandom } from '../../src/sim/random.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;
type Meta = { name: string; namespace: string; resourceVersion?: string; uid?: string; labels?: Record<string, string> };

const strip = (o: Obj): Obj => {
  const { kind: _kind, ...rest } = o;
  return rest;
};
const meta = (o: Obj): Meta => o.metadata as Meta;

function clusterLive(pods: number, seed: number): LiveObjects {
  const objects = syntheticCluster({ pods, seed }) as Obj[];
  const of = (kind: string): Obj[] => objects.filter((o) => o.kind === kind).map(strip);
  let rv = 1;
  const versioned = of('NetworkPolicy').map((p) => ({ ...p, metadata: { ...meta(p), resourceVersion: String(rv++), uid: `uid-${meta(p).namespace}-${meta(p).name}` } }));
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: versioned };
}

let version = 100_000;
function bump(o: Obj): Obj {
  return { ...o, metadata: { ...meta(o), resourceVersion: String(version++) } };
}

/** A variation of a policy: another port, an address block (sometimes a new one), or no ingress at all. */
function vary(p: Obj, rand: () => number): Obj {
  const spec = structuredClone(p.spec) as Obj;
  const roll = rand();
  if (roll < 0.3) spec.ingress = [{ ports: [{ protocol: 'TCP', port: 1000 + Math.floor(rand() * 5) }] }];
  else if (roll < 0.55) spec.egress = [{ to: [{ ipBlock: { cidr: `10.${Math.floor(rand() * 4)}.0.0/16` } }] }];
  else if (roll < 0.7) spec.egress = [{ to: [{ ipBlock: { cidr: `172.${16 + Math.floor(rand() * 200)}.${Math.floor(rand() * 250)}.0/24` } }] }];
  else if (roll < 0.85) spec.ingress = [];
  else spec.podSelector = { matchLabels: { tier: ['web', 'api', 'db'][Math.floor(rand() * 3)] as string } };
  if (spec.egress && !(spec.policyTypes as string[] | undefined)?.includes('Egress')) spec.policyTypes = [...((spec.policyTypes as string[] | undefined) ?? ['Ingress']), 'Egress'];
  return bump({ ...p, spec });
}

const nps = (live: LiveObjects): Obj[] => (live.networkPolicies ?? []) as Obj[];

function replace(live: LiveObjects, next: Obj): LiveObjects {
  const others = nps(live).filter((o) => !(meta(o).name === meta(next).name && meta(o).namespace === meta(next).namespace));
  return { ...live, networkPolicies: [...others, next] };
}

function remove(live: LiveObjects, gone: Obj): LiveObjects {
  return { ...live, networkPolicies: nps(live).filter((o) => o !== gone) };
}

describe('EngineSession', () => {
  it.each([1, 2, 3, 4, 5, 6])('random steps on a synthetic cluster (seed %i): every measure equals a fresh engine’s', (seed) => {
    const rand = seededRandom(seed);
    let live = clusterLive(400, seed);
    const session = new EngineSession(MAX_LINES);
    let created = 0;
    let changed = 0;
    for (let i = 0; i < 25; i++) {
      // Other writers between steps: an edit elsewhere, now and then.
      if (rand() < 0.4) {
        const other = nps(live)[Math.floor(rand() * nps(live).length)] as Obj;
        live = replace(live, vary(other, rand));
      }
      const list = nps(live);
      const roll = rand();
      let before: Obj | null;
      let now: Obj | null;
      if (roll < 0.6) {
        before = list[Math.floor(rand() * list.length)] as Obj;
        now = vary(before, rand);
      } else if (roll < 0.8) {
        before = list[Math.floor(rand() * list.length)] as Obj;
        now = null;
      } else {
        before = null;
        const ns = (live.namespaces as Obj[])[Math.floor(rand() * (live.namespaces?.length ?? 1))] as Obj;
        now = bump({ metadata: { name: `restored-${created++}`, namespace: meta(ns).name, uid: `new-${i}` }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] } });
      }
      const template = (before ?? now) as Obj;
      const key = { kind: 'NetworkPolicy', namespace: meta(template).namespace, name: meta(template).name };
      const after = now ? replace(live, now) : remove(live, before as Obj);
      const fresh = measureDelta(after, 'NetworkPolicy', key, before, now);
      expect(session.measure(after, 'NetworkPolicy', key, before, now), `seed ${seed} step ${i} ${key.namespace}/${key.name}`).toEqual(fresh);
      if (fresh.opened.length + fresh.closed.length > 0) changed += 1;
      live = after;
    }
    expect(session.counts.built + session.counts.updated).toBe(25);
    // New address blocks force rebuilds now and then; the rest is kept up to date in place.
    expect(session.counts.updated).toBeGreaterThan(10);
    // Most steps change connectivity: the comparison is not of empty lists.
    expect(changed).toBeGreaterThan(8);
  });

  it('the shop under containment: the bot’s objects and exclusions are aside, exactly as in a fresh measure', () => {
    const objects = shopObjects() as Obj[];
    const of = (kind: string): Obj[] => objects.filter((o) => o.kind === kind).map(strip).map((o, i) => ({ ...o, metadata: { ...meta(o), resourceVersion: String(i + 1), uid: `u${i}` } }));
    let live: LiveObjects = { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy') };
    const quarantine = bump({ metadata: { name: 'netpol-responder-quarantine-x', namespace: 'db', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
    const excluded = nps(live).map((p) => (meta(p).namespace === 'db' ? bump({ ...p, spec: { ...(p.spec as Obj), podSelector: withExclusion((p.spec as Obj).podSelector as never) } }) : p));
    live = { ...live, networkPolicies: [...excluded, quarantine] };
    const session = new EngineSession(MAX_LINES);
    for (const target of nps(live).filter((p) => meta(p).namespace === 'db' && !meta(p).labels?.[MANAGED_BY_LABEL])) {
      const now = bump({ ...target, spec: { ...(target.spec as Obj), ingress: [] } });
      const key = { kind: 'NetworkPolicy', namespace: 'db', name: meta(target).name };
      const after = replace(live, now);
      expect(session.measure(after, 'NetworkPolicy', key, target, now)).toEqual(measureDelta(after, 'NetworkPolicy', key, target, now));
      // The guard re-patches something meanwhile: a new version of the bot's own object.
      live = replace(after, bump(quarantine));
    }
    expect(session.counts.updated).toBeGreaterThan(0);
  });

  it('rebuilds when the pods are another view, or a CiliumNetworkPolicy is measured or changed', () => {
    const base = clusterLive(200, 9);
    const session = new EngineSession(MAX_LINES);
    const p = nps(base)[3] as Obj;
    const key = { kind: 'NetworkPolicy', namespace: meta(p).namespace, name: meta(p).name };
    const step = (live: LiveObjects, before: Obj, now: Obj): void => {
      const after = replace(live, now);
      expect(session.measure(after, 'NetworkPolicy', key, before, now)).toEqual(measureDelta(after, 'NetworkPolicy', key, before, now));
    };
    const v1 = bump({ ...p, spec: { ...(p.spec as Obj), ingress: [] } });
    step(base, p, v1);
    expect(session.counts).toEqual({ built: 1, updated: 0 });
    const v2 = bump({ ...v1, spec: p.spec });
    step(replace(base, v1), v1, v2);
    expect(session.counts).toEqual({ built: 1, updated: 1 });
    // The same pods, listed again: another view.
    const relisted = { ...replace(base, v2), pods: [...(base.pods ?? [])] };
    const v3 = bump({ ...v2, spec: { ...(p.spec as Obj), ingress: [] } });
    step(relisted, v2, v3);
    expect(session.counts).toEqual({ built: 2, updated: 1 });
    const cnp = { metadata: { name: 'c', namespace: meta(p).namespace, resourceVersion: '9', uid: 'c' }, spec: { endpointSelector: {}, egressDeny: [{ toEntities: ['world'] }] } };
    const withCnp = { ...replace(relisted, v3), ciliumNetworkPolicies: [cnp] };
    const v4 = bump({ ...v3, spec: p.spec });
    step(withCnp, v3, v4);
    expect(session.counts).toEqual({ built: 3, updated: 1 });
    const cnpKey = { kind: 'CiliumNetworkPolicy', namespace: meta(p).namespace, name: 'c' };
    const cnpNow = { ...cnp, metadata: { ...cnp.metadata, resourceVersion: '10' }, spec: { endpointSelector: {}, egressDeny: [{ toEntities: ['cluster'] }] } };
    const afterCnp = { ...replace(withCnp, v4), ciliumNetworkPolicies: [cnpNow] };
    expect(session.measure(afterCnp, 'CiliumNetworkPolicy', cnpKey, cnp, cnpNow)).toEqual(measureDelta(afterCnp, 'CiliumNetworkPolicy', cnpKey, cnp, cnpNow));
    expect(session.counts).toEqual({ built: 4, updated: 1 });
  });

  it('an object the engine cannot read fails the measure, and the next one starts afresh', () => {
    const base = clusterLive(100, 11);
    const session = new EngineSession(MAX_LINES);
    const p = nps(base)[0] as Obj;
    const key = { kind: 'NetworkPolicy', namespace: meta(p).namespace, name: meta(p).name };
    const bad = bump({ ...p, spec: { podSelector: { matchExpressions: [{ key: 'x', operator: 'Sideways' }] } } });
    expect(() => session.measure(replace(base, bad), 'NetworkPolicy', key, p, bad)).toThrow(/cannot read the .* read back object/);
    const ok = bump({ ...p, spec: { ...(p.spec as Obj), ingress: [] } });
    expect(session.measure(replace(base, ok), 'NetworkPolicy', key, p, ok)).toEqual(measureDelta(replace(base, ok), 'NetworkPolicy', key, p, ok));
    expect(withObject(base, 'NetworkPolicy', key, null).networkPolicies).toHaveLength(nps(base).length - 1);
  });
});
