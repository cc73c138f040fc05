// What containment would change, computed by the policy engine over the live objects and the
// objects as they will be: which connections it cuts, which stay allowed by other policies (with
// the additive deny-all, every allow rule of another policy selecting the same pods), and which
// the quarantine keeps open itself (its DNS exception). Pure.
import { buildIndex, connectivity, diffConnectivity, formatConnections, type CompileMemo, type LiveObjects, type PolicyIndex } from '../../policy/index.js';
import { workloadId } from '../../policy/model.js';

export interface BlastRadiusInput {
  /** The live objects now. */
  before: LiveObjects;
  /** The live objects once containment is applied (see projectContainment). */
  after: LiveObjects;
  /** The objects containment creates, so their own exceptions (kept DNS) can be told apart. */
  created: readonly unknown[];
  /** The pods in scope, as namespace and name. */
  scopePods: readonly { namespace: string; name: string }[];
}

export interface BlastRadius {
  /** Connections the deny-all closes, `SRC => DST : CONNS`. */
  cut: string[];
  /** Connections of the scope that other policies keep allowed (they would stay open without the deny-all's exception too). */
  stillAllowed: string[];
  /** Connections only the deny-all's own allow rules keep open (its DNS exception), `SRC => DST : CONNS`. */
  keptByDenyAll: string[];
  /** Problems the engine found in the live objects (they were skipped). */
  issues: string[];
}

/** Lists in Slack and in the record are capped; counts tell how many there were. */
export const BLAST_RADIUS_LIMIT = 25;

/** One of our objects without the rules that let anything through: isolation only. */
function withoutAllowRules(object: unknown): unknown {
  if (typeof object !== 'object' || object === null) return object;
  const obj = object as { kind?: string; spec?: Record<string, unknown> };
  if (!obj.spec) return object;
  switch (obj.kind) {
    case 'NetworkPolicy':
      return { ...obj, spec: { ...obj.spec, ingress: [], egress: [] } };
    case 'AdminNetworkPolicy': {
      const deny = (rules: unknown): unknown[] => (Array.isArray(rules) ? rules.filter((r) => (r as { action?: string }).action !== 'Allow') : []);
      return { ...obj, spec: { ...obj.spec, ingress: deny(obj.spec.ingress), egress: deny(obj.spec.egress) } };
    }
    case 'CiliumNetworkPolicy': {
      // Deny wins in Cilium: denying everything both ways is isolation with no exception.
      const { ingress: _i, egress: _e, ...rest } = obj.spec;
      return { ...obj, spec: { ...rest, ingressDeny: [{ fromEntities: ['all'] }], egressDeny: [{ toEntities: ['all'] }] } };
    }
    default:
      return object;
  }
}

function replaceCreated(live: LiveObjects, created: readonly unknown[]): LiveObjects {
  const ours = new Set(created);
  const swap = (items: readonly unknown[] | undefined): unknown[] => (items ?? []).map((o) => (ours.has(o) ? withoutAllowRules(o) : o));
  return {
    ...live,
    networkPolicies: swap(live.networkPolicies),
    adminNetworkPolicies: swap(live.adminNetworkPolicies),
    ciliumNetworkPolicies: swap(live.ciliumNetworkPolicies),
  };
}

export type BlastRadiusResult = BlastRadius & { cutCount: number; stillAllowedCount: number; keptByDenyAllCount: number };

/**
 * `built.after`: the index of input.after when the caller has it already (the preview builds it
 * once for the proof too); `built.memo`: the memo it was built with. The three states share all
 * but a few objects: each policy is compiled once.
 */
export function blastRadius(input: BlastRadiusInput, limit = BLAST_RADIUS_LIMIT, built: { after?: { index: PolicyIndex }; memo?: CompileMemo } = {}): BlastRadiusResult {
  const memo = built.memo ?? new WeakMap();
  const before = buildIndex(input.before, memo);
  const after = built.after ?? buildIndex(input.after, memo);
  const bare = buildIndex(replaceCreated(input.after, input.created), memo);

  const scope = new Set<string>();
  for (const { namespace, name } of input.scopePods) {
    const pod = after.index.pod(namespace, name);
    if (pod) scope.add(workloadId(pod.workload));
  }
  // Only the scope's rows and columns: the rest of the cluster is not computed.
  const options = { external: true, externalRanges: 'merged' as const, touching: [...scope] };

  const remaining = connectivity(after.index, options);
  const diff = diffConnectivity(connectivity(before.index, options), remaining);
  const cut = diff.closed.map((c) => `${c.src} => ${c.dst} : ${c.closed.toString()}`);
  // What other policies keep is what stays open when our objects let nothing through; what our
  // exceptions (kept DNS) add on top of that is the quarantine's own doing, not another policy's.
  const keptByOthers = connectivity(bare.index, options);
  const stillAllowed = formatConnections(keptByOthers, 'txt').split('\n').filter(Boolean);
  const keptByDenyAll = diffConnectivity(keptByOthers, remaining).opened.map((c) => `${c.src} => ${c.dst} : ${c.opened.toString()}`);
  return {
    cut: cut.slice(0, limit),
    cutCount: cut.length,
    stillAllowed: stillAllowed.slice(0, limit),
    stillAllowedCount: stillAllowed.length,
    keptByDenyAll: keptByDenyAll.slice(0, limit),
    keptByDenyAllCount: keptByDenyAll.length,
    issues: [...new Set(before.issues.map((i) => `${i.source}: ${i.message}`))].slice(0, 10),
  };
}
