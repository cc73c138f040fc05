// The canonical form of a policy object, so that a live object (read from the API, with server
// defaults and bookkeeping) and the desired one (rendered from Git) compare equal when they mean
// the same. Pure: no I/O, no clock, no logger.
//
// What it does: keeps kind, metadata.name/namespace, labels and annotations (minus the marks
// tools add, METADATA_NOISE) and the rest of the body (spec, specs); drops status and every
// server-owned metadata field; fills in the server defaults (NetworkPolicy podSelector and
// policyTypes, port protocols); drops nulls, empty lists and empty label maps; sorts the lists
// that are sets (see ./shapes.ts) and keeps ordered ones as they are; and strips the bot's own
// containment patch (the quarantine exclusion and the Flux suspension that goes with it).
import { hasExclusion, withoutExclusion } from '../containment/exclusion.js';
import { FLUX_RECONCILE_ANNOTATION, FLUX_RECONCILE_DISABLED } from '../containment/gitops.js';
import { ANY, shapeOf, type Shape } from './shapes.js';

type Obj = Record<string, unknown>;

export interface NoiseMark {
  where: 'label' | 'annotation';
  key: string;
  /** `key` is a prefix. */
  prefix?: true;
  /** Only this value is noise (other values are someone's intent). */
  value?: string;
  why: string;
}

/**
 * Labels and annotations that tools put on objects on their way from Git to the cluster (or that
 * renderers add to both sides): never the author's intent, so never drift. User-facing settings
 * of the same tools (argocd.argoproj.io/sync-options, kustomize.toolkit.fluxcd.io/prune, ...) are
 * intent and stay.
 */
export const METADATA_NOISE: readonly NoiseMark[] = [
  { where: 'annotation', key: 'kubectl.kubernetes.io/last-applied-configuration', why: 'kubectl apply keeps its last applied manifest here' },
  { where: 'annotation', key: 'kubernetes.io/change-cause', why: 'kubectl --record writes the command line here' },
  { where: 'annotation', key: 'argocd.argoproj.io/tracking-id', why: 'Argo CD annotation tracking: which Application owns the object' },
  { where: 'annotation', key: 'argocd.argoproj.io/installation-id', why: 'Argo CD marks objects with its installation when one is configured' },
  { where: 'label', key: 'app.kubernetes.io/instance', why: 'Argo CD label tracking (its default before v3) writes the Application name here' },
  { where: 'label', key: 'argocd.argoproj.io/instance', why: 'the tracking label Argo CD installs commonly configure instead' },
  { where: 'annotation', key: 'config.kubernetes.io/origin', why: 'kustomize buildMetadata: originAnnotations (the source file of the object)' },
  { where: 'annotation', key: 'alpha.config.kubernetes.io/transformations', why: 'kustomize buildMetadata: transformerAnnotations' },
  { where: 'annotation', key: 'internal.config.kubernetes.io/', prefix: true, why: 'kustomize internal bookkeeping some versions leak' },
  { where: 'annotation', key: 'config.k8s.io/id', why: 'kustomize internal bookkeeping some versions leak' },
  { where: 'annotation', key: 'meta.helm.sh/', prefix: true, why: 'helm install/upgrade records the release name and namespace (helm template does not)' },
  { where: 'label', key: 'app.kubernetes.io/managed-by', value: 'Helm', why: 'helm install/upgrade adds it for release ownership (helm template does not)' },
  { where: 'label', key: 'kustomize.toolkit.fluxcd.io/name', why: 'Flux tracks the Kustomization that applied the object' },
  { where: 'label', key: 'kustomize.toolkit.fluxcd.io/namespace', why: 'Flux tracks the Kustomization that applied the object' },
  { where: 'label', key: 'helm.toolkit.fluxcd.io/name', why: 'Flux tracks the HelmRelease that applied the object' },
  { where: 'label', key: 'helm.toolkit.fluxcd.io/namespace', why: 'Flux tracks the HelmRelease that applied the object' },
  { where: 'annotation', key: 'deployment.kubernetes.io/revision', why: 'controller revision bookkeeping, bumped by the server on every change' },
];

