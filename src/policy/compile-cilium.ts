// Validates the modelled subset of a cilium.io/v2 CiliumNetworkPolicy and compiles it into the
// engine's rule form. Fields outside the subset (L7 rules, toFQDNs, toServices...) become
// warnings that say what the result then misses; malformed fields are errors with their path.
import { Errors, isRecord, portNameError } from './compile-policy.js';
import { IpSet, parseCidr, parseIp } from './ip-set.js';
import type { CiliumPeers, CiliumPolicy, CiliumRule, Direction, PortRule } from './model.js';
import { Conns, MAX_PORT, MIN_PORT, PROTOCOLS, portRange, type Protocol } from './port-set.js';
import { makeSelector, parseSelector, type Selector } from './selectors.js';

/** Cilium's label for the pod's namespace, and the prefix under which it exposes namespace labels. */
export const CILIUM_NS_LABEL = 'io.kubernetes.pod.namespace';
export const CILIUM_NS_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

const MAX_RULES = 1000;
const MAX_SPECS = 100;
const WORLD_V4 = IpSet.of([0n, (1n << 32n) - 1n], []);
const WORLD_V6 = IpSet.of([], [0n, (1n << 128n) - 1n]);
// Entities without an endpoint in this model (nodes, the API server, Cilium's own endpoints).
const UNMODELLED_ENTITIES = new Set(['host', 'remote-node', 'kube-apiserver', 'health', 'init', 'ingress', 'unmanaged']);
const ALLOW_FIELDS: Record<Direction, readonly string[]> = {
  ingress: ['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet', 'toPorts'],
  egress: ['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet', 'toPorts'],
};
const UNSUPPORTED_L3: Record<Direction, readonly string[]> = {
  ingress: ['fromRequires', 'fromNodes', 'fromGroups'],
  egress: ['toFQDNs', 'toServices', 'toGroups', 'toRequires', 'toNodes'],
};
const OTHER_UNSUPPORTED = ['icmps', 'authentication'];

export interface CiliumCompileResult {
  policy?: CiliumPolicy;
  errors: string[];
  warnings: string[];
}

class Ctx {
  readonly errors = new Errors();
  readonly warnings: string[] = [];
  constructor(readonly namespace: string) {}
  warn(path: string, message: string): void {
    this.warnings.push(`${path}: ${message}`);
  }
}

/**
 * An endpoint selector with Cilium's source prefixes (`k8s:`, `any:`) removed; a `reserved:`
 * label (an entity) is not modelled. Peers are scoped to the policy's namespace unless they
 * select on the namespace label themselves; the endpointSelector always is.
 */
function ciliumSelector(raw: unknown, path: string, ctx: Ctx, alwaysScoped: boolean): Selector | 'reserved' | undefined {
  let stripped: unknown = raw;
  let reserved = false;
  const strip = (key: string): string => {
    const m = /^(k8s|any|reserved|unspec|container|cni):(.*)$/.exec(key);
    if (!m) return key;
    if (m[1] === 'reserved') reserved = true;
    return m[2] as string;
  };
  if (isRecord(raw)) {
    const copy: Record<string, unknown> = { ...raw };
    if (isRecord(raw.matchLabels)) copy.matchLabels = Object.fromEntries(Object.entries(raw.matchLabels).map(([k, v]) => [strip(k), v]));
    if (Array.isArray(raw.matchExpressions)) copy.matchExpressions = raw.matchExpressions.map((e) => (isRecord(e) && typeof e.key === 'string' ? { ...e, key: strip(e.key) } : e));
    stripped = copy;
  }
  const parsed = parseSelector(stripped);
  if (typeof parsed === 'string') {
    ctx.errors.add(path, parsed);
    return undefined;
  }
  if (reserved) {
    ctx.warn(path, 'reserved: labels (Cilium entities) are not modelled; this selector matches no pod here');
    return 'reserved';
  }
  if (parsed.requirements.some((r) => r.key === 'io.cilium.k8s.policy.serviceaccount' || r.key === 'io.cilium.k8s.policy.cluster')) {
    ctx.warn(path, 'service account and cluster labels are not modelled; this selector matches no pod here');
    return 'reserved';
  }
  const scoped = alwaysScoped || !parsed.requirements.some((r) => r.key === CILIUM_NS_LABEL);
  return scoped ? makeSelector([...parsed.requirements, { key: CILIUM_NS_LABEL, operator: 'In', values: [ctx.namespace] }]) : parsed;
}

