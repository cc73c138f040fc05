// `npm run bench -- drift`: the drift monitor's figures. Each section is one function below,
// called at the bottom; more sections (e.g. live change → Slack drift alert end to end) are
// appended as functions of their own.
//
// Section "comparison": 10k live policies in one namespace (as the API server returns them:
// defaults, server metadata, tool marks) against the 10k Git manifests they came from, with a
// deterministic 1% of drift. Times normalise + diff (compareState), the same again on the policies
// listed anew with the normalised objects kept (the monitor's next evaluation), the intended objects, and the
// connectivity delta by the engine over the namespace's pods. Target: the three together ≤ 2 s.
//
// Section "full comparison from Git": the same 10k manifests committed to a real bare repository
// in four layouts (one file per policy; 100 files of 100 documents; a resources-only kustomization
// over those 100 files, read as its files; the same with `namespace:`, which `kubectl kustomize`
// must build), cloned by a PolicyRepository; times the cold render of
// the head commit (a new repository object: no cache), the warm one (cached), the comparison as
// the drift monitor runs it (render + compareState + intendedObjects + connectivityDelta), and the
// render of a next commit that changes one file. Target: the cold comparison ≤ 2 s (p50).
// BENCH_DRIFT_RUNS / BENCH_DRIFT_GIT_RUNS change the run counts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { compareState, CompareMemo, type DesiredInput } from '../../src/drift/compare.js';
import { connectivityDelta, intendedObjects } from '../../src/drift/delta.js';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { mergeStates } from '../../src/git/render.js';
import { PolicyRepository } from '../../src/git/repository.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { createBareRepository, writeHistory } from '../../src/sim/git-remote.js';
import { applyDefaults } from '../../src/sim/kube/defaults.js';
import { resourceForKind, type ResourceType } from '../../src/sim/kube/resources.js';
import type { KubeObject } from '../../src/sim/kube/store.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { summarize } from './stats.js';

type Obj = Record<string, unknown>;

const COMPARISON_TARGET_MS = 2000;
const COMPARISON_RUNS = Number(process.env.BENCH_DRIFT_RUNS ?? 5);
const GIT_RUNS = Number(process.env.BENCH_DRIFT_GIT_RUNS ?? 5);

/** The live form of a Git manifest: server defaults and metadata, and the marks Argo CD and kubectl add. */
function asServed(manifest: Obj, i: number): Obj {
  const live = structuredClone(manifest);
  applyDefaults(resourceForKind('NetworkPolicy') as ResourceType, live as KubeObject);
  const meta = live.metadata as Obj;
  Object.assign(meta, {
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resourceVersion: String(100_000 + i),
    generation: 1,
    creationTimestamp: '2026-03-01T10:00:00Z',
    labels: { ...(meta.labels as Obj | undefined), 'app.kubernetes.io/instance': 'shop-policies' },
    annotations: { 'argocd.argoproj.io/tracking-id': `shop-policies:networking.k8s.io/NetworkPolicy:${String(meta.namespace)}/${String(meta.name)}`, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(manifest) },
    managedFields: [{ manager: 'argocd-controller', operation: 'Apply', apiVersion: 'networking.k8s.io/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:podSelector': {}, 'f:policyTypes': {} } } }],
  });
  return live;
}

/** Deterministic drift over the live list: widened, opened, reordered, deleted and extra policies. */
function drift(live: Obj[]): Obj[] {
  const out = live.map((policy, i) => {
    const spec = policy.spec as Obj;
    if (i % 100 === 7 && Array.isArray(spec.egress)) return { ...policy, spec: { ...spec, egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }, ...spec.egress] } };
    if (i % 100 === 13 && Array.isArray(spec.ingress)) return { ...policy, spec: { ...spec, ingress: [{}] } };
    if (i % 100 === 29 && Array.isArray(spec.ingress)) return { ...policy, spec: { ...spec, ingress: [...spec.ingress].reverse() } }; // no drift: rules are a set
    return policy;
  });
  const kept = out.filter((_, i) => i % 500 !== 3);
  for (let k = 0; k < 20; k++) kept.push(asServed({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `hotfix-${k}`, namespace: 'ns-0' }, spec: { podSelector: { matchLabels: { app: `app-${k}` } }, ingress: [{}] } }, 90_000 + k));
  return kept;
}

function withoutKind(o: Obj): Obj {
  const { kind: _kind, ...rest } = o;
  return rest;
}

