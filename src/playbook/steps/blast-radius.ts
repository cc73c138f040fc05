// What the emergency deny-all would change, computed by the policy engine over the live pods and
// policies: which connections it cuts, which stay allowed because NetworkPolicies are additive
// (another policy that selects the same pods still allows them), and which the deny-all keeps open
// itself (its DNS exception). Pure.
import { buildIndex, connectivity, diffConnectivity, formatConnections, type Connection } from '../../policy/index.js';
import { workloadId } from '../../policy/model.js';

export interface BlastRadiusInput {
  namespaces: readonly unknown[];
  pods: readonly unknown[];
  policies: readonly unknown[];
  /** The deny-all the bot proposes. */
  proposed: unknown;
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

/** The deny-all without its allow rules: same pods isolated the same ways, nothing let through. */
function withoutAllowRules(policy: unknown): unknown {
  if (typeof policy !== 'object' || policy === null) return policy;
  const spec = (policy as { spec?: unknown }).spec;
  if (typeof spec !== 'object' || spec === null) return policy;
  return { ...policy, spec: { ...spec, ingress: [], egress: [] } };
}

export function blastRadius(
  input: BlastRadiusInput,
  limit = BLAST_RADIUS_LIMIT,
): BlastRadius & { cutCount: number; stillAllowedCount: number; keptByDenyAllCount: number } {
  const options = { external: true, externalRanges: 'merged' as const };
  const before = buildIndex({ namespaces: input.namespaces, pods: input.pods, networkPolicies: input.policies });
  const after = buildIndex({ namespaces: input.namespaces, pods: input.pods, networkPolicies: [...input.policies, input.proposed] });
  const bare = buildIndex({ namespaces: input.namespaces, pods: input.pods, networkPolicies: [...input.policies, withoutAllowRules(input.proposed)] });

  const scope = new Set<string>();
  for (const { namespace, name } of input.scopePods) {
    const pod = after.index.pod(namespace, name);
    if (pod) scope.add(workloadId(pod.workload));
  }
  const touchesScope = (c: Connection): boolean => scope.has(c.src.id) || scope.has(c.dst.id);

  const diff = diffConnectivity(connectivity(before.index, options), connectivity(after.index, options));
  const cut = diff.closed.filter((c) => scope.has(c.src) || scope.has(c.dst)).map((c) => `${c.src} => ${c.dst} : ${c.closed.toString()}`);
  // What other policies keep is what stays open under a deny-all with no exception at all; what the
  // exception adds on top of that is the deny-all's own doing, not another policy's.
  const keptByOthers = connectivity(bare.index, options).filter(touchesScope);
  const remaining = connectivity(after.index, options).filter(touchesScope);
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
