// The demo shop: a web frontend, an API (orders, payments) and a database tier (postgres,
// redis), each in its own namespace, with the NetworkPolicies a careful team would have:
// default-deny everywhere, then only the paths the shop needs, plus DNS to kube-dns.

export const SHOP_NAMESPACES = { frontend: 'frontend', api: 'api', db: 'db' } as const;
export const KUBE_SYSTEM = 'kube-system';
export const RESPONDER_NAMESPACE = 'netpol-responder';

export const SHOP_PODS = {
  web: ['web-6d8f7c9b5-k2x7p', 'web-6d8f7c9b5-q9m4z'],
  orders: ['orders-7f9c8d6b4-h3n8v', 'orders-7f9c8d6b4-t5w2c'],
  payments: 'payments-5b7d9f8c6-r8j2k',
  postgres: 'postgres-0',
  redis: 'redis-cache-0',
  kubeDns: 'coredns-7db6d8ff4d-x4v9s',
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
  [SHOP_PODS.web[0]]: '10.244.1.10',
  [SHOP_PODS.web[1]]: '10.244.2.11',
  [SHOP_PODS.orders[0]]: '10.244.1.20',
  [SHOP_PODS.orders[1]]: '10.244.2.21',
  [SHOP_PODS.payments]: '10.244.1.30',
  [SHOP_PODS.postgres]: '10.244.3.40',
  [SHOP_PODS.redis]: '10.244.3.41',
  [SHOP_PODS.kubeDns]: '10.244.0.5',
};

type Obj = Record<string, unknown>;

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
      ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: `00000000-0000-4000-8000-${p.owner.name.length.toString().padStart(12, '0')}`, controller: true }] } : {}),
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
  return [
    ...SHOP_PODS.web.map((name) =>
      pod({ namespace: frontend, name, labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '6d8f7c9b5' }, container: 'web', image: 'ghcr.io/shop/web:1.8.2', ports: [{ name: 'http', containerPort: SHOP_PORTS.web }], owner: { kind: 'ReplicaSet', name: 'web-6d8f7c9b5' }, node: 'node-a' }),
    ),
    ...SHOP_PODS.orders.map((name) =>
      pod({ namespace: api, name, labels: { app: 'orders', tier: 'api', 'pod-template-hash': '7f9c8d6b4' }, container: 'orders', image: 'ghcr.io/shop/orders:2.3.0', ports: [{ name: 'http', containerPort: SHOP_PORTS.orders }], owner: { kind: 'ReplicaSet', name: 'orders-7f9c8d6b4' }, node: 'node-b' }),
    ),
    pod({ namespace: api, name: SHOP_PODS.payments, labels: { app: 'payments', tier: 'api', 'pod-template-hash': '5b7d9f8c6' }, container: 'payments', image: 'ghcr.io/shop/payments:1.4.1', ports: [{ name: 'https', containerPort: SHOP_PORTS.payments }], owner: { kind: 'ReplicaSet', name: 'payments-5b7d9f8c6' }, node: 'node-a' }),
    pod({ namespace: db, name: SHOP_PODS.postgres, labels: { app: 'postgres', tier: 'db', 'statefulset.kubernetes.io/pod-name': SHOP_PODS.postgres }, container: 'postgres', image: 'postgres:16.4', ports: [{ name: 'postgres', containerPort: SHOP_PORTS.postgres }], owner: { kind: 'StatefulSet', name: 'postgres' }, node: 'node-c' }),
    pod({ namespace: db, name: SHOP_PODS.redis, labels: { app: 'redis', tier: 'db', 'statefulset.kubernetes.io/pod-name': SHOP_PODS.redis }, container: 'redis', image: 'redis:7.4', ports: [{ name: 'redis', containerPort: SHOP_PORTS.redis }], owner: { kind: 'StatefulSet', name: 'redis-cache' }, node: 'node-c' }),
    pod({ namespace: KUBE_SYSTEM, name: SHOP_PODS.kubeDns, labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '7db6d8ff4d' }, container: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', ports: [{ name: 'dns', containerPort: SHOP_PORTS.dns, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: SHOP_PORTS.dns, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153 }], owner: { kind: 'ReplicaSet', name: 'coredns-7db6d8ff4d' }, node: 'node-a' }),
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

/** Every object of the shop, as fresh copies: namespaces first, then pods, then policies. */
export function shopObjects(): object[] {
  const { frontend, api, db } = SHOP_NAMESPACES;
  return structuredClone([
    namespace(frontend, { team: 'storefront', env: 'prod' }),
    namespace(api, { team: 'checkout', env: 'prod' }),
    namespace(db, { team: 'data', env: 'prod' }),
    namespace(KUBE_SYSTEM),
    namespace(RESPONDER_NAMESPACE, { 'app.kubernetes.io/name': 'netpol-responder' }),
    ...shopPods(),
    ...shopPolicies(),
  ]);
}

/** The shop's NetworkPolicies only (fresh copies): the desired state kept in Git. */
export function shopPolicyObjects(): object[] {
  return structuredClone(shopPolicies());
}
