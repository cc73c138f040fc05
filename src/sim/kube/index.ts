// Public face of the simulated Kubernetes API server: start it on loopback, point a kubeconfig
// at it, seed it, look inside it, and make it deny or fail requests on purpose.

import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AccessControl, type DelayRule, type DenyRule, type FaultRule, type RecordedRequest } from './access.js';
import { AuditLog, type AuditEvent } from './audit.js';
import { AuditWebhookSender, type AuditWebhookStats, type AuditWebhookTarget } from './audit-webhook.js';
import { Catalog, type ClusterOptions } from './catalog.js';
import { resourceForKind, type ResourceType } from './resources.js';
import { seedObjects } from './seed.js';
import { parseFilter, filterMatches } from './selectors.js';
import { createKubeHttpServer } from './server.js';
import { createSelfSignedCertificate } from './tls.js';
import { metaOf, ObjectStore, type KubeObject } from './store.js';
import { WatchHub } from './watch.js';
import { planRollout } from './workloads.js';

export type { DelayRule, DenyRule, FaultRule, RecordedRequest } from './access.js';
export type { AuditEvent } from './audit.js';
export type { AuditWebhookStats, AuditWebhookTarget } from './audit-webhook.js';
export type { KubeObject } from './store.js';
export type { ClusterOptions } from './catalog.js';
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
  /** Which CRDs the cluster has installed. Default: none (Namespace, Pod, NetworkPolicy only). */
  cluster?: ClusterOptions;
  /** How often watches that allow bookmarks get one. Default 60000 (the apiserver's minute). */
  watchBookmarkIntervalMs?: number;
}

export interface RolloutResult {
  /** Names of the pods that went away. */
  removed: string[];
  /** The pods that replaced them, as stored. */
  added: KubeObject[];
}

export interface SeedOptions {
  /** Manager recorded in managedFields for seeded objects that carry none. Default "netpol-sim-seed". */
  fieldManager?: string;
  /** When the seeded objects were created (a cluster that existed before); default now. */
  createdAt?: Date;
}

export interface KubeApiSim {
  /** https://127.0.0.1:<port> (HTTPS: kubectl sends bearer tokens only over TLS). */
  readonly url: string;
  /** PEM of the server's self-signed certificate; trust it to talk to `url` directly. */
  readonly caPem: string;
  /** Every request received, in order (method, path, query, status, user, verb, resource, namespace). */
  readonly requests: RecordedRequest[];
  /** TLS connections accepted so far, and how many of them resumed an earlier session (no full handshake). */
  tlsConnections(): { total: number; resumed: number };
  /**
   * audit.k8s.io/v1 events for resource requests, in completion order: RequestResponse level (with
   * request and response bodies) for NetworkPolicy writes, Metadata level otherwise.
   */
  readonly auditEvents: AuditEvent[];
  /**
   * Also posts audit events to this webhook from now on, batched as kube-apiserver's webhook
   * backend does (undefined stops it). Returns the sender's delivery figures.
   */
  setAuditWebhook(target: AuditWebhookTarget | undefined): AuditWebhookStats | undefined;
  /** Sends the audit events waiting for the webhook now; resolves when delivered or dropped. */
  flushAuditWebhook(): Promise<void>;
  /** Writes a kubeconfig (context, cluster and user all named "netpol-sim") and returns its path. */
  writeKubeconfig(dir: string, user?: string): string;
  /** The bearer token of `user` (minted on first use). */
  tokenFor(user: string): string;
  /**
   * Stores objects of the served kinds (and List or <Kind>List of them), defaulted and validated
   * like API requests; all or nothing. Objects without a namespace
   * go to "default"; missing namespaces are created. Returns the stored objects.
   */
  seed(objects: readonly unknown[], opts?: SeedOptions): KubeObject[];
  /** A stored object by kind ("NetworkPolicy", "netpol", "pods", …), or undefined. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  /** Current resourceVersion of the store. */
  resourceVersion(): string;
  /** The CRDs the cluster serves now. */
  cluster(): ClusterOptions;
  /**
   * Installs or removes CRDs while running. Removing one deletes its objects (as deleting a CRD
   * does) and makes its paths 404; discovery changes at once.
   */
  setCluster(opts: ClusterOptions): void;
  /**
   * Rolls the workloads of the pods in `namespace` that match `labelSelector`, as their controllers
   * would: ReplicaSet pods are replaced by new pods (new names and pod-template-hash, same app
   * labels, new IPs) before they go; StatefulSet pods come back under their names. Watches see it.
   */
  rollPods(namespace: string, labelSelector: string): RolloutResult;
  /** Open watch streams right now. */
  openWatches(): number;
  /** Cuts every open watch stream abruptly (no final chunk); returns how many. */
  cutWatches(): number;
  /** Sends a BOOKMARK on every open watch that allows them, now. */
  sendBookmarks(): void;
  /**
   * Stops and starts the server on the same port with the same certificate and tokens, as an
   * apiserver restart: open connections drop. With keepState false the store starts empty and its
   * resourceVersions start over, as a cluster rebuilt from scratch (old versions become "too large").
   */
  restart(opts?: { keepState?: boolean }): Promise<void>;
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
  if (!rt) throw new Error(`the simulated API server has no resource type "${kind}"`);
  return rt;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Every socket of the server, including those still in the TLS handshake (closeAllConnections misses them). */
const sockets = new WeakMap<Server, Set<Socket>>();

/** TLS connections accepted, by server. */
const accepted = new WeakMap<Server, { total: number; resumed: number }>();

function track(server: Server): Server {
  const open = new Set<Socket>();
  sockets.set(server, open);
  const tally = { total: 0, resumed: 0 };
  accepted.set(server, tally);
  server.on('secureConnection', (socket: TLSSocket) => {
    tally.total++;
    if (socket.isSessionReused()) tally.resumed++;
  });
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return server;
}

function shutDown(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Open watches and idle keep-alive sockets would otherwise hold close() forever; so would a
    // connection whose handshake was still running (a client reconnecting right then).
    server.closeAllConnections();
    for (const socket of sockets.get(server) ?? []) socket.destroy();
  });
}

