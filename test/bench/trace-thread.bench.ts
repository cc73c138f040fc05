// `npm run bench -- trace-thread`: the trace step's computation (what each change did to the
// scope, walking the cluster's states back) on a compute thread, one incident after another, on a
// synthetic cluster of 10k pods and 10k NetworkPolicies. Each incident's namespace is read afresh
// (new objects), and its changes are those of a contained incident: the bot's own deny-all
// (replayed, not a suspect), a policy of the scope widened, and two policies elsewhere patched.
// Prints the first (nothing kept yet), the next ones (the thread's index of the cluster kept and
// refreshed, its compilations remembered), and the same computation inline with nothing kept.
// Under load this was the shared thread's largest task after the validation. BENCH_TRACE_RUNS
// changes the run count.
import { shareLive } from '../../src/compute/shared-lists.js';
import { computeOffThread } from '../../src/compute/thread.js';
import type { LiveObjects } from '../../src/policy/index.js';
import type { TracedChange } from '../../src/trace/changes.js';
import { changeEffects } from '../../src/trace/effects.js';
import { syntheticLists } from '../helpers/synthetic-cluster.js';
import { tracedChange } from '../helpers/traced-change.js';
import { summarize } from './stats.js';

type Obj = { kind?: string; metadata: { namespace?: string; name: string }; spec?: Record<string, unknown> };

const RUNS = Number(process.env.BENCH_TRACE_RUNS ?? 20);

const { namespaces, pods, networkPolicies: policies } = syntheticLists({ pods: 10_000, policiesPerPod: 1, openNamespaces: 0, seed: 13 });
const userNamespaces = [...new Set(pods.map((p) => p.metadata.namespace as string))].filter((ns) => ns.startsWith('ns-'));

const denyAll = (namespace: string): Obj => ({ metadata: { namespace, name: 'netpol-responder-contain' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
const widened = (p: Obj): Obj => ({ ...p, spec: { ...p.spec, ingress: [{}] } });

const change = (kind: string, before: Obj | null, after: Obj | null, minute: number): TracedChange => tracedChange(kind, before, after, new Date(Date.UTC(2026, 11, 5, 10, minute)).toISOString());

/** The cluster as the step reads it for an incident in `namespace` (that namespace's objects new, last), and the incident's changes. */
function incident(namespace: string, n: number): { live: LiveObjects; changes: TracedChange[]; ignored: boolean[] } {
  const mine = policies.filter((p) => p.metadata.namespace === namespace).map((p) => structuredClone(p));
  const others = [policies[(n * 97) % policies.length], policies[(n * 89 + 13) % policies.length]].filter((p) => p?.metadata.namespace !== namespace) as Obj[];
  const opened = mine[0] ? widened(mine[0]) : undefined;
  const livePolicies = [...policies.filter((p) => p.metadata.namespace !== namespace).map((p) => (others.includes(p) ? widened(p) : p)), ...(opened ? [opened, ...mine.slice(1)] : mine), denyAll(namespace)];
  const livePods = [...pods.filter((p) => p.metadata.namespace !== namespace), ...pods.filter((p) => p.metadata.namespace === namespace).map((p) => structuredClone(p))];
  const changes = [
    ...others.map((p, i) => change('NetworkPolicy', p, widened(p), i)),
    ...(opened && mine[0] ? [change('NetworkPolicy', mine[0], opened, 5)] : []),
    change('NetworkPolicy', null, denyAll(namespace), 9),
  ];
  return {
    live: { namespaces, pods: livePods, networkPolicies: livePolicies, adminNetworkPolicies: [], baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] },
    changes,
    ignored: changes.map((c) => c.name === 'netpol-responder-contain'),
  };
}

const probes = (namespace: string) => [{ src: '203.0.113.9', dst: `${namespace}/${pods.find((p) => p.metadata.namespace === namespace)?.metadata.name}`, port: 8080, protocol: 'TCP' as const, at: Date.UTC(2026, 11, 5, 10, 7) }];

console.log(`trace: ${pods.length} pods, ${policies.length} NetworkPolicies in ${userNamespaces.length} namespaces; ${RUNS} incidents one after another, each namespace read afresh, 4 changes each`);
const threadMs: number[] = [];
let first = 0;
for (let i = 0; i <= RUNS; i++) {
  const namespace = userNamespaces[(i * 37) % userNamespaces.length] as string;
  const { live, changes, ignored } = incident(namespace, i);
  const t0 = performance.now();
  const effects = await computeOffThread('changeEffects', { live: shareLive(live), changes, scope: { namespace }, probes: probes(namespace), ignored });
  const elapsed = performance.now() - t0;
  if (!effects.some((e) => e.relevant && (e.effect?.opened.length ?? 0) > 0)) throw new Error(`incident ${i}: the scope's widened policy opened nothing`);
  if (i === 0) first = elapsed;
  else threadMs.push(elapsed);
}
console.log(`  on a compute thread, the first: ${first.toFixed(0)} ms (nothing kept yet)`);
console.log(`  ${summarize('on a compute thread, the next ones (the index kept and refreshed)', threadMs)}`);

const inlineMs: number[] = [];
for (let i = 0; i < Math.min(RUNS, 5); i++) {
  const namespace = userNamespaces[(i * 37) % userNamespaces.length] as string;
  const { live, changes, ignored } = incident(namespace, i);
  const t0 = performance.now();
  changeEffects(live, changes, { namespace }, probes(namespace), (c) => ignored[changes.indexOf(c)] === true);
  inlineMs.push(performance.now() - t0);
}
console.log(`  ${summarize('inline, nothing kept (for comparison)', inlineMs)}`);