export function isNoise(where: NoiseMark['where'], key: string, value: unknown): boolean {
  return METADATA_NOISE.some((m) => m.where === where && (m.prefix ? key.startsWith(m.key) : key === m.key) && (m.value === undefined || m.value === value));
}

/** Cluster-scoped policy kinds: a namespace on them (kustomize may add one) means nothing. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set(['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumClusterwideNetworkPolicy']);

/** Bounds on one object, far above any real policy; past them the object is skipped, not compared. */
export const MAX_DEPTH = 64;
export const MAX_VALUES = 200_000;

/** The bot's containment found on the object (and stripped from its canonical form). */
export interface ContainmentMarks {
  /** spec.podSelector carried the `netpol-responder.io/quarantine DoesNotExist` requirement. */
  exclusion: boolean;
  /** It also carried `kustomize.toolkit.fluxcd.io/reconcile: disabled`, which the bot sets with the exclusion. */
  fluxSuspended: boolean;
}

export type NormalizeResult =
  | {
      ok: true;
      object: Obj;
      /** Canonical text of `object`: equal texts mean equal objects. */
      text: string;
      containment: ContainmentMarks;
      /** The lists of `object` that are sets. */
      sets: WeakSet<unknown[]>;
    }
  | { ok: false; reason: string };

export class NormalizeError extends Error {
  constructor(readonly reason: string) {
    super(`cannot normalise: ${reason}`);
    this.name = 'NormalizeError';
  }
}

