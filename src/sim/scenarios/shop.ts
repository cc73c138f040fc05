// The demo shop: a web frontend, an API (orders, payments) and a database tier (postgres,
// redis), each in its own namespace, with the NetworkPolicies a careful team would have:
// default-deny everywhere, then only the paths the shop needs, plus DNS to kube-dns.

import { createHash } from 'node:crypto';

export const SHOP_NAMESPACES = { frontend: 'frontend', api: 'api', db: 'db' } as const;
export const KUBE_SYSTEM = 'kube-system';
export const RESPONDER_NAMESPACE = 'netpol-responder';

// Names, IPs and nodes match the shop's Hubble traffic (src/sim/hubble/shop-traffic.ts), so flows
// and pods describe the same cluster.
export const SHOP_PODS = {
  web: ['web-6d4cf56db6-2xk9p', 'web-6d4cf56db6-h7q2m'],
  orders: ['orders-7c5d9b8f4c-kq2wz', 'orders-7c5d9b8f4c-m8v3d'],
  payments: 'payments-5b7f8c6d94-tn4rx',
  postgres: 'postgres-0',
  redis: 'redis-cache-6f9d7b5c8d-zq7wn',
  kubeDns: 'kube-dns-5d78c9869d-p2v8x',
} as const;

export const SHOP_PORTS = { web: 8080, orders: 8080, payments: 8443, postgres: 5432, redis: 6379, dns: 53 } as const;

export const SHOP_POLICIES = {
  defaultDeny: 'default-deny-all',
  allowDns: 'allow-dns-egress',
  frontendIngress: 'allow-web-ingress',
  frontendToApi: 'allow-web-to-api',
  apiIngress: 'allow-api-from-frontend',
  apiToDb: 'allow-api-to-db',
  dbIngress: 'allow-db-from-api',
} as const;

/** Pod IPs are fixed so flows and verdicts in other scenario files can name them. */
export const SHOP_POD_IPS: Record<string, string> = {
  [SHOP_PODS.web[0]]: '10.244.1.11',
  [SHOP_PODS.web[1]]: '10.244.2.12',
  [SHOP_PODS.orders[0]]: '10.244.1.21',
  [SHOP_PODS.orders[1]]: '10.244.2.23',
  [SHOP_PODS.payments]: '10.244.2.22',
  [SHOP_PODS.postgres]: '10.244.2.31',
  [SHOP_PODS.redis]: '10.244.1.32',
  [SHOP_PODS.kubeDns]: '10.244.0.10',
};

/**
 * The over-permissive policy of the demo's incident: someone opens all egress of namespace db "to
 * debug a backup job". NetworkPolicies are additive, so a deny-all next to it cuts nothing.
 */
export const ALLOW_ALL_EGRESS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-all-egress', namespace: 'db', annotations: { 'shop.example/reason': 'debug the backup job' } },
  spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
} as const;

export const SHOP_NODES = { controlPlane: 'shop-control-plane', worker1: 'shop-worker-1', worker2: 'shop-worker-2' } as const;

type Obj = Record<string, unknown>;

/** A UUID-shaped id derived from a name, so owner references are the same on every run. */
function stableUid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  container: string;
  image: string;
  ports: Array<{ name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }>;
  owner?: { kind: 'ReplicaSet' | 'StatefulSet'; name: string };
  node: string;
}

function pod(p: PodSpec): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: p.labels,
      ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: stableUid(`${p.owner.kind}/${p.namespace}/${p.owner.name}`), controller: true }] } : {}),
    },
    spec: {
      nodeName: p.node,
      containers: [{ name: p.container, image: p.image, ports: p.ports.map((port) => ({ protocol: 'TCP', ...port })) }],
    },
    status: {
      phase: 'Running',
      podIP: SHOP_POD_IPS[p.name],
      podIPs: [{ ip: SHOP_POD_IPS[p.name] }],
      containerStatuses: [{ name: p.container, ready: true, restartCount: 0, image: p.image }],
    },
  };
}

function policy(namespaceName: string, name: string, spec: Obj, labels: Record<string, string> = {}): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: namespaceName, labels: { 'app.kubernetes.io/part-of': 'shop', ...labels } },
    spec,
  };
}

const nsSelector = (name: string): Obj => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

function shopPods(): Obj[] {
  const { frontend, api, db } = SHOP_NAMESPACES;
  const { controlPlane, worker1, worker2 } = SHOP_NODES;
  const workers = [worker1, worker2];
  return [
    ...SHOP_PODS.web.map((name, i) =>
      pod({ namespace: frontend, name, labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '6d4cf56db6' }, container: 'web', image: 'ghcr.io/shop/web:1.8.2', ports: [{ name: 'http', containerPort: SHOP_PORTS.web }], owner: { kind: 'ReplicaSet', name: 'web-6d4cf56db6' }, node: workers[i] as string }),
    ),
    ...SHOP_PODS.orders.map((name, i) =>
      pod({ namespace: api, name, labels: { app: 'orders', tier: 'api', 'pod-template-hash': '7c5d9b8f4c' }, container: 'orders', image: 'ghcr.io/shop/orders:2.3.0', ports: [{ name: 'http', containerPort: SHOP_PORTS.orders }], owner: { kind: 'ReplicaSet', name: 'orders-7c5d9b8f4c' }, node: workers[i] as string }),
    ),
    pod({ namespace: api, name: SHOP_PODS.payments, labels: { app: 'payments', tier: 'api', 'pod-template-hash': '5b7f8c6d94' }, container: 'payments', image: 'ghcr.io/shop/payments:1.4.1', ports: [{ name: 'https', containerPort: SHOP_PORTS.payments }], owner: { kind: 'ReplicaSet', name: 'payments-5b7f8c6d94' }, node: worker2 }),
    pod({ namespace: db, name: SHOP_PODS.postgres, labels: { app: 'postgres', tier: 'db', 'statefulset.kubernetes.io/pod-name': SHOP_PODS.postgres }, container: 'postgres', image: 'postgres:16.4', ports: [{ name: 'postgres', containerPort: SHOP_PORTS.postgres }], owner: { kind: 'StatefulSet', name: 'postgres' }, node: worker2 }),
    pod({ namespace: db, name: SHOP_PODS.redis, labels: { app: 'redis-cache', tier: 'db', 'pod-template-hash': '6f9d7b5c8d' }, container: 'redis', image: 'redis:7.4', ports: [{ name: 'redis', containerPort: SHOP_PORTS.redis }], owner: { kind: 'ReplicaSet', name: 'redis-cache-6f9d7b5c8d' }, node: worker1 }),
    pod({ namespace: KUBE_SYSTEM, name: SHOP_PODS.kubeDns, labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' }, container: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', ports: [{ name: 'dns', containerPort: SHOP_PORTS.dns, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: SHOP_PORTS.dns, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153 }], owner: { kind: 'ReplicaSet', name: 'kube-dns-5d78c9869d' }, node: controlPlane }),
  ];
}

