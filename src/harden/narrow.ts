// Narrowed copies of the policies a hardening pull request replaces, for the workloads it leaves
// out (too little history). The baseline's default-deny and DNS policies exclude those workloads
// (`key NotIn values`, a label of their own); a replaced policy that selected their pods would
// otherwise leave them under nothing at all after the merge, less restricted than before. So each
// replaced policy that selected a left-out pod is kept as a copy with the same spec (policyTypes,
// ingress, egress) and podSelector = the old selector AND `key In values`, one copy per exemption
// key (the pods it selected that the baseline leaves out).
//
// Invariant: for every pod the baseline leaves out, the set of NetworkPolicies that select it (and
// so its ingress and egress isolation and the rules that allow its traffic) is the same after the
// merge as before. The old policy selected the pod; its copy selects the pod exactly when the old
// selector does and the pod carries the excluded label, which is what being left out means; the
// baseline's default-deny and DNS do not select it. A pod carrying the labels of two exemption keys
// is selected by two identical copies: the union of identical rules is the same rules. (A generated
// allow policy whose selector also picks a left-out workload, reported by generate.ts as "also
// selects", is outside this guarantee.) A left-out workload with no label of its own is not
// excluded from default-deny at all (the "cut off" case): no copy can be made, the notes say so.
// Pure.
import { createHash } from 'node:crypto';
import type { Pod } from '../policy/index.js';
import { matches, parseSelector } from '../policy/selectors.js';
import { DEFAULT_DENY_POLICY, MANAGED_BY, type Exemption, type PolicyObject } from './layout.js';
import { workloadNameOf } from './selectors.js';

export const NARROWED_FROM = 'netpol-responder.io/narrowed-from';
export const NARROWED_REASON = 'netpol-responder.io/reason';
export const NARROWED_SUFFIX = '-not-hardened';
/** The file the copies go to, next to the namespace's baseline. */
export const NARROWED_FILE = 'not-hardened.yaml';
const MAX_NAME = 253;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface NarrowedPolicy {
  /** `ns/name` of the copy. */
  key: string;
  /** `ns/name` of the policy it was narrowed from. */
  from: string;
  /** The left-out workloads (`ns/workload`) whose live pods it selects. */
  workloads: string[];
  object: PolicyObject;
}

export interface NarrowInput {
  namespace: string;
  /** The namespace's policies the change removes (replaced by the baseline). */
  replaced: readonly PolicyObject[];
  /** The baseline's exclusions (the NotIn requirements of its default-deny). */
  exempt: readonly Exemption[];
  /** Live pods (any namespace; only the namespace's are looked at). */
  pods: readonly Pod[];
  /** Names already used in the namespace (declared, live, generated): a copy never takes one. */
  taken: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The exclusions of a generated baseline, read back from its default-deny policy (`key NotIn values`). */
export function exemptionsOf(policies: readonly unknown[], namespace: string): Exemption[] {
  for (const p of policies) {
    if (!isObj(p) || p.kind !== 'NetworkPolicy') continue;
    const meta = isObj(p.metadata) ? p.metadata : {};
    if (meta.name !== DEFAULT_DENY_POLICY || meta.namespace !== namespace) continue;
    const selector = isObj(p.spec) && isObj(p.spec.podSelector) ? p.spec.podSelector : {};
    const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
    return expressions
      .filter((e): e is Obj => isObj(e) && e.operator === 'NotIn' && typeof e.key === 'string' && Array.isArray(e.values))
      .map((e) => ({ key: e.key as string, values: (e.values as unknown[]).map(String) }));
  }
  return [];
}

/** `<base>-not-hardened[-n]`, a valid DNS-1123 subdomain of at most 253 characters, not among `taken`. */
export function narrowedName(base: string, taken: ReadonlySet<string>): string {
  let stem = base.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'policy';
  const room = MAX_NAME - NARROWED_SUFFIX.length - 4; // "-99"-style counters fit
  if (stem.length > room) stem = `${stem.slice(0, room - 9).replace(/[^a-z0-9]+$/, '')}-${createHash('sha256').update(base).digest('hex').slice(0, 8)}`;
  for (let n = 1; ; n++) {
    const name = `${stem}${NARROWED_SUFFIX}${n === 1 ? '' : `-${n}`}`;
    if (!taken.has(name) && DNS_SUBDOMAIN.test(name)) return name;
  }
}

function metaOf(p: PolicyObject): { name: string; namespace: string } {
  const m = isObj(p.metadata) ? p.metadata : {};
  return { name: String(m.name ?? ''), namespace: String(m.namespace ?? '') };
}

/** The copies, one per replaced policy and exemption key whose left-out pods it selected. */
export function narrowReplaced(input: NarrowInput): NarrowedPolicy[] {
  const { namespace } = input;
  if (input.exempt.length === 0) return [];
  const pods = input.pods.filter((p) => !p.fromTemplate && p.namespace === namespace);
  const taken = new Set(input.taken);
  const exempt = [...input.exempt].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const replaced = [...input.replaced].filter((p) => metaOf(p).namespace === namespace).sort((a, b) => (metaOf(a).name < metaOf(b).name ? -1 : 1));
  const out: NarrowedPolicy[] = [];
  for (const policy of replaced) {
    const spec = isObj(policy.spec) ? policy.spec : {};
    const raw = spec.podSelector ?? {};
    const selector = parseSelector(raw);
    if (typeof selector === 'string' || !isObj(raw)) continue;
    const old = metaOf(policy);
    for (const e of exempt) {
      const values = [...new Set(e.values)].sort();
      const picked = pods.filter((p) => matches(selector, p.labels) && values.includes(p.labels[e.key] as string));
      if (picked.length === 0) continue;
      const workloads = [...new Set(picked.map((p) => `${namespace}/${workloadNameOf(p)}`))].sort();
      const name = narrowedName(old.name, taken);
      taken.add(name);
      const expressions = Array.isArray(raw.matchExpressions) ? structuredClone(raw.matchExpressions) : [];
      const podSelector: Obj = {
        ...(raw.matchLabels !== undefined ? { matchLabels: structuredClone(raw.matchLabels) } : {}),
        matchExpressions: [...expressions, { key: e.key, operator: 'In', values }],
      };
      const { podSelector: _old, ...rest } = structuredClone(spec);
      const copy: Obj = { podSelector, ...rest };
      out.push({
        key: `${namespace}/${name}`,
        from: `${namespace}/${old.name}`,
        workloads,
        object: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: {
            name,
            namespace,
            labels: { ...MANAGED_BY },
            annotations: {
              [NARROWED_FROM]: old.name,
              [NARROWED_REASON]: `${old.name} is replaced by the hardening baseline, which leaves out workloads with too little traffic history (${e.key} in ${values.join(', ')}): this copy keeps its rules for them`,
            },
          },
          spec: copy,
        },
      });
    }
  }
  return out;
}
