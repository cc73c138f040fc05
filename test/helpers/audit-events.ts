// Hand-written audit.k8s.io/v1 Events shaped like kube-apiserver's (its field order, its
// microsecond timestamps), for the kinds no licensed real sample exists for (NetworkPolicy writes).
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FALCO_DIR = join(import.meta.dirname, '../fixtures/audit/falco-k8s-audit');

/** Every line of every Falco k8saudit fixture, with its file. */
export function falcoLines(): { file: string; line: string }[] {
  return readdirSync(FALCO_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) =>
      readFileSync(join(FALCO_DIR, file), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((line) => ({ file, line })),
    );
}

const GROUPS: Record<string, [string, string]> = {
  networkpolicies: ['networking.k8s.io', 'v1'],
  adminnetworkpolicies: ['policy.networking.k8s.io', 'v1alpha1'],
  baselineadminnetworkpolicies: ['policy.networking.k8s.io', 'v1alpha1'],
  ciliumnetworkpolicies: ['cilium.io', 'v2'],
  namespaces: ['', 'v1'],
  pods: ['', 'v1'],
  configmaps: ['', 'v1'],
  deployments: ['apps', 'v1'],
};

export interface EventSpec {
  auditID?: string;
  verb?: string;
  resource?: string;
  namespace?: string;
  name?: string;
  username?: string;
  groups?: string[];
  impersonate?: string;
  userAgent?: string;
  code?: number;
  stage?: string;
  time?: string;
  query?: string;
  requestObject?: unknown;
  responseObject?: unknown;
  level?: string;
}

/** One Event as kube-apiserver serializes it (field order of audit/v1 types.go). */
export function auditEvent(spec: EventSpec = {}): Record<string, unknown> {
  const resource = spec.resource ?? 'networkpolicies';
  const [group, version] = GROUPS[resource] ?? ['example.com', 'v1'];
  const namespaced = !['namespaces', 'adminnetworkpolicies', 'baselineadminnetworkpolicies'].includes(resource);
  const namespace = spec.namespace ?? (namespaced ? 'db' : undefined);
  const name = spec.name ?? (resource === 'namespaces' ? 'db' : 'allow-db-from-api');
  const verb = spec.verb ?? 'patch';
  const base = group ? `/apis/${group}/${version}` : '/api/v1';
  const collection = `${base}${namespace && resource !== 'namespaces' ? `/namespaces/${namespace}` : ''}/${resource}`;
  const requestURI = `${verb === 'create' ? collection : `${collection}/${name}`}${spec.query ? `?${spec.query}` : ''}`;
  const time = spec.time ?? '2026-11-30T10:00:00.123456Z';
  const code = spec.code ?? (verb === 'create' ? 201 : 200);
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: spec.level ?? 'RequestResponse',
    auditID: spec.auditID ?? randomUUID(),
    stage: spec.stage ?? 'ResponseComplete',
    requestURI,
    verb,
    user: { username: spec.username ?? 'admin@corp', groups: spec.groups ?? ['system:authenticated'] },
    ...(spec.impersonate ? { impersonatedUser: { username: spec.impersonate, groups: ['developers'] } } : {}),
    sourceIPs: ['10.0.4.21'],
    userAgent: spec.userAgent ?? 'kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b',
    objectRef: {
      resource,
      ...(namespace ? { namespace } : {}),
      ...(verb === 'create' ? {} : { name }),
      ...(group ? { apiGroup: group } : {}),
      apiVersion: version,
    },
    responseStatus: { metadata: {}, ...(code >= 400 ? { status: 'Failure', message: 'denied', reason: code === 403 ? 'Forbidden' : 'Invalid' } : {}), code },
    ...(spec.requestObject !== undefined ? { requestObject: spec.requestObject } : {}),
    ...(spec.responseObject !== undefined ? { responseObject: spec.responseObject } : {}),
    requestReceivedTimestamp: time,
    stageTimestamp: time,
    annotations: { 'authorization.k8s.io/decision': code === 403 ? 'forbid' : 'allow', 'authorization.k8s.io/reason': '' },
  };
}

export function auditLine(spec: EventSpec = {}): string {
  return JSON.stringify(auditEvent(spec));
}

/** A webhook body as the apiserver's webhook backend sends it (items carry no kind/apiVersion of their own). */
export function eventList(items: Record<string, unknown>[], apiVersion = 'audit.k8s.io/v1'): string {
  return JSON.stringify({ kind: 'EventList', apiVersion, metadata: {}, items: items.map(({ kind: _k, apiVersion: _v, ...rest }) => rest) });
}
