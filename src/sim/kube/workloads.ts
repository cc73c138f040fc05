// What a controller does when a workload rolls, for the pods the simulation holds (it runs no
// Deployment or StatefulSet controller): a ReplicaSet's pods are replaced by pods of a new
// ReplicaSet (new pod-template-hash, new names, same app labels, new IPs on the same nodes); a
// StatefulSet's pod comes back under the same name with a new uid. Pure: pods in, a plan out.

import { randomInt, randomUUID } from 'node:crypto';
import type { KubeObject } from './store.js';
import { isObject } from './validation.js';

type Obj = Record<string, unknown>;

export interface RolloutPlan {
  /** Pods to create before the old ones go (ReplicaSet: surge first). */
  createFirst: KubeObject[];
  /** Old pods to delete, by name. */
  remove: string[];
  /** Pods to create once the old ones are gone (StatefulSet: same names). */
  createAfter: KubeObject[];
}

/** The alphabet Kubernetes uses for generated name suffixes (rand.SafeEncodeString). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length: number, pick: (n: number) => number = randomInt): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[pick(ALPHABET.length)];
  return out;
}

function controllerOf(pod: KubeObject): { kind: string; name: string; uid?: string } | undefined {
  const refs = isObject(pod.metadata) ? pod.metadata.ownerReferences : undefined;
  if (!Array.isArray(refs)) return undefined;
  const ref = refs.find((r) => isObject(r) && r.controller === true) as Obj | undefined;
  return ref && typeof ref.kind === 'string' && typeof ref.name === 'string' ? { kind: ref.kind, name: ref.name, ...(typeof ref.uid === 'string' ? { uid: ref.uid } : {}) } : undefined;
}

/** A free pod IP in the /24 of `near` (the node's pod range), avoiding `taken`. */
function freeIp(near: string | undefined, taken: Set<string>): string | undefined {
  const m = near ? /^(\d+\.\d+\.\d+)\.\d+$/.exec(near) : null;
  if (!m) return undefined;
  for (let host = 2; host < 255; host++) {
    const ip = `${m[1]}.${host}`;
    if (!taken.has(ip)) {
      taken.add(ip);
      return ip;
    }
  }
  return undefined;
}

/** A fresh copy of `pod` under `name`, with server-owned and kubelet-owned fields cleared. */
function replacement(pod: KubeObject, name: string, labels: Record<string, unknown>, ownerName: string, ip: string | undefined): KubeObject {
  const meta = pod.metadata as Obj;
  const status = isObject(pod.status) ? pod.status : {};
  // A new ReplicaSet is a new object: new name, new uid.
  const refs = (meta.ownerReferences as Obj[]).map((r) => (r.controller === true ? { ...r, name: ownerName, ...(r.name !== ownerName ? { uid: randomUUID() } : {}) } : r));
  const containers = isObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers.filter(isObject) : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: meta.namespace, labels, ...(meta.annotations ? { annotations: meta.annotations } : {}), ownerReferences: refs },
    spec: structuredClone(pod.spec),
    status: {
      phase: 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      ...(status.hostIP ? { hostIP: status.hostIP } : {}),
      containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, ready: true, restartCount: 0 })),
    },
  };
}

/**
 * Plans the roll of `pods` (all controlled by workloads; others are refused, since nothing would
 * recreate them). `allPods` gives the IPs in use.
 */
/**
 * The labels the pod's controller would stamp on a new pod: those of its pod template. Labels
 * another manager added to the running pod later (`kubectl label`, a responder's quarantine
 * label) are not in the template, so a replacement does not carry them. The creator is the
 * first managedFields entry; without managedFields every label counts.
 */
function templateLabels(meta: Obj): Record<string, unknown> {
  const labels = isObject(meta.labels) ? meta.labels : {};
  const entries = Array.isArray(meta.managedFields) ? (meta.managedFields as Obj[]) : [];
  const creator = entries[0]?.manager;
  if (entries.length === 0 || creator === undefined) return { ...labels };
  const addedLater = new Set<string>();
  for (const entry of entries) {
    if (entry.manager === creator) continue;
    const owned = ((entry.fieldsV1 as Obj | undefined)?.['f:metadata'] as Obj | undefined)?.['f:labels'];
    if (isObject(owned)) for (const key of Object.keys(owned)) if (key.startsWith('f:')) addedLater.add(key.slice(2));
  }
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !addedLater.has(key)));
}

export function planRollout(pods: readonly KubeObject[], allPods: readonly KubeObject[], pick: (n: number) => number = randomInt): RolloutPlan {
  const taken = new Set(allPods.map((p) => (isObject(p.status) ? p.status.podIP : undefined)).filter((ip): ip is string => typeof ip === 'string'));
  const plan: RolloutPlan = { createFirst: [], remove: [], createAfter: [] };
  const newHashes = new Map<string, string>();
  for (const pod of pods) {
    const meta = pod.metadata as Obj;
    const name = String(meta.name);
    const owner = controllerOf(pod);
    if (!owner) throw new Error(`pod ${String(meta.namespace)}/${name} has no controller (ownerReferences with controller: true): nothing would recreate it`);
    const labels = templateLabels(meta);
    const oldIp = isObject(pod.status) && typeof pod.status.podIP === 'string' ? pod.status.podIP : undefined;
    plan.remove.push(name);
    if (owner.kind === 'StatefulSet') {
      plan.createAfter.push(replacement(pod, name, labels, owner.name, oldIp));
      continue;
    }
    if (owner.kind !== 'ReplicaSet') throw new Error(`pod ${String(meta.namespace)}/${name} is controlled by a ${owner.kind}: only ReplicaSet and StatefulSet pods can roll`);
    const oldHash = typeof labels['pod-template-hash'] === 'string' ? labels['pod-template-hash'] : '';
    const deployment = oldHash && owner.name.endsWith(`-${oldHash}`) ? owner.name.slice(0, -oldHash.length - 1) : owner.name;
    const hash = newHashes.get(deployment) ?? randomSuffix(10, pick);
    newHashes.set(deployment, hash);
    const rs = `${deployment}-${hash}`;
    plan.createFirst.push(replacement(pod, `${rs}-${randomSuffix(5, pick)}`, { ...labels, 'pod-template-hash': hash }, rs, freeIp(oldIp, taken)));
  }
  return plan;
}
