// Workloads left out of the baseline (too little history) are never less restricted after the
// merge: each replaced policy that selected their pods is kept as a narrowed copy selecting only
// them (narrow.ts, through supersede.ts). Checked on the copies' shape, and with the engine: for
// every left-out pod and a grid of peers and ports, its own side of each decision (egress when it
// sends, ingress when it receives) is the same on the cluster before and in the state after the merge.
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { generateBaseline, type GeneratedBaseline } from '../../src/harden/generate.js';
import { exemptionsOf, NARROWED_FROM, narrowedName, narrowReplaced } from '../../src/harden/narrow.js';
import { buildPrFiles } from '../../src/harden/pr-files.js';
import { indexWithBaseline, proveBaseline } from '../../src/harden/prove.js';
import { supersede, type DeclaredPolicy } from '../../src/harden/supersede.js';
import { proofFigures } from '../../src/harden/step-model.js';
import { buildIndex, decide, loadLiveObjects, resolveEndpoints, type PolicyIndex, type Protocol } from '../../src/policy/index.js';
import { liveOf } from '../helpers/harden.js';

type Obj = Record<string, unknown>;
const NS = 'shop';

const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const pod = (ns: string, name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running' } });
const np = (name: string, spec: Obj, ns = NS) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });

const DNS_PEER = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } };
/** The repository's (and the cluster's) policies for the namespace before hardening. */
const DECLARED = [
  np('deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
  np('dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [DNS_PEER], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] }),
  np('back-egress', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }] }),
  np('back-ingress', { podSelector: { matchLabels: { tier: 'back' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'partner' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }),
  np('web-only', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }] }),
];

/**
 * web and api are hardened; batch-a (own label app=batch-a) and batch-b (own label
 * app.kubernetes.io/name=batch-b, no `app`) have no history and are left out; lonely has no
 * history and no labels at all: it cannot be left out (cut off).
 */
function cluster(policies: readonly Obj[] = DECLARED) {
  return liveOf([
    namespace(NS), namespace('partner'), namespace('kube-system'),
    pod(NS, 'web', { app: 'web', tier: 'front' }),
    pod(NS, 'api', { app: 'api', tier: 'back' }),
    pod(NS, 'batch-a', { app: 'batch-a', tier: 'back' }),
    pod(NS, 'batch-b', { 'app.kubernetes.io/name': 'batch-b', tier: 'back' }),
    pod(NS, 'lonely', {}),
    pod('partner', 'client', { app: 'client' }),
    pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }),
    ...policies,
  ]);
}

const EDGES = [
  { src: `${NS}/web`, dst: `${NS}/api`, port: 8080, protocol: 'TCP' },
  { src: 'partner/client', dst: `${NS}/web`, port: 80, protocol: 'TCP' },
  { src: `${NS}/api`, dst: 'kube-system/coredns', port: 53, protocol: 'UDP' },
];
const HISTORY = [
  { workload: `${NS}/web`, observedMs: 48 * 3600_000, learning: false },
  { workload: `${NS}/api`, observedMs: 48 * 3600_000, learning: false },
];

function setup(policies: readonly Obj[] = DECLARED, extraLive: readonly Obj[] = []) {
  const live = cluster([...policies, ...extraLive]);
  const baseline = generateBaseline({ namespace: NS, live, edges: EDGES, history: HISTORY });
  const declared: DeclaredPolicy[] = policies.map((p) => {
    const name = (p.metadata as { name: string }).name;
    return { namespace: NS, name, path: `policies/${NS}/${name}.yaml`, spec: p.spec, via: 'plain', object: p };
  });
  const texts = Object.fromEntries(declared.map((d) => [d.path, `---\n${JSON.stringify(d.object)}\n`]));
  const plan = supersede({ files: baseline.files.map((f) => ({ path: `policies/${f.path}`, content: f.yaml })), declared, texts, live, flagged: new Set(baseline.flagged.map((f) => f.workload)), namespaces: [NS] });
  return { live, baseline, declared, texts, plan };
}

