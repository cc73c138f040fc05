// Turns already-parsed Kubernetes objects (from YAML/JSON files or from the API server) into
// the engine's model. Pure: it never reads files; bad objects become issues, never exceptions.
import { printable } from '../printable.js';
import { compileAdminPolicy, type AdminKind } from './compile-admin.js';
import { compileCiliumPolicy } from './compile-cilium.js';
import { compilePolicy, portNameError, type CompiledPolicyResult } from './compile-policy.js';
import { IpSet, parseIp } from './ip-set.js';
import type { AdminPolicy, CiliumPolicy, ClusterObjects, ContainerPort, Issue, Namespace, NetworkPolicy, Node, Pod, WorkloadRef } from './model.js';
import { PROTOCOLS, type Protocol } from './port-set.js';
import { labelKeyError, labelValueError, type Labels } from './selectors.js';

export interface LoadInput {
  object: unknown;
  /** Where it came from, used in messages (file#document, `live`, ...). */
  source?: string;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController'];
const LIST_ITEM_KIND: Record<string, string> = {
  PodList: 'Pod',
  NamespaceList: 'Namespace',
  NetworkPolicyList: 'NetworkPolicy',
  DeploymentList: 'Deployment',
  StatefulSetList: 'StatefulSet',
  DaemonSetList: 'DaemonSet',
  ReplicaSetList: 'ReplicaSet',
  JobList: 'Job',
  CronJobList: 'CronJob',
  ReplicationControllerList: 'ReplicationController',
  AdminNetworkPolicyList: 'AdminNetworkPolicy',
  BaselineAdminNetworkPolicyList: 'BaselineAdminNetworkPolicy',
  CiliumNetworkPolicyList: 'CiliumNetworkPolicy',
  NodeList: 'Node',
};
// Kinds that commonly sit next to workloads in manifests and have no effect on NetworkPolicy
// semantics: skipped silently so real repositories do not drown the output in warnings.
const IRRELEVANT_KINDS = new Set([
  'Service', 'ConfigMap', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding',
  'Ingress', 'Route', 'Endpoints', 'EndpointSlice', 'PersistentVolumeClaim', 'PersistentVolume', 'HorizontalPodAutoscaler',
  'PodDisruptionBudget', 'CustomResourceDefinition', 'StorageClass', 'PriorityClass', 'LimitRange', 'ResourceQuota', 'Kustomization',
]);
const NS_NAME_LABEL = 'kubernetes.io/metadata.name';
const MAX_LIST_DEPTH = 4;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * NetworkPolicies compiled and Pods read, by the very object they came from: a caller that loads
 * several states of one cluster sharing most objects (the contain step's preview: now, after
 * containment, and without its allow rules) reads each shared object once. Keep one for the
 * states of one computation, or for objects that cannot change (frozen): an object changed in
 * place would keep its old reading. A live object is named by its name (liveSource), so it keeps
 * its very reading wherever it moves in its list; an object from files at another position keeps
 * its reading, renamed.
 */
export type CompileMemo = WeakMap<object, { source: string; result: CompiledPolicyResult; key: string } | { source: string; pod: Pod; key: string }>;

class Collector {
  constructor(readonly memo?: CompileMemo) {}

  readonly namespaces = new Map<string, Namespace>();
  readonly pods = new Map<string, Pod>();
  readonly policies = new Map<string, NetworkPolicy>();
  readonly adminPolicies = new Map<string, AdminPolicy>();
  readonly ciliumPolicies = new Map<string, CiliumPolicy>();
  readonly nodes = new Map<string, Node>();
  readonly issues: Issue[] = [];

  compiled(obj: Record<string, unknown>, namespace: string, name: string, source: string): CompiledPolicyResult {
    const known = this.memo?.get(obj);
    if (known && 'result' in known) {
      // The source names the policy in lint findings: an object that moved is renamed, not recompiled.
      if (known.source === source || !known.result.policy) return known.result;
      return { policy: { ...known.result.policy, source }, errors: known.result.errors };
    }
    const result = compilePolicy(obj, namespace, name, source);
    this.memo?.set(obj, { source, result, key: policyKey(namespace, name) });
    return result;
  }

