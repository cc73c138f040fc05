// Reads the live objects the policy engine needs to judge a scope: namespaces, pods, and every
// policy kind the cluster serves. Kinds it does not serve are simply absent.
import type { Discovery, KubeGateway } from '../kube/index.js';
import { namespaceOfObject } from '../kube/resources.js';
import type { LiveObjects } from '../policy/index.js';
import type { ServedKinds } from './strategy.js';

export function servedKinds(discovery: Discovery): ServedKinds {
  return { adminNetworkPolicy: discovery.AdminNetworkPolicy.served, ciliumNetworkPolicy: discovery.CiliumNetworkPolicy.served };
}

export async function readLiveObjects(gateway: Pick<KubeGateway, 'objects'>, served: ServedKinds): Promise<LiveObjects> {
  const [world, policies] = await Promise.all([readWorkloads(gateway), readPolicies(gateway, served)]);
  return { ...world, ...policies };
}

/** Namespaces and pods: what policies select (slow to list in a big cluster, and no restore step changes them). */
export async function readWorkloads(gateway: Pick<KubeGateway, 'objects'>): Promise<Pick<LiveObjects, 'namespaces' | 'pods'>> {
  const [namespaces, pods] = await Promise.all([gateway.objects('Namespace').list(), gateway.objects('Pod').list()]);
  return { namespaces: namespaces.items, pods: pods.items };
}

/** Every policy kind the cluster serves. */
export async function readPolicies(gateway: Pick<KubeGateway, 'objects'>, served: ServedKinds): Promise<Omit<LiveObjects, 'namespaces' | 'pods'>> {
  const all = async <K extends 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'CiliumNetworkPolicy'>(kind: K, when = true) =>
    when ? (await gateway.objects(kind).list()).items : [];
  const [networkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, ciliumNetworkPolicies] = await Promise.all([
    all('NetworkPolicy'),
    all('AdminNetworkPolicy', served.adminNetworkPolicy),
    all('BaselineAdminNetworkPolicy', served.adminNetworkPolicy),
    all('CiliumNetworkPolicy', served.ciliumNetworkPolicy),
  ]);
  return { networkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, ciliumNetworkPolicies };
}

/** What a watched view of the cluster serves (LiveClusterView). */
export interface WatchedObjects {
  workloads(): Promise<Pick<LiveObjects, 'namespaces' | 'pods'>>;
  policies(): Promise<Omit<LiveObjects, 'namespaces' | 'pods'>>;
}

const NAMESPACED: ReadonlyArray<'pods' | 'networkPolicies' | 'ciliumNetworkPolicies'> = ['pods', 'networkPolicies', 'ciliumNetworkPolicies'];

/**
 * The live objects that judge one namespace's scope (or a few namespaces', as a restore's), for a
 * change and its proof. Read fresh: the scope's namespaces (their pods and the policies that can
 * select them) and the cluster-scoped objects (namespaces, AdminNetworkPolicies). From the watched
 * view: every other namespace's pods and policies. A NetworkPolicy or CiliumNetworkPolicy selects
 * pods of its own namespace only, so nothing taken from the view decides what the scope's pods may
 * send or receive; it is the far end of a connection, as fresh as the view's watches. Without a
 * view, or without a namespace named, everything is listed.
 */
export async function readScopeLive(gateway: Pick<KubeGateway, 'objects'>, served: ServedKinds, scope: string | readonly string[], view?: WatchedObjects): Promise<LiveObjects> {
  const scoped = new Set(typeof scope === 'string' ? [scope] : scope);
  if (!view || scoped.size === 0) return readLiveObjects(gateway, served);
  const fresh = async <K extends 'Pod' | 'NetworkPolicy' | 'CiliumNetworkPolicy'>(kind: K, when = true) =>
    when ? (await Promise.all([...scoped].map((namespace) => gateway.objects(kind).list({ namespace })))).flatMap((l) => l.items) : [];
  const cluster = async <K extends 'Namespace' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy'>(kind: K, when = true) => (when ? (await gateway.objects(kind).list()).items : []);
  const [workloads, policies, pods, networkPolicies, ciliumNetworkPolicies, namespaces, adminNetworkPolicies, baselineAdminNetworkPolicies] = await Promise.all([
    view.workloads(),
    view.policies(),
    fresh('Pod'),
    fresh('NetworkPolicy'),
    fresh('CiliumNetworkPolicy', served.ciliumNetworkPolicy),
    cluster('Namespace'),
    cluster('AdminNetworkPolicy', served.adminNetworkPolicy),
    cluster('BaselineAdminNetworkPolicy', served.adminNetworkPolicy),
  ]);
  const inScope: Pick<LiveObjects, (typeof NAMESPACED)[number]> = { pods, networkPolicies, ciliumNetworkPolicies };
  const watched: LiveObjects = { ...workloads, ...policies };
  const live: LiveObjects = { namespaces, adminNetworkPolicies, baselineAdminNetworkPolicies };
  for (const list of NAMESPACED) {
    live[list] = [...(watched[list] ?? []).filter((o) => !scoped.has(namespaceOfObject(o) ?? '')), ...(inScope[list] ?? [])];
  }
  return live;
}
