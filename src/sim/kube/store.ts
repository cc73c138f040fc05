// The simulated cluster's state: objects by type/namespace/name plus the bookkeeping the
// apiserver owns (resourceVersion, uid, creationTimestamp, generation) and a bounded event
// history for watches. No HTTP here; callers validate before they write.

import { randomUUID } from 'node:crypto';
import { deepClone, deepEqual } from './patch.js';
import { ALL_TYPES, apiVersionOf, resourceByName, type ResourceType } from './resources.js';
import { simulatedPodStatus } from './kubelet.js';
import { alreadyExists, conflict, failure, notFound } from './status.js';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  /** The state before a MODIFIED event, so filtered watches can tell "left the selection" apart. */
  previous?: KubeObject;
  resourceVersion: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** creationTimestamp of a new object (seeding a cluster that existed before); default now. */
  createdAt?: Date;
}

const NAMESPACES = resourceByName('namespaces', '') as ResourceType;
/** How many past events a watch can resume from before it gets 410 Gone, like etcd compaction. */
const HISTORY_LIMIT = 10_000;

export function metaOf(obj: KubeObject): Record<string, unknown> {
  if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) obj.metadata = {};
  return obj.metadata;
}

export function kubeTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Equal apart from managedFields timestamps: such a write is a no-op, as on a real apiserver. */
function sameIgnoringTimes(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): KubeObject => {
    const copy = deepClone(o);
    const fields = metaOf(copy).managedFields;
    if (Array.isArray(fields)) for (const f of fields) if (typeof f === 'object' && f !== null) delete (f as Record<string, unknown>).time;
    return copy;
  };
  return deepEqual(strip(a), strip(b));
}

/**
 * What metadata.generation tracks: `spec` for built-in kinds; for custom resources everything but
 * metadata (and status, when it has its own subresource), as the apiextensions server does.
 */
function generationPart(rt: ResourceType, obj: KubeObject): unknown {
  if (!rt.crd) return obj.spec;
  const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = obj;
  return rt.crd.statusSubresource ? rest : { ...rest, status };
}

