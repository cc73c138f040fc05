// runCases against small clusters: allow/deny, CIDRs wholly or partly allowed (checked address by
// address against the engine), named ports, UDP/SCTP, workloads of several pod classes, unknown
// or ambiguous endpoints, and AdminNetworkPolicies and CiliumNetworkPolicies taking part.
import { describe, expect, it } from 'vitest';
import type { NetTestCase } from '../../src/nettest/cases.js';
import { runCases, type CaseResult } from '../../src/nettest/run.js';
import { allowed, explainDecision, type PolicyIndex } from '../../src/policy/index.js';
import { formatIp } from '../../src/policy/ip-set.js';
import { anp, banp, cnp, index, netpol, ns, nsNamed, pod } from '../helpers/policy.js';

function tc(from: string, to: string, port: number | string, expectation: 'allow' | 'deny', protocol: NetTestCase['protocol'] = 'TCP'): NetTestCase {
  return { from, to, port, protocol, expect: expectation, origin: 'file' };
}

function one(idx: PolicyIndex, c: NetTestCase): CaseResult {
  const [r] = runCases(idx, [c]);
  if (!r) throw new Error('no result');
  return r;
}

const owned = (namespace: string, name: string, labels: Record<string, string>, owner: string, ports: Parameters<typeof pod>[3] = []): Record<string, unknown> => {
  const p = pod(namespace, name, labels, ports) as { metadata: Record<string, unknown> };
  p.metadata.ownerReferences = [{ kind: 'ReplicaSet', name: owner, controller: true }];
  return p;
};

const base = [
  ns('front'),
  ns('api'),
  ns('db'),
  pod('front', 'web', { app: 'web' }),
  pod('api', 'orders', { app: 'orders' }, [{ name: 'http', containerPort: 8080 }]),
  pod('db', 'pg', { app: 'pg' }, [{ name: 'pg', containerPort: 5432 }]),
];
const ordersFromFront = netpol('api', 'orders-in', { podSelector: { matchLabels: { app: 'orders' } }, ingress: [{ from: [{ namespaceSelector: nsNamed('front') }], ports: [{ port: 8080 }] }] });

describe('runCases: allow and deny', () => {
  const idx = index([...base, ordersFromFront]);

  it('passes when the engine agrees, fails when not, with the --explain text as the reason', () => {
    const results = runCases(idx, [tc('front/web', 'api/orders', 8080, 'allow'), tc('front/web', 'api/orders', 8081, 'deny'), tc('db/pg', 'api/orders', 8080, 'allow'), tc('front/web', 'db/pg', 5432, 'deny')]);
    expect(results.map((r) => [r.got, r.pass, r.allowed, r.checked, r.allowedCount])).toEqual([
      ['allow', true, true, 1, 1],
      ['deny', true, false, 1, 0],
      ['deny', false, false, 1, 0],
      ['allow', false, true, 1, 1],
    ]);
    expect(results[2]?.reason).toBe(explainDecision(allowed(idx, 'db/pg', 'api/orders', 8080)).trimEnd());
    expect(results[2]?.reason).toContain('ingress: api/orders is isolated by api/orders-in and no ingress rule of them allows this connection');
    expect(results[3]?.reason).toBe(explainDecision(allowed(idx, 'front/web', 'db/pg', 5432)).trimEnd());
    expect(results[0]?.reason).toContain('allowed by api/orders-in ingress[0]');
    expect(results.every((r) => r.error === undefined)).toBe(true);
  });

  it('keeps the case it ran, and runs every case even after an error', () => {
    const cases = [tc('front/nope', 'api/orders', 80, 'allow'), tc('front/web', 'api/orders', 8080, 'allow')];
    const results = runCases(idx, cases);
    expect(results.map((r) => r.case)).toEqual(cases);
    expect(results.map((r) => r.got)).toEqual(['error', 'allow']);
  });
});

