// Validates AdminNetworkPolicy and BaselineAdminNetworkPolicy objects
// (policy.networking.k8s.io/v1alpha1, kubernetes-sigs/network-policy-api) and compiles them into
// the engine's rule form. Every problem the CRD's schema would reject is reported with its path.
import { Errors, isPortNumber, isRecord, portNameError, selectorAt } from './compile-policy.js';
import { IpSet, parseCidr } from './ip-set.js';
import type { AdminAction, AdminPeer, AdminPolicy, AdminRule, Direction, PortRule } from './model.js';
import { Conns, MAX_PORT, MIN_PORT, PROTOCOLS, portRange, type Protocol } from './port-set.js';
import { SELECT_ALL } from './selectors.js';

export type AdminKind = AdminPolicy['kind'];

// Limits of the CRD schema (kubebuilder MaxItems / MaxLength markers).
const MAX_RULES = 100;
const MAX_PEERS = 100;
const MAX_PORTS = 100;
const MAX_NETWORKS = 25;
const MAX_RULE_NAME = 100;

function protocolAt(raw: unknown, path: string, errors: Errors): Protocol | undefined {
  const protocol = raw ?? 'TCP';
  if (typeof protocol !== 'string' || !(PROTOCOLS as readonly string[]).includes(protocol)) {
    errors.add(path, `protocol ${JSON.stringify(protocol)} is not one of TCP, UDP, SCTP`);
    return undefined;
  }
  return protocol as Protocol;
}

function onlyOneOf(raw: Record<string, unknown>, fields: readonly string[], path: string, what: string, errors: Errors): string | undefined {
  const unknown = Object.keys(raw).filter((k) => !fields.includes(k));
  if (unknown.length > 0) {
    errors.add(`${path}.${unknown[0] as string}`, `unknown ${what} type "${unknown[0] as string}" (one of ${fields.join(', ')})`);
    return undefined;
  }
  const set = fields.filter((f) => raw[f] !== undefined && raw[f] !== null);
  if (set.length !== 1) {
    errors.add(path, `${what} must set exactly one of ${fields.join(', ')}${set.length > 1 ? ` (has ${set.join(', ')})` : ''}`);
    return undefined;
  }
  return set[0];
}

function compilePort(raw: unknown, path: string, errors: Errors): PortRule[] | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'port entry must be an object with portNumber, portRange or namedPort');
    return undefined;
  }
  const field = onlyOneOf(raw, ['portNumber', 'portRange', 'namedPort'], path, 'port', errors);
  if (field === 'namedPort') {
    const name = raw.namedPort;
    const err = typeof name === 'string' ? portNameError(name) : 'namedPort must be a string';
    if (err) {
      errors.add(`${path}.namedPort`, err);
      return undefined;
    }
    // A named port has no protocol here: it is the pod's port of that name, whatever its protocol.
    return PROTOCOLS.map((protocol) => ({ protocol, port: name as string }));
  }
  if (field === 'portNumber') {
    const p = raw.portNumber;
    if (!isRecord(p)) {
      errors.add(`${path}.portNumber`, 'must be an object with protocol and port');
      return undefined;
    }
    const protocol = protocolAt(p.protocol, `${path}.portNumber.protocol`, errors);
    if (!isPortNumber(p.port)) {
      errors.add(`${path}.portNumber.port`, `port ${JSON.stringify(p.port)} must be a number ${MIN_PORT}-${MAX_PORT}`);
      return undefined;
    }
    return protocol ? [{ protocol, port: p.port }] : undefined;
  }
  if (field === 'portRange') {
    const r = raw.portRange;
    if (!isRecord(r)) {
      errors.add(`${path}.portRange`, 'must be an object with protocol, start and end');
      return undefined;
    }
    const protocol = protocolAt(r.protocol, `${path}.portRange.protocol`, errors);
    let ok = protocol !== undefined;
    for (const k of ['start', 'end'] as const) {
      if (!isPortNumber(r[k])) {
        errors.add(`${path}.portRange.${k}`, `${k} ${JSON.stringify(r[k])} must be a number ${MIN_PORT}-${MAX_PORT}`);
        ok = false;
      }
    }
    if (!ok) return undefined;
    if ((r.start as number) >= (r.end as number)) {
      errors.add(`${path}.portRange`, `start ${String(r.start)} must be less than end ${String(r.end)}`);
      return undefined;
    }
    return [{ protocol: protocol as Protocol, port: r.start as number, endPort: r.end as number }];
  }
  return undefined;
}

