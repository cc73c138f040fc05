// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), from the
// standard-channel CRDs of kubernetes-sigs/network-policy-api (bundle v0.1.7,
// config/crd/standard/): the fields, limits, enums, defaults and CEL rules those CRDs declare.
// The experimental channel's extras (nodes and domainNames peers, namedPort) are not served.

import { ANY, arr, int, isCidr, labelSelector, obj, str, type Schema } from '../crd-schema.js';

const SELECTOR = labelSelector();

const PODS: Schema = obj({ namespaceSelector: SELECTOR, podSelector: SELECTOR }, { required: ['namespaceSelector', 'podSelector'] });

const PORT_NUMBER = int({ minimum: 1, maximum: 65535 });

/** AdminNetworkPolicyPort: exactly one of portNumber and portRange. */
const PORT: Schema = obj(
  {
    portNumber: obj({ port: PORT_NUMBER, protocol: str({ default: 'TCP' }) }, { required: ['port', 'protocol'] }),
    portRange: obj({ start: PORT_NUMBER, end: PORT_NUMBER, protocol: str({ default: 'TCP' }) }, { required: ['end', 'start'] }),
  },
  { minProperties: 1, maxProperties: 1 },
);

const PORTS = arr(PORT, { minItems: 1, maxItems: 100 });

const NETWORKS = arr(str({ maxLength: 43, rules: [{ rule: 'isCIDR(self)', message: 'Invalid CIDR format provided', check: (v) => typeof v === 'string' && isCidr(v) }] }), {
  minItems: 1,
  maxItems: 25,
  listSet: true,
});

const INGRESS_PEER: Schema = obj({ namespaces: SELECTOR, pods: PODS }, { minProperties: 1, maxProperties: 1 });
const EGRESS_PEER: Schema = obj({ namespaces: SELECTOR, networks: NETWORKS, pods: PODS }, { minProperties: 1, maxProperties: 1 });

function rules(actions: readonly string[]): { ingress: Schema; egress: Schema } {
  const action = str({ enum: actions });
  const name = str({ maxLength: 100 });
  return {
    ingress: arr(obj({ name, action, from: arr(INGRESS_PEER, { minItems: 1, maxItems: 100 }), ports: PORTS }, { required: ['action', 'from'] }), { maxItems: 100 }),
    egress: arr(obj({ name, action, to: arr(EGRESS_PEER, { minItems: 1, maxItems: 100 }), ports: PORTS }, { required: ['action', 'to'] }), { maxItems: 100 }),
  };
}

const SUBJECT: Schema = obj({ namespaces: SELECTOR, pods: PODS }, { minProperties: 1, maxProperties: 1 });

/** Top-level fields every custom resource has; metadata is checked as ObjectMeta elsewhere. */
const TOP = { apiVersion: str(), kind: str(), metadata: ANY };

export const ADMIN_NETWORK_POLICY: Schema = obj(
  {
    ...TOP,
    spec: obj({ priority: int({ minimum: 0, maximum: 1000 }), subject: SUBJECT, ...rules(['Allow', 'Deny', 'Pass']) }, { required: ['priority', 'subject'] }),
    status: ANY,
  },
  { required: ['metadata', 'spec'] },
);

export const BASELINE_ADMIN_NETWORK_POLICY: Schema = obj(
  {
    ...TOP,
    spec: obj({ subject: SUBJECT, ...rules(['Allow', 'Deny']) }, { required: ['subject'] }),
    status: ANY,
  },
  {
    required: ['metadata', 'spec'],
    rules: [
      {
        rule: "self.metadata.name == 'default'",
        message: 'Only one baseline admin network policy with metadata.name="default" can be created in the cluster',
        check: (v) => typeof v === 'object' && v !== null && (v as { metadata?: { name?: unknown } }).metadata?.name === 'default',
      },
    ],
  },
);
