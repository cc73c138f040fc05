// How pods fall into classes and workloads, the grouping PolicyIndex numbers. Pods with the same
// namespace, labels, named ports and host networking behave identically under any policy.
import type { Pod, WorkloadRef } from './model.js';
import { workloadId } from './model.js';

function classKey(pod: Pod): string {
  const labels = Object.keys(pod.labels)
    .sort()
    .map((k) => `${k}=${pod.labels[k]}`)
    .join(',');
  const ports = pod.namedPorts
    .map((p) => `${p.name}/${p.protocol}=${p.port}`)
    .sort()
    .join(',');
  return `${pod.namespace}\u0000${labels}\u0000${ports}\u0000${pod.hostNetwork ? 'host' : ''}`;
}

/**
 * The pods grouped by class, the groups in the order of their keys: the namespace leads the key,
 * so numbering the groups in this order keeps each namespace's classes contiguous.
 */
export function groupIntoClasses(pods: readonly Pod[]): Pod[][] {
  const groups = new Map<string, Pod[]>();
  for (const pod of pods) {
    const key = classKey(pod);
    const group = groups.get(key);
    if (group) group.push(pod);
    else groups.set(key, [pod]);
  }
  return [...groups.keys()].sort().map((key) => groups.get(key) as Pod[]);
}

export interface WorkloadMembers {
  ref: WorkloadRef;
  pods: Pod[];
  classes: Set<number>;
}

/** Per workload id, in the order the groups first name it: its pods and the classes they fall into (group i is class `classIds[i]`). */
export function groupWorkloads(groups: readonly Pod[][], classIds: ArrayLike<number>): Map<string, WorkloadMembers> {
  const workloads = new Map<string, WorkloadMembers>();
  groups.forEach((members, i) => {
    for (const pod of members) {
      const id = workloadId(pod.workload);
      let w = workloads.get(id);
      if (!w) workloads.set(id, (w = { ref: pod.workload, pods: [], classes: new Set() }));
      w.pods.push(pod);
      w.classes.add(classIds[i] as number);
    }
  });
  return workloads;
}

/** A class's named ports, `name/PROTOCOL` -> port; the first definition of a name wins, as in the pod's spec. */
export function namedPortMap(pod: Pod): Map<string, number> {
  const ports = new Map<string, number>();
  for (const p of pod.namedPorts) if (!ports.has(`${p.name}/${p.protocol}`)) ports.set(`${p.name}/${p.protocol}`, p.port);
  return ports;
}
