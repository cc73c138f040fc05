// Normalised objects kept from one drift comparison to the next (src/drift/normalize-memo.ts): a
// comparison with the memo reports what one without it reports, state after state; live objects
// are known by uid and resourceVersion, desired ones by identity (and the namespace they fall back
// to); only what the latest comparison met of the live side is kept.
import { describe, expect, it } from 'vitest';
import { compareState, compareStateYielding, CompareMemo, type DesiredInput } from '../../src/drift/compare.js';
import { livePolicies } from '../../src/drift/live.js';

type Obj = Record<string, unknown>;

function np(name: string, cidr: string, meta: Obj = {}): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop', ...meta }, spec: { podSelector: { matchLabels: { app: name } }, egress: [{ to: [{ ipBlock: { cidr } }] }] } };
}

/** As the API server lists it: a uid and a resourceVersion. */
const listed = (name: string, cidr: string, uid: string, rv: string): Obj => np(name, cidr, { uid: `uid-${uid}`, resourceVersion: rv });
const git = (...objects: Obj[]): DesiredInput[] => objects.map((object) => ({ object, source: { repository: 'policies', path: `${String((object.metadata as Obj).name)}.yaml`, via: 'plain' as const } }));
/** A new list of the same objects: new identities, same versions. */
const relisted = (live: Obj[]): Obj[] => JSON.parse(JSON.stringify(live)) as Obj[];

const summary = (report: ReturnType<typeof compareState>) => ({ ...report, items: report.items.map((i) => ({ key: i.key, status: i.status, ...('diff' in i ? { diff: i.diff } : {}) })) });

