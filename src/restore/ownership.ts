// Who owns the fields a restore step would take or leave behind, from the API server's own
// bookkeeping: the causes of a server-side apply conflict (409, reason FieldManagerConflict), and
// metadata.managedFields (FieldsV1). Server-side apply never removes a field another manager owns:
// when the known-good object lacks a field someone else set, the apply leaves it in place, so
// those owners are named too, exactly like a conflict. Pure.
import { isNoise } from '../drift/normalize.js';
import { isRecord } from './scope.js';

type Obj = Record<string, unknown>;
type Path = string[];

export interface FieldOwner {
  manager: string;
  /** Fields as the API server names them: `.spec.ingress`, `.metadata.labels.team`. */
  fields: string[];
}

/** The owner of fields nobody's managedFields entry claims (objects older than server-side apply). */
export const UNKNOWN_MANAGER = '(no manager recorded)';

const MANAGER_IN_MESSAGE = /conflict with "([^"]+)"/;

/** The owners named by a server-side apply conflict's causes (FieldManagerConflict), sorted. */
export function ownersFromConflict(causes: ReadonlyArray<{ reason?: string; message?: string; field?: string }>): FieldOwner[] {
  const byManager = new Map<string, Set<string>>();
  for (const c of causes) {
    if (c.reason !== 'FieldManagerConflict') continue;
    const manager = MANAGER_IN_MESSAGE.exec(c.message ?? '')?.[1] ?? UNKNOWN_MANAGER;
    const fields = byManager.get(manager) ?? new Set<string>();
    if (c.field) fields.add(c.field);
    byManager.set(manager, fields);
  }
  return sortOwners(byManager);
}

function sortOwners(byManager: Map<string, Set<string>>): FieldOwner[] {
  return [...byManager.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([manager, fields]) => ({ manager, fields: [...fields].sort() }));
}

export function renderPath(path: Path): string {
  return path.map((k) => `.${k}`).join('');
}

/**
 * FieldsV1 as paths. `f:name` is a field; a list item (`k:`, `v:`, `i:`) ends the path at its
 * list, which is precise enough to say who owns what.
 */
export function pathsOfFieldsV1(fields: unknown, depth = 0): Path[] {
  if (!isRecord(fields) || depth > 64) return [];
  const out: Path[] = [];
  let leaf = true;
  for (const [key, child] of Object.entries(fields)) {
    if (key === '.') continue;
    leaf = false;
    if (!key.startsWith('f:')) {
      out.push([]);
      continue;
    }
    const rest = pathsOfFieldsV1(child, depth + 1);
    const name = key.slice(2);
    if (rest.length === 0) out.push([name]);
    else for (const r of rest) out.push([name, ...r]);
  }
  return leaf ? [] : dedupe(out);
}

function dedupe(paths: Path[]): Path[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The leaf fields an object sets: the body's (lists are leaves) and each label and annotation. */
export function leafPaths(obj: Obj): Path[] {
  const out: Path[] = [];
  const walk = (value: unknown, prefix: Path, depth: number): void => {
    if (value === null || value === undefined) return;
    if (isRecord(value) && Object.keys(value).length > 0 && depth < 64) for (const [k, v] of Object.entries(value)) walk(v, [...prefix, k], depth + 1);
    else out.push(prefix);
  };
  for (const [key, value] of Object.entries(obj)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(key)) walk(value, [key], 1);
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  for (const where of ['labels', 'annotations'] as const) {
    const map = meta[where];
    if (!isRecord(map)) continue;
    for (const [k, v] of Object.entries(map)) if (v !== null && v !== undefined && !isNoise(where === 'labels' ? 'label' : 'annotation', k, v)) out.push(['metadata', where, k]);
  }
  return out;
}

function has(obj: unknown, path: Path): boolean {
  let cur: unknown = obj;
  for (const key of path) {
    if (!isRecord(cur) || !Object.prototype.hasOwnProperty.call(cur, key) || cur[key] === null || cur[key] === undefined) return false;
    cur = cur[key];
  }
  return true;
}

const overlaps = (a: Path, b: Path): boolean => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * The fields of `result` (the object as a server-side apply of `intent` leaves it) that the intent
 * lacks, by owner: what the apply cannot remove because someone else owns it. The applier's own
 * Apply entry is not an owner here (its dropped fields are removed by the apply itself).
 */
export function keptFields(result: Obj, intent: Obj, manager: string): FieldOwner[] {
  const kept = leafPaths(result).filter((p) => !has(intent, p));
  if (kept.length === 0) return [];
  const meta = isRecord(result.metadata) ? result.metadata : {};
  const entries = Array.isArray(meta.managedFields) ? meta.managedFields.filter(isRecord) : [];
  const owners = entries
    .filter((e) => !(e.manager === manager && e.operation === 'Apply'))
    .map((e) => ({ manager: typeof e.manager === 'string' && e.manager !== '' ? e.manager : UNKNOWN_MANAGER, paths: pathsOfFieldsV1(e.fieldsV1) }));
  const byManager = new Map<string, Set<string>>();
  for (const path of kept) {
    const claimants = owners.filter((o) => o.paths.some((q) => overlaps(path, q)));
    for (const o of claimants.length > 0 ? claimants : [{ manager: UNKNOWN_MANAGER }]) {
      const fields = byManager.get(o.manager) ?? new Set<string>();
      fields.add(renderPath(path));
      byManager.set(o.manager, fields);
    }
  }
  return sortOwners(byManager);
}

/** `kubectl-edit (.spec.egress, .spec.policyTypes); flux (.metadata.labels.team)` */
export function describeOwners(owners: readonly FieldOwner[]): string {
  return owners.map((o) => `${o.manager} (${o.fields.join(', ')})`).join('; ');
}