function setOrDelete(obj: KubeObject, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private revision = 1000;

  constructor(
    private readonly clock: () => Date = () => new Date(),
    private readonly historyLimit = HISTORY_LIMIT,
  ) {}

  now(): Date {
    return this.clock();
  }

  resourceVersion(): string {
    return String(this.revision);
  }

  private key(rt: ResourceType, namespace: string | undefined, name: string): string {
    return `${rt.resource}\u0000${rt.namespaced ? (namespace ?? '') : ''}\u0000${name}`;
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(this.key(rt, namespace, name));
    return found ? deepClone(found) : undefined;
  }

  /** Objects of a type, in one namespace or all, sorted by namespace then name like the apiserver. */
  list(rt: ResourceType, namespace?: string): KubeObject[] {
    return this.listShared(rt, namespace).map(deepClone);
  }

  /**
   * The same, without copying: the stored objects themselves, for a caller that only reads them and
   * copies what it hands out (a list page copies its 500 objects, not the whole kind).
   */
  listShared(rt: ResourceType, namespace?: string): KubeObject[] {
    const out: Array<{ key: string; obj: KubeObject }> = [];
    for (const obj of this.objects.values()) {
      if (obj.kind !== rt.kind) continue;
      const meta = metaOf(obj);
      if (rt.namespaced && namespace !== undefined && meta.namespace !== namespace) continue;
      out.push({ key: `${String(meta.namespace ?? '')}/${String(meta.name)}`, obj });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((e) => e.obj);
  }

  /** The types that have at least one object. */
  kinds(): ResourceType[] {
    const present = new Set([...this.objects.values()].map((o) => o.kind));
    return ALL_TYPES.filter((rt) => present.has(rt.kind));
  }

  namespaceExists(name: string): boolean {
    return this.objects.has(this.key(NAMESPACES, undefined, name));
  }

  private requireNamespace(rt: ResourceType, namespace: string | undefined): void {
    if (!rt.namespaced) return;
    if (!namespace || !this.namespaceExists(namespace)) throw notFound(NAMESPACES, namespace ?? '');
  }

  private commit(type: WatchEventType, rt: ResourceType, obj: KubeObject, previous?: KubeObject): void {
    const event: StoreEvent = { type, resource: rt, object: deepClone(obj), ...(previous ? { previous } : {}), resourceVersion: this.revision };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of this.listeners) listener(event);
  }

  /** Stores a new object; assigns uid, creationTimestamp, resourceVersion and generation. */
  create(rt: ResourceType, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const obj = deepClone(input);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    const meta = metaOf(obj);
    const name = String(meta.name);
    const namespace = rt.namespaced ? (meta.namespace as string | undefined) : undefined;
    if (rt.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    this.requireNamespace(rt, namespace);
    if (this.objects.has(this.key(rt, namespace, name))) throw alreadyExists(rt, name);
    meta.uid = randomUUID();
    meta.creationTimestamp = kubeTimestamp(opts.createdAt ?? this.now());
    if (rt.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    delete meta.deletionTimestamp;
    if (rt.crd?.statusSubresource) delete obj.status;
    if (rt.resource === 'namespaces') obj.status = { phase: 'Active' };
    if (rt.resource === 'pods') obj.status = simulatedPodStatus(obj, meta.creationTimestamp as string);
    if (opts.dryRun) {
      delete meta.resourceVersion;
      return obj;
    }
    this.revision++;
    meta.resourceVersion = String(this.revision);
    this.objects.set(this.key(rt, namespace, name), obj);
    this.commit('ADDED', rt, obj);
    return deepClone(obj);
  }

  /**
   * Replaces an existing object. A resourceVersion in `input` must match the stored one (optimistic
   * concurrency); an absent one means "unconditional", as for patches.
   */
  update(rt: ResourceType, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const obj = deepClone(input);
    obj.apiVersion = apiVersionOf(rt);
    obj.kind = rt.kind;
    const meta = metaOf(obj);
    const name = String(meta.name);
    const namespace = rt.namespaced ? (meta.namespace as string | undefined) : undefined;
    const key = this.key(rt, namespace, name);
    const current = this.objects.get(key);
    if (!current) throw notFound(rt, name);
    const currentMeta = metaOf(current);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== currentMeta.resourceVersion) {
      throw conflict(rt, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    // Server-owned metadata cannot be changed by clients.
    meta.uid = currentMeta.uid;
    meta.creationTimestamp = currentMeta.creationTimestamp;
    if (rt.namespaced) meta.namespace = namespace;
    // With a status subresource, status is written there only: the main resource keeps it.
    if (rt.crd?.statusSubresource) setOrDelete(obj, 'status', current.status);
    if (rt.hasGeneration) {
      const generation = Number(currentMeta.generation ?? 1);
      meta.generation = deepEqual(generationPart(rt, current), generationPart(rt, obj)) ? generation : generation + 1;
    }
    if ((rt.resource === 'namespaces' || rt.resource === 'pods') && obj.status === undefined) obj.status = current.status;
    meta.resourceVersion = currentMeta.resourceVersion;
    if (sameIgnoringTimes(obj, current)) return deepClone(current); // a no-op write does not bump the version
    if (opts.dryRun) return obj;
    this.revision++;
    meta.resourceVersion = String(this.revision);
    this.objects.set(key, obj);
    this.commit('MODIFIED', rt, obj, current);
    return deepClone(obj);
  }

  /** Removes an object (a namespace takes its contents with it). Returns the last state. */
  delete(rt: ResourceType, namespace: string | undefined, name: string, opts: WriteOptions & { uid?: string; resourceVersion?: string } = {}): KubeObject {
    const key = this.key(rt, namespace, name);
    const current = this.objects.get(key);
    if (!current) throw notFound(rt, name);
    const meta = metaOf(current);
    if (opts.uid !== undefined && opts.uid !== meta.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${String(meta.uid)}`);
    }
    if (opts.resourceVersion !== undefined && opts.resourceVersion !== meta.resourceVersion) {
      throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`);
    }
    if (opts.dryRun) return deepClone(current);
    if (rt.resource === 'namespaces') {
      for (const inner of ALL_TYPES.filter((r) => r.namespaced)) {
        for (const child of this.list(inner, name)) this.delete(inner, name, String(metaOf(child).name));
      }
    }
    this.objects.delete(key);
    this.revision++;
    const gone = deepClone(current);
    metaOf(gone).resourceVersion = String(this.revision);
    this.commit('DELETED', rt, gone);
    return gone;
  }

  /** Events after `resourceVersion`, or 'expired' when the history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | 'expired' {
    const oldest = this.history[0];
    if (oldest && resourceVersion < oldest.resourceVersion - 1) return 'expired';
    if (!oldest && resourceVersion < this.revision && this.revision > 1000) return 'expired';
    if (resourceVersion > this.revision) throw failure(504, 'Timeout', `Too large resource version: ${resourceVersion}, current: ${this.revision}`);
    return this.history
      .filter((e) => e.resourceVersion > resourceVersion)
      .map((e) => ({ ...e, object: deepClone(e.object), ...(e.previous ? { previous: deepClone(e.previous) } : {}) }));
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