describe('runCases: CIDRs', () => {
  const ingressFrom = (ipBlock: Record<string, unknown>): Record<string, unknown> =>
    netpol('api', 'from-net', { podSelector: { matchLabels: { app: 'orders' } }, ingress: [{ from: [{ ipBlock }], ports: [{ port: 8080 }] }] });
  const idx = index([...base, ingressFrom({ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] })]);

  it('allow passes only when every address is allowed, deny only when none is', () => {
    const results = runCases(idx, [
      tc('10.2.0.0/16', 'api/orders', 8080, 'allow'),
      tc('10.0.0.0/8', 'api/orders', 8080, 'allow'),
      tc('10.0.0.0/8', 'api/orders', 8080, 'deny'),
      tc('10.1.0.0/16', 'api/orders', 8080, 'deny'),
      tc('10.1.2.3', 'api/orders', 8080, 'deny'),
      tc('10.1.255.255', 'api/orders', 8080, 'deny'),
      tc('10.2.0.0', 'api/orders', 8080, 'allow'),
      tc('0.0.0.0/0', 'api/orders', 8080, 'deny'),
      tc('11.0.0.0/8', 'api/orders', 8080, 'deny'),
    ]);
    expect(results.map((r) => [r.case.from, r.got, r.pass])).toEqual([
      ['10.2.0.0/16', 'allow', true],
      ['10.0.0.0/8', 'partial', false],
      ['10.0.0.0/8', 'partial', false],
      ['10.1.0.0/16', 'deny', true],
      ['10.1.2.3', 'deny', true],
      ['10.1.255.255', 'deny', true],
      ['10.2.0.0', 'allow', true],
      ['0.0.0.0/0', 'partial', false],
      ['11.0.0.0/8', 'deny', true],
    ]);
  });

  it('a partial failure names the blocks that contradict the expectation', () => {
    const [asAllow, asDeny] = runCases(idx, [tc('10.0.0.0/8', 'api/orders', 8080, 'allow'), tc('10.0.0.0/8', 'api/orders', 8080, 'deny')]);
    expect([asAllow?.checked, asAllow?.allowedCount]).toEqual([3, 2]);
    expect(asAllow?.reason.split('\n')[0]).toBe('2 of 3 connections (pod classes × address blocks) are allowed');
    expect(asAllow?.reason).toContain('10.1.0.0-10.1.255.255 => api/orders : TCP 8080 DENIED');
    expect(asAllow?.reason).not.toContain('ALLOWED');
    expect(asDeny?.reason).toContain('10.0.0.0-10.0.255.255 => api/orders : TCP 8080 ALLOWED');
    expect(asDeny?.reason).toContain('10.2.0.0-10.255.255.255 => api/orders : TCP 8080 ALLOWED');
    expect(asDeny?.reason).not.toContain('DENIED');
  });

  it('egress towards a CIDR, cut by the egress ipBlocks', () => {
    const egress = netpol('front', 'web-out', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '192.0.2.0/25' } }], ports: [{ protocol: 'UDP', port: 53 }] }] });
    const e = index([...base, egress]);
    const results = runCases(e, [tc('front/web', '192.0.2.0/25', 53, 'allow', 'UDP'), tc('front/web', '192.0.2.0/24', 53, 'allow', 'UDP'), tc('front/web', '192.0.2.128/25', 53, 'deny', 'UDP'), tc('front/web', '192.0.2.0/25', 53, 'deny', 'TCP')]);
    expect(results.map((r) => [r.got, r.pass])).toEqual([
      ['allow', true],
      ['partial', false],
      ['deny', true],
      ['deny', true],
    ]);
    expect(results[1]?.reason).toContain('front/web => 192.0.2.128-192.0.2.255 : UDP 53 DENIED');
  });

  it('agrees with the engine address by address, for random ipBlocks and random ranges', () => {
    // mulberry32: small, seeded, and uniform enough for picking blocks.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const outcomes = new Set<string>();
    for (let round = 0; round < 40; round++) {
      // Blocks inside 10.0.0.0/24 so that every address can be checked one by one.
      const blocks = Array.from({ length: 1 + random(3) }, () => {
        const prefix = 25 + random(6);
        const size = 2 ** (32 - prefix);
        const start = random(256 / size) * size;
        const block: Record<string, unknown> = { cidr: `10.0.0.${start}/${prefix}` };
        if (prefix < 30 && random(2) === 0) block.except = [`10.0.0.${start + size / 2}/${prefix + 1}`];
        return { ipBlock: block };
      });
      const idx2 = index([...base, netpol('api', 'p', { podSelector: {}, ingress: [{ from: blocks }] })]);
      const prefix = 24 + random(8);
      const size = 2 ** (32 - prefix);
      const start = random(256 / size) * size;
      const cidr = `10.0.0.${start}/${prefix}`;
      let allowedAddresses = 0;
      for (let a = start; a < start + size; a++) if (allowed(idx2, formatIp(4, 0x0a000000n + BigInt(a)), 'api/orders', 80).allowed) allowedAddresses += 1;
      const expected = allowedAddresses === size ? 'allow' : allowedAddresses === 0 ? 'deny' : 'partial';
      const [r] = runCases(idx2, [tc(cidr, 'api/orders', 80, 'allow')]);
      expect({ round, cidr, blocks, got: r?.got }).toEqual({ round, cidr, blocks, got: expected });
      outcomes.add(expected);
    }
    // The rounds must exercise every outcome, or the comparison proves little.
    expect([...outcomes].sort()).toEqual(['allow', 'deny', 'partial']);
  });

  it('IPv6 ranges', () => {
    const idx6 = index([...base, ingressFrom({ cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] })]);
    expect(runCases(idx6, [tc('2001:db8:2::/48', 'api/orders', 8080, 'allow'), tc('2001:db8::/32', 'api/orders', 8080, 'allow'), tc('2001:db8:1::1', 'api/orders', 8080, 'deny')]).map((r) => r.got)).toEqual(['allow', 'partial', 'deny']);
  });
});

