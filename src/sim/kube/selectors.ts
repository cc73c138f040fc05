// List/watch filtering by `labelSelector` and `fieldSelector` query parameters. Pure.

import { parseLabelSelector, selectorMatches, type ParsedLabelSelector } from '../../kube/label-selector.js';
import type { ResourceType } from './resources.js';
import { badRequest } from './status.js';
import { metaOf, type KubeObject } from './store.js';

export interface FieldRequirement {
  field: string;
  equals: boolean;
  value: string;
}

export interface ObjectFilter {
  labels?: ParsedLabelSelector;
  fields: FieldRequirement[];
}

const FIELDS: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => String(metaOf(o).name ?? ''),
  'metadata.namespace': (o) => String(metaOf(o).namespace ?? ''),
};

const POD_FIELDS: Record<string, (o: KubeObject) => string> = {
  'spec.nodeName': (o) => String((o.spec as Record<string, unknown> | undefined)?.nodeName ?? ''),
  'status.phase': (o) => String((o.status as Record<string, unknown> | undefined)?.phase ?? ''),
  'status.podIP': (o) => String((o.status as Record<string, unknown> | undefined)?.podIP ?? ''),
};

function fieldGetter(rt: ResourceType, field: string): ((o: KubeObject) => string) | undefined {
  return FIELDS[field] ?? (rt.resource === 'pods' ? POD_FIELDS[field] : undefined);
}

/** `metadata.name=x,metadata.namespace!=y` (also `==`). Unknown fields are a 400, like the apiserver. */
export function parseFieldSelector(rt: ResourceType, text: string): FieldRequirement[] {
  if (text.trim() === '') return [];
  const out: FieldRequirement[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid field selector: '${part}' is not a valid field selector requirement`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!fieldGetter(rt, field)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, equals: op !== '!=', value });
  }
  return out;
}

export function parseFilter(rt: ResourceType, query: URLSearchParams): ObjectFilter {
  const labelText = query.get('labelSelector');
  let labels: ParsedLabelSelector | undefined;
  if (labelText) {
    try {
      labels = parseLabelSelector(labelText);
    } catch (error) {
      throw badRequest(`unable to parse requirement: ${(error as Error).message}`);
    }
  }
  return { labels, fields: parseFieldSelector(rt, query.get('fieldSelector') ?? '') };
}

export function filterMatches(rt: ResourceType, filter: ObjectFilter, obj: KubeObject): boolean {
  if (filter.labels && !selectorMatches(filter.labels, metaOf(obj).labels as Record<string, string> | undefined)) return false;
  for (const req of filter.fields) {
    const actual = (fieldGetter(rt, req.field) as (o: KubeObject) => string)(obj);
    if ((actual === req.value) !== req.equals) return false;
  }
  return true;
}
