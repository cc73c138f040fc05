import { describe, expect, it } from 'vitest';
import { blastRadius } from '../../src/playbook/steps/blast-radius.js';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';

const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const pod = (namespace: string, name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 5432 }] }] }, status: { phase: 'Running' } });
const quarantine = (namespace: string, keepDnsEgress = false) =>
  denyAllNetworkPolicy({ incidentId: '20261123-br0001', namespace, dns: { keep: keepDnsEgress, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }, approvers: [] });

/** The blast radius of the additive deny-all: the live objects, then the same with the deny-all added. */
function radiusOf(input: { namespaces: object[]; pods: object[]; policies: object[]; proposed: object; scopePods: { namespace: string; name: string }[] }, limit?: number) {
  const before = { namespaces: input.namespaces, pods: input.pods, networkPolicies: input.policies };
  const after = { ...before, networkPolicies: [...input.policies, input.proposed] };
  return blastRadius({ before, after, created: [input.proposed], scopePods: input.scopePods }, limit);
}

const namespaces = [ns('db'), ns('api'), ns('kube-system')];
const pods = [pod('db', 'pg', { app: 'pg' }), pod('api', 'orders', { app: 'orders' }), pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' })];

describe('blast radius of the emergency deny-all', () => {
  it('without other policies, it cuts every connection of the scope and leaves nothing', () => {
    const radius = radiusOf({ namespaces, pods, policies: [], proposed: quarantine('db'), scopePods: [{ namespace: 'db', name: 'pg' }] });
    expect(radius.cut).toEqual(expect.arrayContaining(['api/orders[Pod] => db/pg[Pod] : All Connections', 'db/pg[Pod] => api/orders[Pod] : All Connections']));
    expect(radius.cut.some((l) => l.startsWith('db/pg[Pod] => 0.0.0.0-255.255.255.255[External]'))).toBe(true);
    expect(radius.stillAllowed).toEqual([]);
    expect(radius.cut.every((l) => l.includes('db/pg[Pod]'))).toBe(true);
  });

  it('keeps what another policy allows (policies are additive), and lists DNS kept by the deny-all\'s own exception apart', () => {
    const allowFromApi = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'db', name: 'allow-api' },
      spec: { podSelector: { matchLabels: { app: 'pg' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ port: 5432 }] }] },
    };
    const radius = radiusOf({ namespaces, pods, policies: [allowFromApi], proposed: quarantine('db', true), scopePods: [{ namespace: 'db', name: 'pg' }] });
    expect(radius.stillAllowed).toEqual(['api/orders[Pod] => db/pg[Pod] : TCP 5432']);
    expect(radius.stillAllowedCount).toBe(1);
    expect(radius.keptByDenyAll).toEqual(['db/pg[Pod] => kube-system/dns[Pod] : TCP 53,UDP 53']);
    expect(radius.keptByDenyAllCount).toBe(1);
    expect(radius.cut).toContain('db/pg[Pod] => api/orders[Pod] : All Connections');
    expect(radius.cut).toContain('db/pg[Pod] => kube-system/dns[Pod] : SCTP 1-65535,TCP 1-52,54-65535,UDP 1-52,54-65535');
    expect(radius.cutCount).toBe(radius.cut.length);
    // Without the exception, DNS is cut like the rest and nothing is kept by the deny-all.
    const strict = radiusOf({ namespaces, pods, policies: [allowFromApi], proposed: quarantine('db', false), scopePods: [{ namespace: 'db', name: 'pg' }] });
    expect(strict.keptByDenyAll).toEqual([]);
    expect(strict.cut).toContain('db/pg[Pod] => kube-system/dns[Pod] : All Connections');
  });

  it('counts DNS as still allowed by another policy when one allows it, and splits a partial overlap', () => {
    const dnsPolicy = (ports: Array<{ protocol: string; port: number }>) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'db', name: 'allow-dns' },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports }],
      },
    });
    const scopePods = [{ namespace: 'db', name: 'pg' }];
    const both = radiusOf({ namespaces, pods, policies: [dnsPolicy([{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }])], proposed: quarantine('db', true), scopePods });
    expect(both.stillAllowed).toEqual(['db/pg[Pod] => kube-system/dns[Pod] : TCP 53,UDP 53']);
    expect(both.keptByDenyAll).toEqual([]);
    const udpOnly = radiusOf({ namespaces, pods, policies: [dnsPolicy([{ protocol: 'UDP', port: 53 }])], proposed: quarantine('db', true), scopePods });
    expect(udpOnly.stillAllowed).toEqual(['db/pg[Pod] => kube-system/dns[Pod] : UDP 53']);
    expect(udpOnly.keptByDenyAll).toEqual(['db/pg[Pod] => kube-system/dns[Pod] : TCP 53']);
  });

  it('caps the lists and reports skipped bad objects', () => {
    const many = Array.from({ length: 40 }, (_, i) => pod('api', `p${i}`, { app: `a${i}` }));
    const broken = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'api', name: 'bad-port' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] } };
    const radius = radiusOf({ namespaces, pods: [...pods, ...many], policies: [broken], proposed: quarantine('db'), scopePods: [{ namespace: 'db', name: 'pg' }] }, 10);
    expect(radius.cut).toHaveLength(10);
    expect(radius.cutCount).toBeGreaterThan(80);
    expect(radius.issues.length).toBeGreaterThan(0);
  });
});
