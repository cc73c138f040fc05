// Live policies as the drift comparison takes them (src/drift/live.ts): tagged with their kind,
// the same list item always the same tagged object (the comparison's memo knows objects by
// identity), the items themselves never modified.
import { describe, expect, it } from 'vitest';
import { fingerprint, livePolicies } from '../../src/drift/live.js';

type Obj = Record<string, unknown>;

const item = (name: string): Obj => ({ metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '1' }, spec: { podSelector: {} } });

describe('livePolicies', () => {
  it('tags every list with its kind, in list order', () => {
    const [np, cnp, anp, banp] = [item('a'), item('b'), item('c'), item('d')];
    const tagged = livePolicies({ networkPolicies: [np], ciliumNetworkPolicies: [cnp], adminNetworkPolicies: [anp], baselineAdminNetworkPolicies: [banp] });
    expect(tagged.map((o) => [o.kind, (o.metadata as Obj).name])).toEqual([
      ['NetworkPolicy', 'a'],
      ['AdminNetworkPolicy', 'c'],
      ['BaselineAdminNetworkPolicy', 'd'],
      ['CiliumNetworkPolicy', 'b'],
    ]);
    expect(livePolicies({})).toEqual([]);
  });

  it('gives the same object for the same item, call after call, and a new one for a new item', () => {
    const kept = item('web');
    const first = livePolicies({ networkPolicies: [kept, item('api')] });
    const second = livePolicies({ networkPolicies: [kept, item('api')] });
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[1]).toEqual(first[1]);
  });

  it('never modifies the items, and tags an item listed under another kind with that kind', () => {
    const shared = Object.freeze(item('x'));
    const asNp = livePolicies({ networkPolicies: [shared] })[0] as Obj;
    const asCnp = livePolicies({ ciliumNetworkPolicies: [shared] })[0] as Obj;
    expect(asNp.kind).toBe('NetworkPolicy');
    expect(asCnp.kind).toBe('CiliumNetworkPolicy');
    expect(livePolicies({ networkPolicies: [shared] })[0]).toEqual(asNp);
    expect('kind' in shared).toBe(false);
  });

  it('takes an item that is not an object as the comparison reports it (an object with only its kind), never throwing', () => {
    const odd = livePolicies({ networkPolicies: [null, undefined, 7, 'text'] as unknown[] });
    expect(odd.map((o) => o.kind)).toEqual(['NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy', 'NetworkPolicy']);
    expect(odd[0]).toEqual({ kind: 'NetworkPolicy' });
  });

  it("fingerprints an object's normalised form: server fields do not move it, a rule does", () => {
    const a: Obj = { ...item('web'), kind: 'NetworkPolicy' };
    const relisted = { ...a, metadata: { ...(a.metadata as Obj), resourceVersion: '9', uid: 'other' } };
    expect(fingerprint(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(relisted)).toBe(fingerprint(a));
    expect(fingerprint({ ...a, spec: { podSelector: { matchLabels: { app: 'web' } } } })).not.toBe(fingerprint(a));
    expect(fingerprint(undefined)).toBe('');
  });
});
