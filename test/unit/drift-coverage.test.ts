// Which kinds a drift comparison covers.
import { describe, expect, it } from 'vitest';
import { comparedKinds, readableKinds, withoutUnsureExtras } from '../../src/drift/coverage.js';

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

describe('withoutUnsureExtras', () => {
  const key = (name: string) => ({ kind: 'NetworkPolicy', namespace: 'a', name });
  const report = {
    items: [
      { key: key('x'), status: 'extra' as const, live: {} },
      { key: key('y'), status: 'missing' as const, desired: {} },
    ],
    containment: [],
    ignored: 0,
    compared: 2,
    skipped: [],
  };

  it('keeps everything when Git read cleanly', () => {
    expect(withoutUnsureExtras(report, 0)).toEqual({ report, withheld: 0 });
  });

  it('withholds objects only in the cluster when part of Git could not be read, and says so', () => {
    const out = withoutUnsureExtras(report, 2);
    expect(out.report.items.map((i) => i.status)).toEqual(['missing']);
    expect(out.withheld).toBe(1);
    expect(out.note).toBe('Git could not be read whole (2 problems): 1 object found only in the cluster is not reported as extra until it can');
    expect(report.items).toHaveLength(2);
  });
});