const copyOf = (plan: ReturnType<typeof setup>['plan'], from: string) => plan.narrowed.filter((c) => c.from === `${NS}/${from}`);

describe('narrowed copies for the workloads left out', () => {
  it('the baseline leaves batch-a and batch-b out by labels of their own, and lonely (no labels) is cut off', () => {
    const { baseline } = setup();
    expect(baseline.flagged).toEqual([
      { workload: `${NS}/batch-a`, reason: 'no flow history', omitted: true },
      { workload: `${NS}/batch-b`, reason: 'no flow history', omitted: true },
      { workload: `${NS}/lonely`, reason: 'no flow history', omitted: false },
    ]);
    expect(exemptionsOf(baseline.policies, NS)).toEqual([{ key: 'app', values: ['batch-a'] }, { key: 'app.kubernetes.io/name', values: ['batch-b'] }]);
  });

  it('a namespace-wide default-deny with one left-out workload: one copy selecting only it, same spec, labelled and annotated', () => {
    const policies = [DECLARED[0]!, DECLARED[4]!];
    const live = liveOf([namespace(NS), pod(NS, 'web', { app: 'web' }), pod(NS, 'backup-0', { app: 'backup' }), ...policies]);
    const baseline = generateBaseline({ namespace: NS, live, edges: [], history: [HISTORY[0]!] });
    const declared: DeclaredPolicy[] = policies.map((p) => ({ namespace: NS, name: (p.metadata as { name: string }).name, path: 'policies/shop/all.yaml', spec: p.spec, via: 'plain', object: p }));
    const plan = supersede({ files: baseline.files.map((f) => ({ path: `policies/${f.path}`, content: f.yaml })), declared, texts: { 'policies/shop/all.yaml': policies.map((p) => `---\n${JSON.stringify(p)}\n`).join('') }, live, flagged: new Set(baseline.flagged.map((f) => f.workload)), namespaces: [NS] });
    expect(plan.deletions).toEqual(['policies/shop/all.yaml']);
    expect(plan.narrowed.map(({ key, from, workloads, path }) => ({ key, from, workloads, path }))).toEqual([{ key: `${NS}/deny-all-not-hardened`, from: `${NS}/deny-all`, workloads: [`${NS}/backup-0`], path: 'policies/shop/not-hardened.yaml' }]);
    const file = plan.files.find((f) => f.path === 'policies/shop/not-hardened.yaml')!;
    const docs = parseAllDocuments(file.content).map((d) => d.toJS() as Obj);
    expect(docs).toEqual([plan.narrowed[0]!.object]);
    expect(docs[0]).toMatchObject({
      metadata: { name: 'deny-all-not-hardened', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'netpol-responder' }, annotations: { [NARROWED_FROM]: 'deny-all' } },
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['backup'] }] }, policyTypes: ['Ingress', 'Egress'] },
    });
    expect(Object.keys((docs[0] as { spec: Obj }).spec)).toEqual(['podSelector', 'policyTypes']);
    expect(plan.notes.join('\n')).not.toContain('no longer applies');
  });

  it('a policy selecting only hardened pods gets no copy; one per exemption key otherwise, keeping its own requirements', () => {
    const { plan } = setup();
    expect(copyOf(plan, 'web-only')).toEqual([]);
    expect(copyOf(plan, 'deny-all').map((c) => [c.key, c.workloads])).toEqual([
      [`${NS}/deny-all-not-hardened`, [`${NS}/batch-a`]],
      [`${NS}/deny-all-not-hardened-2`, [`${NS}/batch-b`]],
    ]);
    const [a, b] = copyOf(plan, 'back-egress').map((c) => (c.object.spec as Obj).podSelector);
    expect(a).toEqual({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }, { key: 'app', operator: 'In', values: ['batch-a'] }] });
    expect(b).toEqual({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }, { key: 'app.kubernetes.io/name', operator: 'In', values: ['batch-b'] }] });
    const ingress = copyOf(plan, 'back-ingress')[0]!.object.spec as Obj;
    expect(ingress).toEqual({ podSelector: { matchLabels: { tier: 'back' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['batch-a'] }] }, ingress: (DECLARED[3]!.spec as Obj).ingress });
    // The declared objects are not touched.
    expect((DECLARED[2]!.spec as { podSelector: { matchExpressions: unknown[] } }).podSelector.matchExpressions).toHaveLength(1);
    expect(plan.narrowed).toHaveLength(8);
  });

  it('a left-out workload with no label of its own gets no copy, and the notes say the replaced policies no longer apply to it', () => {
    const { plan } = setup();
    expect(plan.narrowed.flatMap((c) => c.workloads)).not.toContain(`${NS}/lonely`);
    expect(plan.notes).toContainEqual(expect.stringContaining(`${NS}/deny-all also selected ${NS}/lonely (not hardened, and no label of their own`));
  });

  it('names: never one already used in the namespace, at most 253 characters, valid DNS-1123', () => {
    expect(narrowedName('x', new Set())).toBe('x-not-hardened');
    expect(narrowedName('x', new Set(['x-not-hardened', 'x-not-hardened-2']))).toBe('x-not-hardened-3');
    const long = `${'a'.repeat(120)}.${'b'.repeat(132)}`;
    const name = narrowedName(long, new Set());
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(name.endsWith('-not-hardened')).toBe(true);
    expect(narrowedName(long, new Set([name]))).not.toBe(name);
    expect(narrowedName('a.-', new Set())).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    // In the plan: a live policy already holds the name the copy would take.
    const squatter = np('deny-all-not-hardened', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] });
    const { plan } = setup(DECLARED, [squatter]);
    expect(copyOf(plan, 'deny-all').map((c) => c.key)).toEqual([`${NS}/deny-all-not-hardened-2`, `${NS}/deny-all-not-hardened-3`]);
    expect(new Set(plan.narrowed.map((c) => c.key)).size).toBe(plan.narrowed.length);
  });

  it('a live policy the repository does not declare (the proof assumes it gone) is narrowed too', () => {
    const liveOnly = np('hotfix', { podSelector: { matchLabels: { app: 'batch-a' } }, policyTypes: ['Egress'] });
    const { plan } = setup(DECLARED, [liveOnly]);
    expect(plan.liveOnly).toEqual([`${NS}/hotfix`]);
    expect(copyOf(plan, 'hotfix').map((c) => c.key)).toEqual([`${NS}/hotfix-not-hardened`]);
  });

  it('nothing left out, or nothing replaced: no copy and no file', () => {
    expect(narrowReplaced({ namespace: NS, replaced: DECLARED, exempt: [], pods: loadLiveObjects(cluster()).pods, taken: new Set() })).toEqual([]);
    const { plan } = setup([DECLARED[4]!]);
    expect(plan.narrowed).toEqual([]);
    expect(plan.files.some((f) => f.path.endsWith('not-hardened.yaml'))).toBe(false);
  });

  it('a kustomization above lists the new file', () => {
    const { baseline, declared, texts, live } = setup();
    const plan = supersede({ files: baseline.files.map((f) => ({ path: `policies/${f.path}`, content: f.yaml })), declared, texts, live, flagged: new Set(baseline.flagged.map((f) => f.workload)), namespaces: [NS], kustomizations: { 'policies/kustomization.yaml': 'resources:\n  - shop/deny-all.yaml\n' } });
    const k = parse(plan.files.find((f) => f.path === 'policies/kustomization.yaml')!.content) as { resources: string[] };
    expect(k.resources).toContain('shop/not-hardened.yaml');
    expect(k.resources).not.toContain('shop/deny-all.yaml');
  });
});

