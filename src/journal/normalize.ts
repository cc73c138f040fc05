// What the journal keeps of an object the watch delivered (pure). It checks the parts the journal
// relies on (name, namespace, resourceVersion, uid, labels), strips noise, bounds the size, and
// reduces managedFields to stamps so that "who moved" can be told later.
//
// Noise, decided per kind:
// - every kind: `status` (controllers rewrite it: Cilium's per-node status, ANP conditions),
//   metadata.selfLink and the kubectl.kubernetes.io/last-applied-configuration annotation (a copy
//   of the spec as last applied; managedFields name kubectl's client-side apply anyway);
// - Namespace: everything but name, uid, resourceVersion, creation and deletion times, labels and
//   managedFields. Policies select namespaces by label only, so a namespace change is journalled
//   when its labels change (or it is added or deleted) and never for annotations, spec or status.
// managedFields stay: they are the evidence of which manager wrote when.
import { createHash } from 'node:crypto';
import { KINDS, apiVersionOf } from '../kube/kinds.js';
import { NAMESPACED_KINDS, TRUNCATED_KEY, type JournalKind, type JournalLimits, type ManagerMove, type TruncationMarker } from './types.js';

export interface ObjectRef {
  namespace?: string;
  name: string;
}

/** One managedFields entry as the journal remembers it. */
export type ManagerStamp = ManagerMove;