function timeComparison(label: string, live: Obj[], pods: Obj[], namespaces: Obj[], desired: DesiredInput[]): boolean {
  const liveObjects: LiveObjects = { namespaces, pods, networkPolicies: live.map(withoutKind) };
  const phases = { compare: [] as number[], intended: [] as number[], delta: [] as number[], total: [] as number[] };
  let summary = '';
  for (let run = 0; run < COMPARISON_RUNS; run++) {
    const t0 = performance.now();
    const report = compareState(live, desired);
    const t1 = performance.now();
    const { live: current, intended } = intendedObjects(liveObjects, desired, report);
    const t2 = performance.now();
    const delta = connectivityDelta(current, intended);
    const t3 = performance.now();
    phases.compare.push(t1 - t0);
    phases.intended.push(t2 - t1);
    phases.delta.push(t3 - t2);
    phases.total.push(t3 - t0);
    const count = (status: string): number => report.items.filter((i) => i.status === status).length;
    summary = `${report.compared} compared: ${count('modified')} modified, ${count('missing')} missing, ${count('extra')} extra; delta ${delta.severity}: ${delta.exposure.length} exposure, ${delta.breakage.length} breakage lines`;
  }
  // The monitor's next evaluation: the policies listed again (new objects, same versions), the
  // normalised objects kept from the last comparison (src/drift/normalize-memo.ts).
  const memo = new CompareMemo();
  compareState(live, desired, { memo });
  const kept: number[] = [];
  for (let run = 0; run < COMPARISON_RUNS; run++) {
    const relisted = structuredClone(live);
    const t0 = performance.now();
    compareState(relisted, desired, { memo });
    kept.push(performance.now() - t0);
  }
  // What the watched view gives between changes: the very same objects, but for one edited.
  const watched = structuredClone(live);
  compareState(watched, desired, { memo });
  const same: number[] = [];
  for (let run = 0; run < COMPARISON_RUNS; run++) {
    const at = run % watched.length;
    watched[at] = structuredClone(watched[at] as Obj);
    const t0 = performance.now();
    compareState(watched, desired, { memo });
    same.push(performance.now() - t0);
  }
  const best = Math.min(...phases.total);
  process.stdout.write(
    `\ncomparison, ${label}: ${desired.length} Git policies vs ${live.length} live in one namespace (${pods.length} pods)\n` +
      `  ${summary}\n` +
      `  first run ${phases.total[0]?.toFixed(0)} ms (compare ${phases.compare[0]?.toFixed(0)}, intended ${phases.intended[0]?.toFixed(0)}, delta ${phases.delta[0]?.toFixed(0)})\n` +
      `  ${summarize('normalise + diff (compareState)', phases.compare)}\n` +
      `  ${summarize('compareState again, relisted, normalised objects kept', kept)}\n` +
      `  ${summarize('compareState again, the same objects but one (the watched view), sides and outcomes kept', same)}\n` +
      `  ${summarize('intended objects', phases.intended)}\n` +
      `  ${summarize('connectivity delta', phases.delta)}\n` +
      `  ${summarize('total', phases.total)}\n` +
      `  target ≤ ${COMPARISON_TARGET_MS} ms (best of ${COMPARISON_RUNS}): ${best <= COMPARISON_TARGET_MS ? 'met' : 'NOT met'}\n`,
  );
  return best <= COMPARISON_TARGET_MS;
}

interface Shop {
  manifests: Obj[];
  served: Obj[];
  pods: Obj[];
  namespaces: Obj[];
  /** The usual case: someone edits one policy (its egress opened to everything). */
  oneEdit: Obj[];
}

function shop(): Shop {
  const objects = syntheticCluster({ pods: 100, policiesPerPod: 100, openNamespaces: 0, seed: 1 }) as Obj[];
  const manifests = objects.filter((o) => o.kind === 'NetworkPolicy');
  const served = manifests.map(asServed);
  const oneEdit = served.map((p, i) => (i === 4242 ? { ...p, spec: { ...(p.spec as Obj), policyTypes: ['Ingress', 'Egress'], egress: [{}] } } : p));
  return { manifests, served, pods: objects.filter((o) => o.kind === 'Pod').map(withoutKind), namespaces: objects.filter((o) => o.kind === 'Namespace').map(withoutKind), oneEdit };
}

