// A structural OpenAPI v3 schema, as a CRD declares it, and what the apiextensions server does with
// one: prune unknown fields (or name them, for fieldValidation=Strict), drop nulls, apply defaults,
// then validate with go-openapi's rules and messages, then the CRD's x-kubernetes-validations
// (CEL there; a JS predicate here, with the same message). Pure: values in, field errors out.

import { isIP } from 'node:net';
import type { FieldError } from './status.js';

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'boolean';

export interface Rule {
  /** The CEL rule as the CRD writes it, for reference only. */
  rule: string;
  message: string;
  check: (value: unknown) => boolean;
}

export interface Schema {
  type?: SchemaType;
  properties?: Record<string, Schema>;
  /** A map's values (`additionalProperties` in the CRD). */
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minLength?: number;
  maxLength?: number;
  /** The CRD's pattern (RE2), as messages quote it. */
  pattern?: string;
  /** A linear-time equivalent of `pattern`, where JS's backtracking regexps could blow up. */
  patternTest?: (value: string) => boolean;
  format?: 'cidr';
  default?: unknown;
  /** x-kubernetes-list-type: set, whose items must be unique. */
  listSet?: boolean;
  /** x-kubernetes-int-or-string. */
  intOrString?: boolean;
  /** x-kubernetes-preserve-unknown-fields: anything goes below, nothing is pruned. */
  preserveUnknown?: boolean;
  /** Structural CRDs allow only `required` in their oneOf/anyOf alternatives. */
  oneOf?: Array<{ required: string[] }>;
  anyOf?: Array<{ required: string[] }>;
  rules?: Rule[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const child = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * Unknown fields below `path`, removed in place when `remove` is set; nulls in fields that are not
 * nullable are dropped either way (the apiserver prunes them before defaulting).
 */
export function pruneSchema(schema: Schema, value: unknown, path: string, out: string[], remove: boolean): void {
  if (schema.preserveUnknown) return;
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => pruneSchema(schema.items as Schema, item, `${path}[${i}]`, out, remove));
    return;
  }
  if (!isObj(value)) return;
  for (const key of Object.keys(value)) {
    const sub = schema.properties?.[key] ?? schema.additionalProperties;
    if (value[key] === null && sub !== undefined) {
      delete value[key];
      continue;
    }
    if (sub === undefined) {
      if (schema.properties === undefined && schema.type !== 'object') continue;
      out.push(child(path, key));
      if (remove) delete value[key];
      continue;
    }
    pruneSchema(sub, value[key], schema.properties?.[key] ? child(path, key) : `${path}[${key}]`, out, remove);
  }
}

/** Fills in `default`s of absent properties inside objects that are present. */
export function defaultSchema(schema: Schema, value: unknown): void {
  if (Array.isArray(value) && schema.items) {
    for (const item of value) defaultSchema(schema.items, item);
    return;
  }
  if (!isObj(value)) return;
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default);
    if (value[key] !== undefined) defaultSchema(sub, value[key]);
  }
  if (schema.additionalProperties) for (const v of Object.values(value)) defaultSchema(schema.additionalProperties, v);
}

/** go-openapi's name for a JSON value's type, as its messages print it. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(schema: Schema, v: unknown): boolean {
  if (schema.intOrString) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  switch (schema.type) {
    case undefined:
      return true;
    case 'object':
      return isObj(v);
    case 'array':
      return Array.isArray(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    default:
      return typeof v === schema.type;
  }
}

function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const ip = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Also usable from rules: CEL's isCIDR(). */
export { isCidr };

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function alternatives(kind: 'oneOf' | 'anyOf', schema: Schema, value: Obj, path: string, errs: FieldError[]): void {
  const alts = schema[kind];
  if (!alts) return;
  const valid = alts.filter((a) => a.required.every((k) => value[k] !== undefined));
  const name = path || '<nil>';
  if (kind === 'anyOf' && valid.length === 0) {
    errs.push({ field: name, type: 'FieldValueInvalid', value: 'object', detail: `${name} in body must validate at least one schema (anyOf)` });
    for (const a of alts) for (const k of a.required) errs.push({ field: child(path, k), type: 'FieldValueRequired', detail: '' });
  }
  if (kind === 'oneOf' && valid.length !== 1) {
    const found = valid.length === 0 ? 'Found none valid' : `Found ${valid.length} valid alternatives`;
    errs.push({ field: name, type: 'FieldValueInvalid', value: 'object', detail: `${name} in body must validate one and only one schema (oneOf). ${found}` });
    if (valid.length === 0) for (const a of alts) for (const k of a.required) errs.push({ field: child(path, k), type: 'FieldValueRequired', detail: '' });
  }
}

