// Server-side defaulting, as the apiserver does before validation, so objects read back look
// like a real cluster's (protocol TCP, policyTypes filled in, the namespace name label).

import { defaultSchema } from './crd-schema.js';
import { crdSchema } from './crds/index.js';
import type { ResourceType } from './resources.js';
import { isObject } from './validation.js';
import { metaOf, type KubeObject } from './store.js';

function defaultPorts(rules: unknown): void {
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    if (!isObject(rule) || !Array.isArray(rule.ports)) continue;
    for (const port of rule.ports) if (isObject(port) && (port.protocol === undefined || port.protocol === null)) port.protocol = 'TCP';
  }
}

/**
 * `full` defaults a whole object before it is stored. `intent` only normalises values inside what
 * an applier sent (ports get their protocol), so comparisons with the live object are fair
 * without making the applier own fields it never mentioned.
 */
export function applyDefaults(rt: ResourceType, obj: KubeObject, mode: 'full' | 'intent' = 'full'): void {
  const crd = crdSchema(rt);
  if (crd) {
    // CRD defaults only fill fields inside objects the writer sent, so both modes are the same.
    defaultSchema(crd, obj);
    return;
  }
  if (mode === 'intent') {
    if (rt.resource === 'networkpolicies' && isObject(obj.spec)) {
      defaultPorts(obj.spec.ingress);
      defaultPorts(obj.spec.egress);
    }
    return;
  }
  const meta = metaOf(obj);
  if (rt.resource === 'namespaces' && typeof meta.name === 'string') {
    const labels = isObject(meta.labels) ? meta.labels : (meta.labels = {});
    labels['kubernetes.io/metadata.name'] = meta.name;
  }
  if (rt.resource === 'networkpolicies') {
    if (obj.spec === undefined || obj.spec === null) obj.spec = {};
    const spec = obj.spec;
    if (!isObject(spec)) return;
    if (spec.podSelector === undefined || spec.podSelector === null) spec.podSelector = {};
    defaultPorts(spec.ingress);
    defaultPorts(spec.egress);
    if (spec.policyTypes === undefined || spec.policyTypes === null || (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)) {
      // The apiserver's rule: Ingress always, Egress when egress rules are present.
      spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
    }
  }
}