function benchComparison(data: Shop): boolean {
  const desired: DesiredInput[] = data.manifests.map((object, i) => ({ object, source: { repository: 'shop-policies', path: `ns-0/policy-${i}.yaml`, via: 'plain' } }));
  return [timeComparison('one policy edited', data.oneEdit, data.pods, data.namespaces, desired), timeComparison('1% drifted', drift(data.served), data.pods, data.namespaces, desired)].every(Boolean);
}

// ---- full comparison from Git ----

interface Layout {
  label: string;
  /** The repository's files for these manifests. */
  files(manifests: Obj[]): Record<string, string>;
  /** The file the policy at this index is in (what a one-policy commit rewrites). */
  fileOf(index: number): string;
}

const POLICY_DIR = 'policies/ns-0';
const PER_FILE = 100;
const partPath = (k: number): string => `${POLICY_DIR}/part-${String(k).padStart(3, '0')}.yaml`;

function parts(manifests: Obj[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (let k = 0; k * PER_FILE < manifests.length; k++) files[partPath(k)] = manifests.slice(k * PER_FILE, (k + 1) * PER_FILE).map((m) => stringify(m)).join('---\n');
  return files;
}

/** The files of 100 documents and a kustomization listing them, with more fields when given. */
function kustomized(manifests: Obj[], fields: Obj): Record<string, string> {
  const files = parts(manifests);
  const resources = Object.keys(files).map((f) => f.slice(POLICY_DIR.length + 1));
  return { ...files, [`${POLICY_DIR}/kustomization.yaml`]: stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...fields, resources }) };
}

const LAYOUTS: Layout[] = [
  {
    label: 'one file per policy',
    files: (ms) => Object.fromEntries(ms.map((m, i) => [`${POLICY_DIR}/policy-${String(i).padStart(5, '0')}.yaml`, stringify(m)])),
    fileOf: (i) => `${POLICY_DIR}/policy-${String(i).padStart(5, '0')}.yaml`,
  },
  { label: `${PER_FILE} documents per file`, files: parts, fileOf: (i) => partPath(Math.floor(i / PER_FILE)) },
  { label: 'resources-only kustomization over the files of 100 documents', files: (ms) => kustomized(ms, {}), fileOf: (i) => partPath(Math.floor(i / PER_FILE)) },
  { label: 'kustomization with namespace: over the same files (kubectl kustomize)', files: (ms) => kustomized(ms, { namespace: 'ns-0' }), fileOf: (i) => partPath(Math.floor(i / PER_FILE)) },
];

const author = { name: 'Erin', email: 'erin@shop.example' };

/** One comparison as the drift monitor runs it, from a render of the repository's head. */
async function compareFromGit(repo: PolicyRepository, live: Obj[], liveObjects: LiveObjects): Promise<{ ms: Record<'render' | 'compare' | 'intended' | 'delta' | 'total', number>; summary: string }> {
  const t0 = performance.now();
  const state = await repo.desiredState();
  if (!state) throw new Error('nothing cloned');
  const desired = mergeStates([state]);
  const t1 = performance.now();
  const report = compareState(live, desired.objects);
  const t2 = performance.now();
  const { live: current, intended } = intendedObjects(liveObjects, desired.objects, report);
  const t3 = performance.now();
  const delta = connectivityDelta(current, intended);
  const t4 = performance.now();
  const count = (status: string): number => report.items.filter((i) => i.status === status).length;
  const firstProblem = desired.problems[0] ? ` (${desired.problems[0].message.slice(0, 160)})` : '';
  const summary = `${desired.objects.length} rendered, ${desired.problems.length} problems${firstProblem}; ${report.compared} compared: ${count('modified')} modified, ${count('missing')} missing, ${count('extra')} extra; delta ${delta.severity}`;
  return { ms: { render: t1 - t0, compare: t2 - t1, intended: t3 - t2, delta: t4 - t3, total: t4 - t0 }, summary };
}