function cidrSet(text: unknown, path: string, ctx: Ctx): IpSet | undefined {
  if (typeof text !== 'string') {
    ctx.errors.add(path, 'CIDR must be a string');
    return undefined;
  }
  // Cilium accepts a bare address as a host prefix.
  const ip = text.includes('/') ? undefined : parseIp(text);
  const cidr = ip ? parseCidr(`${text}/${ip.family === 4 ? 32 : 128}`) : parseCidr(text);
  if (typeof cidr === 'string') {
    ctx.errors.add(path, cidr);
    return undefined;
  }
  return IpSet.range(cidr.family, cidr.start, cidr.end);
}

function listAt(raw: Record<string, unknown>, field: string, path: string, ctx: Ctx): unknown[] {
  const v = raw[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    ctx.errors.add(`${path}.${field}`, 'must be a list');
    return [];
  }
  return v;
}

function compilePeers(raw: Record<string, unknown>, direction: Direction, path: string, ctx: Ctx): CiliumRule['peers'] {
  const side = direction === 'ingress' ? 'from' : 'to';
  const endpoints: Selector[] = [];
  let allPods = false;
  let ips = IpSet.EMPTY;
  let hasL3 = false;
  const eps = listAt(raw, `${side}Endpoints`, path, ctx);
  eps.forEach((s, i) => {
    const sel = ciliumSelector(s, `${path}.${side}Endpoints[${i}]`, ctx, false);
    if (sel && sel !== 'reserved') endpoints.push(sel);
  });
  const entities = listAt(raw, `${side}Entities`, path, ctx);
  entities.forEach((e, i) => {
    const at = `${path}.${side}Entities[${i}]`;
    if (e === 'world') ips = ips.union(IpSet.ALL);
    else if (e === 'world-ipv4') ips = ips.union(WORLD_V4);
    else if (e === 'world-ipv6') ips = ips.union(WORLD_V6);
    else if (e === 'cluster') allPods = true;
    else if (e === 'all') {
      allPods = true;
      ips = IpSet.ALL;
    } else if (typeof e === 'string' && UNMODELLED_ENTITIES.has(e)) ctx.warn(at, `entity "${e}" is not modelled: connections ${side} it are not reported`);
    else ctx.errors.add(at, `unknown entity ${JSON.stringify(e)} (world, cluster, all, host, remote-node, kube-apiserver, health, init, ingress, unmanaged)`);
  });
  listAt(raw, `${side}CIDR`, path, ctx).forEach((c, i) => {
    const set = cidrSet(c, `${path}.${side}CIDR[${i}]`, ctx);
    if (set) ips = ips.union(set);
  });
  listAt(raw, `${side}CIDRSet`, path, ctx).forEach((c, i) => {
    const at = `${path}.${side}CIDRSet[${i}]`;
    if (!isRecord(c)) return ctx.errors.add(at, 'must be an object with cidr and optional except');
    if (c.cidr === undefined && (c.cidrGroupRef !== undefined || c.cidrGroupSelector !== undefined)) return ctx.warn(at, 'CIDR groups are not modelled: this entry matches nothing here');
    let set = cidrSet(c.cidr, `${at}.cidr`, ctx);
    const except = c.except ?? [];
    if (!Array.isArray(except)) return ctx.errors.add(`${at}.except`, 'except must be a list of CIDRs');
    except.forEach((x, k) => {
      const ex = cidrSet(x, `${at}.except[${k}]`, ctx);
      if (set && ex) set = set.subtract(ex);
    });
    if (set) ips = ips.union(set);
  });
  for (const f of [`${side}Endpoints`, `${side}Entities`, `${side}CIDR`, `${side}CIDRSet`, ...UNSUPPORTED_L3[direction]]) {
    if (Array.isArray(raw[f]) && (raw[f] as unknown[]).length > 0) hasL3 = true;
  }
  return hasL3 ? ({ endpoints, allPods, ips } satisfies CiliumPeers) : 'all';
}

