// The structural schema of each custom resource the simulator can serve, by plural name.

import type { Schema } from '../crd-schema.js';
import type { ResourceType } from '../resources.js';
import { ADMIN_NETWORK_POLICY, BASELINE_ADMIN_NETWORK_POLICY } from './admin-network-policy.js';
import { APPLICATION } from './argocd.js';
import { CILIUM_NETWORK_POLICY } from './cilium.js';

const SCHEMAS: Record<string, Schema> = {
  adminnetworkpolicies: ADMIN_NETWORK_POLICY,
  baselineadminnetworkpolicies: BASELINE_ADMIN_NETWORK_POLICY,
  ciliumnetworkpolicies: CILIUM_NETWORK_POLICY,
  ciliumclusterwidenetworkpolicies: CILIUM_NETWORK_POLICY,
  applications: APPLICATION,
};

export function crdSchema(rt: ResourceType): Schema | undefined {
  return rt.crd ? SCHEMAS[rt.resource] : undefined;
}
