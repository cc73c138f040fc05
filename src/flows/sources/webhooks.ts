// Anomalies from other detectors, delivered by webhook: Alertmanager's webhook payload (version 4)
// and Falcosidekick's. Pure: the HTTP layer (src/slack or src/web) passes headers and the raw body
// and gets back a status and the anomalies. The token is checked before the body is even parsed.
import { tokenMatches } from '../../webhook-token.js';
import { z } from 'zod';
import { workloadFromPodName } from '../normalize.js';
import type { Anomaly, ScopeSuggestion, Severity, WorkloadRef } from '../types.js';

export const MAX_WEBHOOK_BODY_BYTES = 1_048_576;

const labelMap = z.record(z.string(), z.string());

export const alertmanagerAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap,
  annotations: labelMap.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const alertmanagerPayloadSchema = z.object({
  version: z.string(),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelMap.default({}),
  commonLabels: labelMap.default({}),
  commonAnnotations: labelMap.default({}),
  externalURL: z.string().optional(),
  alerts: z.array(alertmanagerAlertSchema).max(1000),
});

export const falcosidekickPayloadSchema = z.object({
  uuid: z.string().optional(),
  output: z.string(),
  priority: z.string(),
  rule: z.string(),
  time: z.string(),
  source: z.string().optional(),
  hostname: z.string().optional(),
  tags: z.array(z.string()).optional(),
  output_fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;
export type FalcosidekickPayload = z.infer<typeof falcosidekickPayloadSchema>;

export interface WebhookRequest {
  /** Header names in any case. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface WebhookResult {
  status: 200 | 400 | 401 | 413;
  anomalies: Anomaly[];
  /** Alerts in the payload that did not become anomalies, and why. */
  skipped: { index: number; reason: string }[];
  error?: string;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Token from `Authorization: Bearer <token>` (Alertmanager http_config.authorization, Falcosidekick
 * webhook customheaders) or `X-Netpol-Token`. Compared in constant time (tokenMatches).
 */
export function checkWebhookToken(headers: WebhookRequest['headers'], expected: string): boolean {
  if (!expected) return false;
  const auth = header(headers, 'authorization');
  const given = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : header(headers, 'x-netpol-token');
  return tokenMatches(given, expected);
}

function reject(status: WebhookResult['status'], error: string): WebhookResult {
  return { status, anomalies: [], skipped: [], error };
}

function parseBody<T>(request: WebhookRequest, token: string, schema: z.ZodType<T>): T | WebhookResult {
  if (!checkWebhookToken(request.headers, token)) return reject(401, 'missing or wrong webhook token');
  if (Buffer.byteLength(request.body, 'utf8') > MAX_WEBHOOK_BODY_BYTES) return reject(413, `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(request.body);
  } catch {
    return reject(400, 'body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return reject(400, `payload does not have the expected shape: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function isResult(value: unknown): value is WebhookResult {
  return typeof value === 'object' && value !== null && 'status' in value && 'anomalies' in value && 'skipped' in value;
}

const APP_LABELS = ['app.kubernetes.io/name', 'app', 'k8s-app'];

function workloadOf(labels: Record<string, string>): { ref: WorkloadRef; scope: ScopeSuggestion } | null {
  const namespace = labels.namespace ?? labels.exported_namespace ?? labels.k8s_namespace ?? '';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) return null;
  const explicit = labels.deployment ?? labels.statefulset ?? labels.daemonset ?? labels.workload;
  const kind = labels.deployment ? 'Deployment' : labels.statefulset ? 'StatefulSet' : labels.daemonset ? 'DaemonSet' : '';
  const [name, derivedKind] = explicit ? [explicit, kind] : labels.pod ? workloadFromPodName(labels.pod) : ['', ''];
  const appKey = APP_LABELS.find((k) => labels[k] !== undefined);
  const podSelector = appKey ? { [appKey]: labels[appKey] as string } : undefined;
  const scope: ScopeSuggestion = podSelector
    ? { namespace, podSelector, reason: `pods with ${appKey}=${podSelector[appKey as string]} in ${namespace}, from the alert's labels` }
    : { namespace, reason: `the alert names namespace ${namespace} but no pod labels: contain the namespace` };
  return { ref: { namespace, name: name || (appKey ? (labels[appKey] as string) : ''), kind: derivedKind }, scope };
}

function severityOf(value: string | undefined): Severity {
  switch ((value ?? '').toLowerCase()) {
    case 'critical':
    case 'emergency':
    case 'alert':
      return 'critical';
    case 'error':
    case 'high':
    case 'page':
      return 'high';
    case 'warning':
    case 'medium':
      return 'medium';
    default:
      return 'low';
  }
}

function timeOf(text: string, fallback: number): number {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? fallback : ms;
}

/** Alertmanager → anomalies (firing alerts that name a namespace). `now` stamps alerts without a valid time. */
export function handleAlertmanagerWebhook(request: WebhookRequest, token: string, now: number): WebhookResult {
  const payload = parseBody(request, token, alertmanagerPayloadSchema);
  if (isResult(payload)) return payload;
  const result: WebhookResult = { status: 200, anomalies: [], skipped: [] };
  payload.alerts.forEach((alert, index) => {
    if (alert.status !== 'firing') return result.skipped.push({ index, reason: 'resolved' });
    const labels = { ...payload.commonLabels, ...alert.labels };
    const target = workloadOf(labels);
    if (!target) return result.skipped.push({ index, reason: 'no valid namespace label: cannot scope containment' });
    const annotations = { ...payload.commonAnnotations, ...alert.annotations };
    const time = timeOf(alert.startsAt, now);
    const alertname = labels.alertname ?? 'alert';
    const dedupeKey = `alertmanager:${alert.fingerprint ?? `${alertname}:${target.ref.namespace}/${target.ref.name}`}`;
    result.anomalies.push({
      id: `${dedupeKey}@${time}`,
      kind: 'external-alert',
      severity: severityOf(labels.severity),
      title: (annotations.summary ?? `${alertname} firing for ${target.ref.namespace}/${target.ref.name || '*'}`).slice(0, 300),
      workload: target.ref,
      scope: target.scope,
      baseline: { metric: alertname, expected: 0, observed: 1, unit: 'alert', description: (annotations.description ?? 'raised by Alertmanager').slice(0, 1000) },
      evidence: [],
      dedupeKey,
      firstSeen: time,
      lastSeen: time,
      origin: 'alertmanager',
      details: { alertname, receiver: payload.receiver, ...(alert.generatorURL ? { generatorURL: alert.generatorURL } : {}) },
    });
  });
  return result;
}

/** Falcosidekick → one anomaly when the event names a Kubernetes namespace. */
export function handleFalcosidekickWebhook(request: WebhookRequest, token: string, now: number): WebhookResult {
  const payload = parseBody(request, token, falcosidekickPayloadSchema);
  if (isResult(payload)) return payload;
  const fields = payload.output_fields;
  const labels: Record<string, string> = {};
  if (typeof fields['k8s.ns.name'] === 'string') labels.namespace = fields['k8s.ns.name'];
  if (typeof fields['k8s.pod.name'] === 'string') labels.pod = fields['k8s.pod.name'];
  const target = workloadOf(labels);
  if (!target) return { status: 200, anomalies: [], skipped: [{ index: 0, reason: 'no k8s.ns.name in output_fields: cannot scope containment' }] };
  const time = timeOf(payload.time, now);
  const dedupeKey = `falcosidekick:${payload.rule}:${target.ref.namespace}/${target.ref.name}`;
  const details: Record<string, string> = { rule: payload.rule, priority: payload.priority };
  for (const key of ['k8s.pod.name', 'fd.sip', 'fd.sport', 'fd.cip', 'proc.cmdline', 'container.id']) {
    const value = fields[key];
    if (value !== undefined && value !== null) details[key] = String(value).slice(0, 200);
  }
  return {
    status: 200,
    skipped: [],
    anomalies: [
      {
        id: `${dedupeKey}@${time}`,
        kind: 'external-alert',
        severity: severityOf(payload.priority),
        title: `Falco: ${payload.rule} in ${target.ref.namespace}/${target.ref.name || '*'}`.slice(0, 300),
        workload: target.ref,
        scope: target.scope,
        baseline: { metric: payload.rule, expected: 0, observed: 1, unit: 'event', description: payload.output.slice(0, 1000) },
        evidence: [],
        dedupeKey,
        firstSeen: time,
        lastSeen: time,
        origin: 'falcosidekick',
        details,
      },
    ],
  };
}