function isRecord(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Thrown by prune() at a value it refuses; the path is filled in on the way out. */
class Refusal {
  readonly path: Array<string | number> = [];
  constructor(readonly what: string) {}

  at(root: string): string {
    const text = this.path.reduce<string>((p, seg) => (typeof seg === 'number' ? `${p}[${seg}]` : p === '' ? seg : `${p}.${seg}`), root);
    return `${this.what} at ${text || 'the top level'}`;
  }
}

/**
 * A copy without nulls and empty lists: the apiserver omits them, and for every policy kind an
 * empty list means the same as none. Empty maps stay (an empty namespaceSelector selects every
 * namespace: not the same as none) until finish() drops those its shape says mean nothing.
 * Refuses what no JSON or YAML holds, `__proto__` keys, and more than the bounds allow.
 */
function prune(value: unknown, depth: number, budget: { values: number }): unknown {
  if (--budget.values < 0) throw new Refusal(`more than ${MAX_VALUES} values`);
  if (depth > MAX_DEPTH) throw new Refusal(`nesting deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Refusal('a non-finite number');
    return value;
  }
  // Functions, symbols and bigints come from no JSON or YAML; class instances (API client models) are read as maps.
  if (typeof value !== 'object') throw new Refusal(`a ${typeof value}`);
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      try {
        out[i] = prune(value[i], depth + 1, budget) ?? null;
      } catch (error) {
        if (error instanceof Refusal) error.path.unshift(i);
        throw error;
      }
    }
    return out;
  }
  const out: Obj = {};
  for (const key of Object.keys(value)) {
    // Assigning it would replace the copy's prototype; no Kubernetes field or label is named so.
    if (key === '__proto__') throw new Refusal('the key "__proto__"');
    try {
      const v = prune((value as Obj)[key], depth + 1, budget);
      if (v !== undefined) out[key] = v;
    } catch (error) {
      if (error instanceof Refusal) error.path.unshift(key);
      throw error;
    }
  }
  return out;
}

function isEmptySelector(selector: unknown): boolean {
  if (!isRecord(selector)) return false;
  return Object.entries(selector).every(
    ([k, v]) => v === null || v === undefined || ((k === 'matchLabels' && isRecord(v) && Object.keys(v).length === 0) || (k === 'matchExpressions' && Array.isArray(v) && v.length === 0)),
  );
}

function defaultProtocols(ports: unknown, protocol: string, field?: string): void {
  if (!Array.isArray(ports)) return;
  for (const port of ports) {
    const target = field === undefined ? port : isRecord(port) ? port[field] : undefined;
    if (isRecord(target) && (target.protocol === undefined || target.protocol === null || target.protocol === '')) target.protocol = protocol;
  }
}

/** The apiserver's defaults for a NetworkPolicy, and peers written two ways that mean the same. */
function networkPolicyDefaults(spec: Obj): void {
  if (spec.podSelector === undefined || spec.podSelector === null) spec.podSelector = {};
  for (const [dir, peersField] of [['ingress', 'from'], ['egress', 'to']] as const) {
    const rules = spec[dir];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      if (!isRecord(rule)) continue;
      defaultProtocols(rule.ports, 'TCP');
      const peers = rule[peersField];
      if (!Array.isArray(peers)) continue;
      // With a namespaceSelector, an empty podSelector selects every pod there: as if absent.
      for (const peer of peers) if (isRecord(peer) && isRecord(peer.namespaceSelector) && isEmptySelector(peer.podSelector)) delete peer.podSelector;
    }
  }
  // The apiserver's rule: Ingress always, Egress when there are egress rules.
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

function adminPolicyDefaults(spec: Obj): void {
  for (const dir of ['ingress', 'egress']) {
    const rules = spec[dir];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      if (!isRecord(rule)) continue;
      // The CRD defaults portNumber and portRange protocols to TCP.
      defaultProtocols(rule.ports, 'TCP', 'portNumber');
      defaultProtocols(rule.ports, 'TCP', 'portRange');
    }
  }
}

function ciliumRuleDefaults(rule: unknown): void {
  if (!isRecord(rule)) return;
  for (const dir of ['ingress', 'ingressDeny', 'egress', 'egressDeny']) {
    const list = rule[dir];
    if (!Array.isArray(list)) continue;
    for (const r of list) {
      if (!isRecord(r) || !Array.isArray(r.toPorts)) continue;
      // Cilium reads a missing protocol as ANY.
      for (const portRule of r.toPorts) if (isRecord(portRule)) defaultProtocols(portRule.ports, 'ANY');
    }
  }
}

/** Strips the bot's exclusion (and its Flux suspension) from a NetworkPolicy copy. */
function stripContainment(kind: string, body: Obj, annotations: Obj): ContainmentMarks {
  const marks: ContainmentMarks = { exclusion: false, fluxSuspended: false };
  if (kind !== 'NetworkPolicy' || !isRecord(body.spec) || !hasExclusion(body.spec.podSelector)) return marks;
  body.spec.podSelector = withoutExclusion(body.spec.podSelector);
  marks.exclusion = true;
  // The bot suspends Flux only in the patch that adds the exclusion: without it, it is someone else's.
  if (annotations[FLUX_RECONCILE_ANNOTATION] === FLUX_RECONCILE_DISABLED) {
    delete annotations[FLUX_RECONCILE_ANNOTATION];
    marks.fluxSuspended = true;
  }
  return marks;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * In place, inside out: drops empty maps that mean nothing, registers the set-like lists and
 * (sortSets) sorts them, without duplicates. Returns the canonical text (keys sorted, sets in
 * sorted order whatever sortSets), or undefined for a value that means nothing; every value's
 * text is built once.
 */
function finish(value: unknown, shape: Shape, sets: WeakSet<unknown[]>, sortSets: boolean): string | undefined {
  if (Array.isArray(value)) {
    const element = shape.set ?? shape.list ?? ANY;
    const texts = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) {
      const text = finish(value[i], element, sets, sortSets);
      if (text === undefined) value[i] = null;
      texts[i] = text ?? 'null';
    }
    if (!shape.set) return `[${texts.join(',')}]`;
    sets.add(value);
    if (value.length === 1) return `[${texts[0] as string}]`;
    const order = texts.map((_, i) => i).sort((a, b) => compareStrings(texts[a] as string, texts[b] as string));
    const unique = order.filter((i, k) => k === 0 || texts[i] !== texts[order[k - 1] as number]);
    if (sortSets) {
      const values = unique.map((i) => value[i]);
      value.length = 0;
      for (const v of values) value.push(v);
    }
    return `[${unique.map((i) => texts[i]).join(',')}]`;
  }
  if (!isRecord(value)) return JSON.stringify(value) ?? 'null';
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const text = finish(value[key], shape.fields?.[key] ?? ANY, sets, sortSets);
    if (text === undefined) delete value[key];
    else parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return shape.emptyMeansAbsent && parts.length === 0 ? undefined : `{${parts.join(',')}}`;
}

function withoutNoise(where: NoiseMark['where'], raw: unknown): Obj {
  const out: Obj = {};
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw)) if (!isNoise(where, k, v)) out[k] = v;
  return out;
}

/**
 * The canonical form, or why the object cannot be compared. `sortSets: false` keeps set-like
 * lists in their written order (for a diff whose list positions point into the real object);
 * comparisons use the default, sorted form.
 */
export function normalizeDetailed(raw: unknown, options: { sortSets?: boolean; namespace?: string } = {}): NormalizeResult {
  if (!isRecord(raw)) return { ok: false, reason: 'not an object' };
  const kind = raw.kind;
  if (typeof kind !== 'string' || kind === '') return { ok: false, reason: 'no kind' };
  const meta = raw.metadata;
  if (!isRecord(meta)) return { ok: false, reason: 'no metadata' };
  const name = meta.name;
  if (typeof name !== 'string' || name === '') return { ok: false, reason: 'no metadata.name' };
  // The kind names the resource (the version is only how it was read); status and the rest of
  // the metadata are the server's. Only what is kept is checked and copied.
  const { apiVersion: _version, status: _status, metadata: _metadata, ...rest } = raw;
  if (rest.spec !== undefined && rest.spec !== null && !isRecord(rest.spec)) return { ok: false, reason: `spec is ${Array.isArray(rest.spec) ? 'a list' : `a ${typeof rest.spec}`}, not an object` };
  const budget = { values: MAX_VALUES };
  let body: Obj;
  let labels: Obj;
  let annotations: Obj;
  let root = '';
  try {
    body = prune(rest, 0, budget) as Obj;
    root = 'metadata.labels';
    labels = withoutNoise('label', prune(meta.labels, 1, budget));
    root = 'metadata.annotations';
    annotations = withoutNoise('annotation', prune(meta.annotations, 1, budget));
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: `it holds ${error.at(root)}` };
    throw error;
  }
  const containment = stripContainment(kind, body, annotations);
  if (kind === 'NetworkPolicy') networkPolicyDefaults(isRecord(body.spec) ? body.spec : (body.spec = {}));
  else if ((kind === 'AdminNetworkPolicy' || kind === 'BaselineAdminNetworkPolicy') && isRecord(body.spec)) adminPolicyDefaults(body.spec);
  else if (kind === 'CiliumNetworkPolicy' || kind === 'CiliumClusterwideNetworkPolicy') {
    ciliumRuleDefaults(body.spec);
    if (Array.isArray(body.specs)) body.specs.forEach(ciliumRuleDefaults);
  }

  const given = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : options.namespace;
  // A namespaced object applied without a namespace lands in "default", as kubectl does.
  const namespace = CLUSTER_SCOPED_KINDS.has(kind) ? undefined : given || 'default';
  const metadata: Obj = { name, ...(namespace ? { namespace } : {}), labels, annotations };
  const sets = new WeakSet<unknown[]>();
  const object: Obj = { ...body, kind, metadata };
  const text = finish(object, shapeOf(kind), sets, options.sortSets ?? true) as string;
  return { ok: true, object, text, containment, sets };
}

/** The canonical form of a policy object for comparison; throws NormalizeError when it has none. */
export function normalizePolicy(obj: Record<string, unknown>): Record<string, unknown> {
  const result = normalizeDetailed(obj);
  if (!result.ok) throw new NormalizeError(result.reason);
  return result.object;
}

/**
 * Text of a value with map keys sorted and the given set-like lists order-insensitive: equal for
 * values that mean the same.
 */
export function canonicalText(value: unknown, sets?: WeakSet<unknown[]>): string {
  if (Array.isArray(value)) {
    const parts = value.map((v) => canonicalText(v, sets));
    if (sets?.has(value)) parts.sort(compareStrings);
    return `[${parts.join(',')}]`;
  }
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalText(value[k], sets)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