function compileNetworks(raw: unknown, path: string, errors: Errors): AdminPeer | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_NETWORKS) {
    errors.add(path, `networks must be a list of 1-${MAX_NETWORKS} CIDRs`);
    return undefined;
  }
  let set = IpSet.EMPTY;
  const cidrs: string[] = [];
  for (const [i, text] of raw.entries()) {
    const cidr = typeof text === 'string' ? parseCidr(text) : 'CIDR must be a string';
    if (typeof cidr === 'string') {
      errors.add(`${path}[${i}]`, cidr);
      return undefined;
    }
    cidrs.push(cidr.text);
    set = set.union(IpSet.range(cidr.family, cidr.start, cidr.end));
  }
  return { kind: 'networks', cidrs, set };
}

function compilePeer(raw: unknown, direction: Direction, path: string, errors: Errors, warnings: string[]): AdminPeer | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'peer must be an object');
    return undefined;
  }
  const fields = direction === 'ingress' ? ['namespaces', 'pods'] : ['namespaces', 'pods', 'nodes', 'networks'];
  if (direction === 'egress' && raw.domainNames !== undefined) {
    errors.add(`${path}.domainNames`, 'domainNames peers are not supported by this engine (the names cannot be resolved offline)');
    return undefined;
  }
  const field = onlyOneOf(raw, fields, path, 'peer', errors);
  if (field === 'namespaces') {
    const namespaceSelector = selectorAt(raw.namespaces, `${path}.namespaces`, errors);
    return namespaceSelector ? { kind: 'namespaces', namespaceSelector } : undefined;
  }
  if (field === 'pods') return compileNamespacedPod(raw.pods, `${path}.pods`, errors, warnings);
  if (field === 'nodes') {
    const nodeSelector = selectorAt(raw.nodes, `${path}.nodes`, errors);
    return nodeSelector ? { kind: 'nodes', nodeSelector } : undefined;
  }
  if (field === 'networks') return compileNetworks(raw.networks, `${path}.networks`, errors);
  return undefined;
}

function compileNamespacedPod(raw: unknown, path: string, errors: Errors, warnings: string[]): (AdminPeer & { kind: 'pods' }) | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'must be an object with namespaceSelector and podSelector');
    return undefined;
  }
  // The CRD requires both; netpol-analyzer reads a missing one as {} (its test cases rely on it).
  for (const k of ['namespaceSelector', 'podSelector']) if (raw[k] === undefined || raw[k] === null) warnings.push(`${path}.${k}: ${k} is required by the CRD; read as {} (every ${k === 'podSelector' ? 'pod' : 'namespace'})`);
  const namespaceSelector = selectorAt(raw.namespaceSelector, `${path}.namespaceSelector`, errors);
  const podSelector = selectorAt(raw.podSelector, `${path}.podSelector`, errors);
  return namespaceSelector && podSelector ? { kind: 'pods', namespaceSelector, podSelector } : undefined;
}

