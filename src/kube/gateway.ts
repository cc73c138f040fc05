// The bot's only door to the Kubernetes API. Reads pods and policies, applies policies with
// server-side apply (idempotent: the same intent twice is one change), deletes tolerating 404,
// and turns every failure into a KubeApiError. objects(kind) is the generic API for every kind
// containment touches (objects.ts); discoverKinds() says which the cluster serves; watch() is
// the resilient watch (watch.ts).

import {
  CoreV1Api,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { makeApiClientWithTimeout } from './api-client.js';
import { discoverKinds, type Discovery } from './discovery.js';
import { KubeApiError, toKubeApiError } from './errors.js';
import type { KindName, KindObjects } from './kinds.js';
import { parseLabelSelector } from './label-selector.js';
import { createObjectClient, type ObjectClient } from './objects.js';
import { createWatchHub, isShareable } from './shared-watch.js';
import { watchKind, type KindWatch, type KindWatchOptions, type WatchEvent } from './watch.js';

export interface ApplyOptions {
  fieldManager: string;
  dryRun?: boolean;
  force?: boolean;
}

export interface KubeGateway {
  namespaceExists(name: string): Promise<boolean>;
  listNamespaces(): Promise<V1Namespace[]>;
  /** Every pod / NetworkPolicy in the cluster, for the policy engine's view of connectivity. */
  listAllPods(): Promise<V1Pod[]>;
  listAllNetworkPolicies(): Promise<V1NetworkPolicy[]>;
  listPods(namespace: string, labelSelector?: string): Promise<V1Pod[]>;
  listNetworkPolicies(namespace: string): Promise<V1NetworkPolicy[]>;
  getNetworkPolicy(namespace: string, name: string): Promise<V1NetworkPolicy | undefined>;
  /** Server-side apply; returns the object as stored (or as it would be, on dry run). */
  applyNetworkPolicy(policy: V1NetworkPolicy, opts: ApplyOptions): Promise<V1NetworkPolicy>;
  /** True when deleted, false when it was already gone. */
  deleteNetworkPolicy(namespace: string, name: string): Promise<boolean>;
  /** get/list/apply/create/replace/mergePatch/delete on one kind, as plain JSON objects. */
  objects<K extends KindName>(kind: K): ObjectClient<KindObjects[K]>;
  /**
   * Which of the known kinds the cluster serves, each with a reason. Calls made while one is in
   * flight share its answer (containments, drift and validations starting at the same moment).
   */
  discoverKinds(): Promise<Discovery>;
  /**
   * Lists, then watches `kind`, surviving cut streams, 410 Gone and API server restarts. Watches of
   * a whole kind share one list and stream per gateway (shared-watch.ts); filtered ones are their own.
   */
  watch<K extends KindName>(kind: K, handler: (event: WatchEvent<KindObjects[K]>) => void | Promise<void>, opts?: KindWatchOptions): KindWatch;
}

const APPLY_HEADERS = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** Server-owned metadata must not travel in an apply: resourceVersion would become a precondition. */
function applyIntent(policy: V1NetworkPolicy): Record<string, unknown> {
  const { metadata = {}, spec } = policy;
  const { name, namespace, labels, annotations } = metadata;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    ...(spec ? { spec } : {}),
  };
}

function requireName(what: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.trim() === '') throw new KubeApiError({ status: 400, reason: 'BadRequest', message: `${what} is required` });
  return value;
}

async function translate<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toKubeApiError(error, action);
  }
}

async function unlessNotFound<T>(action: string, call: () => Promise<T>, whenMissing: T): Promise<T> {
  try {
    return await translate(action, call);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return whenMissing;
    throw error;
  }
}

export function createKubeGateway(kc: KubeConfig): KubeGateway {
  const core = makeApiClientWithTimeout(kc, CoreV1Api);
  const networking = makeApiClientWithTimeout(kc, NetworkingV1Api);
  const clients = new Map<KindName, ObjectClient<KindObjects[KindName]>>();
  const objects = <K extends KindName>(kind: K): ObjectClient<KindObjects[K]> => {
    let client = clients.get(kind);
    if (!client) {
      client = createObjectClient(kc, kind) as ObjectClient<KindObjects[KindName]>;
      clients.set(kind, client);
    }
    return client as ObjectClient<KindObjects[K]>;
  };
  // Shared only while in flight: never cached, so a CRD installed since is seen by the next call.
  let discovering: Promise<Discovery> | undefined;
  const hub = createWatchHub();
  return {
    objects,
    discoverKinds: () => {
      discovering ??= discoverKinds(kc).finally(() => {
        discovering = undefined;
      });
      return discovering;
    },
    watch: (kind, handler, opts = {}) =>
      isShareable(opts)
        ? hub.subscribe(kind, (shared, sharedOpts) => watchKind(kc, objects(kind), shared, sharedOpts), handler as (event: WatchEvent<unknown>) => void | Promise<void>, opts)
        : watchKind(kc, objects(kind), handler, opts),
    // Every method is async so that argument errors arrive as rejections, like API errors.
    async namespaceExists(name) {
      requireName('namespace', name);
      return unlessNotFound(`read namespace ${name}`, async () => (await core.readNamespace({ name }), true), false);
    },
    async listNamespaces() {
      return (await translate('list namespaces', () => core.listNamespace())).items;
    },
    async listAllPods() {
      return (await translate('list pods in all namespaces', () => core.listPodForAllNamespaces())).items;
    },
    async listAllNetworkPolicies() {
      return (await translate('list networkpolicies in all namespaces', () => networking.listNetworkPolicyForAllNamespaces())).items;
    },
    async listPods(namespace, labelSelector) {
      requireName('namespace', namespace);
      // Validated here so a typo gets a precise message rather than the apiserver's generic 400.
      if (labelSelector !== undefined && labelSelector.trim() !== '') parseLabelSelector(labelSelector);
      const list = await translate(`list pods in ${namespace}`, () =>
        core.listNamespacedPod({ namespace, ...(labelSelector?.trim() ? { labelSelector } : {}) }),
      );
      return list.items;
    },
    async listNetworkPolicies(namespace) {
      requireName('namespace', namespace);
      const list = await translate(`list networkpolicies in ${namespace}`, () => networking.listNamespacedNetworkPolicy({ namespace }));
      return list.items;
    },
    async getNetworkPolicy(namespace, name) {
      requireName('namespace', namespace);
      requireName('name', name);
      return unlessNotFound<V1NetworkPolicy | undefined>(
        `get networkpolicy ${namespace}/${name}`,
        () => networking.readNamespacedNetworkPolicy({ namespace, name }),
        undefined,
      );
    },
    async applyNetworkPolicy(policy, opts) {
      const name = requireName('policy metadata.name', policy.metadata?.name);
      const namespace = requireName('policy metadata.namespace', policy.metadata?.namespace);
      const fieldManager = requireName('fieldManager', opts.fieldManager);
      return translate(`apply networkpolicy ${namespace}/${name}`, () =>
        networking.patchNamespacedNetworkPolicy(
          {
            name,
            namespace,
            body: applyIntent(policy),
            fieldManager,
            ...(opts.force ? { force: true } : {}),
            ...(opts.dryRun ? { dryRun: 'All' } : {}),
          },
          APPLY_HEADERS,
        ),
      );
    },
    async deleteNetworkPolicy(namespace, name) {
      requireName('namespace', namespace);
      requireName('name', name);
      return unlessNotFound(
        `delete networkpolicy ${namespace}/${name}`,
        async () => (await networking.deleteNamespacedNetworkPolicy({ namespace, name }), true),
        false,
      );
    },
  };
}