async function timeLayout(root: string, index: number, layout: Layout, data: Shop): Promise<boolean> {
  const remote = join(root, `remote-${index}.git`);
  await createBareRepository(remote);
  await writeHistory(remote, [{ author, time: '2026-03-01T09:00:00Z', message: 'policies', files: layout.files(data.manifests) }]);
  const config = gitRepositorySchema.parse({ name: 'shop-policies', url: `file://${remote}`, paths: ['policies'] });
  const settings = { dir: join(root, `clones-${index}`), workDir: join(root, `work-${index}`) };
  mkdirSync(settings.workDir);
  const liveObjects: LiveObjects = { namespaces: data.namespaces, pods: data.pods, networkPolicies: data.oneEdit.map(withoutKind) };
  const cold = { render: [] as number[], compare: [] as number[], intended: [] as number[], delta: [] as number[], total: [] as number[] };
  const warm: number[] = [];
  let summary = '';
  let repo: PolicyRepository | undefined;
  for (let run = 0; run < GIT_RUNS; run++) {
    // A new repository object over the same clone: nothing of an earlier render is cached.
    repo = new PolicyRepository(config, settings);
    const synced = await repo.sync();
    if (!synced.ok) throw new Error(synced.error);
    const result = await compareFromGit(repo, data.oneEdit, liveObjects);
    for (const phase of Object.keys(cold) as Array<keyof typeof cold>) cold[phase].push(result.ms[phase]);
    summary = result.summary;
    const t = performance.now();
    await repo.desiredState();
    warm.push(performance.now() - t);
    // A run ten times over the target says enough; more of them would only take minutes.
    if (result.ms.total > 10 * COMPARISON_TARGET_MS) break;
  }
  const parsedCold = repo!.renderCache.parsedFiles;
  const nextCommit = (cold.total.at(-1) as number) > 10 * COMPARISON_TARGET_MS ? '  next commit: not measured (the cold run took ten times the target)\n' : await timeNextCommit(remote, layout, data, repo!, liveObjects, parsedCold);
  const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1] as number;
  const met = p50(cold.total) <= COMPARISON_TARGET_MS;
  process.stdout.write(
    `\nfull comparison from Git, ${layout.label}: ${Object.keys(layout.files(data.manifests)).length} files, ${data.oneEdit.length} live policies (one edited)\n` +
      `  ${summary}\n` +
      `  first run: render ${cold.render[0]?.toFixed(0)} ms, total ${cold.total[0]?.toFixed(0)} ms\n` +
      `  ${summarize('cold render (new repository object)', cold.render)}\n` +
      `  ${summarize('warm render (same commit, cached)', warm)}\n` +
      `  ${summarize('compareState', cold.compare)}\n` +
      `  ${summarize('intended objects', cold.intended)}\n` +
      `  ${summarize('connectivity delta', cold.delta)}\n` +
      `  ${summarize('cold full comparison', cold.total)}\n` +
      nextCommit +
      `  target: cold full comparison ≤ ${COMPARISON_TARGET_MS} ms (p50 of ${cold.total.length}): ${met ? 'met' : 'MISSED'} (${p50(cold.total).toFixed(0)} ms)\n`,
  );
  return met;
}

/** The usual next commit: one policy changed in one file, rendered by the long-lived repository object. */
async function timeNextCommit(remote: string, layout: Layout, data: Shop, repo: PolicyRepository, liveObjects: LiveObjects, parsedBefore: number): Promise<string> {
  const changed = data.manifests.map((m, i) => (i === 17 ? { ...m, metadata: { ...(m.metadata as Obj), labels: { reviewed: 'yes' } } } : m));
  const file = layout.fileOf(17);
  await writeHistory(remote, [{ author, time: '2026-03-02T09:00:00Z', message: 'label one policy', files: { [file]: layout.files(changed)[file] as string } }]);
  const next = await repo.sync();
  if (!next.ok || !next.changed) throw new Error('the next commit was not fetched');
  const after = await compareFromGit(repo, data.oneEdit, liveObjects);
  return (
    `  files parsed: ${parsedBefore} by the first render, ${repo.renderCache.parsedFiles - parsedBefore} by the next commit's\n` +
    `  next commit (one file changed): render ${after.ms.render.toFixed(0)} ms, full comparison ${after.ms.total.toFixed(0)} ms (${after.summary})\n`
  );
}

async function benchGitComparison(data: Shop): Promise<boolean> {
  const root = mkdtempSync(join(tmpdir(), 'netpol-drift-bench-'));
  try {
    const results: boolean[] = [];
    for (const [index, layout] of LAYOUTS.entries()) results.push(await timeLayout(root, index, layout, data));
    return results.every(Boolean);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// ---- sections ----
const data = shop();
const results = [benchComparison(data), await benchGitComparison(data)];
if (results.some((ok) => !ok)) process.exitCode = 1;
