// The engine's proof of containment (pure): from the live objects, every connection still open to
// or from the scope. Anything but kept DNS to kube-dns means "NOT contained". The same view,
// taken before containment and after its lift, verifies that the lift put connectivity back.
import { createHash } from 'node:crypto';
import { buildIndex, openConnections, type LiveObjects, type OpenConnection } from '../policy/index.js';
import type { LabelSelectorSpec } from '../incident/model.js';
import { withoutExclusion } from './exclusion.js';
import { isOurObject } from './plan.js';

export interface ScopeView {
  namespace: string;
  labelSelector?: LabelSelectorSpec;
}

export interface EngineProof {
  contained: boolean;
  /** Pods the engine found in scope, `ns/name`. */
  pods: string[];
  /** Open connections other than kept DNS, one line each: `egress -> db/x[Deployment] : TCP 5432 [allowed by …]`. */
  open: string[];
  openCount: number;
  /** DNS to kube-dns left open (by the deny-all's exception when DNS is kept). */
  dns: string[];
  /** Problems the engine had with live objects (skipped). */
  issues: string[];
}

export const PROOF_LIST_LIMIT = 25;

function line(o: OpenConnection): string {
  const arrow = o.direction === 'egress' ? '->' : '<-';
  const by = [...o.allowedBy.egress.map((x) => `egress: ${x}`), ...o.allowedBy.ingress.map((x) => `ingress: ${x}`)].join('; ');
  return `${o.direction} ${arrow} ${o.peer.id} : ${o.conns.toString()}${by ? ` [${by}]` : ''}`;
}

export function proveContainment(live: LiveObjects, scope: ScopeView, dns: { namespace: string; podLabels: Record<string, string> }, limit = PROOF_LIST_LIMIT): EngineProof {
  const { index, issues } = buildIndex(live);
  const result = openConnections(index, { namespace: scope.namespace, selector: scope.labelSelector ?? {} }, { dns: { namespace: dns.namespace, labels: dns.podLabels } });
  const open = result.open.filter((o) => !o.dns).map(line);
  return {
    contained: result.contained,
    pods: result.pods,
    open: open.slice(0, limit),
    openCount: open.length,
    dns: result.open.filter((o) => o.dns).map(line).slice(0, limit),
    issues: [...new Set(issues.map((i) => `${i.source}: ${i.message}`))].slice(0, 10),
  };
}

/** The scope's connectivity, one `SRC => DST : CONNS` line each (for before/after comparisons). */
export function scopeConnectivity(live: LiveObjects, scope: ScopeView): string[] {
  const { index } = buildIndex(live);
  const result = openConnections(index, { namespace: scope.namespace, selector: scope.labelSelector ?? {} });
  return result.open.map((o) => `${o.direction === 'egress' ? '->' : '<-'} ${o.peer.id} : ${o.conns.toString()}`).sort();
}

/** Connectivity lines in one list and not in the other. */
export function connectivityDifference(before: readonly string[], after: readonly string[]): { lost: string[]; gained: string[] } {
  const a = new Set(before);
  const b = new Set(after);
  return { lost: before.filter((l) => !b.has(l)), gained: after.filter((l) => !a.has(l)) };
}

type Obj = { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string> | null } | null; spec?: unknown };

/**
 * A fingerprint of every policy that is not ours, our exclusion requirement removed: equal before
 * containment and after the lift exactly when nobody changed a policy meanwhile.
 */
export function policyFingerprint(live: LiveObjects): string {
  const entries: string[] = [];
  const add = (kind: string, items: readonly unknown[] | undefined): void => {
    for (const item of items ?? []) {
      const obj = item as Obj;
      if (!obj || isOurObject(obj as never)) continue;
      let spec = obj.spec as Record<string, unknown> | undefined;
      if (kind === 'NetworkPolicy' && spec) spec = { ...spec, podSelector: withoutExclusion(spec.podSelector) };
      entries.push(`${kind}/${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name ?? '')}=${canonical(spec ?? null)}`);
    }
  };
  add('NetworkPolicy', live.networkPolicies);
  add('AdminNetworkPolicy', live.adminNetworkPolicies);
  add('BaselineAdminNetworkPolicy', live.baselineAdminNetworkPolicies);
  add('CiliumNetworkPolicy', live.ciliumNetworkPolicies);
  return createHash('sha256').update(entries.sort().join('\n')).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
