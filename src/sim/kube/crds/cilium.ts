// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2), from Cilium's CRD
// (pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml): the rule shape, the selector
// one-of, the "some rule section" any-of, entity and protocol enums, the port pattern and CIDR
// formats. L7 rules, TLS, ICMP, authentication details and status are kept as sent, unchecked.

import { ANY, arr, bool, int, labelSelector, obj, str, type Schema } from '../crd-schema.js';

const ENDPOINT_SELECTOR = labelSelector({
  operatorEnum: true,
  values: str({ maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' }),
});

const ENTITIES = ['all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'none', 'kube-apiserver', 'world-ipv4', 'world-ipv6'];

const PORT_PATTERN = '^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$';
const LEADING_PORT = /^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})/;

const isAlnum = (c: string): boolean => /^[a-zA-Z0-9]$/.test(c);
const isLetter = (c: string): boolean => /^[a-zA-Z]$/.test(c);

/**
 * PORT_PATTERN in linear time. Its alternation is unanchored on one side each, as in the CRD: a
 * value matches when it starts with a port number, or when some suffix is a letter followed by
 * (-?alnum)* up to the end. The suffix is found scanning backwards.
 */
export function ciliumPortMatches(value: string): boolean {
  if (LEADING_PORT.test(value)) return true;
  let j = value.length;
  while (j > 0) {
    const c = value[j - 1] as string;
    if (!isAlnum(c)) return false;
    if (isLetter(c)) return true;
    j--;
    if (j > 0 && value[j - 1] === '-') j--;
  }
  return false;
}

const PORT_PROTOCOL: Schema = obj({
  port: str({ pattern: PORT_PATTERN, patternTest: ciliumPortMatches }),
  endPort: int({ minimum: 0, maximum: 65535 }),
  protocol: str({ enum: ['TCP', 'UDP', 'SCTP', 'VRRP', 'IGMP', 'ANY'] }),
});

const PORTS = arr(PORT_PROTOCOL, { maxItems: 40 });
const PORT_RULE: Schema = obj({ ports: PORTS, rules: ANY, listener: ANY, originatingTLS: ANY, terminatingTLS: ANY, serverNames: ANY });
const PORT_DENY_RULE: Schema = obj({ ports: PORTS });

const CIDR = str({ format: 'cidr' });
const CIDR_RULE: Schema = obj(
  {
    cidr: CIDR,
    cidrGroupRef: str({ maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' }),
    cidrGroupSelector: ENDPOINT_SELECTOR,
    except: arr(CIDR),
  },
  { oneOf: [{ required: ['cidr'] }, { required: ['cidrGroupRef'] }, { required: ['cidrGroupSelector'] }] },
);

const FQDN: Schema = obj(
  {
    matchName: str({ maxLength: 255, pattern: '^([-a-zA-Z0-9_]+[.]?)+$' }),
    matchPattern: str({ maxLength: 255, pattern: '^([-a-zA-Z0-9_*]+[.]?)+$' }),
  },
  { oneOf: [{ required: ['matchName'] }, { required: ['matchPattern'] }] },
);

const AUTHENTICATION = obj({ mode: str({ enum: ['disabled', 'required', 'test-always-fail'] }) }, { required: ['mode'] });

function peers(dir: 'from' | 'to'): Record<string, Schema> {
  return {
    [`${dir}Endpoints`]: arr(ENDPOINT_SELECTOR),
    [`${dir}Requires`]: arr(ENDPOINT_SELECTOR),
    [`${dir}Entities`]: arr(str({ enum: ENTITIES })),
    [`${dir}CIDR`]: arr(CIDR),
    [`${dir}CIDRSet`]: arr(CIDR_RULE),
    [`${dir}Groups`]: ANY,
    [`${dir}Nodes`]: arr(ENDPOINT_SELECTOR),
    icmps: ANY,
  };
}

const INGRESS = obj({ ...peers('from'), toPorts: arr(PORT_RULE), authentication: AUTHENTICATION });
const INGRESS_DENY = obj({ ...peers('from'), toPorts: arr(PORT_DENY_RULE) });
const EGRESS = obj({ ...peers('to'), toFQDNs: arr(FQDN), toServices: ANY, toPorts: arr(PORT_RULE), authentication: AUTHENTICATION });
const EGRESS_DENY = obj({ ...peers('to'), toServices: ANY, toPorts: arr(PORT_DENY_RULE) });

/** api.Rule: one policy rule. */
const RULE: Schema = obj(
  {
    description: str(),
    endpointSelector: ENDPOINT_SELECTOR,
    nodeSelector: ENDPOINT_SELECTOR,
    enableDefaultDeny: obj({ ingress: bool(), egress: bool() }),
    ingress: arr(INGRESS),
    ingressDeny: arr(INGRESS_DENY),
    egress: arr(EGRESS),
    egressDeny: arr(EGRESS_DENY),
    labels: arr(obj({ key: str(), source: str(), value: str() }, { required: ['key'] })),
    log: obj({ value: str({ maxLength: 32 }) }),
  },
  {
    oneOf: [{ required: ['endpointSelector'] }, { required: ['nodeSelector'] }],
    anyOf: [{ required: ['ingress'] }, { required: ['ingressDeny'] }, { required: ['egress'] }, { required: ['egressDeny'] }],
  },
);

/** Both kinds share the schema; the clusterwide one is cluster-scoped. */
export const CILIUM_NETWORK_POLICY: Schema = obj(
  { apiVersion: str(), kind: str(), metadata: ANY, spec: RULE, specs: arr(RULE), status: ANY },
  { required: ['metadata'] },
);