  issue(severity: Issue['severity'], source: string, message: string, object?: string): void {
    // Messages quote the input (an unknown kind, a port name): escaped and cut here, once for every issue.
    const text = printable(message, 1000);
    this.issues.push(object ? { severity, source, object, message: text } : { severity, source, message: text });
  }
}

function metadataOf(obj: Record<string, unknown>): Record<string, unknown> {
  return isRecord(obj.metadata) ? obj.metadata : {};
}

function labelsOf(raw: unknown, what: string, c: Collector, source: string): Labels | undefined {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    c.issue('error', source, 'labels must be a map of key: value', what);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    // Unquoted YAML numbers/booleans as label values are a common slip; the API server rejects them.
    const err = labelKeyError(k) ?? labelValueError(v);
    if (err) {
      c.issue('error', source, err, what);
      return undefined;
    }
    out[k] = v as string;
  }
  return out;
}

function nameOf(meta: Record<string, unknown>): string | undefined {
  return typeof meta.name === 'string' && meta.name.length > 0 ? meta.name : undefined;
}

function namespaceOf(meta: Record<string, unknown>): string {
  return typeof meta.namespace === 'string' && meta.namespace.length > 0 ? meta.namespace : 'default';
}

function containerPorts(podSpec: unknown, what: string, c: Collector, source: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  if (!isRecord(podSpec)) return out;
  for (const list of [podSpec.containers, podSpec.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const container of list) {
      if (!isRecord(container) || !Array.isArray(container.ports)) continue;
      for (const p of container.ports) {
        if (!isRecord(p) || typeof p.name !== 'string' || p.name === '') continue;
        const protocol = (p.protocol ?? 'TCP') as Protocol;
        const number = p.containerPort;
        if (!PROTOCOLS.includes(protocol) || typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
          c.issue('warning', source, `container port "${p.name}" has no valid containerPort/protocol; it cannot be referenced by name`, what);
          continue;
        }
        const nameErr = portNameError(p.name);
        if (nameErr) {
          c.issue('warning', source, `container port ${nameErr}`, what);
          continue;
        }
        out.push({ name: p.name, port: number, protocol });
      }
    }
  }
  return out;
}

function addNamespace(obj: Record<string, unknown>, c: Collector, source: string): void {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) return c.issue('error', source, 'Namespace without metadata.name');
  const what = `Namespace ${name}`;
  const labels = labelsOf(meta.labels, what, c, source);
  if (!labels) return;
  if (c.namespaces.has(name)) return c.issue('error', source, 'duplicate object; the first definition is kept', what);
  // Real clusters always set this label; selectors on namespace names rely on it.
  c.namespaces.set(name, { name, labels: { ...labels, [NS_NAME_LABEL]: labels[NS_NAME_LABEL] ?? name }, source });
}

/** The pod added, if it was. */
function addPodLike(namespace: string, name: string, labelsRaw: unknown, podSpec: unknown, workload: WorkloadRef, fromTemplate: boolean, c: Collector, source: string): Pod | undefined {
  const what = podWhat(namespace, name, workload, fromTemplate);
  const labels = labelsOf(labelsRaw, what, c, source);
  if (!labels) return undefined;
  const hostNetwork = isRecord(podSpec) && podSpec.hostNetwork === true;
  return addPodRead({ namespace, name, labels, namedPorts: containerPorts(podSpec, what, c, source), workload, fromTemplate, hostNetwork, source }, c, source);
}

function podWhat(namespace: string, name: string, workload: WorkloadRef, fromTemplate: boolean): string {
  return `${fromTemplate ? workload.kind : 'Pod'} ${namespace}/${fromTemplate ? workload.name : name}`;
}

/** A pod's name in the collector: a template's pod is named after its workload's kind too. */
function podKey(pod: Pod): string {
  return `${pod.namespace}/${pod.name}${pod.fromTemplate ? `[${pod.workload.kind}]` : ''}`;
}

function policyKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Adds a pod read (now or by an earlier load), unless its name is taken. */
function addPodRead(pod: Pod, c: Collector, source: string): Pod | undefined {
  const key = podKey(pod);
  if (c.pods.has(key)) {
    c.issue('error', source, 'duplicate object; the first definition is kept', podWhat(pod.namespace, pod.name, pod.workload, pod.fromTemplate));
    return undefined;
  }
  c.pods.set(key, pod);
  return pod;
}

