// Isolation by the kinds other than NetworkPolicy, for the audit's default-deny and "pods selected
// by no policy" checks: AdminNetworkPolicy / BaselineAdminNetworkPolicy deny-all rules,
// CiliumNetworkPolicies (from the index) and CiliumClusterwideNetworkPolicies (which the engine
// does not model: read here from the raw objects, their endpoint selectors and default deny only).
// Pure.
import type { ClassSet } from '../policy/class-set.js';
import { CILIUM_NS_LABEL, CILIUM_NS_LABELS_PREFIX } from '../policy/compile-cilium.js';
import { ciliumLabels } from '../policy/extended-index.js';
import { IpSet } from '../policy/ip-set.js';
import type { PolicyIndex } from '../policy/index.js';
import { adminPolicyId, type AdminPolicy, type AdminRule, type Direction, type Issue } from '../policy/model.js';
import { isSelectAll, matches, parseSelector, type Labels, type Selector } from '../policy/selectors.js';

/** The modelled part of a CiliumClusterwideNetworkPolicy: per endpoint rule set, the default deny. */
export interface ClusterwideCilium {
  name: string;
  specs: ReadonlyArray<{ endpointSelector: Selector; denyIngress: boolean; denyEgress: boolean }>;
  source: string;
}

const WORLD_V4 = IpSet.range(4, 0n, (1n << 32n) - 1n);
const WORLD_V6 = IpSet.range(6, 0n, (1n << 128n) - 1n);
const MAX_SPECS = 100;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Cilium source prefixes (`k8s:`, `any:`) stripped; undefined for a `reserved:` selector (an entity, no pod). */
function endpointSelector(raw: unknown): Selector | string | undefined {
  let reserved = false;
  const strip = (key: string): string => {
    const m = /^(k8s|any|reserved|unspec|container|cni):(.*)$/.exec(key);
    if (m?.[1] === 'reserved') reserved = true;
    return m ? (m[2] as string) : key;
  };
  let input = raw;
  if (isRecord(raw)) {
    const copy: Record<string, unknown> = { ...raw };
    if (isRecord(raw.matchLabels)) copy.matchLabels = Object.fromEntries(Object.entries(raw.matchLabels).map(([k, v]) => [strip(k), v]));
    if (Array.isArray(raw.matchExpressions)) copy.matchExpressions = raw.matchExpressions.map((e) => (isRecord(e) && typeof e.key === 'string' ? { ...e, key: strip(e.key) } : e));
    input = copy;
  }
  const parsed = parseSelector(input);
  return reserved ? undefined : parsed;
}

/**
 * CiliumClusterwideNetworkPolicy objects (file documents or live items) to their endpoint rule
 * sets. Specs with a nodeSelector are host policies (no pod) and are left out.
 */
export function loadClusterwideCilium(objects: readonly unknown[], sourceOf: (i: number) => string = (i) => `live:CiliumClusterwideNetworkPolicy[${i}]`): { policies: ClusterwideCilium[]; issues: Issue[] } {
  const policies: ClusterwideCilium[] = [];
  const issues: Issue[] = [];
  objects.forEach((obj, i) => {
    const source = sourceOf(i);
    const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
    const name = typeof meta?.name === 'string' && meta.name !== '' ? meta.name.slice(0, 253) : undefined;
    if (!isRecord(obj) || !name) {
      issues.push({ severity: 'error', source, message: 'CiliumClusterwideNetworkPolicy without metadata.name' });
      return;
    }
    const rawSpecs = [...(obj.spec !== undefined && obj.spec !== null ? [obj.spec] : []), ...(Array.isArray(obj.specs) ? obj.specs.slice(0, MAX_SPECS) : [])];
    const specs: Array<ClusterwideCilium['specs'][number]> = [];
    for (const spec of rawSpecs) {
      if (!isRecord(spec) || spec.nodeSelector !== undefined) continue;
      const selector = endpointSelector(spec.endpointSelector);
      if (typeof selector === 'string') {
        issues.push({ severity: 'error', source, object: `CiliumClusterwideNetworkPolicy ${name}`, message: `endpointSelector: ${selector}` });
        continue;
      }
      if (!selector) continue;
      const dd = isRecord(spec.enableDefaultDeny) ? spec.enableDefaultDeny : {};
      const has = (f: string): boolean => Array.isArray(spec[f]);
      // Cilium's default: default deny in each direction that has rules (allow or deny).
      const denyIngress = typeof dd.ingress === 'boolean' ? dd.ingress : has('ingress') || has('ingressDeny');
      const denyEgress = typeof dd.egress === 'boolean' ? dd.egress : has('egress') || has('egressDeny');
      specs.push({ endpointSelector: selector, denyIngress, denyEgress });
    }
    policies.push({ name, specs, source });
  });
  return { policies, issues };
}

/**
 * An ANP/BANP rule that denies every peer on every port. Ingress peers can only be pods, so
 * every pod is "all" there; egress must also cover every outside address, both families.
 */
