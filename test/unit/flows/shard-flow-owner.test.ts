import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flowOwnerNamespace, isNamespaceName } from '../../../src/flows/shard/flow-owner.js';
import { namespaceFilters } from '../../../src/flows/sources/hubble-grpc.js';
import { assignOwners } from '../../../src/flows/shard/rendezvous.js';
import type { FlowEndpoint } from '../../../src/flows/types.js';
import { FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions } from '../../helpers/fuzz.js';
import { flow, pod, T0, world } from './helpers.js';

const host: FlowEndpoint = { ...world('10.0.0.254'), reserved: ['host'] };

describe('the owner namespace of a flow', () => {
  const cases: [string, [FlowEndpoint, FlowEndpoint, number, number], boolean | null, string | null][] = [
    ['pod → pod, same namespace', [pod('a', 'x'), pod('a', 'y'), 80, T0], false, 'a'],
    ['pod → pod across namespaces: the source', [pod('a', 'x'), pod('b', 'y'), 80, T0], false, 'a'],
    ['reply across namespaces: the destination (who opened it)', [pod('b', 'y'), pod('a', 'x'), 40000, T0], true, 'a'],
    ['reply flag unknown (null): treated as a request', [pod('b', 'y'), pod('a', 'x'), 80, T0], null, 'b'],
    ['pod → world: the pod', [pod('db', 'postgres'), world('203.0.113.66'), 443, T0], false, 'db'],
    ['world → pod: the pod', [world('198.51.100.7'), pod('web', 'front'), 443, T0], false, 'web'],
    ['reply of world → pod: still the pod', [pod('web', 'front'), world('198.51.100.7'), 51000, T0], true, 'web'],
    ['host → world: nobody', [host, world('198.51.100.7'), 443, T0], false, null],
    ['world → host reply: nobody', [world('198.51.100.7'), host, 443, T0], true, null],
  ];
  for (const [name, args, isReply, expected] of cases) {
    it(name, () => {
      expect(flowOwnerNamespace(flow(...args, { isReply }))).toBe(expected);
    });
  }

  it('a request and its reply always have the same owner, and the owner is one of the two namespaces', async () => {
    const ns = fc.oneof(fc.constant(''), fc.constantFrom('a', 'b', 'c', 'kube-system'));
    await fuzzAssert(
      fc.property(ns, ns, (s, d) => {
        const src = s ? pod(s, 'x') : world('198.51.100.1');
        const dst = d ? pod(d, 'y') : world('198.51.100.2');
        const request = flowOwnerNamespace(flow(src, dst, 80, T0, { isReply: false }));
        const reply = flowOwnerNamespace(flow(dst, src, 40000, T0, { isReply: true }));
        expect(reply).toBe(request);
        if (s || d) expect([s, d]).toContain(request);
        else expect(request).toBeNull();
      }),
      fuzzOptions(1302),
    );
  }, FUZZ_TIMEOUT_MS);

  it('with the namespaces split over 3 members, every flow touching an owned namespace is kept by exactly one member', () => {
    const names = ['frontend', 'api', 'db', 'kube-system', 'team1', 'team2', 'team3'];
    const ms = ['m1', 'm2', 'm3'];
    const owners = assignOwners(ms, names);
    const endpoints = [...names.map((n) => pod(n, 'w')), world('203.0.113.1'), host];
    for (const src of endpoints) {
      for (const dst of endpoints) {
        for (const isReply of [false, true, null]) {
          const f = flow(src, dst, 80, T0, { isReply });
          // What the relay sends a member: flows with either side in its namespaces (its whitelist).
          const keptBy = ms.filter((m) => {
            const mine = new Set(names.filter((n) => owners.get(n) === m));
            const streamed = mine.has(src.namespace) || mine.has(dst.namespace);
            const owner = flowOwnerNamespace(f);
            return streamed && owner !== null && mine.has(owner);
          });
          expect(keptBy.length, `${src.namespace || 'world'} → ${dst.namespace || 'world'} reply=${String(isReply)}`).toBe(src.namespace || dst.namespace ? 1 : 0);
        }
      }
    }
  });
});

describe('namespace names and the relay whitelist', () => {
  it('accepts DNS-1123 labels only', () => {
    for (const ok of ['a', 'kube-system', 'team-42', '0', 'a'.repeat(63)]) expect(isNamespaceName(ok)).toBe(true);
    for (const bad of ['', 'A', '-a', 'a-', 'a'.repeat(64), 'a/b', 'a b', '{x}', 'a:b', '__proto__', 'ns\n', '😀', 42, null, undefined, ['a']]) {
      expect(isNamespaceName(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('the relay filters: two per list (source OR destination), and no whitelist at all for no namespaces', () => {
    expect(namespaceFilters({ allow: ['api', 'db'] })).toEqual({ whitelist: [{ source_pod: ['api/', 'db/'] }, { destination_pod: ['api/', 'db/'] }], blacklist: [] });
    expect(namespaceFilters({ allow: ['db'], deny: ['kube-system'] })).toEqual({
      whitelist: [{ source_pod: ['db/'] }, { destination_pod: ['db/'] }],
      blacklist: [{ source_pod: ['kube-system/'] }, { destination_pod: ['kube-system/'] }],
    });
    // An empty whitelist means "every flow": the sharded collector stops its stream instead (sharded-flows.ts).
    expect(namespaceFilters({ allow: [] })).toEqual({ whitelist: [], blacklist: [] });
  });
});
