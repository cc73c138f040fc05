// Storing objects directly (scenarios and tests), defaulted and validated like API requests: all
// or nothing. Only kinds the cluster serves can be stored, as on a cluster without the CRD.

import type { Catalog } from './catalog.js';
import { applyDefaults } from './defaults.js';
import { recordUpdate } from './managed-fields.js';
import { apiVersionOf, resourceByName, resourceForKind, resourceForList, type ResourceType } from './resources.js';
import { alreadyExists, invalid } from './status.js';
import { kubeTimestamp, metaOf, type KubeObject, type ObjectStore } from './store.js';
import { isObject, validateObject } from './validation.js';

const NAMESPACES = resourceByName('namespaces', '') as ResourceType;

function served(catalog: Catalog): string {
  return catalog.types().map((t) => t.kind).join(', ');
}

function flattenSeed(objects: readonly unknown[], catalog: Catalog): Array<{ rt: ResourceType; obj: KubeObject }> {
  const out: Array<{ rt: ResourceType; obj: KubeObject }> = [];
  const visit = (value: unknown): void => {
    if (!isObject(value) || typeof value.kind !== 'string') throw new Error(`seed: every object needs a kind, got ${JSON.stringify(value)?.slice(0, 120)}`);
    const listOf = resourceForList(value.kind);
    if (value.kind === 'List' || listOf) {
      if (!Array.isArray(value.items)) throw new Error(`seed: ${value.kind} without items`);
      for (const item of value.items) visit(listOf && isObject(item) && !item.kind ? { ...item, kind: listOf.kind } : item);
      return;
    }
    const rt = resourceForKind(value.kind);
    if (!rt || rt.kind !== value.kind) throw new Error(`seed: unsupported kind "${value.kind}" (supported: ${served(catalog)} and their lists)`);
    if (!catalog.served(rt)) {
      throw new Error(`seed: ${rt.kind} is not served by this simulated cluster: its CRD is installed by the cluster option ${rt.crd?.feature === 'cilium' ? "cni: 'cilium'" : `${String(rt.crd?.feature)}: true`}`);
    }
    out.push({ rt, obj: structuredClone(value) as KubeObject });
  };
  objects.forEach(visit);
  // Namespaces first, so that the objects inside them can be stored.
  return out.sort((a, b) => Number(b.rt.resource === 'namespaces') - Number(a.rt.resource === 'namespaces'));
}

/** Stores `objects` (creating missing namespaces) and returns them as stored. */
export function seedObjects(store: ObjectStore, catalog: Catalog, objects: readonly unknown[], manager: string, createdAt?: Date): KubeObject[] {
  const entries = flattenSeed(objects, catalog);
  // Check everything first: a seed either stores all its objects or none.
  const seen = new Set<string>();
  for (const { rt, obj } of entries) {
    const meta = metaOf(obj);
    if (rt.namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '')) meta.namespace = 'default';
    if (!rt.namespaced) delete meta.namespace;
    delete meta.resourceVersion;
    applyDefaults(rt, obj);
    const name = String(meta.name ?? '');
    const errors = validateObject(rt, obj);
    if (errors.length > 0) throw invalid({ group: rt.group, kind: rt.kind }, name, errors);
    const key = `${rt.resource}/${rt.namespaced ? String(meta.namespace) : ''}/${name}`;
    if (seen.has(key) || store.get(rt, meta.namespace as string | undefined, name)) throw alreadyExists(rt, name);
    seen.add(key);
  }
  const stored: KubeObject[] = [];
  for (const { rt, obj } of entries) {
    const meta = metaOf(obj);
    const ns = meta.namespace as string | undefined;
    if (rt.namespaced && ns && !store.namespaceExists(ns)) {
      const nsObj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
      applyDefaults(NAMESPACES, nsObj);
      recordUpdate(undefined, nsObj, manager, 'v1', kubeTimestamp(createdAt ?? store.now()));
      store.create(NAMESPACES, nsObj, createdAt ? { createdAt } : {});
    }
    if (!Array.isArray(meta.managedFields)) recordUpdate(undefined, obj, manager, apiVersionOf(rt), kubeTimestamp(createdAt ?? store.now()));
    stored.push(store.create(rt, obj, createdAt ? { createdAt } : {}));
  }
  return stored;
}
