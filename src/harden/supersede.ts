// What the hardening pull request does to the NetworkPolicies the repository already declares in
// the hardened namespaces, so that its merged state is the one the engine proved: the baseline
// replaces them. A file holding only such policies is deleted; a file that also holds other objects
// is rewritten without those documents (yaml's Document API: the other documents and their comments
// stay as written). What cannot be removed is kept, and the proof counts it in: a policy rendered
// by Helm or Kustomize (no plain file to edit), one in a file that does not parse or cannot be read,
// and one that selects only workloads left out of the baseline for too little history (they keep
// their current policies). A kustomize resource is a file like any other, and the kustomization
// that lists it follows: deleted files leave its resources, new ones join it. A declared policy
// identical to a generated one stays where it is, and ours is not written twice. A replaced policy
// (or one only in the cluster, which the proof assumes gone) that selected pods of workloads left out
// of the baseline is kept for them as a narrowed copy (narrow.ts), in `<namespace>/not-hardened.yaml`:
// hardening never leaves such a pod less restricted than it was. Pure.
import { isDocument, isSeq, parseAllDocuments, parseDocument, type Document } from 'yaml';
import { isKustomizationPath } from '../git/manifests.js';
import type { ProposedFile } from '../git/change-proposal.js';
import { loadLiveObjects, type LiveObjects } from '../policy/index.js';
import { matches, parseSelector } from '../policy/selectors.js';
import { DEFAULT_DENY_POLICY, renderFile, type PolicyObject } from './layout.js';
import { exemptionsOf, NARROWED_FILE, narrowReplaced, type NarrowedPolicy } from './narrow.js';
import { workloadNameOf } from './selectors.js';

/** A NetworkPolicy the repository declares: where, how it is rendered, and the object itself. */
export interface DeclaredPolicy {
  namespace: string;
  name: string;
  path: string;
  spec: unknown;
  /** 'plain': a YAML file of the repository; else rendered (its file cannot be edited here). */
  via?: 'plain' | 'kustomize' | 'helm';
  /** The whole object (the proof needs it when it is kept). */
  object?: PolicyObject;
}

export interface SupersedeInput {
  /** The hardened namespaces' generated files, each path already under the policy directory. */
  files: readonly ProposedFile[];
  declared: readonly DeclaredPolicy[];
  /** The repository's text of each plain file a declared policy is in (absent: not readable). */
  texts: Readonly<Record<string, string>>;
  /** The live cluster: which pods a declared policy selects; which live policies Git lacks. */
  live: LiveObjects;
  /** Workloads left out of the baseline (`ns/workload`): policies selecting only them are kept. */
  flagged: ReadonlySet<string>;
  namespaces: readonly string[];
  /** The repository's kustomization files (path → text) in the directories of the files above. */
  kustomizations?: Readonly<Record<string, string>>;
}

export interface KeptPolicy {
  key: string;
  path: string;
  why: string;
  object: PolicyObject;
}

