// Which kinds a drift comparison covers.
import { describe, expect, it } from 'vitest';
import { comparedKinds, readableKinds } from '../../src/drift/kinds.js';

const none = { adminNetworkPolicy: false, ciliumNetworkPolicy: false };
const all = { adminNetworkPolicy: true, ciliumNetworkPolicy: true };

describe('comparedKinds', () => {
  it('covers what Git declares and the cluster serves', () => {
    expect(readableKinds(none)).toEqual(['NetworkPolicy']);
    expect(comparedKinds([{ kind: 'NetworkPolicy' }, { kind: 'AdminNetworkPolicy' }], all)).toEqual({ kinds: ['AdminNetworkPolicy', 'NetworkPolicy'], problems: [] });
  });

  it('a kind the cluster does not serve is one problem, counted, not compared', () => {
    const out = comparedKinds([{ kind: 'NetworkPolicy' }, { kind: 'CiliumNetworkPolicy' }, { kind: 'CiliumNetworkPolicy' }], none);
    expect(out.kinds).toEqual(['NetworkPolicy']);
    expect(out.problems).toEqual(['Git declares 2 CiliumNetworkPolicy objects, a kind the cluster does not serve (is its CRD installed?): not compared']);
  });

  it('CiliumClusterwideNetworkPolicy is said to be outside the comparison; nothing declared, nothing compared', () => {
    expect(comparedKinds([{ kind: 'CiliumClusterwideNetworkPolicy' }], all).problems[0]).toMatch(/does not cover yet/);
    expect(comparedKinds([], all)).toEqual({ kinds: [], problems: [] });
  });
});
