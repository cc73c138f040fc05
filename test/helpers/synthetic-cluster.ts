// Deterministic synthetic clusters in realistic proportions (per 100 pods: one namespace,
// 20 workloads of 5 replicas, ~50 policies: default-deny, DNS, monitoring, per-workload
// ingress/egress allow rules, cross-namespace rules, a few ipBlocks), for tests and benchmarks.
import { seededRandom } from '../../src/sim/random.js';

export interface SyntheticOptions {
  pods: number;
  /** Policies per pod (default 0.5, i.e. 100k pods / 50k policies). */
  policiesPerPod?: number;
  /** Share of namespaces without any policy (default 0.05). */
  openNamespaces?: number;
  seed?: number;
}

const TIERS = ['web', 'api', 'worker', 'db'];
const TEAMS = ['payments', 'search', 'identity', 'catalog', 'monitoring', 'platform'];

export function syntheticCluster(options: SyntheticOptions): unknown[] {
  const rand = seededRandom(options.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const podsPerNs = 100;
  const replicas = 5;
  const nsCount = Math.max(1, Math.round(options.pods / podsPerNs));
  const workloadsPerNs = Math.max(1, Math.round(Math.min(options.pods, podsPerNs) / replicas));
  const policiesPerNs = Math.round((options.policiesPerPod ?? 0.5) * Math.min(options.pods, podsPerNs));
  const objects: unknown[] = [];
  objects.push({ kind: 'Namespace', metadata: { name: 'kube-system', labels: { team: 'platform' } } });
  for (let r = 0; r < 2; r++) {
    objects.push({
      kind: 'Pod',
      metadata: { namespace: 'kube-system', name: `coredns-${r}`, labels: { 'k8s-app': 'kube-dns' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'coredns-5d78', controller: true }] },
      spec: { containers: [{ name: 'coredns', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53 }] }] },
    });
  }
  for (let n = 0; n < nsCount; n++) {
    const ns = `ns-${n}`;
    const team = TEAMS[n % TEAMS.length] as string;
    objects.push({ kind: 'Namespace', metadata: { name: ns, labels: { team, env: n % 3 === 0 ? 'staging' : 'prod' } } });
    const apps: string[] = [];
    for (let w = 0; w < workloadsPerNs; w++) {
      const app = `app-${w}`;
      apps.push(app);
      const tier = TIERS[w % TIERS.length] as string;
      const hash = `${(n * 7919 + w * 104729).toString(16)}`;
      for (let r = 0; r < replicas; r++) {
        objects.push({
          kind: 'Pod',
          metadata: {
            namespace: ns,
            name: `${app}-${hash}-${r}`,
            labels: { app, tier, team, 'pod-template-hash': hash },
            ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-${hash}`, controller: true }],
          },
          spec: { containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }] },
        });
      }
    }
    if (rand() < (options.openNamespaces ?? 0.05)) continue;
    const policies: unknown[] = [];
    const policy = (name: string, spec: Record<string, unknown>): void => {
      policies.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: ns, name }, spec });
    };
    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    policy('allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }],
    });
    policy('allow-monitoring', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'monitoring' } } }], ports: [{ port: 'metrics' }] }] });
    for (let i = 0; policies.length < policiesPerNs; i++) {
      const app = apps[i % apps.length] as string;
      const peerApp = pick(apps);
      const kind = Math.floor(i / apps.length) % 3;
      if (kind === 0) {
        policy(`allow-ingress-${app}-${i}`, {
          podSelector: { matchLabels: { app } },
          ingress: [{ from: [{ podSelector: { matchLabels: { app: peerApp } } }, { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } }], ports: [{ port: 'http' }] }],
        });
      } else if (kind === 1) {
        const rule: Record<string, unknown> = { to: [{ podSelector: { matchLabels: { app: peerApp } } }], ports: [{ port: 8080 }] };
        if (rand() < 0.1) (rule.to as unknown[]).push({ ipBlock: { cidr: `10.${n % 250}.${i % 250}.0/24`, except: [`10.${n % 250}.${i % 250}.128/25`] } });
        policy(`allow-egress-${app}-${i}`, { podSelector: { matchLabels: { app } }, policyTypes: ['Egress'], egress: [rule] });
      } else {
        const otherNs = `ns-${Math.floor(rand() * nsCount)}`;
        policy(`allow-cross-${app}-${i}`, {
          podSelector: { matchLabels: { app } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': otherNs } }, podSelector: { matchLabels: { tier: 'api' } } }], ports: [{ port: 8080, endPort: 8090 }] }],
        });
      }
    }
    objects.push(...policies);
  }
  return objects;
}

/** A synthetic object as its list holds it: the kind is the list's, not the object's. */
export type ListedObject = { metadata: { namespace?: string; name: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };

/** The synthetic cluster as the live lists the engine reads (namespaces, pods, NetworkPolicies), each object without its kind. */
export function syntheticLists(options: SyntheticOptions): { namespaces: ListedObject[]; pods: ListedObject[]; networkPolicies: ListedObject[] } {
  const objects = syntheticCluster(options) as Array<ListedObject & { kind?: string }>;
  const of = (kind: string): ListedObject[] => objects.filter((o) => o.kind === kind).map(({ kind: _kind, ...rest }) => rest);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy') };
}
