// What the watch tests share: the simulated cluster's objects as a watch's handler should see them,
// and a wait for a condition the watch brings about.
import type { KubeApiSim } from '../../src/sim/kube/index.js';

/** `namespace/name@resourceVersion` of every object of `kind` in the cluster, sorted. */
export function clusterView(sim: KubeApiSim, kind: string, namespace?: string): string[] {
  return sim.list(kind, namespace).map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();
}

export async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
