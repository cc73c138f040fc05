// What a scheduler and kubelet would have written into a pod's status, so `kubectl describe pod`
// and `kubectl get pods` read like a real cluster: a pod bound to a node (spec.nodeName) is
// Running with started, ready containers and the usual conditions; a pod without a node stays
// Pending, because the simulation has no scheduler to place it. Whatever status the caller gave
// (pod IPs, readiness, restart counts, a terminated container) is kept. Pure.

import { isObject } from './validation.js';
import type { KubeObject } from './store.js';

type Obj = Record<string, unknown>;

function condition(type: string, status: boolean, at: string, extra: Obj = {}): Obj {
  return { type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: at, ...extra };
}

/** The QoS class the kubelet derives from the containers' requests and limits. */
export function qosClass(containers: readonly Obj[]): 'BestEffort' | 'Burstable' | 'Guaranteed' {
  const resources = containers.map((c) => (isObject(c.resources) ? c.resources : {}));
  const has = (r: Obj, key: 'requests' | 'limits'): Obj => (isObject(r[key]) ? r[key] : {});
  if (resources.every((r) => Object.keys(has(r, 'requests')).length === 0 && Object.keys(has(r, 'limits')).length === 0)) return 'BestEffort';
  const guaranteed = resources.every((r) => {
    const limits = has(r, 'limits');
    const requests = has(r, 'requests');
    return ['cpu', 'memory'].every((k) => limits[k] !== undefined && (requests[k] === undefined || String(requests[k]) === String(limits[k])));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function containerStatus(container: Obj, given: Obj | undefined, startedAt: string): Obj {
  const state = given && isObject(given.state) && Object.keys(given.state).length > 0 ? given.state : { running: { startedAt } };
  const running = isObject(state.running);
  return {
    name: container.name,
    image: given?.image ?? container.image,
    imageID: given?.imageID ?? '',
    ...(given?.containerID !== undefined ? { containerID: given.containerID } : {}),
    ready: running ? (given?.ready ?? true) : false,
    restartCount: given?.restartCount ?? 0,
    started: running,
    state,
    lastState: isObject(given?.lastState) ? given.lastState : {},
  };
}

/** The status to store for a new pod created at `createdAt` (an RFC 3339 time). */
export function simulatedPodStatus(pod: KubeObject, createdAt: string): Obj {
  const given: Obj = isObject(pod.status) ? pod.status : {};
  const spec: Obj = isObject(pod.spec) ? pod.spec : {};
  const containers = (Array.isArray(spec.containers) ? spec.containers : []).filter(isObject);
  const qos = typeof given.qosClass === 'string' ? given.qosClass : qosClass(containers);
  // A phase other than Running (Succeeded, Failed, Pending on purpose) is the caller's story: keep it.
  if (given.phase !== undefined && given.phase !== 'Running') return { ...given, qosClass: qos };
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') {
    return {
      phase: 'Pending',
      conditions: [
        condition('PodScheduled', false, createdAt, {
          reason: 'Unschedulable',
          message: 'the simulated cluster has no scheduler: a pod runs only when spec.nodeName names its node',
        }),
      ],
      qosClass: qos,
    };
  }
  const byName = new Map<unknown, Obj>(((Array.isArray(given.containerStatuses) ? given.containerStatuses : []) as unknown[]).filter(isObject).map((s) => [s.name, s]));
  const statuses = containers.map((c) => containerStatus(c, byName.get(c.name), createdAt));
  const ready = statuses.every((s) => s.ready === true);
  return {
    ...given,
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', true, createdAt),
      condition('Initialized', true, createdAt),
      condition('Ready', ready, createdAt),
      condition('ContainersReady', ready, createdAt),
      condition('PodScheduled', true, createdAt),
    ],
    startTime: given.startTime ?? createdAt,
    containerStatuses: statuses,
    qosClass: qos,
  };
}
