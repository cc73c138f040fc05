// Reads the live objects the policy engine needs to judge a scope: namespaces, pods, and every
// policy kind the cluster serves. Kinds it does not serve are simply absent.
import type { Discovery, KubeGateway } from '../kube/index.js';
import type { LiveObjects } from '../policy/index.js';
import type { ServedKinds } from './strategy.js';

export function servedKinds(discovery: Discovery): ServedKinds {
  return { adminNetworkPolicy: discovery.AdminNetworkPolicy.served, ciliumNetworkPolicy: discovery.CiliumNetworkPolicy.served };
}

export async function readLiveObjects(gateway: Pick<KubeGateway, 'objects'>, served: ServedKinds): Promise<LiveObjects> {
  const all = async <K extends 'Namespace' | 'Pod' | 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'CiliumNetworkPolicy'>(kind: K, when = true) =>
    when ? (await gateway.objects(kind).list()).items : [];
  const [namespaces, pods, networkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, ciliumNetworkPolicies] = await Promise.all([
    all('Namespace'),
    all('Pod'),
    all('NetworkPolicy'),
    all('AdminNetworkPolicy', served.adminNetworkPolicy),
    all('BaselineAdminNetworkPolicy', served.adminNetworkPolicy),
    all('CiliumNetworkPolicy', served.ciliumNetworkPolicy),
  ]);
  return { namespaces, pods, networkPolicies, adminNetworkPolicies, baselineAdminNetworkPolicies, ciliumNetworkPolicies };
}
