// Known fields of the served types, for the apiserver's field validation: with
// `fieldValidation=Strict` (kubectl's default) an unknown field such as a misspelt `podSelectr`
// is a 400; otherwise it is dropped with a warning, as a real cluster does. Pure.

import { pruneSchema } from './crd-schema.js';
import { crdSchema } from './crds/index.js';
import type { ResourceType } from './resources.js';

type Schema = 'any' | 'map' | { [field: string]: Schema } | [Schema];

const ANY = 'any' as const;
const MAP = 'map' as const;

const OBJECT_META: Schema = {
  name: ANY,
  generateName: ANY,
  namespace: ANY,
  selfLink: ANY,
  uid: ANY,
  resourceVersion: ANY,
  generation: ANY,
  creationTimestamp: ANY,
  deletionTimestamp: ANY,
  deletionGracePeriodSeconds: ANY,
  labels: MAP,
  annotations: MAP,
  ownerReferences: ANY,
  finalizers: ANY,
  managedFields: ANY,
};

const LABEL_SELECTOR: Schema = { matchLabels: MAP, matchExpressions: [{ key: ANY, operator: ANY, values: ANY }] };
const PORT: Schema = { protocol: ANY, port: ANY, endPort: ANY };
const PEER: Schema = { podSelector: LABEL_SELECTOR, namespaceSelector: LABEL_SELECTOR, ipBlock: { cidr: ANY, except: ANY } };

const TOP = { apiVersion: ANY, kind: ANY, metadata: OBJECT_META };

const SCHEMAS: Record<string, Schema> = {
  networkpolicies: {
    ...TOP,
    spec: {
      podSelector: LABEL_SELECTOR,
      policyTypes: ANY,
      ingress: [{ from: [PEER], ports: [PORT] }],
      egress: [{ to: [PEER], ports: [PORT] }],
    },
    status: ANY,
  },
  // Pods and namespaces have large specs the simulator does not interpret: checked at the top only.
  pods: { ...TOP, spec: ANY, status: ANY },
  namespaces: { ...TOP, spec: ANY, status: ANY },
};

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(schema: Schema, value: unknown, path: string, out: string[], prune: boolean): void {
  if (schema === ANY || schema === MAP) return;
  if (Array.isArray(schema)) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(schema[0], item, `${path}[${i}]`, out, prune));
    return;
  }
  if (!isObj(value)) return;
  for (const key of Object.keys(value)) {
    const child = path ? `${path}.${key}` : key;
    const sub = schema[key];
    if (sub === undefined) {
      out.push(child);
      if (prune) delete value[key];
    } else {
      walk(sub, value[key], child, out, prune);
    }
  }
}

function collect(rt: ResourceType, obj: unknown, prune: boolean): string[] {
  const out: string[] = [];
  const crd = crdSchema(rt);
  if (crd) {
    // A custom resource: ObjectMeta as for every kind, the rest by the CRD's structural schema.
    if (isObj(obj)) walk(OBJECT_META, obj.metadata, 'metadata', out, prune);
    pruneSchema(crd, obj, '', out, prune);
  } else {
    const schema = SCHEMAS[rt.resource];
    if (schema) walk(schema, obj, '', out, prune);
  }
  return out.sort();
}

/** Paths of fields the type does not have, e.g. `spec.podSelectr`, `spec.ingress[0].form`. */
export function unknownFields(rt: ResourceType, obj: unknown): string[] {
  return collect(rt, structuredClone(obj), false);
}

/**
 * Removes unknown fields in place (what the apiserver's decoder does when not strict), and for
 * custom resources the nulls of fields that are not nullable.
 */
export function pruneUnknownFields(rt: ResourceType, obj: unknown): string[] {
  return collect(rt, obj, true);
}