export interface SupersedePlan {
  /** The generated files (less what is already declared identically) and the rewritten repository files. */
  files: ProposedFile[];
  deletions: string[];
  /** `ns/name (path)` of every policy the baseline replaces. */
  superseded: string[];
  /** Declared policies that stay after the merge: prove with them. */
  kept: KeptPolicy[];
  /** Live policies in the namespaces that the repository does not declare (`ns/name`). */
  liveOnly: string[];
  /** Narrowed copies of replaced policies for the workloads left out: written, and proven with. */
  narrowed: Array<NarrowedPolicy & { path: string }>;
  notes: string[];
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A plain file, or a file a kustomization lists as a resource (kustomize's origin names it); never a Helm template. */
export function editable(d: Pick<DeclaredPolicy, 'via' | 'path'>): boolean {
  return d.via === undefined || d.via === 'plain' || (d.via === 'kustomize' && !isKustomizationPath(d.path));
}

const dirOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '');

/** The kustomizations with deleted files taken out of their resources and new files added to the nearest one. */
function followKustomizations(kustomizations: Readonly<Record<string, string>>, deleted: readonly string[], written: readonly string[], notes: string[]): ProposedFile[] {
  const out: ProposedFile[] = [];
  const paths = Object.keys(kustomizations).sort((a, b) => dirOf(b).length - dirOf(a).length);
  const nearest = (file: string): string | undefined => paths.find((k) => file.startsWith(dirOf(k)));
  for (const k of [...paths].sort()) {
    const doc = parseDocument(kustomizations[k] as string);
    const resources = doc.errors.length === 0 ? doc.get('resources', true) : undefined;
    if (!isSeq(resources)) {
      if (deleted.some((f) => nearest(f) === k) || written.some((f) => nearest(f) === k)) notes.push(`${k} has no resources list this can edit: update it by hand.`);
      continue;
    }
    const dir = dirOf(k);
    const rel = (f: string): string => f.slice(dir.length);
    const listed = (item: unknown): string => String((item as { value?: unknown })?.value ?? item).replace(/^\.\//, '');
    const gone = new Set(deleted.filter((f) => f.startsWith(dir)).map(rel));
    const before = resources.items.length;
    resources.items = resources.items.filter((item) => !gone.has(listed(item)));
    let changed = resources.items.length !== before;
    const have = new Set(resources.items.map(listed));
    for (const f of written) {
      if (nearest(f) !== k || have.has(rel(f))) continue;
      resources.items.push(doc.createNode(rel(f)));
      have.add(rel(f));
      changed = true;
    }
    if (changed) out.push({ path: k, content: doc.toString({ lineWidth: 0 }) });
  }
  return out;
}

function meta(p: unknown): { namespace: string; name: string; kind: string } {
  const o = (typeof p === 'object' && p !== null ? p : {}) as { kind?: unknown; metadata?: { namespace?: unknown; name?: unknown } };
  return { namespace: String(o.metadata?.namespace ?? ''), name: String(o.metadata?.name ?? ''), kind: String(o.kind ?? '') };
}

/** True when the policy's podSelector picks at least one live pod, and only pods of flagged workloads. */
function selectsOnlyFlagged(d: DeclaredPolicy, pods: ReturnType<typeof loadLiveObjects>['pods'], flagged: ReadonlySet<string>): boolean {
  const selector = parseSelector((d.spec as { podSelector?: unknown } | null)?.podSelector);
  if (typeof selector === 'string') return false;
  const picked = pods.filter((p) => !p.fromTemplate && p.namespace === d.namespace && matches(selector, p.labels));
  return picked.length > 0 && picked.every((p) => flagged.has(`${p.namespace}/${workloadNameOf(p)}`));
}

/** The flagged workloads whose pods the policy selects. */
function flaggedPicked(d: DeclaredPolicy, pods: ReturnType<typeof loadLiveObjects>['pods'], flagged: ReadonlySet<string>): string[] {
  const selector = parseSelector((d.spec as { podSelector?: unknown } | null)?.podSelector);
  if (typeof selector === 'string') return [];
  const names = pods.filter((p) => !p.fromTemplate && p.namespace === d.namespace && matches(selector, p.labels)).map((p) => `${p.namespace}/${workloadNameOf(p)}`);
  return [...new Set(names.filter((n) => flagged.has(n)))].sort();
}

/** The file without the named NetworkPolicy documents: undefined when it does not parse; '' when nothing is left. */
function without(text: string, names: ReadonlySet<string>, namespace: (name: string) => string): { text: string; removed: Set<string> } | undefined {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((d) => !isDocument(d) || d.errors.length > 0)) return undefined;
  const removed = new Set<string>();
  const rest: Document[] = [];
  for (const doc of docs) {
    const m = meta(doc.toJS());
    if (m.kind === 'NetworkPolicy' && names.has(m.name) && (m.namespace === '' || m.namespace === namespace(m.name)) && !removed.has(m.name)) {
      removed.add(m.name);
      continue;
    }
    rest.push(doc);
  }
  // Nothing but empty documents (or comments) left: the file goes.
  if (rest.every((d) => d.toJS() === null || d.toJS() === undefined)) return { text: '', removed };
  const out = rest.map((d, i) => {
    const t = d.toString({ lineWidth: 0 });
    return i > 0 && !t.startsWith('---') ? `---\n${t}` : t;
  });
  return { text: out.join(''), removed };
}

export function supersede(input: SupersedeInput): SupersedePlan {
  const namespaces = new Set(input.namespaces);
  const pods = loadLiveObjects(input.live).pods;
  const declared = input.declared.filter((d) => namespaces.has(d.namespace));
  const notes: string[] = [];
  const kept: KeptPolicy[] = [];
  const objectOf = (d: DeclaredPolicy): PolicyObject => d.object ?? { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: d.name, namespace: d.namespace }, spec: d.spec };
  const keep = (d: DeclaredPolicy, why: string) => kept.push({ key: `${d.namespace}/${d.name}`, path: d.path, why, object: objectOf(d) });