const PEERS = [`${NS}/web`, `${NS}/api`, `${NS}/batch-a`, `${NS}/batch-b`, 'partner/client', 'kube-system/coredns', '203.0.113.9', '198.51.100.7'];
const PORTS: Array<[number, Protocol]> = [[53, 'UDP'], [53, 'TCP'], [80, 'TCP'], [443, 'TCP'], [8080, 'TCP'], [5432, 'TCP']];

/** The left-out pod's own side of every decision: [sends, peer, port, protocol, allowed, isolated]. */
function ownSides(index: PolicyIndex, self: string): string[] {
  const out: string[] = [];
  const [me] = resolveEndpoints(index, self);
  for (const peer of PEERS) {
    if (peer === self) continue;
    const [other] = resolveEndpoints(index, peer);
    for (const [port, protocol] of PORTS) {
      const sends = decide(index, me!, other!, port, protocol).egress;
      const receives = decide(index, other!, me!, port, protocol).ingress;
      out.push(`${self} -> ${peer} ${protocol}/${port}: ${sends.allowed ? 'allow' : 'deny'} isolated=${sends.isolated}`);
      out.push(`${peer} -> ${self} ${protocol}/${port}: ${receives.allowed ? 'allow' : 'deny'} isolated=${receives.isolated}`);
    }
  }
  return out;
}