describe('drift comparison with normalised objects kept', () => {
  it('reports what a comparison without the memo reports, state after state', async () => {
    const memo = new CompareMemo();
    const desiredA = git(np('web', '10.0.0.0/8'), np('api', '10.1.0.0/16'), np('db', '10.2.0.0/16'));
    const states: Array<{ what: string; live: Obj[]; desired: DesiredInput[] }> = [];
    const inSync = [listed('web', '10.0.0.0/8', 'w', '1'), listed('api', '10.1.0.0/16', 'a', '2'), listed('db', '10.2.0.0/16', 'd', '3')];
    states.push({ what: 'in sync', live: inSync, desired: desiredA });
    states.push({ what: 'the same objects listed again', live: relisted(inSync), desired: desiredA });
    const edited = [listed('web', '0.0.0.0/0', 'w', '7'), ...relisted(inSync.slice(1))];
    states.push({ what: 'one edited (a new version)', live: edited, desired: desiredA });
    states.push({ what: 'edited, listed again', live: relisted(edited), desired: desiredA });
    const recreated = [listed('web', '10.0.0.0/8', 'w2', '9'), ...relisted(inSync.slice(1, 2))];
    states.push({ what: 'deleted and created again, one gone', live: recreated, desired: desiredA });
    const desiredB = git(np('web', '10.0.0.0/8'), np('api', '10.9.0.0/16'));
    states.push({ what: "Git's head moved", live: relisted(recreated), desired: desiredB });
    states.push({ what: 'an extra one, and one without a version', live: [...relisted(recreated), listed('cache', '10.3.0.0/16', 'c', '11'), np('legacy', '10.4.0.0/16')], desired: desiredB });
    for (const state of states) {
      const expected = summary(compareState(state.live, state.desired));
      expect(summary(compareState(state.live, state.desired, { memo })), state.what).toEqual(expected);
      expect(summary(await compareStateYielding(state.live, state.desired, { memo, chunkSize: 2 })), `${state.what} (yielding)`).toEqual(expected);
    }
    expect(summary(compareState(states[2]!.live, desiredA, { memo })).items).toEqual([expect.objectContaining({ status: 'modified' })]);
  });

  it('a live object is known by uid and resourceVersion; one without either is normalised every time', () => {
    const memo = new CompareMemo();
    const desired = git(np('web', '10.0.0.0/8'), np('legacy', '10.4.0.0/16'));
    const before = [listed('web', '10.0.0.0/8', 'w', '1'), np('legacy', '10.4.0.0/16')];
    expect(compareState(before, desired, { memo }).items).toEqual([]);
    // The API server never serves other content under the same uid and version: the memo takes it as the same object.
    const sameVersion = [listed('web', '0.0.0.0/0', 'w', '1'), np('legacy', '0.0.0.0/0')];
    expect(compareState(sameVersion, desired, { memo }).items.map((i) => i.key.name)).toEqual(['legacy']);
    // Another uid at the same version is another object.
    expect(compareState([listed('web', '0.0.0.0/0', 'w-other', '1')], desired.slice(0, 1), { memo }).items.map((i) => i.status)).toEqual(['modified']);
  });

  it('a desired object is known by identity and by the namespace it falls back to', () => {
    const memo = new CompareMemo();
    const object = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web' }, spec: { podSelector: {} } };
    const live = [{ ...object, metadata: { name: 'web', namespace: 'shop', uid: 'u', resourceVersion: '1' } }];
    const inShop = compareState(live, [{ object, namespace: 'shop' }], { memo });
    expect(inShop.items).toEqual([]);
    // The same object rendered for another namespace: missing there, and the shop's copy extra.
    const inBilling = compareState(live, [{ object, namespace: 'billing' }], { memo });
    expect(inBilling.items.map((i) => `${i.status} ${i.key.namespace}`).sort()).toEqual(['extra shop', 'missing billing']);
    expect(compareState(live, [{ object, namespace: 'shop' }], { memo }).items).toEqual([]);
  });

  it('hostile objects are skipped with their reason on every comparison, memo or not', () => {
    const memo = new CompareMemo();
    const hostile = [{ kind: 'NetworkPolicy', metadata: { name: 'x', namespace: 'shop', uid: 'h', resourceVersion: '1' }, spec: ['not', 'an', 'object'] }, null, 'text', { kind: 'NetworkPolicy', metadata: { uid: 'n', resourceVersion: '2' } }];
    const desired = [...git(np('web', '10.0.0.0/8')), { object: { kind: 'NetworkPolicy', metadata: { name: 'y' }, spec: 7 } }] as DesiredInput[];
    const expected = compareState(hostile as Obj[], desired).skipped;
    expect(expected.length).toBe(5);
    for (let round = 0; round < 3; round++) expect(compareState(hostile as Obj[], desired, { memo }).skipped).toEqual(expected);
  });

  it('keeps only the live objects the latest comparison met', () => {
    const memo = new CompareMemo();
    const many = Array.from({ length: 50 }, (_, i) => listed(`p${i}`, '10.0.0.0/8', `u${i}`, String(i + 1)));
    compareState(many, []);
    expect(memo.normalized.liveSize).toBe(0);
    compareState(many, [], { memo });
    expect(memo.normalized.liveSize).toBe(50);
    compareState(many.slice(0, 10), [], { memo });
    expect(memo.normalized.liveSize).toBe(10);
    // Unversioned objects are never kept.
    compareState([np('legacy', '10.4.0.0/16')], [], { memo });
    expect(memo.normalized.liveSize).toBe(0);
  });
});