/** Default-deny (both directions) plus DNS egress to kube-dns, for one application namespace. */
function baseline(ns: string): Obj[] {
  return [
    policy(ns, SHOP_POLICIES.defaultDeny, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy(ns, SHOP_POLICIES.allowDns, {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: nsSelector(KUBE_SYSTEM), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: SHOP_PORTS.dns },
            { protocol: 'TCP', port: SHOP_PORTS.dns },
          ],
        },
      ],
    }),
  ];
}

function shopPolicies(): Obj[] {
  const { frontend, api, db } = SHOP_NAMESPACES;
  return [
    ...baseline(frontend),
    ...baseline(api),
    ...baseline(db),
    policy(frontend, SHOP_POLICIES.frontendIngress, {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: SHOP_PORTS.web }] }],
    }),
    policy(frontend, SHOP_POLICIES.frontendToApi, {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsSelector(api) }], ports: [{ protocol: 'TCP', port: SHOP_PORTS.orders }, { protocol: 'TCP', port: SHOP_PORTS.payments }] }],
    }),
    policy(api, SHOP_POLICIES.apiIngress, {
      podSelector: { matchLabels: { tier: 'api' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: nsSelector(frontend), podSelector: { matchLabels: { app: 'web' } } }],
          ports: [{ protocol: 'TCP', port: SHOP_PORTS.orders }, { protocol: 'TCP', port: SHOP_PORTS.payments }],
        },
      ],
    }),
    policy(api, SHOP_POLICIES.apiToDb, {
      podSelector: { matchLabels: { tier: 'api' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: nsSelector(db) }], ports: [{ protocol: 'TCP', port: SHOP_PORTS.postgres }, { protocol: 'TCP', port: SHOP_PORTS.redis }] }],
    }),
    policy(db, SHOP_POLICIES.dbIngress, {
      podSelector: { matchLabels: { tier: 'db' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: nsSelector(api), podSelector: { matchLabels: { tier: 'api' } } }],
          ports: [{ protocol: 'TCP', port: SHOP_PORTS.postgres }, { protocol: 'TCP', port: SHOP_PORTS.redis }],
        },
      ],
    }),
  ];
}

/** Where the shop keeps its GitOps controller and the Application that syncs its policies. */
export const SHOP_ARGOCD = { namespace: 'argocd', application: 'shop-network-policies' } as const;

export interface ShopOptions {
  /**
   * The cluster runs Argo CD (it serves argoproj.io Applications): add its namespace and the
   * Application that keeps the shop's NetworkPolicies in sync with Git, self-healing drift.
   */
  argocd?: boolean;
  /** Where the Application's source points (default a made-up https remote). */
  argocdRepoUrl?: string;
}

function argocdObjects(repoURL = 'https://git.shop.example/platform/network-policies.git'): Obj[] {
  return [
    namespace(SHOP_ARGOCD.namespace, { 'app.kubernetes.io/part-of': 'argocd' }),
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: SHOP_ARGOCD.application, namespace: SHOP_ARGOCD.namespace, labels: { 'app.kubernetes.io/part-of': 'shop' } },
      spec: {
        project: 'default',
        source: { repoURL, targetRevision: 'main', path: 'policies' },
        destination: { server: 'https://kubernetes.default.svc' },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
      status: { sync: { status: 'Synced', revision: 'main' }, health: { status: 'Healthy' } },
    },
  ];
}

/** Every object of the shop, as fresh copies: namespaces first, then pods, then policies. */
export function shopObjects(opts: ShopOptions = {}): object[] {
  const { frontend, api, db } = SHOP_NAMESPACES;
  return structuredClone([
    namespace(frontend, { team: 'storefront', env: 'prod' }),
    namespace(api, { team: 'checkout', env: 'prod' }),
    namespace(db, { team: 'data', env: 'prod' }),
    namespace(KUBE_SYSTEM),
    namespace(RESPONDER_NAMESPACE, { 'app.kubernetes.io/name': 'netpol-responder' }),
    ...shopPods(),
    ...shopPolicies(),
    ...(opts.argocd ? argocdObjects(opts.argocdRepoUrl) : []),
  ]);
}

/** The shop's NetworkPolicies only (fresh copies): the desired state kept in Git. */
export function shopPolicyObjects(): object[] {
  return structuredClone(shopPolicies());
}
