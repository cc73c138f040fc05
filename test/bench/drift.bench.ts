// `npm run bench -- drift`: the drift monitor's figures. Each section is one function below,
// called at the bottom; more sections (e.g. live change → Slack drift alert end to end) are
// appended as functions of their own.
//
// Section "comparison": 10k live policies in one namespace (as the API server returns them:
// defaults, server metadata, tool marks) against the 10k Git manifests they came from, with a
// deterministic 1% of drift. Times normalise + diff (compareState), the intended objects, and the
// connectivity delta by the engine over the namespace's pods. Target: the three together ≤ 2 s
// (rendering the Git commit is timed by the renderer's own benchmark).
import { compareState, type DesiredInput } from '../../src/drift/compare.js';
import { connectivityDelta, intendedObjects } from '../../src/drift/delta.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { applyDefaults } from '../../src/sim/kube/defaults.js';
import { resourceForKind, type ResourceType } from '../../src/sim/kube/resources.js';
import type { KubeObject } from '../../src/sim/kube/store.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { summarize } from './stats.js';

type Obj = Record<string, unknown>;

const COMPARISON_TARGET_MS = 2000;
const COMPARISON_RUNS = Number(process.env.BENCH_DRIFT_RUNS ?? 5);

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
  const best = Math.min(...phases.total);
  process.stdout.write(
    `\ncomparison, ${label}: ${desired.length} Git policies vs ${live.length} live in one namespace (${pods.length} pods)\n` +
      `  ${summary}\n` +
      `  first run ${phases.total[0]?.toFixed(0)} ms (compare ${phases.compare[0]?.toFixed(0)}, intended ${phases.intended[0]?.toFixed(0)}, delta ${phases.delta[0]?.toFixed(0)})\n` +
      `  ${summarize('normalise + diff (compareState)', phases.compare)}\n` +
      `  ${summarize('intended objects', phases.intended)}\n` +
      `  ${summarize('connectivity delta', phases.delta)}\n` +
      `  ${summarize('total', phases.total)}\n` +
      `  target ≤ ${COMPARISON_TARGET_MS} ms (best of ${COMPARISON_RUNS}): ${best <= COMPARISON_TARGET_MS ? 'met' : 'NOT met'}\n`,
  );
  return best <= COMPARISON_TARGET_MS;
}

function benchComparison(): boolean {
  const objects = syntheticCluster({ pods: 100, policiesPerPod: 100, openNamespaces: 0, seed: 1 }) as Obj[];
  const manifests = objects.filter((o) => o.kind === 'NetworkPolicy');
  const desired: DesiredInput[] = manifests.map((object, i) => ({ object, source: { repository: 'shop-policies', path: `ns-0/policy-${i}.yaml`, via: 'plain' } }));
  const served = manifests.map(asServed);
  const pods = objects.filter((o) => o.kind === 'Pod').map(withoutKind);
  const namespaces = objects.filter((o) => o.kind === 'Namespace').map(withoutKind);
  // The usual case: someone edits one policy (its egress opened to everything).
  const oneEdit = served.map((p, i) => (i === 4242 ? { ...p, spec: { ...(p.spec as Obj), policyTypes: ['Ingress', 'Egress'], egress: [{}] } } : p));
  return [timeComparison('one policy edited', oneEdit, pods, namespaces, desired), timeComparison('1% drifted', drift(served), pods, namespaces, desired)].every(Boolean);
}

// ---- sections ----
const results = [benchComparison()];
if (results.some((ok) => !ok)) process.exitCode = 1;