describe('runCases: ports and protocols', () => {
  it('named ports resolve on the destination pod', () => {
    const byName = netpol('api', 'by-name', { podSelector: { matchLabels: { app: 'orders' } }, ingress: [{ ports: [{ port: 'http' }] }] });
    const idx = index([...base, byName]);
    const results = runCases(idx, [tc('front/web', 'api/orders', 'http', 'allow'), tc('front/web', 'api/orders', 8080, 'allow'), tc('front/web', 'api/orders', 8081, 'deny'), tc('front/web', 'api/orders', 'grpc', 'allow'), tc('front/web', 'api/orders', 'http', 'allow', 'UDP')]);
    expect(results.map((r) => r.got)).toEqual(['allow', 'allow', 'deny', 'error', 'error']);
    expect(results[3]?.error).toBe('destination api/orders defines no TCP port named "grpc"');
    expect(results[4]?.error).toBe('destination api/orders defines no UDP port named "http"');
    expect(runCases(idx, [tc('api/orders', '8.8.8.8', 'dns', 'allow')])[0]?.error).toBe('named port "dns" can only be resolved on a pod destination');
  });

  it('a port name with a different number on each pod of a workload', () => {
    const pods = [owned('api', 'a-1', { app: 'svc', v: '1' }, 'svc-rs', [{ name: 'http', containerPort: 8080 }]), owned('api', 'a-2', { app: 'svc', v: '2' }, 'svc-rs', [{ name: 'http', containerPort: 9090 }])];
    const only8080 = netpol('api', 'p', { podSelector: { matchLabels: { app: 'svc' } }, ingress: [{ ports: [{ port: 8080 }] }] });
    const idx = index([...base, ...pods, only8080]);
    const [r] = runCases(idx, [tc('front/web', 'api/svc-rs', 'http', 'allow')]);
    expect([r?.got, r?.checked, r?.allowedCount]).toEqual(['partial', 2, 1]);
    expect(r?.reason).toContain('api/svc-rs[ReplicaSet] (pod a-2) : TCP 9090 DENIED');
  });

  it('UDP and SCTP are decided on their own', () => {
    const dnsOnly = netpol('db', 'udp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'SCTP', port: 9000 }] }] });
    const idx = index([...base, dnsOnly]);
    expect(runCases(idx, [tc('front/web', 'db/pg', 53, 'allow', 'UDP'), tc('front/web', 'db/pg', 53, 'deny', 'TCP'), tc('front/web', 'db/pg', 9000, 'allow', 'SCTP'), tc('front/web', 'db/pg', 9000, 'deny', 'UDP')]).map((r) => [r.got, r.pass])).toEqual([
      ['allow', true],
      ['deny', true],
      ['allow', true],
      ['deny', true],
    ]);
  });
});

describe('runCases: endpoints', () => {
  it('an unknown, ambiguous or malformed endpoint is an error result, never a pass', () => {
    const twins = [pod('api', 'twin', { a: '1' }), owned('api', 'x-1', { a: '2' }, 'twin')];
    const idx = index([...base, ...twins]);
    const results = runCases(idx, [
      tc('front/nope', 'api/orders', 80, 'deny'),
      tc('front/web', 'nope/orders', 80, 'allow'),
      tc('front/web', 'api/orders[StatefulSet]', 80, 'allow'),
      tc('1.2.3.4', '10.0.0.0/8', 80, 'deny'),
      tc('front/web', 'not an endpoint', 80, 'deny'),
      tc('front/web', 'api/orders', 80, 'allow', 'ICMP' as NetTestCase['protocol']),
      tc('front/web', 'api/orders', 0, 'deny'),
    ]);
    expect(results.map((r) => [r.got, r.pass, r.allowed])).toEqual(Array(7).fill(['error', false, false]));
    expect(results.map((r) => r.error)).toEqual([
      'no pod or workload "front/nope" in the input',
      'no pod or workload "nope/orders" in the input',
      'no pod or workload "api/orders[StatefulSet]" in the input',
      'at least one endpoint must be a pod or workload of the input',
      '"not an endpoint" is neither <namespace>/<workload>, <namespace>/<workload>[Kind], an IP address nor a CIDR',
      'protocol "ICMP" is not one of TCP, UDP, SCTP',
      'port 0 is out of range (1-65535)',
    ]);
    expect(results.every((r) => r.reason === r.error && r.checked === 0)).toBe(true);
    // A pod and a workload both called api/twin: the pod is meant (as analyze resolves it).
    expect(one(idx, tc('front/web', 'api/twin', 80, 'allow')).got).toBe('allow');
    expect(one(idx, tc('front/web', 'api/twin[ReplicaSet]', 80, 'allow')).got).toBe('allow');
  });

  it('workloads by name, with or without [Kind], and pods by name', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: 'api', name: 'cart' }, spec: { selector: { matchLabels: { app: 'cart' } }, template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'c' }] } } } };
    const cartIn = netpol('api', 'cart-in', { podSelector: { matchLabels: { app: 'cart' } }, ingress: [{ from: [{ namespaceSelector: nsNamed('front') }] }] });
    const idx = index([...base, deployment, cartIn]);
    expect(runCases(idx, [tc('front/web', 'api/cart', 80, 'allow'), tc('front/web', 'api/cart[Deployment]', 80, 'allow'), tc('db/pg', 'api/cart', 80, 'deny'), tc('front/web[Pod]', 'api/cart', 80, 'allow')]).map((r) => [r.got, r.pass])).toEqual([
      ['allow', true],
      ['allow', true],
      ['deny', true],
      ['allow', true],
    ]);
  });

  it('a workload whose pods differ in labels: allow needs all of them, deny none', () => {
    const pods = [owned('api', 'w-1', { app: 'w', track: 'stable' }, 'w-rs'), owned('api', 'w-2', { app: 'w', track: 'canary' }, 'w-rs')];
    const stableOnly = netpol('api', 'stable', { podSelector: { matchLabels: { app: 'w' } }, ingress: [{ from: [{ namespaceSelector: nsNamed('front') }] }] });
    const canaryDenied = netpol('api', 'canary', { podSelector: { matchLabels: { track: 'canary' } }, policyTypes: ['Ingress'] });
    const open = index([...base, ...pods, stableOnly]);
    expect(runCases(open, [tc('front/web', 'api/w-rs', 80, 'allow'), tc('db/pg', 'api/w-rs', 80, 'deny')]).map((r) => [r.got, r.checked])).toEqual([
      ['allow', 2],
      ['deny', 2],
    ]);
    // Only the canary is isolated (deny all ingress): the stable pod still takes every connection.
    const idx = index([...base, ...pods, canaryDenied]);
    const [r] = runCases(idx, [tc('front/web', 'api/w-rs', 80, 'deny')]);
    expect([r?.got, r?.pass, r?.allowedCount, r?.checked]).toEqual(['partial', false, 1, 2]);
    expect(r?.reason).toContain('front/web => api/w-rs[ReplicaSet] (pod w-1) : TCP 80 ALLOWED');
    // From the workload's side too: egress of each pod class.
    const egressCanary = netpol('api', 'eg', { podSelector: { matchLabels: { track: 'canary' } }, policyTypes: ['Egress'] });
    const eg = index([...base, ...pods, egressCanary]);
    expect(one(eg, tc('api/w-rs', 'db/pg', 5432, 'allow')).got).toBe('partial');
  });
});

