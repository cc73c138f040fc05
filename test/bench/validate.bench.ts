// `npm run bench -- validate`: the validate step's computation (drift against Git, the connectivity
// delta, both indexes, network tests and lint) on a compute thread, one incident after another, on
// a synthetic cluster of 10k pods and 10k NetworkPolicies, with Git declaring the same policies
// but one (a drift with exposure). Each incident's namespace is read afresh (new objects), as the
// step reads its scope. Prints:
//  - on the thread, as the step runs it: the first validation (nothing kept yet) and the next ones
//    (Git's objects, the comparison, the compilations and the live index kept by the thread), and
//    the main thread's own share of each (cutting the lists into their shared parts);
//  - the same computation inline with nothing kept, for comparison.
// This is the shared thread's largest task under load: fifty incidents' validations take its time
// and its garbage collections take the cores. BENCH_VALIDATE_RUNS changes the run count.
import { shareDesired, shareLive } from '../../src/compute/shared-lists.js';
import { computeOffThread } from '../../src/compute/thread.js';
import type { DesiredObject } from '../../src/git/render.js';
import { computeValidation, type ValidationInput } from '../../src/playbook/steps/validate-compute.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { syntheticLists } from '../helpers/synthetic-cluster.js';
import { summarize } from './stats.js';

type Obj = { kind?: string; metadata: { namespace?: string; name: string }; spec?: Record<string, unknown> };

const RUNS = Number(process.env.BENCH_VALIDATE_RUNS ?? 20);

const { namespaces, pods, networkPolicies: policies } = syntheticLists({ pods: 10_000, policiesPerPod: 1, openNamespaces: 0, seed: 13 });
const desired: DesiredObject[] = policies.map((p) => ({
  kind: 'NetworkPolicy',
  namespace: p.metadata.namespace as string,
  name: p.metadata.name,
  object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...structuredClone(p) },
  source: { repository: 'policies', path: `${p.metadata.namespace}/policies.yaml`, via: 'plain' },
}));
// The drift: one policy of ns-99 allows all ingress live, where Git does not.
const drifted = policies.findIndex((p) => p.metadata.namespace === 'ns-99');
policies[drifted] = { ...(policies[drifted] as Obj), spec: { ...(policies[drifted] as Obj).spec, policyTypes: ['Ingress'], ingress: [{}] } };
const userNamespaces = [...new Set(pods.map((p) => p.metadata.namespace as string))].filter((ns) => ns.startsWith('ns-'));

/** The live objects as the step reads them for an incident in `namespace`: that namespace's objects new, last. */
function liveFor(namespace: string): LiveObjects {
  const fresh = (list: Obj[]): Obj[] => [...list.filter((o) => o.metadata.namespace !== namespace), ...list.filter((o) => o.metadata.namespace === namespace).map((o) => structuredClone(o))];
  return { namespaces, pods: fresh(pods), networkPolicies: fresh(policies), adminNetworkPolicies: [], baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] };
}

function inputFor(namespace: string): Omit<ValidationInput, 'live' | 'desired'> {
  return { probes: [{ flow: 'probe', probe: { src: `${namespace}/x`, dst: '203.0.113.66', port: 443, protocol: 'TCP' } }], cases: [], namespace };
}

const git = { renderProblems: 0, kinds: ['NetworkPolicy'], ignore: [] };

console.log(`validation: ${pods.length} pods, ${policies.length} NetworkPolicies in ${userNamespaces.length} namespaces, Git declaring all of them (one drifted live); ${RUNS} incidents one after another, each namespace read afresh`);
const threadMs: number[] = [];
const mainMs: number[] = [];
let first = 0;
for (let i = 0; i <= RUNS; i++) {
  const namespace = userNamespaces[(i * 37) % userNamespaces.length] as string;
  const live = liveFor(namespace);
  const t0 = performance.now();
  const shared = { live: shareLive(live), desired: { ...git, objects: shareDesired(desired) } };
  const t1 = performance.now();
  const result = await computeOffThread('validation', { ...inputFor(namespace), ...shared });
  const t2 = performance.now();
  if (result.report.items.length !== 1) throw new Error(`expected the one drift, got ${result.report.items.length}`);
  if (i === 0) first = t2 - t0;
  else {
    threadMs.push(t2 - t1);
    mainMs.push(t1 - t0);
  }
}
console.log(`  on a compute thread, the first: ${first.toFixed(0)} ms (nothing kept yet)`);
console.log(`  ${summarize('on a compute thread, the next ones (what the thread kept reused)', threadMs)}`);
console.log(`  ${summarize("before each, on the main thread (the lists cut into their shared parts)", mainMs)}`);

const inlineMs: number[] = [];
for (let i = 0; i < Math.min(RUNS, 5); i++) {
  const namespace = userNamespaces[(i * 37) % userNamespaces.length] as string;
  const t0 = performance.now();
  computeValidation({ ...inputFor(namespace), live: liveFor(namespace), desired: { ...git, objects: desired } });
  inlineMs.push(performance.now() - t0);
}
console.log(`  ${summarize('inline, nothing kept (for comparison)', inlineMs)}`);
