// Randomised cross-check: on random clusters with NetworkPolicies, AdminNetworkPolicies, a
// BaselineAdminNetworkPolicy and CiliumNetworkPolicies, the list path (connectivity(), which
// evaluates whole port sets at once) and the single-connection path (allowed(), which walks the
// rules for one port) must agree on every pod pair, on addresses outside, and with openConnections.
import { describe, expect, it } from 'vitest';
import { allowed, buildIndex, connectivity, openConnections, type Protocol } from '../../src/policy/index.js';
import { expectTouchingAgrees } from '../helpers/connectivity-touching.js';
import { anp, banp, cnp, netpol, ns, nsNamed, pod } from '../helpers/policy.js';

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const NAMESPACES = ['a', 'b', 'c'];
const APPS = ['web', 'db', 'cache'];
const PORTS: Array<[Protocol, number]> = [['TCP', 80], ['TCP', 5432], ['UDP', 53], ['SCTP', 9000]];
const ADDRESSES = ['10.1.2.3', '192.0.2.9', '8.8.8.8', 'fd00::5'];

function cluster(seed: number): unknown[] {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const objects: unknown[] = NAMESPACES.map((n) => ns(n));
  for (const n of NAMESPACES) for (const app of APPS) if (r() < 0.8) objects.push(pod(n, `${app}-1`, { app }, [{ name: 'svc', containerPort: pick(PORTS)[1] }]));
  const ports = (): unknown => {
    const x = r();
    if (x < 0.3) return undefined;
    const [protocol, port] = pick(PORTS);
    if (x < 0.55) return [{ portNumber: { protocol, port } }];
    if (x < 0.8) return [{ portRange: { protocol, start: port - 5, end: port + 5 } }];
    return [{ namedPort: 'svc' }];
  };
  const peer = (egress: boolean): unknown => {
    const x = r();
    if (egress && x < 0.2) return { networks: [pick(['10.0.0.0/8', '0.0.0.0/0', 'fd00::/8', '192.0.2.0/24'])] };
    if (x < 0.55) return { namespaces: pick([{}, nsNamed(pick(NAMESPACES))]) };
    return { pods: { namespaceSelector: pick([{}, nsNamed(pick(NAMESPACES))]), podSelector: { matchLabels: { app: pick(APPS) } } } };
  };
  const rules = (egress: boolean, actions: string[]): unknown[] =>
    Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
      const p = ports();
      return { action: pick(actions), [egress ? 'to' : 'from']: [peer(egress)], ...(p && !(egress && JSON.stringify(p).includes('namedPort')) ? { ports: p } : {}) };
    });
  const subject = (): unknown => (r() < 0.5 ? { namespaces: nsNamed(pick(NAMESPACES)) } : { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: pick(APPS) } } } });
  for (let i = 0; i < 3; i++) objects.push(anp(`anp-${i}`, Math.floor(r() * 4), { subject: subject(), ingress: rules(false, ['Allow', 'Deny', 'Pass']), egress: rules(true, ['Allow', 'Deny', 'Pass']) }));
  if (r() < 0.7) objects.push(banp({ subject: subject(), ingress: rules(false, ['Allow', 'Deny']), egress: rules(true, ['Allow', 'Deny']) }));
  for (const n of NAMESPACES) {
    if (r() < 0.5) objects.push(netpol(n, 'np', { podSelector: { matchLabels: { app: pick(APPS) } }, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: {} }], ports: [{ port: pick(PORTS)[1], protocol: pick(PORTS)[0] }] }], egress: [{ to: [{ namespaceSelector: {} }] }] }));
    if (r() < 0.5) {
      objects.push(
        cnp(n, 'c', {
          endpointSelector: { matchLabels: { app: pick(APPS) } },
          ingress: [{ fromEntities: [pick(['cluster', 'world', 'all'])], toPorts: [{ ports: [{ port: String(pick(PORTS)[1]) }] }] }],
          egressDeny: [{ toCIDR: ['8.8.8.0/24'] }],
        }),
      );
    }
  }
  return objects;
}

describe('ANP/BANP/CNP: list path and single-connection path agree', () => {
  for (let seed = 1; seed <= 25; seed++) {
    it(`random cluster #${seed}`, () => {
      const { index, issues } = buildIndex(cluster(seed).map((object) => ({ object })));
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
      expectTouchingAgrees(index, `random cluster #${seed}`);
      const pods = index.classes.flatMap((c) => c.pods.map((p) => `${p.namespace}/${p.name}`));
      // Without naming the rules that allow them, the same connections are open, to the same pods.
      for (const n of NAMESPACES) {
        if (!pods.some((p) => p.startsWith(`${n}/`))) continue;
        const named = openConnections(index, { namespace: n });
        expect(named.open.some((o) => o.allowedBy.egress.length + o.allowedBy.ingress.length > 0)).toBe(true);
        expect(openConnections(index, { namespace: n }, { allowers: false })).toEqual({ ...named, open: named.open.map((o) => ({ ...o, allowedBy: { egress: [], ingress: [] } })) });
      }
      for (const [protocol, port] of PORTS) {
        const list = connectivity(index, { only: { protocol, port } });
        const listed = new Set(list.map((c) => `${c.src.id}>${c.dst.id}`));
        for (const s of pods) {
          for (const d of pods) {
            if (s === d) continue;
            const one = allowed(index, s, d, port, protocol).allowed;
            expect({ s, d, protocol, port, one }).toEqual({ s, d, protocol, port, one: listed.has(`${s}[Pod]>${d}[Pod]`) });
          }
          for (const ip of ADDRESSES) {
            const out = allowed(index, s, ip, port, protocol).allowed;
            const inn = allowed(index, ip, s, port, protocol).allowed;
            const covers = (c: (typeof list)[number], src: boolean): boolean => {
              const ext = src ? c.src : c.dst;
              if (ext.kind !== 'external') return false;
              const v = ip.includes(':') ? BigInt(`0x${'fd00'}${'0'.repeat(27)}5`) : ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);
              return ext.family === (ip.includes(':') ? 6 : 4) && ext.start <= v && v <= ext.end;
            };
            const listedOut = list.some((c) => c.src.id === `${s}[Pod]` && covers(c, false));
            const listedIn = list.some((c) => c.dst.id === `${s}[Pod]` && covers(c, true));
            // IPv6 ranges are listed only when some policy names IPv6; otherwise skip the v6 check.
            if (ip.includes(':') && !list.some((c) => (c.src.kind === 'external' && c.src.family === 6) || (c.dst.kind === 'external' && c.dst.family === 6))) continue;
            expect({ s, ip, protocol, port, out, inn }).toEqual({ s, ip, protocol, port, out: listedOut, inn: listedIn });
          }
        }
        // openConnections of each namespace agrees with the list for its pods.
        for (const n of NAMESPACES) {
          if (!pods.some((p) => p.startsWith(`${n}/`))) continue;
          const open = openConnections(index, { namespace: n });
          for (const o of open.open) {
            if (o.peer.kind !== 'workload') continue;
            const peerPod = o.peer.id.replace(/\[Pod\]$/, '');
            for (const scoped of o.pods) {
              if (scoped === peerPod) continue;
              const [src, dst] = o.direction === 'egress' ? [scoped, peerPod] : [peerPod, scoped];
              if (o.conns.has(protocol, port)) expect({ src, dst, protocol, port, allowed: allowed(index, src, dst, port, protocol).allowed }).toEqual({ src, dst, protocol, port, allowed: true });
            }
          }
        }
      }
    });
  }
});