export function deniesEverything(rule: AdminRule): boolean {
  if (rule.action !== 'Deny' || !(rule.ports === 'all' || rule.numericConns.isAll())) return false;
  let pods = false;
  let ips = IpSet.EMPTY;
  for (const p of rule.peers) {
    if (p.kind === 'namespaces' && isSelectAll(p.namespaceSelector)) pods = true;
    if (p.kind === 'pods' && isSelectAll(p.namespaceSelector) && isSelectAll(p.podSelector)) pods = true;
    if (p.kind === 'networks') {
      ips = ips.union(p.set);
      if (p.cidrs.some((c) => c.endsWith('/0'))) pods = true; // the engine's model: a /0 holds every pod address
    }
  }
  if (!pods) return false;
  return rule.direction === 'ingress' || (WORLD_V4.subtract(ips).isEmpty() && WORLD_V6.subtract(ips).isEmpty());
}

/** Does the selector hold for every pod of `namespace`, whatever its labels (only namespace keys, and they match)? */
function wholeNamespace(selector: Selector, namespace: string, nsLabels: Labels | undefined): boolean {
  const onNamespace = selector.requirements.every((r) => r.key === CILIUM_NS_LABEL || r.key.startsWith(CILIUM_NS_LABELS_PREFIX));
  return onNamespace && matches(selector, ciliumLabels(namespace, {}, nsLabels));
}

export interface ExtendedIsolation {
  /** The non-NetworkPolicy object that isolates every pod (present or future) of the namespace in `d`, if any. */
  namespaceDeny(namespace: string, d: Direction): string | undefined;
  /** True when something other than a NetworkPolicy isolates the class in `d`. */
  classIsolated(classId: number, d: Direction): boolean;
}

function classIds(set: ClassSet, n: number): Iterable<number> {
  return set === 'all' ? Array.from({ length: n }, (_, i) => i) : set;
}

export function extendedIsolation(index: PolicyIndex, clusterwide: readonly ClusterwideCilium[] = []): ExtendedIsolation {
  const n = index.classes.length;
  const isolated = { ingress: new Uint8Array(n), egress: new Uint8Array(n) };
  // Namespace-wide deniers: selector over namespaces (ANP/BANP subject) or Cilium endpoint selectors.
  const adminDeniers: Array<{ id: string; d: Direction; namespaceSelector: Selector }> = [];
  const ciliumDeniers: Array<{ id: string; d: Direction; selector: Selector; namespace?: string }> = [];

  for (const p of (index.extended?.adminPolicies ?? []) as AdminPolicy[]) {
    for (const d of ['ingress', 'egress'] as const) {
      if (!p[d].some(deniesEverything)) continue;
      if (isSelectAll(p.subject.podSelector)) adminDeniers.push({ id: adminPolicyId(p).replace(/^ANP /, 'AdminNetworkPolicy ').replace(/^BANP /, 'BaselineAdminNetworkPolicy '), d, namespaceSelector: p.subject.namespaceSelector });
      const subject = index.selectClasses(index.selectNamespaces(p.subject.namespaceSelector), p.subject.podSelector, `nssel=${p.subject.namespaceSelector.key}`);
      // Host-network pods are no ANP/BANP subjects.
      for (const c of classIds(subject, n)) if (!index.classes[c]?.hostNetwork) isolated[d][c] = 1;
    }
  }
  for (const p of index.extended?.ciliumPolicies ?? []) {
    for (const spec of p.specs) {
      if (spec.defaultDenyIngress) ciliumDeniers.push({ id: `CiliumNetworkPolicy ${p.namespace}/${p.name}`, d: 'ingress', selector: spec.endpointSelector, namespace: p.namespace });
      if (spec.defaultDenyEgress) ciliumDeniers.push({ id: `CiliumNetworkPolicy ${p.namespace}/${p.name}`, d: 'egress', selector: spec.endpointSelector, namespace: p.namespace });
    }
  }
  for (let c = 0; c < n; c++) {
    for (const d of ['ingress', 'egress'] as const) if ((index.extended?.[d][c]?.cnpIsolating.length ?? 0) > 0) isolated[d][c] = 1;
  }
  for (const p of clusterwide) {
    for (const spec of p.specs) {
      const dirs = (['ingress', 'egress'] as const).filter((d) => (d === 'ingress' ? spec.denyIngress : spec.denyEgress));
      if (dirs.length === 0) continue;
      for (const d of dirs) ciliumDeniers.push({ id: `CiliumClusterwideNetworkPolicy ${p.name}`, d, selector: spec.endpointSelector });
      for (const cls of index.classes) {
        if (cls.hostNetwork || !matches(spec.endpointSelector, ciliumLabels(cls.namespace, cls.labels, index.namespaceLabels(cls.namespace)))) continue;
        for (const d of dirs) isolated[d][cls.id] = 1;
      }
    }
  }
  return {
    namespaceDeny(namespace, d) {
      const nsLabels = index.namespaceLabels(namespace);
      for (const a of adminDeniers) if (a.d === d && nsLabels && matches(a.namespaceSelector, nsLabels)) return a.id;
      for (const c of ciliumDeniers) {
        if (c.d !== d || (c.namespace !== undefined && c.namespace !== namespace)) continue;
        if (wholeNamespace(c.selector, namespace, nsLabels)) return c.id;
      }
      return undefined;
    },
    classIsolated: (classId, d) => isolated[d][classId] === 1,
  };
}
