// Validates a networking.k8s.io/v1 NetworkPolicy object and turns it into the engine's rule
// form. Every violation the API server would reject is reported with its field path.
import { printable } from '../printable.js';
import { IpSet, parseCidr } from './ip-set.js';
import type { Direction, NetworkPolicy, Peer, PortRule, Rule } from './model.js';
import { Conns, MAX_PORT, MIN_PORT, PROTOCOLS, portRange, type Protocol } from './port-set.js';
import { parseSelector, type Selector } from './selectors.js';

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// IANA_SVC_NAME: at most 15 characters, lowercase alphanumerics and '-', at least one letter.
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function portNameError(name: string): string | undefined {
  if (name.length > 15 || !PORT_NAME.test(name) || name.includes('--')) {
    return `"${name}" is not a valid port name (1-15 lowercase alphanumerics or '-', with a letter)`;
  }
  return undefined;
}

export function isPortNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= MIN_PORT && x <= MAX_PORT;
}

export class Errors {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    // Messages quote the offending value (a port name, a protocol): escaped and cut, so a 100 KB value stays a short line.
    this.list.push(`${printable(path, 300)}: ${printable(message, 1000)}`);
  }
}

export function selectorAt(raw: unknown, path: string, errors: Errors): Selector | undefined {
  const parsed = parseSelector(raw);
  if (typeof parsed === 'string') {
    errors.add(path, parsed);
    return undefined;
  }
  return parsed;
}

function compilePeer(raw: unknown, path: string, errors: Errors): Peer | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'peer must be an object');
    return undefined;
  }
  const hasPod = raw.podSelector !== undefined && raw.podSelector !== null;
  const hasNs = raw.namespaceSelector !== undefined && raw.namespaceSelector !== null;
  const hasIp = raw.ipBlock !== undefined && raw.ipBlock !== null;
  if (hasIp && (hasPod || hasNs)) {
    errors.add(path, 'ipBlock cannot be combined with podSelector or namespaceSelector');
    return undefined;
  }
  if (hasIp) return compileIpBlock(raw.ipBlock, `${path}.ipBlock`, errors);
  if (hasNs) {
    const namespaceSelector = selectorAt(raw.namespaceSelector, `${path}.namespaceSelector`, errors);
    const podSelector = selectorAt(raw.podSelector, `${path}.podSelector`, errors);
    return namespaceSelector && podSelector ? { kind: 'namespaces', namespaceSelector, podSelector } : undefined;
  }
  if (hasPod) {
    const podSelector = selectorAt(raw.podSelector, `${path}.podSelector`, errors);
    return podSelector ? { kind: 'pods', podSelector } : undefined;
  }
  errors.add(path, 'peer must set one of podSelector, namespaceSelector, ipBlock');
  return undefined;
}

function compileIpBlock(raw: unknown, path: string, errors: Errors): Peer | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'ipBlock must be an object with cidr');
    return undefined;
  }
  if (typeof raw.cidr !== 'string') {
    errors.add(`${path}.cidr`, 'cidr is required');
    return undefined;
  }
  const cidr = parseCidr(raw.cidr);
  if (typeof cidr === 'string') {
    errors.add(`${path}.cidr`, cidr);
    return undefined;
  }
  const exceptRaw = raw.except ?? [];
  if (!Array.isArray(exceptRaw)) {
    errors.add(`${path}.except`, 'except must be a list of CIDRs');
    return undefined;
  }
  let set = IpSet.range(cidr.family, cidr.start, cidr.end);
  const except: string[] = [];
  let ok = true;
  for (const [i, e] of exceptRaw.entries()) {
    const ex = parseCidr(e as string);
    if (typeof ex === 'string') {
      errors.add(`${path}.except[${i}]`, ex);
      ok = false;
      continue;
    }
    if (ex.family !== cidr.family || ex.start < cidr.start || ex.end > cidr.end || (ex.start === cidr.start && ex.end === cidr.end)) {
      errors.add(`${path}.except[${i}]`, `${ex.text} must be a strict subset of cidr ${cidr.text}`);
      ok = false;
      continue;
    }
    except.push(ex.text);
    set = set.subtract(IpSet.range(ex.family, ex.start, ex.end));
  }
  return ok ? { kind: 'ipBlock', cidr: cidr.text, except, set } : undefined;
}

