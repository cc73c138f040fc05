// Field ownership for server-side apply (metadata.managedFields, FieldsV1). Kept deliberately
// simple but real: objects are tracked field by field, lists and scalars are atomic leaves
// (which is exactly how NetworkPolicy's schema declares its lists), and a field owned by another
// manager whose value the applier would change is a conflict unless the apply is forced.

import { deepClone, deepEqual, mergePatch } from './patch.js';
import { failure } from './status.js';

type Json = unknown;
type Obj = Record<string, Json>;
export type FieldPath = string[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
}

interface Ownership {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  paths: FieldPath[];
}

function isObj(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Top-level keys whose contents nobody "owns": identity, type and server-written state. */
const UNTRACKED_TOP = new Set(['apiVersion', 'kind', 'status', 'metadata']);
const TRACKED_METADATA = ['labels', 'annotations'];

function collectLeaves(value: Json, prefix: FieldPath, out: FieldPath[]): void {
  if (isObj(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) {
      if (child === null || child === undefined) continue;
      collectLeaves(child, [...prefix, key], out);
    }
  } else {
    out.push(prefix);
  }
}

/** The leaf field paths an object sets, e.g. [spec, ingress], [metadata, labels, app]. */
export function leafPaths(obj: Json): FieldPath[] {
  const out: FieldPath[] = [];
  if (!isObj(obj)) return out;
  for (const [key, value] of Object.entries(obj)) {
    if (UNTRACKED_TOP.has(key) || value === null || value === undefined) continue;
    collectLeaves(value, [key], out);
  }
  const metadata = obj.metadata;
  if (isObj(metadata)) {
    for (const key of TRACKED_METADATA) {
      const value = metadata[key];
      if (isObj(value)) {
        for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out.push(['metadata', key, k]);
      }
    }
  }
  return out;
}

export function valueAt(obj: Json, path: FieldPath): Json {
  let cur: Json = obj;
  for (const key of path) {
    if (!isObj(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function deleteAt(obj: Json, path: FieldPath): void {
  let cur: Json = obj;
  for (const key of path.slice(0, -1)) {
    if (!isObj(cur)) return;
    cur = cur[key];
  }
  if (isObj(cur)) delete cur[path[path.length - 1] as string];
}

function isPrefix(a: FieldPath, b: FieldPath): boolean {
  return a.length <= b.length && a.every((k, i) => b[i] === k);
}

function overlaps(a: FieldPath, b: FieldPath): boolean {
  return isPrefix(a, b) || isPrefix(b, a);
}

const sameKey = (a: FieldPath, b: FieldPath): boolean => a.length === b.length && isPrefix(a, b);

/** `.spec.ingress`, `.metadata.labels.app`: how the apiserver names fields in conflict messages. */
export function renderPath(path: FieldPath): string {
  return path.map((k) => `.${k}`).join('');
}

export function toFieldsV1(paths: FieldPath[]): Obj {
  const root: Obj = {};
  for (const path of paths) {
    let node = root;
    path.forEach((key, depth) => {
      const fkey = `f:${key}`;
      if (!isObj(node[fkey])) node[fkey] = {};
      const child = node[fkey] as Obj;
      // Nested maps carry "." (the map itself), as the apiserver writes them; top-level structs do not.
      if (depth > 0 && depth < path.length - 1) child['.'] = {};
      node = child;
    });
  }
  return root;
}

export function fromFieldsV1(fields: Json): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: Json, prefix: FieldPath): void => {
    if (!isObj(node)) return;
    const children = Object.keys(node).filter((k) => k !== '.');
    if (children.length === 0) {
      if (prefix.length > 0) out.push(prefix);
      return;
    }
    for (const key of children) walk(node[key], [...prefix, key.includes(':') ? key.slice(key.indexOf(':') + 1) : key]);
  };
  walk(fields, []);
  return out;
}

function readOwnership(obj: Json): Ownership[] {
  const metadata = isObj(obj) ? obj.metadata : undefined;
  const entries = isObj(metadata) ? metadata.managedFields : undefined;
  if (!Array.isArray(entries)) return [];
  const out: Ownership[] = [];
  for (const e of entries) {
    if (!isObj(e) || typeof e.manager !== 'string') continue;
    out.push({
      manager: e.manager,
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : 'v1',
      time: typeof e.time === 'string' ? e.time : '',
      paths: fromFieldsV1(e.fieldsV1),
    });
  }
  return out;
}

function writeOwnership(obj: Obj, owners: Ownership[]): void {
  const metadata = (isObj(obj.metadata) ? obj.metadata : (obj.metadata = {})) as Obj;
  const entries: ManagedFieldsEntry[] = owners
    .filter((o) => o.paths.length > 0)
    .map((o) => ({
      manager: o.manager,
      operation: o.operation,
      apiVersion: o.apiVersion,
      time: o.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(o.paths),
    }));
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
}

/** Drops paths that no longer exist in `obj`: nobody owns a field that is gone. */
function pruneMissing(owners: Ownership[], obj: Json): void {
  for (const o of owners) o.paths = o.paths.filter((p) => valueAt(obj, p) !== undefined);
}

function entryFor(owners: Ownership[], manager: string, operation: 'Apply' | 'Update', apiVersion: string, time: string): Ownership {
  let entry = owners.find((o) => o.manager === manager && o.operation === operation);
  if (!entry) {
    entry = { manager, operation, apiVersion, time, paths: [] };
    owners.push(entry);
  }
  entry.apiVersion = apiVersion;
  entry.time = time;
  return entry;
}

/**
 * Records a non-apply write (create, update, merge/JSON patch) by `manager`: every field whose
 * value changed becomes theirs (operation Update) and leaves its previous owners.
 */
export function recordUpdate(before: Json, after: Obj, manager: string, apiVersion: string, time: string): void {
  const owners = readOwnership(before);
  const changed = leafPaths(after).filter((p) => !deepEqual(valueAt(before, p), valueAt(after, p)));
  if (changed.length > 0) {
    for (const o of owners) o.paths = o.paths.filter((p) => !changed.some((c) => overlaps(c, p)));
    const mine = entryFor(owners, manager, 'Update', apiVersion, time);
    mine.paths.push(...changed);
  }
  pruneMissing(owners, after);
  writeOwnership(after, owners);
}

interface FieldConflict {
  manager: string;
  apiVersion: string;
  path: FieldPath;
}

function conflictError(unsorted: FieldConflict[]): Error {
  const conflicts = [...unsorted].sort((a, b) => (a.manager === b.manager ? renderPath(a.path).localeCompare(renderPath(b.path)) : a.manager.localeCompare(b.manager)));
  const byManager = new Map<string, FieldConflict[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c]);
  const n = conflicts.length;
  let message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: `;
  if (n === 1) {
    const c = conflicts[0] as FieldConflict;
    message += `conflict with "${c.manager}" using ${c.apiVersion}: ${renderPath(c.path)}`;
  } else {
    message += [...byManager.entries()]
      .map(([manager, cs]) => `conflicts with "${manager}" using ${(cs[0] as FieldConflict).apiVersion}:\n${cs.map((c) => `- ${renderPath(c.path)}`).join('\n')}`)
      .join('\n');
  }
  return failure(409, 'Conflict', message, {
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: renderPath(c.path) })),
  });
}

/**
 * Server-side apply of `applied` (the manager's whole intent) onto `live` (undefined: create).
 * Returns the merged object with managedFields updated; throws a 409 on conflicts unless forced.
 */
export function applyConfiguration(
  live: Obj | undefined,
  applied: Obj,
  opts: { manager: string; force: boolean; apiVersion: string; time: string },
): Obj {
  const owners = readOwnership(live);
  const appliedPaths = leafPaths(applied);
  const conflicts: FieldConflict[] = [];
  for (const o of owners) {
    if (o.manager === opts.manager && o.operation === 'Apply') continue;
    for (const theirs of o.paths) {
      for (const mine of appliedPaths) {
        if (!overlaps(mine, theirs)) continue;
        const at = mine.length <= theirs.length ? mine : theirs;
        if (!deepEqual(valueAt(applied, at), valueAt(live, at))) {
          if (o.manager !== opts.manager) conflicts.push({ manager: o.manager, apiVersion: o.apiVersion, path: theirs });
          break;
        }
      }
    }
  }
  if (conflicts.length > 0 && !opts.force) throw conflictError(conflicts);
  // Forced (or the applier's own Update entry): the fields move to the applier.
  for (const o of owners) {
    if (o.manager === opts.manager && o.operation === 'Apply') continue;
    o.paths = o.paths.filter((theirs) => {
      const contested = conflicts.some((c) => c.manager === o.manager && sameKey(c.path, theirs));
      const ownUpdate = o.manager === opts.manager && appliedPaths.some((m) => overlaps(m, theirs));
      return !contested && !ownUpdate;
    });
  }

  const result: Obj = live ? deepClone(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const previous = owners.find((o) => o.manager === opts.manager && o.operation === 'Apply');
  const stillOwnedElsewhere = (p: FieldPath): boolean =>
    owners.some((o) => o !== previous && o.paths.some((q) => overlaps(p, q)));
  for (const p of previous?.paths ?? []) {
    // A field the manager applied before and dropped from its intent is removed, unless shared.
    if (!appliedPaths.some((m) => overlaps(m, p)) && !stillOwnedElsewhere(p)) deleteAt(result, p);
  }
  // Status belongs to controllers (the status subresource), never to an applier.
  const { metadata: appliedMeta, status: _status, ...appliedRest } = applied;
  const merged = mergePatch(result, appliedRest) as Obj;
  if (isObj(appliedMeta)) {
    const meta = (isObj(merged.metadata) ? merged.metadata : (merged.metadata = {})) as Obj;
    for (const key of TRACKED_METADATA) {
      if (isObj(appliedMeta[key])) meta[key] = mergePatch(meta[key] ?? {}, appliedMeta[key]);
    }
  }
  const mergedMeta = merged.metadata as Obj;
  for (const key of TRACKED_METADATA) {
    // Removing the last label leaves no empty map behind, as on a real cluster.
    if (isObj(mergedMeta[key]) && Object.keys(mergedMeta[key] as Obj).length === 0) delete mergedMeta[key];
  }
  const mine = entryFor(owners, opts.manager, 'Apply', opts.apiVersion, opts.time);
  mine.paths = appliedPaths;
  pruneMissing(owners, merged);
  writeOwnership(merged, owners);
  return merged;
}