function addPod(obj: Record<string, unknown>, c: Collector, source: string): void {
  const known = c.memo?.get(obj);
  if (known && 'pod' in known) {
    addPodRead(known.source === source ? known.pod : { ...known.pod, source }, c, source);
    return;
  }
  const issues = c.issues.length;
  const pod = readPod(obj, c, source);
  // Only a pod read without a word to say: a hit adds no issue.
  if (pod && c.memo && c.issues.length === issues) c.memo.set(obj, { source, pod, key: podKey(pod) });
}

function readPod(obj: Record<string, unknown>, c: Collector, source: string): Pod | undefined {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) {
    c.issue('error', source, 'Pod without metadata.name');
    return undefined;
  }
  const namespace = namespaceOf(meta);
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  // Finished pods hold no IP and take part in no connection, except a Job's: its workload runs
  // again (a CronJob's next Job, a retried Job), so real dumps must still show it.
  const phase = isRecord(obj.status) ? obj.status.phase : undefined;
  const ofJob = owners.some((o) => isRecord(o) && o.kind === 'Job');
  if ((phase === 'Succeeded' || phase === 'Failed') && !ofJob) return undefined;
  let workload: WorkloadRef = { namespace, name, kind: 'Pod' };
  const controller = owners.find((o): o is Record<string, unknown> => isRecord(o) && o.controller === true);
  // Node-owned (static/mirror) pods are reported as themselves.
  if (controller && typeof controller.name === 'string' && controller.kind !== 'Node') {
    workload = { namespace, name: controller.name, kind: typeof controller.kind === 'string' && controller.kind !== '' ? controller.kind : 'Pod' };
  }
  return addPodLike(namespace, name, meta.labels, obj.spec, workload, false, c, source);
}

function addWorkload(kind: string, obj: Record<string, unknown>, c: Collector, source: string): void {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) return c.issue('error', source, `${kind} without metadata.name`);
  const namespace = namespaceOf(meta);
  const spec = isRecord(obj.spec) ? obj.spec : {};
  let template: unknown = spec.template;
  if (kind === 'CronJob') {
    const jobSpec = isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec) ? spec.jobTemplate.spec : {};
    template = jobSpec.template;
  }
  if (!isRecord(template)) return c.issue('error', source, 'workload without a pod template (spec.template)', `${kind} ${namespace}/${name}`);
  const tmeta = metadataOf(template);
  addPodLike(namespace, name, tmeta.labels, template.spec, { namespace, name, kind }, true, c, source);
}

function addPolicy(obj: Record<string, unknown>, c: Collector, source: string): void {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) return c.issue('error', source, 'NetworkPolicy without metadata.name');
  const namespace = namespaceOf(meta);
  const what = `NetworkPolicy ${namespace}/${name}`;
  const { policy, errors } = c.compiled(obj, namespace, name, source);
  for (const e of errors) c.issue('error', source, e, what);
  if (!policy) return;
  const key = policyKey(namespace, name);
  if (c.policies.has(key)) return c.issue('error', source, 'duplicate object; the first definition is kept', what);
  c.policies.set(key, policy);
}

function addAdminPolicy(kind: AdminKind, obj: Record<string, unknown>, c: Collector, source: string): void {
  const name = nameOf(metadataOf(obj));
  if (!name) return c.issue('error', source, `${kind} without metadata.name`);
  const what = `${kind} ${name}`;
  const { policy, errors, warnings } = compileAdminPolicy(obj, kind, name, source);
  for (const e of errors) c.issue('error', source, e, what);
  for (const w of warnings) c.issue('warning', source, w, what);
  if (!policy) return;
  // Both kinds are cluster-scoped; the BANP is a singleton (its name is checked to be "default").
  const key = `${kind}/${name}`;
  if (c.adminPolicies.has(key)) return c.issue('error', source, 'duplicate object; the first definition is kept', what);
  c.adminPolicies.set(key, policy);
}