function compilePortEntry(raw: unknown, path: string, ctx: Ctx): PortRule[] {
  if (!isRecord(raw)) {
    ctx.errors.add(path, 'port entry must be an object with port and protocol');
    return [];
  }
  const protocol = raw.protocol ?? 'ANY';
  let protocols: Protocol[];
  if (protocol === 'ANY' || protocol === '') protocols = [...PROTOCOLS];
  else if (typeof protocol === 'string' && (PROTOCOLS as readonly string[]).includes(protocol)) protocols = [protocol as Protocol];
  else if (protocol === 'ICMP' || protocol === 'ICMPV6' || protocol === 'VRRP' || protocol === 'IGMP') {
    ctx.warn(`${path}.protocol`, `${protocol} is not modelled (only TCP, UDP and SCTP are): this entry matches nothing here`);
    return [];
  } else {
    ctx.errors.add(`${path}.protocol`, `protocol ${JSON.stringify(protocol)} is not one of TCP, UDP, SCTP, ANY`);
    return [];
  }
  const port = raw.port ?? '0';
  const text = typeof port === 'number' ? String(port) : port;
  if (typeof text !== 'string') {
    ctx.errors.add(`${path}.port`, 'port must be a port number or a port name');
    return [];
  }
  if (!/^\d+$/.test(text)) {
    const err = portNameError(text);
    if (err) ctx.errors.add(`${path}.port`, err);
    return err ? [] : protocols.map((p) => ({ protocol: p, port: text }));
  }
  const n = Number(text);
  if (n > MAX_PORT) {
    ctx.errors.add(`${path}.port`, `port ${text} is out of range (0-${MAX_PORT}; 0 means every port)`);
    return [];
  }
  let end = n;
  if (raw.endPort !== undefined && raw.endPort !== null && raw.endPort !== 0) {
    if (typeof raw.endPort !== 'number' || !Number.isInteger(raw.endPort) || raw.endPort < n || raw.endPort > MAX_PORT || n === 0) {
      ctx.errors.add(`${path}.endPort`, `endPort ${JSON.stringify(raw.endPort)} must be a port number not below port ${text}`);
      return [];
    }
    end = raw.endPort;
  }
  return protocols.map((p) => (n === 0 ? { protocol: p } : { protocol: p, port: n, ...(end !== n ? { endPort: end } : {}) }));
}

function compilePorts(raw: Record<string, unknown>, deny: boolean, path: string, ctx: Ctx): CiliumRule['ports'] {
  const list = listAt(raw, 'toPorts', path, ctx);
  if (list.length === 0) return 'all';
  const out: PortRule[] = [];
  let every = false;
  list.forEach((pr, i) => {
    const at = `${path}.toPorts[${i}]`;
    if (!isRecord(pr)) return ctx.errors.add(at, 'must be an object with ports');
    const rules = pr.rules;
    if (isRecord(rules) && Object.values(rules).some((v) => v !== null && v !== undefined && (!Array.isArray(v) || v.length > 0))) {
      if (deny) ctx.errors.add(`${at}.rules`, 'deny rules cannot have L7 rules');
      else ctx.warn(`${at}.rules`, 'L7 rules are not modelled: the ports are treated as allowed for every request, so the result may show more than Cilium lets through');
    }
    for (const f of ['serverNames', 'listener', 'terminatingTLS', 'originatingTLS']) if (pr[f] !== undefined) ctx.warn(`${at}.${f}`, `${f} is not modelled: treated as a plain L4 rule`);
    const ports = listAt(pr, 'ports', at, ctx);
    if (ports.length === 0) every = true;
    ports.forEach((p, k) => out.push(...compilePortEntry(p, `${at}.ports[${k}]`, ctx)));
  });
  return every ? 'all' : out;
}

function compileRule(raw: unknown, direction: Direction, deny: boolean, index: number, path: string, ctx: Ctx): CiliumRule | undefined {
  if (raw === null || raw === undefined) raw = {};
  if (!isRecord(raw)) {
    ctx.errors.add(path, 'rule must be an object');
    return undefined;
  }
  const before = ctx.errors.list.length;
  for (const f of UNSUPPORTED_L3[direction]) {
    if (raw[f] !== undefined) ctx.warn(`${path}.${f}`, `${f} is not modelled: the peers it ${deny ? 'denies stay allowed' : 'allows are not reported'} here`);
  }
  for (const f of OTHER_UNSUPPORTED) if (raw[f] !== undefined) ctx.warn(`${path}.${f}`, `${f} is not modelled`);
  for (const f of Object.keys(raw)) {
    if (![...ALLOW_FIELDS[direction], ...UNSUPPORTED_L3[direction], ...OTHER_UNSUPPORTED].includes(f)) ctx.errors.add(`${path}.${f}`, `unknown field "${f}" in a ${direction} rule`);
  }
  const peers = compilePeers(raw, direction, path, ctx);
  const ports = compilePorts(raw, deny, path, ctx);
  if (ctx.errors.list.length > before) return undefined;
  // An empty rule (no L3 field and no toPorts) selects no peer: it only sets default deny.
  const empty = peers === 'all' && listAt(raw, 'toPorts', path, ctx).length === 0;
  let numericConns = ports === 'all' ? Conns.ALL : Conns.NONE;
  const namedPorts: Array<{ name: string; protocol: Protocol }> = [];
  if (ports !== 'all') {
    for (const p of ports) {
      if (typeof p.port === 'string') namedPorts.push({ name: p.port, protocol: p.protocol });
      else if (p.port === undefined) numericConns = numericConns.union(Conns.of(p.protocol, portRange(MIN_PORT, MAX_PORT)));
      else numericConns = numericConns.union(Conns.of(p.protocol, portRange(p.port, p.endPort ?? p.port)));
    }
  }
  const finalPeers: CiliumRule['peers'] = empty ? { endpoints: [], allPods: false, ips: IpSet.EMPTY } : peers;
  return { direction, index, path, deny, peers: finalPeers, ports, numericConns, namedPorts };
}

