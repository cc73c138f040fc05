// The computations on a worker thread (src/compute) give what they give on the main thread, run
// several at once (queued beyond cores − 1), and a computation that throws rejects its call only.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { computeValidation, type ValidationInput } from '../../src/playbook/steps/validate-compute.js';
import { computeOffThread, observeComputeTasks, SHARED_THREAD_NICE, type ComputeTaskTiming } from '../../src/compute/thread.js';
import { BotMetrics } from '../../src/metrics.js';
import { shareLive } from '../../src/compute/shared-lists.js';
import { planRestore, type KnownGood } from '../../src/restore/plan.js';
import { changeEffects } from '../../src/trace/effects.js';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';
import { blastRadius } from '../../src/playbook/steps/blast-radius.js';
import { proveContainment } from '../../src/containment/proof.js';
import type { TracedChange } from '../../src/trace/changes.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;

function input(seed: number): ValidationInput {
  const objects = syntheticCluster({ pods: 300, policiesPerPod: 1, openNamespaces: 0, seed }) as Obj[];
  const strip = ({ kind: _kind, ...rest }: Obj): Obj => rest;
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const namespace = String((policies[0]!.metadata as Obj).namespace);
  // Git wants the first policy to allow all egress: a drift with exposure.
  const desired = policies.map((o, i) => ({ kind: 'NetworkPolicy', namespace: String((o.metadata as Obj).namespace), object: i === 0 ? { ...o, spec: { ...(o.spec as Obj), egress: [{}] } } : o, source: { repository: 'r', path: 'p.yaml' } }));
  return {
    live: { namespaces: objects.filter((o) => o.kind === 'Namespace').map(strip), pods: objects.filter((o) => o.kind === 'Pod').map(strip), networkPolicies: policies.map(strip) },
    desired: { objects: desired as never, renderProblems: 0, kinds: ['NetworkPolicy'], ignore: [] },
    probes: [{ flow: 'probe', probe: { src: `${namespace}/x`, dst: '203.0.113.66', port: 443, protocol: 'TCP' } }],
    cases: [{ from: `${namespace}/*`, to: '0.0.0.0/0', port: 443, protocol: 'TCP', expect: 'deny', origin: 'file' } as never],
    namespace,
  };
}

