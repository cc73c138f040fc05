// What a simulated cluster serves (cluster options, discovery documents) and how its workloads roll.
import { describe, expect, it } from 'vitest';
import { Catalog, checkClusterOptions } from '../../../src/sim/kube/catalog.js';
import { matchRoute } from '../../../src/sim/kube/routes.js';
import type { KubeObject } from '../../../src/sim/kube/store.js';
import { planRollout, randomSuffix } from '../../../src/sim/kube/workloads.js';
import { SHOP_PODS, shopObjects } from '../../../src/sim/scenarios/shop.js';

describe('Catalog', () => {
  it('serves the built-in kinds by default and each CRD only with its option', () => {
    const kinds = (c: Catalog): string[] => c.types().map((t) => t.kind);
    expect(kinds(new Catalog())).toEqual(['Namespace', 'Pod', 'NetworkPolicy']);
    expect(kinds(new Catalog({ cni: 'cilium' }))).toEqual(['Namespace', 'Pod', 'NetworkPolicy', 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy']);
    expect(kinds(new Catalog({ cni: 'generic', adminNetworkPolicy: true, argocd: true }))).toEqual(['Namespace', 'Pod', 'NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'Application']);
  });

  it('lists CRD groups after the built-in ones, each with its own version, and nothing for others', () => {
    const c = new Catalog({ adminNetworkPolicy: true });
    const groups = (c.groupList() as { groups: Array<{ name: string; preferredVersion: { groupVersion: string } }> }).groups;
    expect(groups.map((g) => g.preferredVersion.groupVersion)).toEqual(['networking.k8s.io/v1', 'authorization.k8s.io/v1', 'authentication.k8s.io/v1', 'policy.networking.k8s.io/v1alpha1']);
    expect(c.groupDocument('cilium.io')).toBeUndefined();
    expect(c.resourceList('policy.networking.k8s.io', 'v1')).toBeUndefined();
    expect((c.resourceList('policy.networking.k8s.io', 'v1alpha1') as { resources: Array<{ name: string; shortNames: string[] }> }).resources.map((r) => `${r.name}:${r.shortNames.join()}`)).toEqual([
      'adminnetworkpolicies:anp',
      'baselineadminnetworkpolicies:banp',
    ]);
  });

  it('routes a CRD path only while the CRD is installed, and only at its version', () => {
    const c = new Catalog();
    expect(matchRoute('/apis/cilium.io/v2/namespaces/db/ciliumnetworkpolicies/x', c).kind).toBe('unknown');
    c.configure({ cni: 'cilium' });
    expect(matchRoute('/apis/cilium.io/v2/namespaces/db/ciliumnetworkpolicies/x', c)).toMatchObject({ kind: 'resource', namespace: 'db', name: 'x' });
    expect(matchRoute('/apis/cilium.io/v1/namespaces/db/ciliumnetworkpolicies/x', c).kind).toBe('unknown');
    expect(matchRoute('/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies/x', c)).toMatchObject({ kind: 'resource', name: 'x' });
    expect(matchRoute('/apis/cilium.io/v2/namespaces/db/ciliumclusterwidenetworkpolicies/x', c).kind).toBe('unknown');
  });

  it('refuses misspelt or mistyped options with a clear message', () => {
    expect(() => checkClusterOptions({ cni: 'calico' })).toThrow('cluster option cni must be "cilium" or "generic", got "calico"');
    expect(() => checkClusterOptions({ adminNetworkPolicies: true })).toThrow('unknown cluster option "adminNetworkPolicies" (known: cni, adminNetworkPolicy, argocd)');
    expect(() => checkClusterOptions({ argocd: 'yes' })).toThrow('cluster option argocd must be true or false');
    expect(() => checkClusterOptions([])).toThrow('cluster options must be an object');
    expect(checkClusterOptions(undefined)).toEqual({});
  });
});

describe('planRollout', () => {
  const pods = shopObjects().filter((o): o is KubeObject => (o as KubeObject).kind === 'Pod') as KubeObject[];
  const byName = (name: string): KubeObject => pods.find((p) => p.metadata?.name === name) as KubeObject;
  const seq = (): ((n: number) => number) => {
    let i = 0;
    return (n) => i++ % n;
  };

  it('replaces ReplicaSet pods with a new ReplicaSet: new hash and names, same app labels, new free IPs', () => {
    const plan = planRollout(SHOP_PODS.orders.map(byName), pods, seq());
    expect(plan.remove).toEqual([...SHOP_PODS.orders]);
    expect(plan.createAfter).toEqual([]);
    expect(plan.createFirst).toHaveLength(2);
    const [a, b] = plan.createFirst as [KubeObject, KubeObject];
    const hash = a.metadata?.labels as Record<string, string>;
    expect(hash['pod-template-hash']).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(b.metadata?.labels).toEqual(a.metadata?.labels);
    expect(a.metadata?.labels).toMatchObject({ app: 'orders', tier: 'api' });
    expect(a.metadata?.name).toMatch(new RegExp(`^orders-${hash['pod-template-hash']}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    expect(a.metadata?.name).not.toBe(b.metadata?.name);
    const owner = (a.metadata?.ownerReferences as Array<{ name: string; uid: string }>)[0];
    expect(owner?.name).toBe(`orders-${hash['pod-template-hash']}`);
    const ips = plan.createFirst.map((p) => (p.status as { podIP: string }).podIP);
    const taken = pods.map((p) => (p.status as { podIP?: string }).podIP);
    for (const ip of ips) expect(taken).not.toContain(ip);
    expect(new Set(ips).size).toBe(2);
    expect(a.spec).toEqual(byName(SHOP_PODS.orders[0]).spec);
  });

  it('brings a StatefulSet pod back under its own name, after the old one is gone', () => {
    const plan = planRollout([byName(SHOP_PODS.postgres)], pods, seq());
    expect(plan).toMatchObject({ createFirst: [], remove: [SHOP_PODS.postgres] });
    expect(plan.createAfter[0]?.metadata?.name).toBe(SHOP_PODS.postgres);
    expect(plan.createAfter[0]?.metadata?.labels).toEqual(byName(SHOP_PODS.postgres).metadata?.labels);
  });

  it('refuses pods nothing would recreate', () => {
    const bare: KubeObject = { kind: 'Pod', metadata: { name: 'lonely', namespace: 'db' }, spec: { containers: [] } };
    expect(() => planRollout([bare], pods)).toThrow('pod db/lonely has no controller (ownerReferences with controller: true): nothing would recreate it');
    const job: KubeObject = { kind: 'Pod', metadata: { name: 'j', namespace: 'db', ownerReferences: [{ kind: 'Job', name: 'j', controller: true }] } };
    expect(() => planRollout([job], pods)).toThrow('pod db/j is controlled by a Job: only ReplicaSet and StatefulSet pods can roll');
  });

  it('draws suffixes from the Kubernetes alphabet', () => {
    expect(randomSuffix(5, () => 0)).toBe('bbbbb');
    expect(randomSuffix(200)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{200}$/);
  });
});