function compileRule(raw: unknown, kind: AdminKind, direction: Direction, index: number, path: string, errors: Errors, warnings: string[]): AdminRule | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'rule must be an object');
    return undefined;
  }
  const before = errors.list.length;
  const name = raw.name ?? '';
  if (typeof name !== 'string' || name.length > MAX_RULE_NAME) errors.add(`${path}.name`, `name must be a string of at most ${MAX_RULE_NAME} characters`);
  const actions: readonly string[] = kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  if (typeof raw.action !== 'string' || !actions.includes(raw.action)) {
    const pass = raw.action === 'Pass' ? ' (Pass exists only in AdminNetworkPolicy)' : '';
    errors.add(`${path}.action`, `action ${JSON.stringify(raw.action ?? null)} is not one of ${actions.join(', ')}${pass}`);
  }
  const peerField = direction === 'ingress' ? 'from' : 'to';
  const peersRaw = raw[peerField];
  const peers: AdminPeer[] = [];
  if (!Array.isArray(peersRaw) || peersRaw.length === 0 || peersRaw.length > MAX_PEERS) {
    errors.add(`${path}.${peerField}`, `${peerField} must be a list of 1-${MAX_PEERS} peers`);
  } else {
    peersRaw.forEach((p, i) => {
      const peer = compilePeer(p, direction, `${path}.${peerField}[${i}]`, errors, warnings);
      if (peer) peers.push(peer);
    });
  }
  let ports: AdminRule['ports'] = 'all';
  if (raw.ports !== undefined && raw.ports !== null) {
    if (!Array.isArray(raw.ports) || raw.ports.length === 0 || raw.ports.length > MAX_PORTS) {
      errors.add(`${path}.ports`, `ports must be a list of 1-${MAX_PORTS} entries (leave it out for every port)`);
    } else {
      const list: PortRule[] = [];
      raw.ports.forEach((p, i) => list.push(...(compilePort(p, `${path}.ports[${i}]`, errors) ?? [])));
      ports = list;
    }
  }
  const named = ports !== 'all' && ports.some((p) => typeof p.port === 'string');
  if (named && peers.some((p) => p.kind === 'networks' || p.kind === 'nodes')) {
    errors.add(`${path}.ports`, 'networks/nodes peers cannot be combined with namedPort (only pods have named ports)');
  }
  if (errors.list.length > before) return undefined;
  let numericConns = ports === 'all' ? Conns.ALL : Conns.NONE;
  const namedPorts: Array<{ name: string; protocol: Protocol }> = [];
  if (ports !== 'all') {
    for (const p of ports) {
      if (typeof p.port === 'string') namedPorts.push({ name: p.port, protocol: p.protocol });
      else numericConns = numericConns.union(Conns.of(p.protocol, portRange(p.port as number, p.endPort ?? (p.port as number))));
    }
  }
  return { direction, index, name: name as string, action: raw.action as AdminAction, peers, ports, numericConns, namedPorts };
}

function compileSubject(raw: unknown, errors: Errors, warnings: string[]): AdminPolicy['subject'] | undefined {
  if (!isRecord(raw)) {
    errors.add('spec.subject', 'subject is required: one of namespaces, pods');
    return undefined;
  }
  const field = onlyOneOf(raw, ['namespaces', 'pods'], 'spec.subject', 'subject', errors);
  if (field === 'namespaces') {
    const namespaceSelector = selectorAt(raw.namespaces, 'spec.subject.namespaces', errors);
    return namespaceSelector ? { namespaceSelector, podSelector: SELECT_ALL } : undefined;
  }
  if (field === 'pods') {
    const pods = compileNamespacedPod(raw.pods, 'spec.subject.pods', errors, warnings);
    return pods ? { namespaceSelector: pods.namespaceSelector, podSelector: pods.podSelector } : undefined;
  }
  return undefined;
}

/** `raw` is an ANP or BANP object; `name` its metadata.name. */
export function compileAdminPolicy(raw: Record<string, unknown>, kind: AdminKind, name: string, source: string): { policy?: AdminPolicy; errors: string[]; warnings: string[] } {
  const errors = new Errors();
  const warnings: string[] = [];
  if (kind === 'BaselineAdminNetworkPolicy' && name !== 'default') errors.add('metadata.name', `a BaselineAdminNetworkPolicy must be named "default" (it is a singleton), not "${name}"`);
  const spec = raw.spec;
  if (!isRecord(spec)) return { errors: [...errors.list, 'spec: is required and must be an object'], warnings };
  let priority = Number.POSITIVE_INFINITY;
  if (kind === 'AdminNetworkPolicy') {
    const p = spec.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 1000) errors.add('spec.priority', `priority ${JSON.stringify(p ?? null)} must be an integer 0-1000 (lower numbers come first)`);
    else priority = p;
  }
  const subject = compileSubject(spec.subject, errors, warnings);
  const rules = (direction: Direction): AdminRule[] => {
    const list = spec[direction];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list) || list.length > MAX_RULES) {
      errors.add(`spec.${direction}`, `must be a list of at most ${MAX_RULES} rules`);
      return [];
    }
    return list.map((r, i) => compileRule(r, kind, direction, i, `spec.${direction}[${i}]`, errors, warnings)).filter((r): r is AdminRule => !!r);
  };
  const ingress = rules('ingress');
  const egress = rules('egress');
  if (errors.list.length > 0 || !subject) return { errors: errors.list, warnings };
  return { errors: [], warnings, policy: { kind, name, priority, subject, ingress, egress, source, raw } };
}