export interface Observed {
  ref: ObjectRef;
  uid: string;
  resourceVersion: string;
  /** Stripped, and replaced by a truncation marker when too large. */
  stored: Record<string, unknown>;
  /** Digest of what counts as a change (noise excluded): equal digests mean no news. */
  digest: string;
  managers: ManagerStamp[];
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TOKEN = /^[0-9A-Za-z._:-]{1,128}$/;
const MAX_DEPTH = 100;
const MAX_MANAGERS = 64;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(typeof value === 'object' ? JSON.stringify(value) : value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Deepest nesting of arrays and objects, walked without recursion (a hostile object may be very deep). */
function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * An object's creationTimestamp in epoch ms, or undefined when it has none that parses. The
 * journal stores it with an added entry, and the trace tells first sightings by it: one reading.
 */
export function creationMsOf(obj: unknown): number | undefined {
  const t = ((obj as { metadata?: { creationTimestamp?: unknown } } | null)?.metadata)?.creationTimestamp;
  const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** JSON with object keys sorted, so equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isRecord(value)) {
    const parts = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function labelsError(labels: unknown): string | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (!isRecord(labels)) return 'metadata.labels is not a map';
  for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') return `metadata.labels[${describe(k)}] is not a string`;
  return undefined;
}

/** The object's name and namespace, or why they are unusable. */
export function refOf(kind: JournalKind, obj: unknown): ObjectRef | { error: string } {
  if (!isRecord(obj)) return { error: 'the object is not a JSON object' };
  const meta = obj.metadata;
  if (!isRecord(meta)) return { error: 'the object has no metadata' };
  if (typeof meta.name !== 'string' || !NAME.test(meta.name)) return { error: `metadata.name ${describe(meta.name)} is not a valid name` };
  if (!NAMESPACED_KINDS.has(kind)) {
    if (meta.namespace !== undefined && meta.namespace !== null && meta.namespace !== '') return { error: `${kind} is cluster-scoped but metadata.namespace is ${describe(meta.namespace)}` };
    return { name: meta.name };
  }
  if (typeof meta.namespace !== 'string' || !LABEL_NAME.test(meta.namespace)) return { error: `metadata.namespace ${describe(meta.namespace)} is not a valid namespace` };
  return { namespace: meta.namespace, name: meta.name };
}

function strip(kind: JournalKind, obj: Json, meta: Json): Json {
  const head = { apiVersion: apiVersionOf(KINDS[kind]), kind };
  if (kind === 'Namespace') {
    const kept: Json = {};
    for (const key of ['name', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'labels', 'managedFields']) if (meta[key] !== undefined) kept[key] = meta[key];
    return { ...head, metadata: kept };
  }
  const { status: _status, apiVersion: _apiVersion, kind: _kind, metadata: _metadata, ...rest } = obj;
  const { selfLink: _selfLink, annotations, ...metadata } = meta;
  if (isRecord(annotations)) {
    const { [LAST_APPLIED]: _lastApplied, ...others } = annotations;
    if (Object.keys(others).length > 0) metadata.annotations = others;
  } else if (annotations !== undefined) metadata.annotations = annotations;
  return { ...head, metadata, ...rest };
}

/** What counts as a change: labels for a Namespace; for policies all but resourceVersion and managedFields. */
function content(kind: JournalKind, stripped: Json): unknown {
  const meta = stripped.metadata as Json;
  if (kind === 'Namespace') return meta.labels ?? {};
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = meta;
  return { ...stripped, metadata };
}

function stampsOf(managedFields: unknown): ManagerStamp[] {
  if (!Array.isArray(managedFields)) return [];
  const stamps: ManagerStamp[] = [];
  for (const entry of managedFields) {
    if (stamps.length >= MAX_MANAGERS) break;
    if (!isRecord(entry) || typeof entry.manager !== 'string' || entry.manager === '') continue;
    const stamp: ManagerStamp = { manager: bounded(entry.manager, 128), operation: typeof entry.operation === 'string' ? bounded(entry.operation, 32) : '' };
    if (typeof entry.time === 'string') stamp.time = bounded(entry.time, 40);
    if (typeof entry.subresource === 'string' && entry.subresource !== '') stamp.subresource = bounded(entry.subresource, 64);
    stamps.push(stamp);
  }
  return stamps;
}

function marker(kind: JournalKind, ref: ObjectRef, meta: Json, bytes: number, limit: number, digest: string): Json {
  const truncated: TruncationMarker = {
    reason: `the object is ${bytes} bytes once stripped of noise; the journal keeps objects of at most ${limit} bytes`,
    bytes,
    limit,
    sha256: digest,
  };
  const metadata: Json = { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
  for (const key of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp']) if (meta[key] !== undefined) metadata[key] = meta[key];
  return { apiVersion: apiVersionOf(KINDS[kind]), kind, metadata, [TRUNCATED_KEY]: truncated };
}

/** Checks and reduces an object from the watch; an error says why the journal refuses it. */
export function observe(kind: JournalKind, obj: unknown, limits: JournalLimits): Observed | { error: string } {
  const ref = refOf(kind, obj);
  if ('error' in ref) return ref;
  const raw = obj as Json;
  const meta = raw.metadata as Json;
  const rv = meta.resourceVersion;
  if (typeof rv !== 'string' || !TOKEN.test(rv) || rv.length > 64) return { error: `metadata.resourceVersion ${describe(rv)} is not a valid resourceVersion` };
  const uid = meta.uid ?? '';
  if (typeof uid !== 'string' || (uid !== '' && !TOKEN.test(uid))) return { error: `metadata.uid ${describe(uid)} is not a valid uid` };
  const badLabels = labelsError(meta.labels);
  if (badLabels) return { error: badLabels };
  if (depthExceeds(raw, MAX_DEPTH)) return { error: `the object is nested deeper than ${MAX_DEPTH} levels` };
  const stripped = strip(kind, raw, meta);
  const digest = sha256(canonicalJson(content(kind, stripped)));
  const bytes = Buffer.byteLength(JSON.stringify(stripped));
  const stored = bytes > limits.maxObjectBytes ? marker(kind, ref, meta, bytes, limits.maxObjectBytes, digest) : stripped;
  return { ref, uid, resourceVersion: rv, stored, digest, managers: stampsOf(meta.managedFields) };
}

/**
 * Entries that are new or whose time is later: the managers that wrote. managedFields times have
 * one-second precision, so a manager writing twice within a second moves only the first time
 * (the audit log tells the second). An entry whose owned fields shrank did not write: it lost
 * fields to another manager, and its time stays.
 */
export function movedManagers(before: readonly ManagerStamp[] | undefined, after: readonly ManagerStamp[]): ManagerMove[] {
  const key = (s: ManagerStamp): string => `${s.manager}\u0000${s.operation}\u0000${s.subresource ?? ''}`;
  const previous = new Map((before ?? []).map((s) => [key(s), s]));
  const moved = after.filter((s) => {
    const p = previous.get(key(s));
    if (!p) return true;
    return (s.time ?? '') > (p.time ?? '');
  });
  return moved.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? '') || a.manager.localeCompare(b.manager));
}
