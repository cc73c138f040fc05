// Two states of an object compared as the apiserver would see them (pure): status, server-set
// metadata and the marks GitOps tools add are ignored, and a NetworkPolicy's defaults (protocol
// TCP, podSelector {}, policyTypes) are filled in, so the manifest in Git and the live object it
// produced compare equal.

type Obj = Record<string, unknown>;

/** Labels and annotations tools add on the way from Git to the cluster: ignored unless Git sets them too. */
const NOISE_KEYS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'config.kubernetes.io/origin',
  'alpha.config.kubernetes.io/transformations',
  'argocd.argoproj.io/tracking-id',
  'argocd.argoproj.io/instance',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
  'kubernetes.io/metadata.name',
];
const NOISE_PREFIXES = ['kustomize.toolkit.fluxcd.io/', 'helm.toolkit.fluxcd.io/', 'meta.helm.sh/', 'helm.sh/'];

export function isNoiseKey(key: string): boolean {
  return NOISE_KEYS.includes(key) || NOISE_PREFIXES.some((p) => key.startsWith(p));
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops nulls and empty lists (the apiserver omits them: `from: []` reads back as no `from`). */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = prune(v);
  }
  return out;
}

function defaultPorts(rules: unknown): void {
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    if (!isObj(rule) || !Array.isArray(rule.ports)) continue;
    for (const port of rule.ports) if (isObj(port) && port.protocol === undefined) port.protocol = 'TCP';
  }
}

function networkPolicySpec(spec: Obj): Obj {
  const out = { ...spec };
  if (out.podSelector === undefined) out.podSelector = {};
  defaultPorts(out.ingress);
  defaultPorts(out.egress);
  if (!Array.isArray(out.policyTypes) || out.policyTypes.length === 0) {
    out.policyTypes = Array.isArray(out.egress) && out.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  out.policyTypes = [...(out.policyTypes as unknown[])].map(String).sort();
  return out;
}

function marks(git: unknown, live: unknown): [Obj, Obj] {
  const a = isObj(git) ? git : {};
  const b = isObj(live) ? live : {};
  const left: Obj = {};
  const right: Obj = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (isNoiseKey(k) && !(k in a)) continue;
    if (k in a) left[k] = a[k];
    if (k in b) right[k] = b[k];
  }
  return [left, right];
}

/** The part of an object that a comparison looks at, with the labels and annotations that count. */
function comparable(obj: Obj, labels: Obj, annotations: Obj): Obj {
  const body: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion') continue;
    body[k] = v;
  }
  if (obj.kind === 'NetworkPolicy' && (isObj(body.spec) || body.spec === undefined)) body.spec = networkPolicySpec(isObj(body.spec) ? structuredClone(body.spec) : {});
  // A Namespace's spec (finalizers) is the server's; only its labels and annotations matter.
  if (obj.kind === 'Namespace') delete body.spec;
  // apiVersion: the group matters, the version is how it was read.
  const group = typeof obj.apiVersion === 'string' && obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return prune({ group, ...body, labels, annotations }) as Obj;
}

/** Stable text of a value: object keys sorted. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObj(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Whether the live object is the state Git declares. `null`/`undefined` on either side is
 * "no such object" (deleted, or not in the file at that commit).
 */
export function sameState(git: Obj | null | undefined, live: Obj | null | undefined): boolean {
  if (!git || !live) return !git && !live;
  const gm = isObj(git.metadata) ? git.metadata : {};
  const lm = isObj(live.metadata) ? live.metadata : {};
  const [gitLabels, liveLabels] = marks(gm.labels, lm.labels);
  const [gitAnnotations, liveAnnotations] = marks(gm.annotations, lm.annotations);
  return canonical(comparable(git, gitLabels, gitAnnotations)) === canonical(comparable(live, liveLabels, liveAnnotations));
}