function scalarErrors(schema: Schema, v: unknown, path: string, errs: FieldError[]): void {
  if (typeof v === 'string') {
    if (schema.enum && !schema.enum.includes(v)) {
      errs.push({ field: path, type: 'FieldValueNotSupported', value: v, detail: `supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
    }
    if (schema.maxLength !== undefined && byteLength(v) > schema.maxLength) {
      errs.push({ field: path, type: 'FieldValueTooLong', detail: `may not be more than ${schema.maxLength} bytes` });
    }
    if (schema.minLength !== undefined && v.length < schema.minLength) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: v, detail: `${path} in body should be at least ${schema.minLength} chars long` });
    }
    // Go's regexp is RE2 (linear); JS's backtracks. A pattern runs only within maxLength, and
    // patterns without one that could backtrack badly come with a linear patternTest.
    const tooLong = schema.maxLength !== undefined && byteLength(v) > schema.maxLength;
    const matches = (): boolean => (schema.patternTest ? schema.patternTest(v) : new RegExp(schema.pattern as string, 'u').test(v));
    if (schema.pattern !== undefined && !tooLong && !matches()) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: v, detail: `${path} in body should match '${schema.pattern}'` });
    }
    if (schema.format === 'cidr' && !isCidr(v)) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: v, detail: `${path} in body must be of type cidr: ${JSON.stringify(v)}` });
    }
  }
  if (typeof v === 'number') {
    if (schema.maximum !== undefined && v > schema.maximum) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: v, detail: `${path} in body should be less than or equal to ${schema.maximum}` });
    }
    if (schema.minimum !== undefined && v < schema.minimum) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: v, detail: `${path} in body should be greater than or equal to ${schema.minimum}` });
    }
  }
}

function arrayErrors(schema: Schema, v: unknown[], path: string, errs: FieldError[]): void {
  if (schema.maxItems !== undefined && v.length > schema.maxItems) {
    errs.push({ field: path, type: 'FieldValueTooMany', value: v.length, detail: `must have at most ${schema.maxItems} items` });
  }
  if (schema.minItems !== undefined && v.length < schema.minItems) {
    errs.push({ field: path, type: 'FieldValueInvalid', value: v.length, detail: `${path} in body should have at least ${schema.minItems} items` });
  }
  if (schema.listSet) {
    const seen = new Set<string>();
    v.forEach((item, i) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) errs.push({ field: `${path}[${i}]`, type: 'FieldValueDuplicate', value: item, detail: '' });
      seen.add(key);
    });
  }
  // Past maxItems the items are not looked at: a hostile list costs one error, not a million.
  if (schema.items && !(schema.maxItems !== undefined && v.length > schema.maxItems)) {
    v.forEach((item, i) => errs.push(...validateSchema(schema.items as Schema, item, `${path}[${i}]`)));
  }
}

function objectErrors(schema: Schema, v: Obj, path: string, errs: FieldError[]): void {
  const count = Object.keys(v).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    errs.push({ field: path, type: 'FieldValueTooMany', value: count, detail: `must have at most ${schema.maxProperties} items` });
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    errs.push({ field: path, type: 'FieldValueInvalid', value: count, detail: `${path} in body should have at least ${schema.minProperties} properties` });
  }
  for (const key of schema.required ?? []) if (v[key] === undefined) errs.push({ field: child(path, key), type: 'FieldValueRequired', detail: '' });
  alternatives('oneOf', schema, v, path, errs);
  alternatives('anyOf', schema, v, path, errs);
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (v[key] !== undefined) errs.push(...validateSchema(sub, v[key], child(path, key)));
  }
  if (schema.additionalProperties) {
    for (const [key, item] of Object.entries(v)) {
      if (!schema.properties?.[key]) errs.push(...validateSchema(schema.additionalProperties, item, `${path}[${key}]`));
    }
  }
}

/** Field errors of `value` against `schema`, with `path` its field path ('' for the root). */
export function validateSchema(schema: Schema, value: unknown, path = ''): FieldError[] {
  if (schema.preserveUnknown && schema.type === undefined) return [];
  const errs: FieldError[] = [];
  if (!typeMatches(schema, value)) {
    const expected = schema.intOrString ? 'integer or string' : (schema.type as string);
    return [{ field: path || '<nil>', type: 'FieldValueTypeInvalid', value: typeName(value), detail: `${path || '<nil>'} in body must be of type ${expected}: ${JSON.stringify(typeName(value))}` }];
  }
  if (Array.isArray(value)) arrayErrors(schema, value, path || '<nil>', errs);
  else if (isObj(value)) objectErrors(schema, value, path, errs);
  else scalarErrors(schema, value, path || '<nil>', errs);
  // CEL rules run on values of the declared type, alongside the schema's own checks.
  for (const r of schema.rules ?? []) {
    if (!r.check(value)) errs.push({ field: path || '<nil>', type: 'FieldValueInvalid', value: typeName(value), detail: r.message });
  }
  return errs;
}

// Small builders, so the CRD schemas in crds/ read like their YAML.
export const str = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'string', ...extra });
export const int = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'integer', ...extra });
export const bool = (): Schema => ({ type: 'boolean' });
export const arr = (items: Schema, extra: Omit<Schema, 'type' | 'items'> = {}): Schema => ({ type: 'array', items, ...extra });
export const obj = (properties: Record<string, Schema>, extra: Omit<Schema, 'type' | 'properties'> = {}): Schema => ({ type: 'object', properties, ...extra });
export const map = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });
/** Parts of a CRD the simulator does not check field by field (L7 rules, status…): kept as sent. */
export const ANY: Schema = { preserveUnknown: true };

/** metav1.LabelSelector as CRDs embed it (the apiserver checks no label syntax inside a CR). */
export function labelSelector(extra: { operatorEnum?: boolean; values?: Schema } = {}): Schema {
  return obj({
    matchExpressions: arr(
      obj(
        {
          key: str(),
          operator: extra.operatorEnum ? str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }) : str(),
          values: arr(str()),
        },
        { required: ['key', 'operator'] },
      ),
    ),
    matchLabels: map(extra.values ?? str()),
  });
}