  // The generated policies by ns/name: a declared identical one stays, ours is left out.
  const generated = new Map<string, { spec: unknown; path: string; object: unknown }>();
  for (const f of input.files) for (const d of parseAllDocuments(f.content)) {
    const o = d.toJS() as { spec?: unknown } | null;
    const m = meta(o);
    if (m.kind === 'NetworkPolicy') generated.set(`${m.namespace}/${m.name}`, { spec: o?.spec, path: f.path, object: o });
  }
  const identical = new Set<string>();
  const toRemove = new Map<string, DeclaredPolicy[]>();
  for (const d of declared) {
    const key = `${d.namespace}/${d.name}`;
    const ours = generated.get(key);
    if (ours && stable(ours.spec) === stable(d.spec) && ours.path !== d.path) {
      identical.add(key);
      notes.push(`${key} is already declared, identical, in ${d.path}: kept there.`);
    } else if (selectsOnlyFlagged(d, pods, input.flagged)) keep(d, 'selects only workloads with too little history');
    else if (!editable(d)) keep(d, `rendered by ${d.via}: cannot be edited here, remove it by hand`);
    else toRemove.set(d.path, [...(toRemove.get(d.path) ?? []), d]);
  }

  const files: ProposedFile[] = [];
  const deletions: string[] = [];
  const superseded: string[] = [];
  const removed: DeclaredPolicy[] = [];
  for (const [path, list] of [...toRemove].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const text = input.texts[path];
    const result = text === undefined ? undefined : without(text, new Set(list.map((d) => d.name)), (name) => list.find((d) => d.name === name)?.namespace ?? '');
    for (const d of list) {
      if (!result) keep(d, text === undefined ? 'its file could not be read' : 'its file does not parse as YAML: edit it by hand');
      else if (!result.removed.has(d.name)) keep(d, 'not found as a document of its own in its file: remove it by hand');
      else {
        superseded.push(`${d.namespace}/${d.name} (${path})`);
        removed.push(d);
      }
    }
    if (!result || result.removed.size === 0) continue;
    if (result.text === '') deletions.push(path);
    else files.push({ path, content: result.text });
  }

  const declaredKeys = new Set(input.declared.map((d) => `${d.namespace}/${d.name}`));
  const livePolicies = (input.live.networkPolicies ?? []).filter((p) => namespaces.has(meta(p).namespace));
  const liveOnlyObjects = livePolicies.filter((p) => !declaredKeys.has(`${meta(p).namespace}/${meta(p).name}`));
  const liveOnly = liveOnlyObjects.map((p) => `${meta(p).namespace}/${meta(p).name}`).sort();