function compilePort(raw: unknown, path: string, errors: Errors): PortRule | undefined {
  if (!isRecord(raw)) {
    errors.add(path, 'port entry must be an object');
    return undefined;
  }
  const protocol = raw.protocol ?? 'TCP';
  if (typeof protocol !== 'string' || !(PROTOCOLS as readonly string[]).includes(protocol)) {
    errors.add(`${path}.protocol`, `protocol ${JSON.stringify(protocol)} is not one of TCP, UDP, SCTP`);
    return undefined;
  }
  const rule: PortRule = { protocol: protocol as Protocol };
  const port = raw.port;
  if (port !== undefined && port !== null) {
    if (typeof port === 'number') {
      if (!isPortNumber(port)) {
        errors.add(`${path}.port`, `port ${port} is out of range (${MIN_PORT}-${MAX_PORT})`);
        return undefined;
      }
      rule.port = port;
    } else if (typeof port === 'string') {
      const err = /^\d+$/.test(port) ? `port "${port}" is a quoted number; write it unquoted` : portNameError(port);
      if (err) {
        errors.add(`${path}.port`, err);
        return undefined;
      }
      rule.port = port;
    } else {
      errors.add(`${path}.port`, 'port must be a number or a port name');
      return undefined;
    }
  }
  if (raw.endPort !== undefined && raw.endPort !== null) {
    if (typeof rule.port !== 'number') {
      errors.add(`${path}.endPort`, 'endPort needs a numeric port');
      return undefined;
    }
    if (!isPortNumber(raw.endPort)) {
      errors.add(`${path}.endPort`, `endPort ${JSON.stringify(raw.endPort)} is out of range (${MIN_PORT}-${MAX_PORT})`);
      return undefined;
    }
    if (raw.endPort < rule.port) {
      errors.add(`${path}.endPort`, `endPort ${raw.endPort} is smaller than port ${rule.port}`);
      return undefined;
    }
    rule.endPort = raw.endPort;
  }
  return rule;
}

function compileRule(raw: unknown, direction: Direction, index: number, path: string, errors: Errors): Rule | undefined {
  if (raw === null || raw === undefined) raw = {};
  if (!isRecord(raw)) {
    errors.add(path, 'rule must be an object');
    return undefined;
  }
  const peerField = direction === 'ingress' ? 'from' : 'to';
  const before = errors.list.length;
  // @kubernetes/client-node models name the ingress `from` field `_from` (a reserved word in its generator).
  const peersRaw = raw[peerField] ?? (direction === 'ingress' ? raw._from : undefined);
  let peers: Rule['peers'] = 'all';
  if (peersRaw !== undefined && peersRaw !== null) {
    if (!Array.isArray(peersRaw)) errors.add(`${path}.${peerField}`, 'must be a list of peers');
    else if (peersRaw.length > 0) peers = peersRaw.map((p, i) => compilePeer(p, `${path}.${peerField}[${i}]`, errors)).filter((p): p is Peer => !!p);
  }
  const portsRaw = raw.ports;
  let ports: Rule['ports'] = 'all';
  if (portsRaw !== undefined && portsRaw !== null) {
    if (!Array.isArray(portsRaw)) errors.add(`${path}.ports`, 'must be a list of ports');
    else if (portsRaw.length > 0) ports = portsRaw.map((p, i) => compilePort(p, `${path}.ports[${i}]`, errors)).filter((p): p is PortRule => !!p);
  }
  if (errors.list.length > before) return undefined;
  let numericConns = ports === 'all' ? Conns.ALL : Conns.NONE;
  const namedPorts: Array<{ name: string; protocol: Protocol }> = [];
  if (ports !== 'all') {
    for (const p of ports) {
      if (typeof p.port === 'string') namedPorts.push({ name: p.port, protocol: p.protocol });
      else if (p.port === undefined) numericConns = numericConns.union(Conns.of(p.protocol, portRange(MIN_PORT, MAX_PORT)));
      else numericConns = numericConns.union(Conns.of(p.protocol, portRange(p.port, p.endPort ?? p.port)));
    }
  }
  return { direction, index, peers, ports, numericConns, namedPorts };
}

export interface CompiledPolicyResult {
  policy?: NetworkPolicy;
  errors: string[];
}

/** `raw` is a NetworkPolicy object (kind may be absent, as in list items from the API). */
export function compilePolicy(raw: Record<string, unknown>, namespace: string, name: string, source: string): CompiledPolicyResult {
  const errors = new Errors();
  const spec = raw.spec ?? {};
  if (!isRecord(spec)) return { errors: ['spec: must be an object'] };
  const podSelector = selectorAt(spec.podSelector, 'spec.podSelector', errors);
  const rules = (direction: Direction): Rule[] => {
    const list = spec[direction];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) {
      errors.add(`spec.${direction}`, 'must be a list of rules');
      return [];
    }
    return list.map((r, i) => compileRule(r, direction, i, `spec.${direction}[${i}]`, errors)).filter((r): r is Rule => !!r);
  };
  const ingress = rules('ingress');
  const egress = rules('egress');
  let affectsIngress = true;
  let affectsEgress = Array.isArray(spec.egress) && spec.egress.length > 0;
  const types = spec.policyTypes;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.some((t) => t !== 'Ingress' && t !== 'Egress')) {
      errors.add('spec.policyTypes', 'must be a list of Ingress and/or Egress');
    } else if (types.length > 0) {
      affectsIngress = types.includes('Ingress');
      affectsEgress = types.includes('Egress');
    }
  }
  if (errors.list.length > 0 || !podSelector) return { errors: errors.list };
  return {
    errors: [],
    policy: { namespace, name, podSelector, affectsIngress, affectsEgress, ingress, egress, source, raw },
  };
}
