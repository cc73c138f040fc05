// From everything a repository renders to its desired policies (pure): only the policy kinds of
// their API groups, each with a namespace when its kind is namespaced, one object per identity
// (the last in path order, as `kubectl apply -f dir/` leaves it), and a problem for the rest.
import { KINDS } from '../kube/kinds.js';

export const POLICY_KINDS = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface DesiredObject {
  kind: string;
  namespace?: string;
  name: string;
  /** As rendered (namespace filled in by kustomize or helm). */
  object: Record<string, unknown>;
  source: { repository: string; path: string; line?: number; via: 'plain' | 'kustomize' | 'helm' };
}

/** What could not be rendered; the message starts with the place (`path:line: …`). */
export interface RenderProblem {
  repository: string;
  path: string;
  line?: number;
  message: string;
}

export interface DesiredState {
  repository: string;
  commit: string;
  objects: DesiredObject[];
  problems: RenderProblem[];
}

/** One rendered object before selection. */
export interface Candidate {
  object: Record<string, unknown>;
  source: DesiredObject['source'];
  /** Helm's release namespace: what `helm install` gives an object that names none. */
  defaultNamespace?: string;
}

export function where(path: string, line?: number): string {
  return line === undefined ? path : `${path}:${line}`;
}

export function problemAt(repository: string, path: string, message: string, line?: number): RenderProblem {
  return { repository, path, ...(line === undefined ? {} : { line }), message: `${where(path, line)}: ${message}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isPolicyKind(kind: unknown): kind is PolicyKind {
  return typeof kind === 'string' && (POLICY_KINDS as readonly string[]).includes(kind);
}

/** `NetworkPolicy db/allow-api`, or `AdminNetworkPolicy deny-all` for a cluster-scoped kind. */
export function identityOf(o: { kind: string; namespace?: string; name: string }): string {
  return o.namespace === undefined ? `${o.kind} ${o.name}` : `${o.kind} ${o.namespace}/${o.name}`;
}

type Checked = { ok: true; desired: DesiredObject } | { ok: false; problem?: string };

/** The candidate as a desired policy, a reason it cannot be one, or neither (not a policy). */
function check(candidate: Candidate): Checked {
  const { object } = candidate;
  if (!isPolicyKind(object.kind)) return { ok: false };
  const info = KINDS[object.kind];
  if (typeof object.apiVersion !== 'string' || object.apiVersion === '') return { ok: false, problem: `${object.kind} without apiVersion` };
  const group = object.apiVersion.includes('/') ? object.apiVersion.slice(0, object.apiVersion.indexOf('/')) : '';
  // Another API's kind of the same name (Calico's NetworkPolicy) is not ours.
  if (group !== info.group) return { ok: false };
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') return { ok: false, problem: `${object.kind} without metadata.name` };
  const declared = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  if (!info.namespaced) {
    // The API server keeps no namespace on a cluster-scoped object; kustomize sets one on kinds it
    // does not know to be cluster-scoped. Dropped, so the object reads as the cluster stores it.
    const { namespace: _dropped, ...rest } = metadata;
    const cleaned = declared === undefined ? object : { ...object, metadata: rest };
    return { ok: true, desired: { kind: object.kind, name, object: cleaned, source: candidate.source } };
  }
  const namespace = declared ?? candidate.defaultNamespace;
  if (namespace === undefined) {
    const hint = candidate.source.via === 'kustomize' ? 'set metadata.namespace, or namespace: in the kustomization' : 'set metadata.namespace';
    return { ok: false, problem: `${object.kind} ${name} has no namespace (${hint}); not used` };
  }
  const filled = declared === undefined ? { ...object, metadata: { ...metadata, namespace } } : object;
  return { ok: true, desired: { kind: object.kind, namespace, name, object: filled, source: candidate.source } };
}

/**
 * The desired policies of one repository: candidates are taken in path order (stable within a
 * file or a build's output); the same identity again replaces the earlier one, with a problem.
 */
export function selectPolicies(repository: string, candidates: Candidate[]): { objects: DesiredObject[]; problems: RenderProblem[] } {
  const ordered = candidates.map((c, i) => ({ c, i })).sort((a, b) => (a.c.source.path < b.c.source.path ? -1 : a.c.source.path > b.c.source.path ? 1 : a.i - b.i));
  const problems: RenderProblem[] = [];
  const kept = new Map<string, DesiredObject>();
  for (const { c } of ordered) {
    const checked = check(c);
    if (!checked.ok) {
      if (checked.problem) problems.push(problemAt(repository, c.source.path, checked.problem, c.source.line));
      continue;
    }
    const id = identityOf(checked.desired);
    const earlier = kept.get(id);
    if (earlier) problems.push(duplicateProblem(id, earlier, checked.desired));
    // Delete first: the kept object takes the later position, as it does on a re-apply.
    kept.delete(id);
    kept.set(id, checked.desired);
  }
  return { objects: [...kept.values()], problems };
}

function duplicateProblem(id: string, earlier: DesiredObject, later: DesiredObject, rule = 'the last in path order'): RenderProblem {
  const a = earlier.source;
  const b = later.source;
  const before = a.repository === b.repository ? where(a.path, a.line) : `${a.repository}:${where(a.path, a.line)}`;
  const message = `${id} is declared twice: also at ${before}; this one, ${rule}, is used`;
  return problemAt(b.repository, b.path, message, b.line);
}

/** Several repositories' states as one desired state: a policy declared in two repositories is a problem, the later repository's wins. */
export function mergeStates(states: DesiredState[]): { objects: DesiredObject[]; problems: RenderProblem[] } {
  const problems: RenderProblem[] = states.flatMap((s) => s.problems);
  const kept = new Map<string, DesiredObject>();
  for (const state of states) {
    for (const object of state.objects) {
      const id = identityOf(object);
      const earlier = kept.get(id);
      if (earlier) problems.push(duplicateProblem(id, earlier, object, 'from the later repository of the configuration'));
      kept.delete(id);
      kept.set(id, object);
    }
  }
  return { objects: [...kept.values()], problems };
}
