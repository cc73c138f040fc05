// Public face of the simulated Kubernetes API server: start it on loopback, point a kubeconfig
// at it, seed it, look inside it, and make it deny or fail requests on purpose.

import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AccessControl, type DelayRule, type DenyRule, type FaultRule, type RecordedRequest } from './access.js';
import { AuditLog, type AuditEvent } from './audit.js';
import { applyDefaults } from './defaults.js';
import { recordUpdate } from './managed-fields.js';
import { apiVersionOf, resourceForKind, resourceForList, resourceByName, type ResourceType } from './resources.js';
import { createKubeHttpServer } from './server.js';
import { createSelfSignedCertificate } from './tls.js';
import { alreadyExists, invalid } from './status.js';
import { kubeTimestamp, metaOf, ObjectStore, type KubeObject } from './store.js';
import { isObject, validateObject } from './validation.js';

export type { DelayRule, DenyRule, FaultRule, RecordedRequest } from './access.js';
export type { AuditEvent } from './audit.js';
export type { KubeObject } from './store.js';
export type { ResourceName, Verb } from './resources.js';

export const SIM_CONTEXT = 'netpol-sim';
export const DEFAULT_SIM_USER = 'netpol-sim-admin';

export interface KubeApiSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Bearer token → user name. Default: one admin user with a random token. */
  users?: Record<string, string>;
  /** Clock for creationTimestamp and managedFields times. */
  clock?: () => Date;
  /** How many past events watches can resume from (older ones get 410 Expired). Default 10000. */
  watchHistoryLimit?: number;
  /** Also append audit events as JSON lines to this file, like the apiserver's --audit-log-path. */
  auditLogPath?: string;
}

export interface SeedOptions {
  /** Manager recorded in managedFields for seeded objects that carry none. Default "netpol-sim-seed". */
  fieldManager?: string;
}

export interface KubeApiSim {
  /** https://127.0.0.1:<port> (HTTPS: kubectl sends bearer tokens only over TLS). */
  readonly url: string;
  /** PEM of the server's self-signed certificate; trust it to talk to `url` directly. */
  readonly caPem: string;
  /** Every request received, in order (method, path, query, status, user, verb, resource, namespace). */
  readonly requests: RecordedRequest[];
  /**
   * audit.k8s.io/v1 events for resource requests, in completion order: RequestResponse level (with
   * request and response bodies) for NetworkPolicy writes, Metadata level otherwise.
   */
  readonly auditEvents: AuditEvent[];
  /** Writes a kubeconfig (context, cluster and user all named "netpol-sim") and returns its path. */
  writeKubeconfig(dir: string, user?: string): string;
  /** The bearer token of `user` (minted on first use). */
  tokenFor(user: string): string;
  /**
   * Stores Namespace, Pod and NetworkPolicy objects (and List/NamespaceList/PodList/NetworkPolicyList
   * of them), defaulted and validated like API requests; all or nothing. Objects without a namespace
   * go to "default"; missing namespaces are created. Returns the stored objects.
   */
  seed(objects: readonly unknown[], opts?: SeedOptions): KubeObject[];
  /** A stored object by kind ("NetworkPolicy", "netpol", "pods", …), or undefined. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  /** Current resourceVersion of the store. */
  resourceVersion(): string;
  /** Makes a verb forbidden (403); returns a function that lifts the denial. */
  deny(rule: DenyRule): () => void;
  clearDenials(): void;
  /** The next `times` matching resource requests fail with `status`. */
  injectFault(rule: FaultRule): void;
  /** The next `times` matching resource requests are answered only after `ms` (a slow API server). */
  injectDelay(rule: DelayRule): void;
  /** Clears injected faults and delays. */
  clearFaults(): void;
  clearRequests(): void;
  close(): Promise<void>;
}

function typeFor(kind: string): ResourceType {
  const rt = resourceForKind(kind);
  if (!rt) throw new Error(`the simulated API server has no resource type "${kind}" (known: Namespace, Pod, NetworkPolicy)`);
  return rt;
}