function addCiliumPolicy(obj: Record<string, unknown>, c: Collector, source: string): void {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) return c.issue('error', source, 'CiliumNetworkPolicy without metadata.name');
  const namespace = namespaceOf(meta);
  const what = `CiliumNetworkPolicy ${namespace}/${name}`;
  const { policy, errors, warnings } = compileCiliumPolicy(obj, namespace, name, source);
  for (const e of errors) c.issue('error', source, e, what);
  for (const w of warnings) c.issue('warning', source, w, what);
  if (!policy) return;
  const key = `${namespace}/${name}`;
  if (c.ciliumPolicies.has(key)) return c.issue('error', source, 'duplicate object; the first definition is kept', what);
  c.ciliumPolicies.set(key, policy);
}

const MAX_NODE_ADDRESSES = 64;

function addNode(obj: Record<string, unknown>, c: Collector, source: string): void {
  const meta = metadataOf(obj);
  const name = nameOf(meta);
  if (!name) return c.issue('error', source, 'Node without metadata.name');
  const what = `Node ${name}`;
  const labels = labelsOf(meta.labels, what, c, source);
  if (!labels) return;
  const raw = isRecord(obj.status) ? obj.status.addresses : undefined;
  if (raw !== undefined && raw !== null && (!Array.isArray(raw) || raw.length > MAX_NODE_ADDRESSES)) {
    return c.issue('error', source, `status.addresses: must be a list of at most ${MAX_NODE_ADDRESSES} entries`, what);
  }
  let addresses = IpSet.EMPTY;
  for (const [i, a] of (raw ?? []).entries()) {
    if (!isRecord(a) || typeof a.address !== 'string') return c.issue('error', source, `status.addresses[${i}]: must be an object with type and address`, what);
    const ip = parseIp(a.address);
    // Hostname / DNS entries carry names, not addresses: they select nothing here.
    if (ip) addresses = addresses.union(IpSet.range(ip.family, ip.value, ip.value));
  }
  if (c.nodes.has(name)) return c.issue('error', source, 'duplicate object; the first definition is kept', what);
  c.nodes.set(name, { name, labels, addresses, source });
}

/** The object's own kind wins over an `implied` one (a list's items), not over a `given` one (a live list's). */
function addObject(obj: unknown, c: Collector, source: string, { implied, given }: { implied?: string; given?: string }, depth: number): void {
  if (obj === null || obj === undefined) return; // empty YAML document
  if (!isRecord(obj)) return c.issue('error', source, 'document is not a Kubernetes object (expected a mapping)');
  const kind = given ?? (typeof obj.kind === 'string' && obj.kind !== '' ? obj.kind : implied);
  if (Array.isArray(obj.items) && (kind === undefined || kind === 'List' || kind.endsWith('List'))) {
    if (depth >= MAX_LIST_DEPTH) return c.issue('error', source, 'lists nested too deeply');
    const itemKind = kind ? LIST_ITEM_KIND[kind] : undefined;
    obj.items.forEach((item, i) => addObject(item, c, `${source}.items[${i}]`, { implied: itemKind }, depth + 1));
    return;
  }
  if (kind === undefined) return c.issue('warning', source, 'object without kind skipped');
  if (kind === 'Namespace') return addNamespace(obj, c, source);
  if (kind === 'Pod') return addPod(obj, c, source);
  if (kind === 'NetworkPolicy') return addPolicy(obj, c, source);
  if (kind === 'AdminNetworkPolicy' || kind === 'BaselineAdminNetworkPolicy') return addAdminPolicy(kind, obj, c, source);
  if (kind === 'CiliumNetworkPolicy') return addCiliumPolicy(obj, c, source);
  if (kind === 'Node') return addNode(obj, c, source);
  if (WORKLOAD_KINDS.includes(kind)) return addWorkload(kind, obj, c, source);
  if (IRRELEVANT_KINDS.has(kind)) return;
  c.issue('warning', source, `unknown kind "${kind}" skipped`);
}

/** Loads objects in order; later duplicates are reported and ignored. */
export function loadObjects(inputs: Iterable<LoadInput>): ClusterObjects {
  const c = new Collector();
  let i = 0;
  for (const input of inputs) {
    addObject(input.object, c, input.source ?? `object#${i}`, {}, 0);
    i++;
  }
  return collected(c);
}