function compileSpec(spec: unknown, path: string, ctx: Ctx): CiliumPolicy['specs'][number] | undefined {
  if (!isRecord(spec)) {
    ctx.errors.add(path, 'must be an object with endpointSelector');
    return undefined;
  }
  if (spec.nodeSelector !== undefined) {
    ctx.errors.add(`${path}.nodeSelector`, 'nodeSelector is only valid in a CiliumClusterwideNetworkPolicy');
    return undefined;
  }
  if (spec.endpointSelector === undefined || spec.endpointSelector === null) {
    ctx.errors.add(`${path}.endpointSelector`, 'endpointSelector is required ({} selects every pod of the namespace)');
    return undefined;
  }
  const selector = ciliumSelector(spec.endpointSelector, `${path}.endpointSelector`, ctx, true);
  const rules = (field: string, direction: Direction, deny: boolean): CiliumRule[] => {
    const list = listAt(spec, field, path, ctx);
    if (list.length > MAX_RULES) {
      ctx.errors.add(`${path}.${field}`, `more than ${MAX_RULES} rules`);
      return [];
    }
    return list.map((r, i) => compileRule(r, direction, deny, i, `${path}.${field}[${i}]`, ctx)).filter((r): r is CiliumRule => !!r);
  };
  const ingress = [...rules('ingress', 'ingress', false), ...rules('ingressDeny', 'ingress', true)];
  const egress = [...rules('egress', 'egress', false), ...rules('egressDeny', 'egress', true)];
  const has = (f: string): boolean => Array.isArray(spec[f]);
  if (!has('ingress') && !has('ingressDeny') && !has('egress') && !has('egressDeny')) ctx.errors.add(path, 'must have at least one of ingress, ingressDeny, egress, egressDeny');
  const dd = spec.enableDefaultDeny;
  let ddIngress: boolean | undefined;
  let ddEgress: boolean | undefined;
  if (dd !== undefined && dd !== null) {
    if (!isRecord(dd)) ctx.errors.add(`${path}.enableDefaultDeny`, 'must be an object with ingress and/or egress booleans');
    else {
      for (const k of ['ingress', 'egress'] as const) {
        const v = dd[k];
        if (v !== undefined && v !== null && typeof v !== 'boolean') ctx.errors.add(`${path}.enableDefaultDeny.${k}`, 'must be true or false');
      }
      ddIngress = typeof dd.ingress === 'boolean' ? dd.ingress : undefined;
      ddEgress = typeof dd.egress === 'boolean' ? dd.egress : undefined;
    }
  }
  if (!selector || selector === 'reserved') return undefined;
  // Cilium's default: default deny in each direction that has rules (allow or deny).
  return {
    endpointSelector: selector,
    defaultDenyIngress: ddIngress ?? (has('ingress') || has('ingressDeny')),
    defaultDenyEgress: ddEgress ?? (has('egress') || has('egressDeny')),
    ingress,
    egress,
  };
}

/** `raw` is a CiliumNetworkPolicy object of `namespace`. */
export function compileCiliumPolicy(raw: Record<string, unknown>, namespace: string, name: string, source: string): CiliumCompileResult {
  const ctx = new Ctx(namespace);
  const hasSpec = raw.spec !== undefined && raw.spec !== null;
  const hasSpecs = raw.specs !== undefined && raw.specs !== null;
  const specs: CiliumPolicy['specs'][number][] = [];
  if (!hasSpec && !hasSpecs) ctx.errors.add('spec', 'spec (or specs) is required');
  if (hasSpec) {
    const s = compileSpec(raw.spec, 'spec', ctx);
    if (s) specs.push(s);
  }
  if (hasSpecs) {
    if (!Array.isArray(raw.specs) || raw.specs.length > MAX_SPECS) ctx.errors.add('specs', `must be a list of at most ${MAX_SPECS} rule sets`);
    else
      raw.specs.forEach((x, i) => {
        const s = compileSpec(x, `specs[${i}]`, ctx);
        if (s) specs.push(s);
      });
  }
  if (ctx.errors.list.length > 0) return { errors: ctx.errors.list, warnings: ctx.warnings };
  return { errors: [], warnings: ctx.warnings, policy: { namespace, name, specs, source, raw } };
}
