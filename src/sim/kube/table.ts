// Server-side printing (meta.k8s.io/v1 Table), which kubectl asks for on `get`: the same
// columns a real cluster prints, so `kubectl get netpol` output looks familiar.

import type { ResourceType } from './resources.js';
import { apiVersionOf } from './resources.js';

type Obj = Record<string, unknown>;

export function wantsTable(accept: string | undefined): boolean {
  return typeof accept === 'string' && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** kubectl's "human duration": 45s, 12m, 3h4m, 5d. */
export function humanAge(from: string | undefined, now = Date.now()): string {
  const t = from ? Date.parse(from) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function meta(o: Obj): Obj {
  return (o.metadata as Obj | undefined) ?? {};
}

function selectorText(sel: unknown): string {
  const s = (sel ?? {}) as { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return parts.length > 0 ? parts.join(',') : '<none>';
}

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (o: Obj) => string | number;
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => String(meta(o).name ?? '') };
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => humanAge(meta(o).creationTimestamp as string | undefined) };

function podColumns(): Column[] {
  const containers = (o: Obj): unknown[] => (((o.spec as Obj | undefined)?.containers as unknown[]) ?? []);
  const statuses = (o: Obj): Obj[] => (((o.status as Obj | undefined)?.containerStatuses as Obj[]) ?? []);
  return [
    NAME,
    { name: 'Ready', type: 'string', cell: (o) => `${statuses(o).filter((s) => s.ready === true).length}/${containers(o).length}` },
    { name: 'Status', type: 'string', cell: (o) => String((o.status as Obj | undefined)?.phase ?? 'Pending') },
    { name: 'Restarts', type: 'string', cell: (o) => String(statuses(o).reduce((n, s) => n + Number(s.restartCount ?? 0), 0)) },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => String((o.status as Obj | undefined)?.podIP ?? '<none>') },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => String((o.spec as Obj | undefined)?.nodeName ?? '<none>') },
  ];
}

/** `.status.conditions[?(@.type=='Valid')].status`, Cilium's VALID column. */
function conditionStatus(o: Obj, type: string): string {
  const conditions = (o.status as Obj | undefined)?.conditions;
  const found = Array.isArray(conditions) ? (conditions as Obj[]).find((c) => c?.type === type) : undefined;
  return typeof found?.status === 'string' ? found.status : '';
}

function path(o: Obj, ...keys: string[]): string {
  let cur: unknown = o;
  for (const k of keys) cur = typeof cur === 'object' && cur !== null ? (cur as Obj)[k] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

/** Columns of each CRD's additionalPrinterColumns (a CRD lists Age only if it declares it). */
function customColumns(rt: ResourceType): Column[] {
  switch (rt.resource) {
    case 'adminnetworkpolicies':
      return [NAME, { name: 'Priority', type: 'string', cell: (o) => path(o, 'spec', 'priority') }, AGE];
    case 'ciliumnetworkpolicies':
    case 'ciliumclusterwidenetworkpolicies':
      return [NAME, AGE, { name: 'Valid', type: 'string', cell: (o) => conditionStatus(o, 'Valid') }];
    case 'applications':
      return [
        NAME,
        { name: 'Sync Status', type: 'string', cell: (o) => path(o, 'status', 'sync', 'status') },
        { name: 'Health Status', type: 'string', cell: (o) => path(o, 'status', 'health', 'status') },
        { name: 'Revision', type: 'string', priority: 10, cell: (o) => path(o, 'status', 'sync', 'revision') },
        { name: 'Project', type: 'string', priority: 10, cell: (o) => path(o, 'spec', 'project') },
      ];
    default:
      return [NAME, AGE];
  }
}

function columnsFor(rt: ResourceType): Column[] {
  switch (rt.resource) {
    case 'namespaces':
      return [NAME, { name: 'Status', type: 'string', cell: (o) => String((o.status as Obj | undefined)?.phase ?? 'Active') }, AGE];
    case 'pods':
      return podColumns();
    case 'networkpolicies':
      return [NAME, { name: 'Pod-Selector', type: 'string', cell: (o) => selectorText((o.spec as Obj | undefined)?.podSelector) }, AGE];
    default:
      return customColumns(rt);
  }
}

/** A Table of `objects`; every table (watch events too) carries its column definitions. */
export function toTable(rt: ResourceType, objects: Obj[], listMeta?: Obj): Obj {
  const columns = columnsFor(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta ?? {},
    columnDefinitions: columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: '', priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: { apiVersion: apiVersionOf(rt), kind: rt.kind, ...o },
    })),
  };
}