function collected(c: Collector): ClusterObjects {
  // A namespace referenced by a pod but never declared exists with only its name label.
  for (const pod of c.pods.values()) {
    if (!c.namespaces.has(pod.namespace)) c.namespaces.set(pod.namespace, { name: pod.namespace, labels: { [NS_NAME_LABEL]: pod.namespace } });
  }
  return {
    namespaces: [...c.namespaces.values()],
    pods: [...c.pods.values()],
    policies: [...c.policies.values()],
    adminPolicies: [...c.adminPolicies.values()],
    ciliumPolicies: [...c.ciliumPolicies.values()],
    nodes: [...c.nodes.values()],
    issues: c.issues,
  };
}

/** Live objects by kind, as the API lists them (items without `kind`). */
export interface LiveObjects {
  namespaces?: readonly unknown[];
  pods?: readonly unknown[];
  networkPolicies?: readonly unknown[];
  /** policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy items (plain objects). */
  adminNetworkPolicies?: readonly unknown[];
  baselineAdminNetworkPolicies?: readonly unknown[];
  /** cilium.io/v2 CiliumNetworkPolicy items (plain objects). */
  ciliumNetworkPolicies?: readonly unknown[];
  /** Node items: their labels and addresses serve AdminNetworkPolicy `nodes` peers. */
  nodes?: readonly unknown[];
}

/** The LiveObjects list that holds each policy kind the engine models. */
export const POLICY_LIST_OF_KIND = {
  NetworkPolicy: 'networkPolicies',
  AdminNetworkPolicy: 'adminNetworkPolicies',
  BaselineAdminNetworkPolicy: 'baselineAdminNetworkPolicies',
  CiliumNetworkPolicy: 'ciliumNetworkPolicies',
} as const satisfies Record<string, keyof LiveObjects>;

/** What a Kubernetes API accepts as a name (and a namespace): lowercase DNS subdomain characters. */
const API_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Where a live object is, by its name (`live:Pod api/web-1`): the same wherever it sits in its
 * list, so a memo's reading stays the very same object when others come and go. An object
 * without a name the API would accept is named by its position.
 */
function liveSource(kind: string, item: unknown, position: number): string {
  const meta = isRecord(item) ? metadataOf(item) : {};
  const name = nameOf(meta);
  if (!name || !API_NAME.test(name)) return `live:${kind}[${position}]`;
  if (meta.namespace === undefined) return `live:${kind} ${name}`;
  return typeof meta.namespace === 'string' && API_NAME.test(meta.namespace) ? `live:${kind} ${meta.namespace}/${name}` : `live:${kind}[${position}]`;
}

/**
 * A live pod or policy an earlier load read without a word to say, under its name (`named`: its
 * kind's prefix, so never one named by its position): added as read, without reading its name or
 * its source again (most of a reload of 10k unchanged objects). False when it must be read: not
 * in the memo, read with errors, or its name is taken (the slow path reports the duplicate).
 */
function addKnownLive(item: unknown, named: string, c: Collector): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const known = c.memo?.get(item);
  if (!known?.source.startsWith(named)) return false;
  if ('pod' in known) {
    if (c.pods.has(known.key)) return false;
    c.pods.set(known.key, known.pod);
    return true;
  }
  const { policy, errors } = known.result;
  if (!policy || errors.length > 0 || c.policies.has(known.key)) return false;
  c.policies.set(known.key, policy);
  return true;
}

/**
 * Live objects as returned by the API (e.g. @kubernetes/client-node V1Pod / V1NetworkPolicy);
 * list items carry no `kind`, so the kind comes from the argument they are passed in.
 */
export function loadLiveObjects(live: LiveObjects, memo?: CompileMemo): ClusterObjects {
  const c = new Collector(memo);
  const add = (items: readonly unknown[] | undefined, kind: string): void => {
    const named = `live:${kind} `;
    // The list's kind is the items' kind: given, not copied into each object (which would also lose it as the memo's key).
    (items ?? []).forEach((item, i) => addKnownLive(item, named, c) || addObject(item, c, liveSource(kind, item, i), { given: kind }, 0));
  };
  add(live.namespaces, 'Namespace');
  add(live.pods, 'Pod');
  add(live.networkPolicies, 'NetworkPolicy');
  add(live.adminNetworkPolicies, 'AdminNetworkPolicy');
  add(live.baselineAdminNetworkPolicies, 'BaselineAdminNetworkPolicy');
  add(live.ciliumNetworkPolicies, 'CiliumNetworkPolicy');
  add(live.nodes, 'Node');
  return collected(c);
}