describe('drift comparison with sides and outcomes kept', () => {
  /** A seeded generator, so a failing sequence can be replayed. */
  function random(seed: number): () => number {
    let x = seed;
    return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  }

  it('reports what a comparison without the memo reports, over random edits, renders and option changes', async () => {
    const next = random(7);
    const memo = new CompareMemo();
    const names = Array.from({ length: 30 }, (_, i) => `p${i}`);
    let version = 1;
    let live: Obj[] = names.map((n) => listed(n, '10.0.0.0/8', n, String(version++)));
    let desired = git(...names.map((n) => np(n, '10.0.0.0/8')));
    const optionSets = [{}, { ignore: [{ names: ['p1*'] }] }, { namespaces: ['other'] }, { kinds: ['CiliumNetworkPolicy'] }, { ignore: [{ labelSelector: { matchLabels: { app: 'p3' } } }] }];
    let options: Obj = {};
    for (let round = 0; round < 60; round++) {
      const roll = next();
      if (roll < 0.4) {
        // Some live objects edited (a new version, a new identity), one deleted, one added.
        live = live.map((o) => (next() < 0.15 ? listed(String((o.metadata as Obj).name), next() < 0.5 ? '0.0.0.0/0' : '10.0.0.0/8', String((o.metadata as Obj).name), String(version++)) : o));
        if (next() < 0.3) live = live.filter((_, i) => i !== Math.floor(next() * live.length));
        if (next() < 0.3) live = [...live, listed(`extra${version}`, '10.9.0.0/16', `x${version}`, String(version++))];
      } else if (roll < 0.55) desired = git(...names.filter(() => next() < 0.9).map((n) => np(n, next() < 0.1 ? '10.7.0.0/16' : '10.0.0.0/8')));
      else if (roll < 0.7) options = optionSets[Math.floor(next() * optionSets.length)] as Obj;
      else if (roll < 0.8) live = relisted(live);
      // (else: nothing changed at all.)
      const expected = summary(compareState(live, desired, options));
      expect(summary(compareState(live, desired, { ...options, memo })), `round ${round}`).toEqual(expected);
      expect(summary(await compareStateYielding(live, desired, { ...options, memo, chunkSize: 7 })), `round ${round} (yielding)`).toEqual(expected);
    }
  });

  it('gives back the very outcome of a key whose sides did not change, and decides again when one did', () => {
    const memo = new CompareMemo();
    const desired = git(np('web', '10.0.0.0/8'), np('api', '10.1.0.0/16'));
    const live = [listed('web', '0.0.0.0/0', 'w', '1'), listed('api', '10.1.0.0/16', 'a', '2')];
    const first = compareState(live, desired, { memo });
    expect(first.items.map((i) => i.key.name)).toEqual(['web']);
    expect(memo.outcomeSize).toBe(2);
    const again = compareState(live, desired, { memo });
    expect(again.items[0]).toBe(first.items[0]);
    // Listed again: new identities, so new sides; the same report, its items new objects.
    const relistedLive = relisted(live);
    const afterRelist = compareState(relistedLive, desired, { memo });
    expect(afterRelist.items[0]).not.toBe(first.items[0]);
    expect(summary(afterRelist)).toEqual(summary(first));
    // Other options decide again: ignoring web leaves nothing drifted.
    expect(compareState(relistedLive, desired, { memo, ignore: [{ names: ['web'] }] }).items).toEqual([]);
    expect(compareState(relistedLive, desired, { memo }).items.map((i) => i.key.name)).toEqual(['web']);
  });

  it("keeps every outcome across evaluations of the watched view's unchanged lists (the policies tagged with their kind)", () => {
    const memo = new CompareMemo();
    const desired = git(np('web', '10.0.0.0/8'), np('api', '10.1.0.0/16'));
    // As the view hands them out: list items without their kind, the same objects until one changes.
    const untagged = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'kind'));
    const view = { networkPolicies: [untagged(listed('web', '0.0.0.0/0', 'w', '1')), untagged(listed('api', '10.1.0.0/16', 'a', '2'))] };
    const first = compareState(livePolicies(view), desired, { memo });
    const again = compareState(livePolicies(view), desired, { memo });
    expect(again.items.map((i) => i.key.name)).toEqual(['web']);
    expect(again.items[0]).toBe(first.items[0]);
    // One object changed in the view: its key is decided again, the others kept.
    const changed = { networkPolicies: [untagged(listed('web', '10.0.0.0/8', 'w', '3')), view.networkPolicies[1] as Obj] };
    expect(compareState(livePolicies(changed), desired, { memo }).items).toEqual([]);
  });

  it('keeps a live object normalised across comparisons that took its side from the memo', () => {
    const memo = new CompareMemo();
    const live = [listed('web', '10.0.0.0/8', 'w', '1')];
    const desired = git(np('web', '10.0.0.0/8'));
    compareState(live, desired, { memo });
    compareState(live, desired, { memo });
    expect(memo.normalized.liveSize).toBe(1);
    // A relist after comparisons served from kept sides still finds the normalisation: the same
    // uid and version with other content is taken as the object already normalised.
    const sameVersion = [listed('web', '0.0.0.0/0', 'w', '1')];
    expect(compareState(sameVersion, desired, { memo }).items).toEqual([]);
  });
});