describe('runCases: AdminNetworkPolicies and CiliumNetworkPolicies', () => {
  it('an ANP Deny overrides a NetworkPolicy allow, and the reason names it', () => {
    const denyFront = anp('deny-front', 10, { subject: { namespaces: nsNamed('api') }, ingress: [{ name: 'no-front', action: 'Deny', from: [{ namespaces: nsNamed('front') }] }] });
    const idx = index([...base, ordersFromFront, denyFront]);
    const r = one(idx, tc('front/web', 'api/orders', 8080, 'allow'));
    expect([r.got, r.pass]).toEqual(['deny', false]);
    expect(r.reason).toContain('ANP deny-front');
    expect(r.reason).toBe(explainDecision(allowed(idx, 'front/web', 'api/orders', 8080)).trimEnd());
  });

  it('the BANP denies what no NetworkPolicy decides', () => {
    const baseline = banp({ subject: { namespaces: {} }, ingress: [{ name: 'default-deny', action: 'Deny', from: [{ namespaces: {} }] }] });
    const idx = index([...base, ordersFromFront, baseline]);
    expect(runCases(idx, [tc('front/web', 'api/orders', 8080, 'allow'), tc('front/web', 'db/pg', 5432, 'deny')]).map((r) => [r.got, r.pass])).toEqual([
      ['allow', true],
      ['deny', true],
    ]);
    expect(one(idx, tc('front/web', 'db/pg', 5432, 'allow')).reason).toContain('BANP');
  });

  it('ANP networks cut a CIDR where they start and end', () => {
    const denyNet = anp('deny-net', 5, { subject: { namespaces: nsNamed('front') }, egress: [{ name: 'no-net', action: 'Deny', to: [{ networks: ['198.51.100.64/26'] }] }] });
    const idx = index([...base, denyNet]);
    const results = runCases(idx, [tc('front/web', '198.51.100.0/24', 443, 'allow'), tc('front/web', '198.51.100.64/26', 443, 'deny'), tc('front/web', '198.51.100.128/25', 443, 'allow')]);
    expect(results.map((r) => [r.got, r.pass])).toEqual([
      ['partial', false],
      ['deny', true],
      ['allow', true],
    ]);
    expect([results[0]?.checked, results[0]?.allowedCount]).toEqual([3, 2]);
    expect(results[0]?.reason).toContain('front/web => 198.51.100.64-198.51.100.127 : TCP 443 DENIED');
  });

  it('a CNP deny wins over a NetworkPolicy allow; CNP CIDRs cut ranges', () => {
    const deny = cnp('api', 'deny-front', { endpointSelector: { matchLabels: { app: 'orders' } }, ingressDeny: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] });
    const idx = index([...base, ordersFromFront, deny]);
    const r = one(idx, tc('front/web', 'api/orders', 8080, 'allow'));
    expect([r.got, r.pass]).toEqual(['deny', false]);
    expect(r.reason).toContain('denied by CNP api/deny-front spec.ingressDeny[0]');

    const toCidr = cnp('db', 'out', { endpointSelector: { matchLabels: { app: 'pg' } }, egress: [{ toCIDRSet: [{ cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] }] }] });
    const c = index([...base, toCidr]);
    expect(runCases(c, [tc('db/pg', '203.0.113.0/25', 443, 'allow'), tc('db/pg', '203.0.113.0/24', 443, 'allow'), tc('db/pg', '203.0.113.128/25', 443, 'deny'), tc('db/pg', '8.8.8.8', 53, 'deny', 'UDP')]).map((r2) => r2.got)).toEqual(['allow', 'partial', 'deny', 'deny']);
  });
});