export async function startKubeApiServer(opts: KubeApiSimOptions = {}): Promise<KubeApiSim> {
  let store = new ObjectStore(opts.clock, opts.watchHistoryLimit);
  const catalog = new Catalog(opts.cluster);
  const users = opts.users ?? { [`sim-admin-${Math.random().toString(36).slice(2)}`]: DEFAULT_SIM_USER };
  const access = new AccessControl(users);
  const defaultUser = Object.values(users)[0] ?? DEFAULT_SIM_USER;
  const requests: RecordedRequest[] = [];
  const audit = new AuditLog(opts.auditLogPath);
  let url = '';
  const tls = createSelfSignedCertificate();
  let watches = new WatchHub(opts.watchBookmarkIntervalMs);
  const makeServer = (): Server =>
    track(createKubeHttpServer({ store, catalog, watches, access, requests, tls, audit, address: () => url.replace(/^https:\/\//, '') }));
  let server = makeServer();
  const port = await listen(server, opts.port ?? 0);
  url = `https://127.0.0.1:${port}`;

  const sim: KubeApiSim = {
    url,
    caPem: tls.certPem,
    requests,
    tlsConnections: () => ({ ...(accepted.get(server) ?? { total: 0, resumed: 0 }) }),
    auditEvents: audit.events,
    setAuditWebhook(target) {
      void audit.webhook?.close();
      audit.webhook = target ? new AuditWebhookSender(target) : undefined;
      return audit.webhook?.stats;
    },
    flushAuditWebhook: () => audit.webhook?.flush() ?? Promise.resolve(),
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
    seed: (objects, seedOpts = {}) => seedObjects(store, catalog, objects, seedOpts.fieldManager ?? 'netpol-sim-seed', seedOpts.createdAt),
    get: (kind, namespace, name) => store.get(typeFor(kind), namespace, name),
    list: (kind, namespace) => store.list(typeFor(kind), namespace),
    resourceVersion: () => store.resourceVersion(),
    cluster: () => catalog.options(),
    setCluster(next) {
      catalog.configure(next);
      for (const rt of store.kinds()) {
        if (catalog.served(rt)) continue;
        for (const o of store.list(rt)) store.delete(rt, metaOf(o).namespace as string | undefined, String(metaOf(o).name));
      }
    },
    rollPods(namespace, labelSelector) {
      const pods = typeFor('Pod');
      const filter = parseFilter(pods, new URLSearchParams({ labelSelector }));
      const chosen = store.list(pods, namespace).filter((p) => filterMatches(pods, filter, p));
      if (chosen.length === 0) throw new Error(`rollPods: no pod in namespace "${namespace}" matches "${labelSelector}"`);
      const plan = planRollout(chosen, store.list(pods));
      const added = seedObjects(store, catalog, plan.createFirst, 'kube-controller-manager');
      for (const name of plan.remove) store.delete(pods, namespace, name);
      added.push(...seedObjects(store, catalog, plan.createAfter, 'kube-controller-manager'));
      return { removed: plan.remove, added };
    },
    openWatches: () => watches.size,
    cutWatches: () => watches.cutAll(),
    sendBookmarks: () => watches.bookmarkAll(),
    async restart(restartOpts = {}) {
      await shutDown(server);
      if (restartOpts.keepState === false) store = new ObjectStore(opts.clock, opts.watchHistoryLimit);
      watches = new WatchHub(opts.watchBookmarkIntervalMs);
      server = makeServer();
      await listen(server, port);
    },
    deny: (rule) => access.deny(rule),
    clearDenials: () => access.clearDenials(),
    injectFault: (rule) => access.injectFault(rule),
    injectDelay: (rule) => access.injectDelay(rule),
    clearFaults: () => access.clearFaults(),
    clearRequests: () => {
      requests.length = 0;
    },
    close: async () => {
      await audit.webhook?.close();
      await shutDown(server);
    },
  };
  return sim;
}