describe('computations on worker threads', () => {
  it('gives what the main thread gives', async () => {
    const given = input(3);
    const inline = computeValidation(given);
    expect(inline.report.items.length).toBeGreaterThan(0);
    expect(await computeOffThread('validation', given)).toEqual(JSON.parse(JSON.stringify(inline)));
  }, 60_000);

  it('runs several at once, each with its own answer', async () => {
    const inputs = [5, 6, 7].map(input);
    const results = await Promise.all(inputs.map((i) => computeOffThread('validation', i)));
    results.forEach((result, n) => expect(result).toEqual(JSON.parse(JSON.stringify(computeValidation(inputs[n]!)))));
  }, 60_000);

  it('a computation that throws rejects its own call, and the next one runs', async () => {
    const broken = { ...input(8), desired: { objects: null, renderProblems: 0, kinds: ['NetworkPolicy'], ignore: [] } } as unknown as ValidationInput;
    await expect(computeOffThread('validation', broken)).rejects.toThrow();
    const ok = input(9);
    expect((await computeOffThread('validation', ok)).report.compared).toBe(computeValidation(ok).report.compared);
  }, 60_000);

  it("the trace's change effects: the same as on the main thread, the changes marked ignored measured as not suspects", async () => {
    const { live, namespace } = input(11);
    const at = '2026-12-01T10:00:00.000Z';
    const changes = (live.networkPolicies as Obj[]).slice(0, 60).map((p): TracedChange => {
      const meta = p.metadata as { name: string; namespace: string };
      return { key: `NetworkPolicy/${meta.namespace}/${meta.name}`, kind: 'NetworkPolicy', namespace: meta.namespace, name: meta.name, at, verb: 'create', evidence: 'journal', auditIDs: [], sourceIPs: [], before: null, after: p, fromAuditOnly: false, managers: [] } as unknown as TracedChange;
    });
    const ignored = changes.map((_, i) => i % 3 === 0);
    const scope = { namespace };
    const inline = changeEffects(live, changes, scope, [], (c) => ignored[changes.indexOf(c)] === true);
    expect(inline.filter((c) => c.relevant).length).toBeGreaterThan(0);
    expect(inline.filter((c, i) => ignored[i] && c.relevant)).toEqual([]);
    expect(await computeOffThread('changeEffects', { live, changes, scope, probes: [], ignored })).toEqual(JSON.parse(JSON.stringify(inline)));
  }, 60_000);

  it("the contain step's blast radius: the deny-all it would create is still told apart from the other policies on the thread", async () => {
    const ns = (name: string) => ({ kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
    const pod = (namespace: string, name: string, labels: Record<string, string>) => ({ kind: 'Pod', metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Running' } });
    const namespace = 'db';
    const live = { namespaces: [ns('db'), ns('api'), ns('kube-system')], pods: [pod('db', 'pg', { app: 'pg' }), pod('api', 'orders', { app: 'orders' }), pod('kube-system', 'dns', { 'k8s-app': 'kube-dns' })], networkPolicies: [] as unknown[] };
    const proposed = denyAllNetworkPolicy({ incidentId: '20261202-thread1', namespace, dns: { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }, approvers: [] });
    const after = { ...live, networkPolicies: [proposed] };
    const scopePods = [{ namespace, name: 'pg' }];
    const radiusInput = { before: live, after, created: [proposed], scopePods };
    const inline = blastRadius(radiusInput);
    // Told apart by identity: kept by the deny-all's own DNS exception, not by another policy.
    expect(inline.keptByDenyAllCount).toBeGreaterThan(0);
    const dns = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
    // The thread projects the state after containment from the plan: the same as `after` here.
    const plan = { strategy: 'networkpolicy-additive' as const, reason: 'test', create: [proposed], footprint: { scopePods: ['pg'], podsToLabel: [], patches: [], hostNetworkPods: [], heldByOtherIncident: [] } };
    const preview = await computeOffThread('containmentPreview', { before: live, plan, incidentId: '20261202-thread1', scopePods, scope: { namespace }, dns });
    expect(preview.radius).toEqual(JSON.parse(JSON.stringify(inline)));
    expect(preview.predicted).toEqual(proveContainment(after, { namespace }, dns));
    expect(preview.predicted.contained).toBe(true);
    expect(await computeOffThread('proveContainment', { live: after, scope: { namespace }, dns }, { priority: 'urgent' })).toEqual(preview.predicted);
  }, 60_000);

  it('on the shared threads, an interactive task goes before the background ones queued earlier; an urgent one waits for neither', async () => {
    const background = input(15);
    const finished: string[] = [];
    const run = (name: string, priority?: 'interactive' | 'urgent') =>
      computeOffThread('validation', background, priority ? { priority } : {}).then(() => void finished.push(name));
    // Every shared thread busy (cores − 1 of them), then two more background tasks queued before the interactive one.
    const busy = Array.from({ length: Math.max(1, availableParallelism() - 1) }, (_, i) => run(`busy-${i}`));
    const queued = [run('background-1'), run('background-2'), run('interactive', 'interactive')];
    const urgent = run('urgent', 'urgent');
    await Promise.all([...busy, ...queued, urgent]);
    const at = (name: string): number => finished.indexOf(name);
    expect(at('interactive')).toBeLessThan(at('background-1'));
    expect(at('background-1')).toBeLessThan(at('background-2'));
    expect(at('urgent')).toBeLessThan(at('background-1'));
  }, 120_000);

  it.runIf(process.platform === 'linux')('the shared threads run 10 nice levels below the process (Linux: per thread); the main and urgent threads keep its priority', async () => {
    const shared = Math.max(1, availableParallelism() - 1);
    const ok = input(14);
    // Every shared thread and the urgent one started.
    await Promise.all([...Array.from({ length: shared }, () => computeOffThread('validation', ok)), computeOffThread('validation', ok, { priority: 'urgent' })]);
    const nice = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    const base = getPriority();
    const lowered = Math.min(19, base + SHARED_THREAD_NICE);
    expect(nice.filter((n) => n === lowered)).toHaveLength(shared);
    expect(nice.filter((n) => n !== lowered && n !== base)).toEqual([]);
  }, 60_000);

  it('an input that cannot be copied to a thread rejects its call; the threads go on', async () => {
    const ok = input(13);
    await expect(computeOffThread('validation', { ...ok, namespace: (() => 'x') as unknown as string })).rejects.toThrow(/could not be cloned/);
    expect((await computeOffThread('validation', ok)).report.compared).toBe(computeValidation(ok).report.compared);
  }, 60_000);

  it('times each task, waiting and running, by task and priority: to observers and in the metrics; a stopped observer hears nothing more', async () => {
    const heard: ComputeTaskTiming[] = [];
    const stopHearing = observeComputeTasks((t) => heard.push(t));
    const metrics = new BotMetrics();
    const stopMetrics = metrics.observeCompute();
    const ok = input(14);
    try {
      await computeOffThread('validation', ok, { priority: 'interactive' });
      await expect(computeOffThread('validation', { ...ok, desired: { objects: null, renderProblems: 0, kinds: ['NetworkPolicy'], ignore: [] } } as unknown as ValidationInput)).rejects.toThrow();
      await expect(computeOffThread('validation', { ...ok, namespace: (() => 'x') as unknown as string }, { priority: 'urgent' })).rejects.toThrow(/could not be cloned/);
    } finally {
      stopMetrics();
    }
    expect(heard.map(({ task, priority, ok: succeeded }) => ({ task, priority, ok: succeeded }))).toEqual([
      { task: 'validation', priority: 'interactive', ok: true },
      { task: 'validation', priority: 'background', ok: false },
      { task: 'validation', priority: 'urgent', ok: false },
    ]);
    for (const t of heard) {
      expect(t.waitMs).toBeGreaterThanOrEqual(0);
      expect(t.runMs).toBeGreaterThanOrEqual(0);
    }
    // The one that ran took time on its thread, within the time until its answer was in.
    expect(heard[0]!.threadMs).toBeGreaterThan(0);
    expect(heard[0]!.threadMs).toBeLessThanOrEqual(heard[0]!.runMs);
    // One never given to a thread took none there.
    expect(heard[2]!.threadMs).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('netpol_responder_compute_task_wait_seconds_count{task="validation",priority="interactive"} 1');
    expect(text).toContain('netpol_responder_compute_task_run_seconds_count{task="validation",priority="background"} 1');
    expect(text).toContain('netpol_responder_compute_task_run_seconds_count{task="validation",priority="urgent"} 1');
    expect(text).toContain('netpol_responder_compute_task_thread_seconds_count{task="validation",priority="interactive"} 1');
    const runSum = Number(/netpol_responder_compute_task_run_seconds_sum\{task="validation",priority="interactive"\} (\S+)/.exec(text)?.[1]);
    expect(runSum).toBeCloseTo(heard[0]!.runMs / 1000, 6);

    // Stopped: the metrics no longer count; the other observer still hears.
    await computeOffThread('validation', ok, { priority: 'interactive' });
    expect(await metrics.registry.metrics()).toContain('netpol_responder_compute_task_wait_seconds_count{task="validation",priority="interactive"} 1');
    expect(heard).toHaveLength(4);
    stopHearing();
    await computeOffThread('validation', ok);
    expect(heard).toHaveLength(4);
  }, 60_000);

  it("the restore step's plan: on the thread, from shared lists, the one planned inline; a known-good state it cannot plan from fails its call only", async () => {
    const { live } = input(15);
    const policies = live.networkPolicies as Obj[];
    const inScope = [...new Set(policies.map((p) => String((p.metadata as Obj).namespace)))].slice(0, 3);
    const scoped = policies.filter((p) => inScope.includes(String((p.metadata as Obj).namespace)));
    // Git lacks two policies (deletes), widens one (an update) and holds one the cluster lost (a create).
    const widened = { ...scoped[2]!, spec: { ...(scoped[2]!.spec as Obj), egress: [{}] } };
    const lost = { metadata: { namespace: inScope[0], name: 'lost-policy' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const desired = [widened, ...scoped.slice(3), lost].map((object, i) => ({ object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...object }, source: { repository: 'r', path: `p/${i}.yaml` } }));
    const knownGood: KnownGood = { label: 'git main@1234567', objects: desired as KnownGood['objects'] };
    const inline = planRestore({ live, knownGood, namespaces: inScope });
    expect(inline.steps.map((s) => s.action).sort()).toEqual(['create', 'delete', 'delete', 'update']);
    expect(await computeOffThread('restorePlan', { live: shareLive(live), knownGood, namespaces: inScope })).toEqual(inline);
    await expect(computeOffThread('restorePlan', { live: shareLive(live), knownGood, namespaces: [] })).rejects.toThrow(/names no namespace/);
    expect((await computeOffThread('restorePlan', { live: shareLive(live), knownGood, namespaces: inScope })).steps).toHaveLength(4);
  }, 60_000);
});
