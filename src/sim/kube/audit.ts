// Kubernetes audit events (audit.k8s.io/v1) for what the simulated API server did, as a real
// apiserver with an audit policy would log them: RequestResponse for writes to the policy kinds
// and Namespaces (who changed what, with the body; as deploy/audit-policy.yaml asks), Metadata for
// everything else. The bot's "Trace & Audit" step reads exactly this format from a real cluster.

import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { RecordedRequest } from './access.js';
import type { AuditWebhookSender } from './audit-webhook.js';
import { ALL_TYPES } from './resources.js';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata' | 'RequestResponse';
  auditID: string;
  stage: 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: { username: string; groups: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource: string; namespace?: string; name?: string; apiGroup?: string; apiVersion: string };
  responseStatus: { metadata: Record<string, never>; code: number; status?: string; reason?: string; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations: Record<string, string>;
}

export interface AuditInput {
  record: RecordedRequest;
  requestURI: string;
  name?: string;
  userAgent?: string;
  sourceIP?: string;
  received: Date;
  completed: Date;
  /** Raw request body; decoded only for events logged at RequestResponse level. */
  requestBody?: Buffer;
  responseObject?: unknown;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
/** Resources whose writes are logged with their bodies (deploy/audit-policy.yaml's RequestResponse rules). */
const DETAILED = new Set(['networkpolicies', 'adminnetworkpolicies', 'baselineadminnetworkpolicies', 'ciliumnetworkpolicies', 'namespaces']);

function micro(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

/** The audit event for one resource request (discovery and unauthenticated calls are not audited). */
export function auditEvent(input: AuditInput): AuditEvent | undefined {
  const { record } = input;
  if (!record.verb || !record.resource || record.user === undefined) return undefined;
  // Plural names are unique across the simulator's types, so the plural alone finds the group.
  const rt = ALL_TYPES.find((r) => r.resource === record.resource);
  const detailed = DETAILED.has(record.resource) && WRITE_VERBS.has(record.verb);
  const failed = record.status >= 400;
  const status = failed && typeof input.responseObject === 'object' && input.responseObject !== null ? (input.responseObject as Record<string, unknown>) : undefined;
  const forbidden = record.status === 403;
  const requestObject = detailed ? decodeForAudit(input.requestBody) : undefined;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: detailed ? 'RequestResponse' : 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: input.requestURI,
    verb: record.verb,
    user: { username: record.user, groups: ['system:authenticated'] },
    sourceIPs: [input.sourceIP ?? '127.0.0.1'],
    ...(input.userAgent ? { userAgent: input.userAgent } : {}),
    objectRef: {
      resource: record.resource,
      ...(record.namespace ? { namespace: record.namespace } : {}),
      ...(input.name ? { name: input.name } : {}),
      ...(rt?.group ? { apiGroup: rt.group } : {}),
      apiVersion: rt?.version ?? 'v1',
    },
    responseStatus: {
      metadata: {},
      code: record.status,
      ...(status ? { status: 'Failure', reason: String(status.reason ?? ''), message: String(status.message ?? '') } : {}),
    },
    ...(requestObject !== undefined ? { requestObject } : {}),
    ...(detailed && input.responseObject !== undefined && !failed ? { responseObject: input.responseObject } : {}),
    requestReceivedTimestamp: micro(input.received),
    stageTimestamp: micro(input.completed),
    annotations: {
      'authorization.k8s.io/decision': forbidden ? 'forbid' : 'allow',
      'authorization.k8s.io/reason': forbidden ? '' : 'netpol-sim: allowed',
    },
  };
}

/** The request body as an object for the log; undefined when it is not decodable. */
export function decodeForAudit(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) return undefined;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    try {
      return parseYaml(text, { maxAliasCount: 50 });
    } catch {
      return undefined;
    }
  }
}

/**
 * Keeps events in memory and, when a path is given, appends them as JSON lines (like
 * --audit-log-path); with a webhook set, also posts them to it (like --audit-webhook-config-file).
 */
export class AuditLog {
  readonly events: AuditEvent[] = [];
  webhook: AuditWebhookSender | undefined;
  constructor(private readonly path?: string) {}

  add(event: AuditEvent | undefined): void {
    if (!event) return;
    this.events.push(event);
    if (this.path) appendFileSync(this.path, `${JSON.stringify(event)}\n`);
    this.webhook?.add(event);
  }
}
