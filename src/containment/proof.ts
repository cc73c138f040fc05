// The engine's proof of containment (pure): from the live objects, every connection still open to
// or from the scope. Anything but kept DNS to kube-dns means "NOT contained". The same view,
// taken before containment and after its lift, verifies that the lift put connectivity back.
import { createHash } from 'node:crypto';
import { buildIndex, openConnections, QueryError, type LiveObjects, type OpenConnection, type OpenConnectionsResult, type PolicyIndex } from '../policy/index.js';
import type { LabelSelectorSpec } from '../incident/model.js';
import { withoutExclusion } from './exclusion.js';
import { isOurObject } from './plan.js';
import { canonicalJson } from './readback.js';

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

/** The scope's open connections; a scope with no pod (yet) has none: nothing of it can talk. */
function openOf(index: PolicyIndex, scope: ScopeView, dns?: { namespace: string; podLabels: Record<string, string> }, allowers = true): OpenConnectionsResult {
  try {
    return openConnections(index, { namespace: scope.namespace, selector: scope.labelSelector ?? {} }, { ...(dns ? { dns: { namespace: dns.namespace, labels: dns.podLabels } } : {}), allowers });
  } catch (error) {
    if (error instanceof QueryError && /selects no pod/.test(error.message)) return { pods: [], open: [], contained: true };
    throw error;
  }
}

export function proveContainment(live: LiveObjects, scope: ScopeView, dns: { namespace: string; podLabels: Record<string, string> }, limit = PROOF_LIST_LIMIT): EngineProof {
  return proveContainmentOf(buildIndex(live), scope, dns, limit);
}

/** The same, on an index already built (with the issues its build found). */
export function proveContainmentOf(
  { index, issues }: { index: PolicyIndex; issues: readonly { source: string; message: string }[] },
  scope: ScopeView,
  dns: { namespace: string; podLabels: Record<string, string> },
  limit = PROOF_LIST_LIMIT,
): EngineProof {
  const result = openOf(index, scope, dns);
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
  return scopeConnectivityOf(buildIndex(live).index, scope);
}

/** The same, on an index already built. */
export function scopeConnectivityOf(index: PolicyIndex, scope: ScopeView): string[] {
  // What is open, not which rules open it: the lines name neither.
  const result = openOf(index, scope, undefined, false);
  return result.open.map((o) => `${o.direction === 'egress' ? '->' : '<-'} ${o.peer.id} : ${o.conns.toString()}`).sort();
}

export interface ConnectivityDifference {
  /** Peers open before and closed now. */
  lost: string[];
  /** Peers closed before and open now. */
  gained: string[];
  /** Peers open both times with other connections: `-> peer : before → after`. */
  changed: string[];
}

/** Compares two scopeConnectivity lists peer by peer (`-> peer : conns`). */
export function connectivityDifference(before: readonly string[], after: readonly string[]): ConnectivityDifference {
  const split = (lines: readonly string[]): Map<string, string> => new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(' : ')), l.slice(l.lastIndexOf(' : ') + 3)] as [string, string]));
  const a = split(before);
  const b = split(after);
  const out: ConnectivityDifference = { lost: [], gained: [], changed: [] };
  for (const [peer, conns] of a) {
    const now = b.get(peer);
    if (now === undefined) out.lost.push(`${peer} : ${conns}`);
    else if (now !== conns) out.changed.push(`${peer} : ${conns} → ${now}`);
  }
  for (const [peer, conns] of b) if (!a.has(peer)) out.gained.push(`${peer} : ${conns}`);
  return out;
}

type Obj = { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string> | null } | null; spec?: unknown };

/**
 * Fingerprint entries by what they were made of, for what cannot change (frozen): an object's
 * entry, or a frozen part of a list (a namespace's objects on a compute thread) with its entries.
 */
export type FingerprintMemo = WeakMap<object, string | { kind: string; entries: readonly string[] }>;

type PolicyListName = 'networkPolicies' | 'adminNetworkPolicies' | 'baselineAdminNetworkPolicies' | 'ciliumNetworkPolicies';

/** The policy lists, each whole or in parts (a shared list's parts, see compute/shared-lists). */
export type PolicyListsInParts = { [K in PolicyListName]?: ReadonlyArray<readonly unknown[]> };

const FINGERPRINTED: ReadonlyArray<[PolicyListName, string]> = [
  ['networkPolicies', 'NetworkPolicy'],
  ['adminNetworkPolicies', 'AdminNetworkPolicy'],
  ['baselineAdminNetworkPolicies', 'BaselineAdminNetworkPolicy'],
  ['ciliumNetworkPolicies', 'CiliumNetworkPolicy'],
];

/**
 * A fingerprint of every policy that is not ours, our exclusion requirement removed: equal before
 * containment and after the lift exactly when nobody changed a policy meanwhile.
 */
export function policyFingerprint(live: LiveObjects, memo?: FingerprintMemo): string {
  const lists: PolicyListsInParts = {};
  for (const [list] of FINGERPRINTED) if (live[list]) lists[list] = [live[list]];
  return policyFingerprintOfParts(lists, memo);
}

/**
 * The same, of lists in parts: a frozen part met before gives back its entries at once (on 10k
 * policies, reading every object's entry again took most of a containment baseline's fingerprint).
 */
export function policyFingerprintOfParts(lists: PolicyListsInParts, memo?: FingerprintMemo): string {
  const entries: string[] = [];
  for (const [list, kind] of FINGERPRINTED) {
    for (const part of lists[list] ?? []) {
      const known = memo?.get(part);
      if (typeof known === 'object' && known.kind === kind) {
        for (const entry of known.entries) entries.push(entry);
        continue;
      }
      const made = partEntries(kind, part, memo);
      if (memo && Object.isFrozen(part)) memo.set(part, { kind, entries: made });
      for (const entry of made) entries.push(entry);
    }
  }
  // The entries joined by newlines, hashed as they come: joining 10k of them first made a string
  // of megabytes, which took longer than the hash.
  const hash = createHash('sha256');
  entries.sort().forEach((entry, i) => {
    if (i > 0) hash.update('\n');
    hash.update(entry);
  });
  return hash.digest('hex');
}

function partEntries(kind: string, items: readonly unknown[], memo: FingerprintMemo | undefined): string[] {
  const ofKind = `${kind}/`;
  const entries: string[] = [];
  for (const item of items) {
    const obj = item as Obj;
    if (!obj || isOurObject(obj as never)) continue;
    const known = memo?.get(obj);
    // The kind is part of the entry: an object met in another list is entered again.
    if (typeof known === 'string' && known.startsWith(ofKind)) {
      entries.push(known);
      continue;
    }
    let spec = obj.spec as Record<string, unknown> | undefined;
    if (kind === 'NetworkPolicy' && spec) spec = { ...spec, podSelector: withoutExclusion(spec.podSelector) };
    const entry = `${kind}/${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name ?? '')}=${canonicalJson(spec ?? null)}`;
    memo?.set(obj, entry);
    entries.push(entry);
  }
  return entries;
}