  // The replaced policies (and the live-only ones the proof assumes gone), narrowed to the workloads left out.
  const narrowed: SupersedePlan['narrowed'] = [];
  const takenPaths = new Set([...input.files.map((f) => f.path), ...files.map((f) => f.path), ...input.declared.map((d) => d.path)]);
  for (const namespace of [...namespaces].sort()) {
    const deny = [...generated.values()].find((g) => meta(g.object).namespace === namespace && meta(g.object).name === DEFAULT_DENY_POLICY);
    const exempt = exemptionsOf(deny ? [deny.object] : [], namespace);
    const replaced = [...removed.filter((d) => d.namespace === namespace).map(objectOf), ...(liveOnlyObjects.filter((p) => meta(p).namespace === namespace) as PolicyObject[])];
    const names = new Set([...input.declared, ...livePolicies.map(meta), ...[...generated.values()].map((g) => meta(g.object))].filter((m) => m.namespace === namespace).map((m) => m.name));
    const copies = narrowReplaced({ namespace, replaced, exempt, pods, taken: names });
    for (const d of replaced.map(meta)) {
      const over = flaggedPicked({ namespace, name: d.name, path: '', spec: (replaced.find((p) => meta(p).name === d.name) as { spec?: unknown }).spec }, pods, input.flagged);
      const covered = new Set(copies.filter((c) => c.from === `${namespace}/${d.name}`).flatMap((c) => c.workloads));
      const left = over.filter((w) => !covered.has(w));
      if (left.length > 0) notes.push(`${namespace}/${d.name} also selected ${left.join(', ')} (not hardened, and no label of their own to keep it for them): replaced by the baseline, it no longer applies to them.`);
    }
    if (copies.length === 0) continue;
    const dir = deny ? dirOf(deny.path) : '';
    let path = `${dir}${NARROWED_FILE}`;
    for (let n = 2; takenPaths.has(path); n++) path = `${dir}${NARROWED_FILE.replace(/\.yaml$/, `-${n}.yaml`)}`;
    takenPaths.add(path);
    files.push({ path, content: renderFile(`Kept for workloads of ${namespace} not hardened (too little traffic history): the rules the replaced policies gave them, narrowed to them.`, copies.map((c) => c.object)) });
    narrowed.push(...copies.map((c) => ({ ...c, path })));
  }

  // Ours, less the identical ones and the names a kept policy holds (Git keeps one object per name).
  const keptKeys = new Set(kept.map((k) => k.key));
  const taken = new Set(files.map((f) => f.path));
  for (const file of input.files) {
    const docs = parseAllDocuments(file.content).map((d) => d.toJS() as PolicyObject | null).filter((p): p is PolicyObject => p !== null && typeof p === 'object');
    const mine = docs.filter((p) => {
      const key = `${meta(p).namespace}/${meta(p).name}`;
      if (keptKeys.has(key)) notes.push(`${key} stays as the repository declares it (${kept.find((k) => k.key === key)?.why}): the baseline's version is not written; the proof counts the declared one.`);
      return !identical.has(key) && !keptKeys.has(key);
    });
    if (mine.length === 0) continue;
    // A repository file we rewrote at this very path keeps its other documents; ours go after them.
    const rewritten = files.find((f) => f.path === file.path);
    const header = /^# (.*)\n/.exec(file.content)?.[1] ?? 'Baseline generated by netpol-responder.';
    const content = mine.length === docs.length ? file.content : renderFile(header, mine);
    // A file that keeps a policy we could not remove (it does not parse, say) is never overwritten.
    let path = file.path;
    if (kept.some((k) => k.path === path)) {
      path = path.replace(/(\.ya?ml)?$/, '.netpol-baseline.yaml');
      notes.push(`${file.path} holds policies that could not be removed: the baseline's file is ${path} instead.`);
    }
    if (rewritten && path === file.path) rewritten.content = `${rewritten.content.replace(/\n*$/, '\n')}${content.replace(/^# .*\n/, '')}`;
    else files.push({ path, content });
    taken.add(path);
  }
  // A path we write again is not deleted: the new content replaces it.
  const finalDeletions = deletions.filter((p) => !taken.has(p));
  const generatedPaths = files.map((f) => f.path).filter((p) => input.files.some((g) => g.path === p) || p.endsWith('.netpol-baseline.yaml') || narrowed.some((c) => c.path === p));
  files.push(...followKustomizations(input.kustomizations ?? {}, finalDeletions, generatedPaths, notes));
  return { files, deletions: finalDeletions.sort(), superseded, kept, liveOnly, narrowed, notes };
}
