// What the emergency deny-all would change, computed by the policy engine over the live pods and
// policies: which connections it cuts, and which stay allowed because NetworkPolicies are additive
// (another policy that selects the same pods still allows them). Pure.
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
  /** Connections of the scope that other policies keep allowed. */
  stillAllowed: string[];
  /** Problems the engine found in the live objects (they were skipped). */
  issues: string[];
}

/** Lists in Slack and in the record are capped; counts tell how many there were. */
export const BLAST_RADIUS_LIMIT = 25;

export function blastRadius(input: BlastRadiusInput, limit = BLAST_RADIUS_LIMIT): BlastRadius & { cutCount: number; stillAllowedCount: number } {
  const options = { external: true, externalRanges: 'merged' as const };
  const before = buildIndex({ namespaces: input.namespaces, pods: input.pods, networkPolicies: input.policies });
  const after = buildIndex({ namespaces: input.namespaces, pods: input.pods, networkPolicies: [...input.policies, input.proposed] });

  const scope = new Set<string>();
  for (const { namespace, name } of input.scopePods) {
    const pod = after.index.pod(namespace, name);
    if (pod) scope.add(workloadId(pod.workload));
  }
  const touchesScope = (c: Connection): boolean => scope.has(c.src.id) || scope.has(c.dst.id);

  const diff = diffConnectivity(connectivity(before.index, options), connectivity(after.index, options));
  const cut = diff.closed.filter((c) => scope.has(c.src) || scope.has(c.dst)).map((c) => `${c.src} => ${c.dst} : ${c.closed.toString()}`);
  const remaining = connectivity(after.index, options).filter(touchesScope);
  const stillAllowed = formatConnections(remaining, 'txt').split('\n').filter(Boolean);
  return {
    cut: cut.slice(0, limit),
    cutCount: cut.length,
    stillAllowed: stillAllowed.slice(0, limit),
    stillAllowedCount: stillAllowed.length,
    issues: [...new Set(before.issues.map((i) => `${i.source}: ${i.message}`))].slice(0, 10),
  };
}