function after(baseline: GeneratedBaseline, live: ReturnType<typeof cluster>, plan: ReturnType<typeof setup>['plan'], withCopies = true): PolicyIndex {
  return indexWithBaseline(live, baseline, [...plan.kept.map((k) => k.object), ...(withCopies ? plan.narrowed.map((c) => c.object) : [])]).index;
}

describe('the engine: left-out pods are exactly as restricted after the merge as before', () => {
  const { live, baseline, plan } = setup();
  const before = buildIndex(live).index;

  it('each left-out pod’s own side of every decision is unchanged, for every peer and port of the grid', () => {
    const merged = after(baseline, live, plan);
    for (const self of [`${NS}/batch-a`, `${NS}/batch-b`]) {
      const sides = ownSides(before, self);
      expect(ownSides(merged, self)).toEqual(sides);
      // Not a grid of nothing: the left-out pod is isolated, and some of its traffic allowed.
      expect(sides).toContainEqual(`${self} -> kube-system/coredns UDP/53: allow isolated=true`);
      expect(sides).toContainEqual(`partner/client -> ${self} TCP/8080: allow isolated=true`);
      expect(sides).toContainEqual(`${self} -> 198.51.100.7 TCP/443: deny isolated=true`);
    }
  });

  it('and nothing between a left-out pod and any peer of the grid is allowed that was not before', () => {
    const merged = after(baseline, live, plan);
    for (const self of [`${NS}/batch-a`, `${NS}/batch-b`, `${NS}/lonely`]) {
      for (const peer of PEERS.filter((p) => p !== self)) {
        for (const [port, protocol] of PORTS) {
          for (const [s, d] of [[self, peer], ...(peer.includes('/') ? [[peer, self]] : [])] as Array<[string, string]>) {
            const is = decide(merged, resolveEndpoints(merged, s)[0]!, resolveEndpoints(merged, d)[0]!, port, protocol).allowed;
            const was = decide(before, resolveEndpoints(before, s)[0]!, resolveEndpoints(before, d)[0]!, port, protocol).allowed;
            if (is) expect(`${s} -> ${d} ${protocol}/${port} allowed before: ${was}`).toBe(`${s} -> ${d} ${protocol}/${port} allowed before: true`);
          }
        }
      }
    }
  });

  it('so every connection between a left-out pod and a peer the baseline does not change is decided as before', () => {
    const merged = after(baseline, live, plan);
    for (const self of [`${NS}/batch-a`, `${NS}/batch-b`]) {
      for (const peer of ['partner/client', 'kube-system/coredns', '203.0.113.9', '198.51.100.7']) {
        for (const [port, protocol] of PORTS) {
          const pairs: Array<[string, string]> = [[self, peer], ...(peer.includes('/') ? [[peer, self] as [string, string]] : [])];
          for (const [s, d] of pairs) {
            const was = decide(before, resolveEndpoints(before, s)[0]!, resolveEndpoints(before, d)[0]!, port, protocol).allowed;
            const is = decide(merged, resolveEndpoints(merged, s)[0]!, resolveEndpoints(merged, d)[0]!, port, protocol).allowed;
            expect(`${s} -> ${d} ${protocol}/${port}: ${is}`).toBe(`${s} -> ${d} ${protocol}/${port}: ${was}`);
          }
        }
      }
    }
  });

  it('without the copies a left-out pod would reach an external address it could not reach before', () => {
    const bare = after(baseline, live, plan, false);
    const args = (index: PolicyIndex) => [resolveEndpoints(index, `${NS}/batch-a`)[0]!, resolveEndpoints(index, '198.51.100.7')[0]!] as const;
    expect(decide(before, ...args(before), 443, 'TCP').allowed).toBe(false);
    expect(decide(bare, ...args(bare), 443, 'TCP').allowed).toBe(true);
    const merged = after(baseline, live, plan);
    expect(decide(merged, ...args(merged), 443, 'TCP').allowed).toBe(false);
    expect(decide(merged, resolveEndpoints(merged, `${NS}/batch-a`)[0]!, resolveEndpoints(merged, '203.0.113.9')[0]!, 443, 'TCP').allowed).toBe(true);
  });

  it('the proof counts the copies in and still stands for the hardened pods; the pull request lists them', () => {
    const proof = proveBaseline({ live, baseline, keep: plan.kept.map((k) => k.object), narrowed: plan.narrowed.map((c) => c.object) });
    const without = proveBaseline({ live, baseline, keep: plan.kept.map((k) => k.object) });
    expect(proof.narrowed).toEqual(plan.narrowed.map((c) => c.key));
    expect(proof.coverage).toEqual(without.coverage);
    expect(proof.unobserved).toEqual(without.unobserved);
    expect(proof.lint).toEqual(without.lint);
    expect(proof.summary).toContain(`Kept for workloads not hardened (narrowed copies of replaced policies): ${NS}/back-egress-not-hardened`);
    const { declared, texts } = setup();
    const narrowed = plan.narrowed.map((c) => ({ key: c.key, from: c.from, workloads: c.workloads }));
    const prOf = (proven: typeof narrowed) =>
      buildPrFiles({
        incident: { id: '20261202-abc123', scope: NS },
        provider: 'github',
        policyPath: 'policies',
        namespaces: [{ namespace: NS, files: baseline.files.map((f) => ({ path: f.path, yaml: f.yaml })), proof: proofFigures(proof), flagged: baseline.flagged, kept: [], narrowed: proven }],
        tests: { path: 'netpol-tests.yaml' },
        learned: baseline.kept,
        anomalies: [],
        live: { namespaces: live.namespaces, pods: live.pods, networkPolicies: live.networkPolicies },
        story: {},
        declared,
        declaredTexts: texts,
        now: '2026-12-02T10:00:00.000Z',
      });
    const pr = prOf(narrowed);
    expect(pr.body).toContain(`- Kept for workloads not hardened, and counted in the proof: \`${NS}/back-egress-not-hardened (narrowed from ${NS}/back-egress, for ${NS}/batch-a; policies/${NS}/not-hardened.yaml)\``);
    expect(pr.files.map((f) => f.path)).toContain(`policies/${NS}/not-hardened.yaml`);
    expect(pr.body).not.toContain('The repository changed since the proof');
    // Proven with one copy fewer than the request now holds: the body says so.
    const stale = prOf(narrowed.slice(1));
    expect(stale.body).toContain(`${narrowed[0]!.key} is now added (narrowed copy)`);
  });
});
