// Which lists of a policy are sets (order carries no meaning) and which are ordered, per kind,
// and where an empty map means the same as no map. Everything not named here is compared as
// written: lists in order, maps field by field. Pure data.

export interface Shape {
  /** Known fields of a map; the others are compared generically. */
  readonly fields?: Readonly<Record<string, Shape>>;
  /** A list whose order carries no meaning: sorted in the canonical form, compared as a set. */
  readonly set?: Shape;
  /** A list whose order matters (AdminNetworkPolicy rules: the first match wins). */
  readonly list?: Shape;
  /** An empty map means the same as no map (label maps, matchLabels). */
  readonly emptyMeansAbsent?: boolean;
}

export const ANY: Shape = {};
const setOf = (of: Shape = ANY): Shape => ({ set: of });
const listOf = (of: Shape = ANY): Shape => ({ list: of });
const map = (fields: Record<string, Shape>): Shape => ({ fields });

const STRING_MAP: Shape = { emptyMeansAbsent: true };

/** A label selector: its requirements are ANDed, and In/NotIn values are sets. */
export const SELECTOR: Shape = map({ matchLabels: STRING_MAP, matchExpressions: setOf(map({ values: setOf() })) });

// networking.k8s.io/v1 NetworkPolicy: rules are ORed and so are the peers and ports of a rule.
const NP_PEER = map({ podSelector: SELECTOR, namespaceSelector: SELECTOR, ipBlock: map({ except: setOf() }) });
const NP_SPEC = map({
  podSelector: SELECTOR,
  policyTypes: setOf(),
  ingress: setOf(map({ from: setOf(NP_PEER), ports: setOf() })),
  egress: setOf(map({ to: setOf(NP_PEER), ports: setOf() })),
});

// policy.networking.k8s.io AdminNetworkPolicy / BaselineAdminNetworkPolicy: rules are evaluated in
// order (the first that matches decides), so their order is part of the policy; peers and ports
// of one rule are still ORed.
const ANP_PODS = map({ namespaceSelector: SELECTOR, podSelector: SELECTOR });
const ANP_PEER = map({ namespaces: SELECTOR, pods: ANP_PODS, nodes: SELECTOR, networks: setOf(), domainNames: setOf() });
const ANP_SPEC = map({
  subject: map({ namespaces: SELECTOR, pods: ANP_PODS }),
  ingress: listOf(map({ from: setOf(ANP_PEER), ports: setOf() })),
  egress: listOf(map({ to: setOf(ANP_PEER), ports: setOf() })),
});

// cilium.io/v2 CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy: every list of a rule is a set
// (rules are ORed, deny rules win whatever their position). L7 rules are compared as written.
const CIDR_RULE = map({ except: setOf(), cidrGroupSelector: SELECTOR });
const PORT_RULE = map({ ports: setOf(), serverNames: setOf() });
function ciliumRule(dir: 'from' | 'to'): Shape {
  return map({
    [`${dir}Endpoints`]: setOf(SELECTOR),
    [`${dir}Requires`]: setOf(SELECTOR),
    [`${dir}Nodes`]: setOf(SELECTOR),
    [`${dir}Entities`]: setOf(),
    [`${dir}CIDR`]: setOf(),
    [`${dir}CIDRSet`]: setOf(CIDR_RULE),
    [`${dir}Groups`]: setOf(),
    ...(dir === 'to' ? { toFQDNs: setOf(), toServices: setOf() } : {}),
    toPorts: setOf(PORT_RULE),
    icmps: setOf(),
  });
}
const CILIUM_RULE = map({
  endpointSelector: SELECTOR,
  nodeSelector: SELECTOR,
  ingress: setOf(ciliumRule('from')),
  ingressDeny: setOf(ciliumRule('from')),
  egress: setOf(ciliumRule('to')),
  egressDeny: setOf(ciliumRule('to')),
  labels: setOf(),
});

const METADATA = map({ labels: STRING_MAP, annotations: STRING_MAP });

/** The shape of a whole (normalised) object of `kind`. */
export function shapeOf(kind: string): Shape {
  switch (kind) {
    case 'NetworkPolicy':
      return map({ metadata: METADATA, spec: NP_SPEC });
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
      return map({ metadata: METADATA, spec: ANP_SPEC });
    case 'CiliumNetworkPolicy':
    case 'CiliumClusterwideNetworkPolicy':
      return map({ metadata: METADATA, spec: CILIUM_RULE, specs: setOf(CILIUM_RULE) });
    default:
      return map({ metadata: METADATA });
  }
}