function flattenSeed(objects: readonly unknown[]): Array<{ rt: ResourceType; obj: KubeObject }> {
  const out: Array<{ rt: ResourceType; obj: KubeObject }> = [];
  const visit = (value: unknown): void => {
    if (!isObject(value) || typeof value.kind !== 'string') throw new Error(`seed: every object needs a kind, got ${JSON.stringify(value)?.slice(0, 120)}`);
    if (value.kind === 'List' || resourceForList(value.kind)) {
      if (!Array.isArray(value.items)) throw new Error(`seed: ${value.kind} without items`);
      for (const item of value.items) visit(resourceForList(value.kind) && isObject(item) && !item.kind ? { ...item, kind: resourceForList(value.kind)?.kind } : item);
      return;
    }
    const rt = resourceForKind(value.kind);
    if (!rt || rt.kind !== value.kind) throw new Error(`seed: unsupported kind "${value.kind}" (supported: Namespace, Pod, NetworkPolicy and their lists)`);
    out.push({ rt, obj: structuredClone(value) as KubeObject });
  };
  objects.forEach(visit);
  // Namespaces first, so that the objects inside them can be stored.
  return out.sort((a, b) => Number(b.rt.resource === 'namespaces') - Number(a.rt.resource === 'namespaces'));
}

export async function startKubeApiServer(opts: KubeApiSimOptions = {}): Promise<KubeApiSim> {
  const store = new ObjectStore(opts.clock, opts.watchHistoryLimit);
  const users = opts.users ?? { [`sim-admin-${Math.random().toString(36).slice(2)}`]: DEFAULT_SIM_USER };
  const access = new AccessControl(users);
  const defaultUser = Object.values(users)[0] ?? DEFAULT_SIM_USER;
  const requests: RecordedRequest[] = [];
  const audit = new AuditLog(opts.auditLogPath);
  let url = '';
  const tls = createSelfSignedCertificate();
  const server = createKubeHttpServer({ store, access, requests, tls, audit, address: () => url.replace(/^https:\/\//, '') });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const namespaces = resourceByName('namespaces', '') as ResourceType;

  const sim: KubeApiSim = {
    url,
    caPem: tls.certPem,
    requests,
    auditEvents: audit.events,
    writeKubeconfig(dir, user = defaultUser) {
      mkdirSync(dir, { recursive: true });
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: SIM_CONTEXT, cluster: { server: url, 'certificate-authority-data': Buffer.from(tls.certPem).toString('base64') } }],
        users: [{ name: SIM_CONTEXT, user: { token: access.tokenFor(user) } }],
        contexts: [{ name: SIM_CONTEXT, context: { cluster: SIM_CONTEXT, user: SIM_CONTEXT } }],
        'current-context': SIM_CONTEXT,
        preferences: {},
      };
      const file = join(dir, user === defaultUser ? 'kubeconfig' : `kubeconfig-${user.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
      writeFileSync(file, stringify(config), { mode: 0o600 });
      return file;
    },
    tokenFor: (user) => access.tokenFor(user),
    seed(objects, seedOpts = {}) {
      const manager = seedOpts.fieldManager ?? 'netpol-sim-seed';
      const entries = flattenSeed(objects);
      // Check everything first: a seed either stores all its objects or none.
      const seen = new Set<string>();
      for (const { rt, obj } of entries) {
        const meta = metaOf(obj);
        if (rt.namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '')) meta.namespace = 'default';
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
          applyDefaults(namespaces, nsObj);
          recordUpdate(undefined, nsObj, manager, 'v1', kubeTimestamp(store.now()));
          store.create(namespaces, nsObj);
        }
        if (!Array.isArray(meta.managedFields)) recordUpdate(undefined, obj, manager, apiVersionOf(rt), kubeTimestamp(store.now()));
        stored.push(store.create(rt, obj));
      }
      return stored;
    },
    get: (kind, namespace, name) => store.get(typeFor(kind), namespace, name),
    list: (kind, namespace) => store.list(typeFor(kind), namespace),
    resourceVersion: () => store.resourceVersion(),
    deny: (rule) => access.deny(rule),
    clearDenials: () => access.clearDenials(),
    injectFault: (rule) => access.injectFault(rule),
    injectDelay: (rule) => access.injectDelay(rule),
    clearFaults: () => access.clearFaults(),
    clearRequests: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open watches and idle keep-alive sockets would otherwise hold close() forever.
        server.closeAllConnections();
      }),
  };
  return sim;
}
