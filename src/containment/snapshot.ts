// Reads the live objects the policy engine needs to judge a scope: namespaces, pods, and every
// policy kind the cluster serves. Kinds it does not serve are simply absent.
import type { Discovery, KubeGateway } from '../kube/index.js';
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
