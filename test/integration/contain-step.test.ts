// The contain step against the simulated API server through the real kube adapter, with the
// containment ledger in a real Redis: strategy choice from discovery, the proposal (nothing
// changes), the apply with its proof, resumed runs, a refused write rolled back, additive mode.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { designContainment } from '../../src/containment/design.js';
import { applyPlan, containmentDeps, liftContainment } from '../../src/containment/execute.js';
import { ContainmentLedger } from '../../src/containment/ledger.js';
import { policyFingerprint, scopeConnectivity } from '../../src/containment/proof.js';
import { readLiveObjects, servedKinds } from '../../src/containment/snapshot.js';
import { openIncident, recordApproval, requestApproval, startStep } from '../../src/incident/transitions.js';
import type { Incident } from '../../src/incident/model.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { parseLabelSelector } from '../../src/kube/label-selector.js';
import { silentLogger } from '../../src/log.js';
import { ContainmentNotProven, containStep } from '../../src/playbook/steps/contain.js';
import type { StepContext } from '../../src/playbook/steps/types.js';
import { StepFailed } from '../../src/playbook/steps/types.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { containProposalBlocks } from '../../src/slack/contain-blocks.js';
import { testPlaybook } from '../helpers/playbook.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const now = new Date('2026-11-23T12:00:00Z');
let redis: Redis;

interface Cluster {
  sim: KubeApiSim;
  gateway: KubeGateway;
}

async function cluster(options: Parameters<typeof startKubeApiServer>[0] = {}, extra: object[] = []): Promise<Cluster> {
  const sim = await startKubeApiServer(options);
  sim.seed([...shopObjects(), ...extra]);
  return { sim, gateway: createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(mkdtempSync(join(tmpdir(), 'kc-'))) })) };
}

const allowAllEgress = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-all-egress', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } };

let generic: Cluster;
beforeAll(async () => {
  redis = testRedis();
  generic = await cluster({}, [allowAllEgress]);
});
afterAll(async () => {
  redis.disconnect();
  await generic.sim.close();
});

const contexts: StepContext[] = [];

async function liftAll(ctx: StepContext): Promise<void> {
  contexts.splice(contexts.indexOf(ctx), 1);
  for (const id of await ctx.ledger!.active()) {
    await liftContainment(containmentDeps(ctx.cluster, ctx.ledger!, ctx.settings, silentLogger, ctx.sleep), id);
    await ctx.ledger!.markLifted(id, now.toISOString());
  }
}

// Each test leaves the shared cluster as it found it: whatever a test contained is lifted.
afterEach(async () => {
  for (const ctx of [...contexts]) await liftAll(ctx);
});

function context(c: Cluster, incident: Incident, params = '    params: { keepDnsEgress: true }', anpPriority = 0): StepContext {
  const playbook = testPlaybook('one', params);
  const ctx: StepContext = {
    incident,
    step: playbook.steps[0]!,
    playbook,
    cluster: c.gateway,
    settings: { fieldManager: 'netpol-responder', applyRetries: 1, applyRetryDelayMs: 1, containment: { anpPriority, argocdSkipReconcile: false, argocdNamespace: 'argocd' } },
    ledger: new ContainmentLedger(redis, uniquePrefix('step')),
    logger: silentLogger,
    now: () => now,
    sleep: async () => {},
  };
  contexts.push(ctx);
  return ctx;
}

function runningIncident(id: string, namespace: string, selector?: string, evidence: Record<string, unknown> = { summary: 'x' }): Incident {
  const playbook = testPlaybook('one');
  const scope = selector ? { namespace, selector, labelSelector: parseLabelSelector(selector) } : { namespace };
  let incident = openIncident({ id, scope, requestedBy: 'U1', channel: 'C1' }, playbook, now).incident;
  incident = requestApproval(incident, 'contain', playbook.steps[0]!.approval, evidence, now).incident;
  incident = recordApproval(incident, 'contain', playbook.steps[0]!.approval, 'U2', now).incident;
  return startStep(incident, 'contain', now).incident;
}

const writes = (sim: KubeApiSim) => sim.requests.filter((r) => ['PUT', 'PATCH', 'POST', 'DELETE'].includes(r.method) && !r.query.dryRun);

describe('contain step: the proposal', () => {
  it('auto on a generic cluster: the portable exclusive isolation, dry-run and predicted contained; nothing changes', async () => {
    generic.sim.clearRequests();
    const incident = runningIncident('20261123-sel001', 'db', 'app=postgres');
    const evidence = await containStep.prepare(context(generic, incident));
    expect(evidence.strategy).toBe('networkpolicy-exclusive');
    expect(String(evidence.strategyReason)).toMatch(/^auto: .*neither AdminNetworkPolicy/);
    expect((evidence.pods as { name: string }[]).map((p) => p.name)).toEqual(['postgres-0']);
    expect((evidence.policies as { name: string }[]).map((p) => p.name)).toEqual(expect.arrayContaining(['allow-db-from-api', 'allow-all-egress']));
    expect(evidence.dryRun).toEqual({ ok: true });
    expect(evidence.predictedProof).toMatchObject({ contained: true, open: [] });
    const plan = evidence.plan as { patches: { name: string }[]; podsToLabel: string[]; create: { kind: string }[] };
    expect(plan.create.map((o) => o.kind)).toEqual(['NetworkPolicy']);
    expect(plan.podsToLabel).toEqual(['postgres-0']);
    expect(plan.patches.map((p) => p.name)).toContain('allow-db-from-api');
    expect((evidence.blastRadius as { stillAllowed: string[] }).stillAllowed).toEqual([]);
    expect(writes(generic.sim)).toEqual([]);
  });

  it('auto picks AdminNetworkPolicy, then Cilium, as the cluster serves them', async () => {
    const anp = await cluster({ cluster: { adminNetworkPolicy: true, cni: 'cilium' } });
    const cilium = await cluster({ cluster: { cni: 'cilium' } });
    try {
      const a = await containStep.prepare(context(anp, runningIncident('20261123-anp001', 'db', 'app=postgres')));
      expect(a.strategy).toBe('admin-network-policy');
      expect((a.plan as { create: { kind: string }[] }).create.map((o) => o.kind)).toEqual(['AdminNetworkPolicy', 'NetworkPolicy']);
      expect(a.predictedProof).toMatchObject({ contained: true });
      const c = await containStep.prepare(context(cilium, runningIncident('20261123-cnp001', 'db', 'app=postgres')));
      expect(c.strategy).toBe('cilium');
      expect(c.dryRun).toEqual({ ok: true });
      expect(c.predictedProof).toMatchObject({ contained: true });
    } finally {
      await anp.sim.close();
      await cilium.sim.close();
    }
  });

  it('a pod in scope on the host network: the proposal warns that no policy isolates it; one outside the scope is not named', async () => {
    const hostPod = (name: string, app: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'db', labels: { app, tier: 'db' } },
      spec: { nodeName: 'shop-worker-1', hostNetwork: true, containers: [{ name: app, image: `example/${app}:1` }] },
      status: { phase: 'Running', podIP: '172.18.0.3', podIPs: [{ ip: '172.18.0.3' }] },
    });
    const c = await cluster({}, [hostPod('postgres-exporter', 'postgres'), hostPod('backup-agent', 'backup')]);
    try {
      const evidence = await containStep.prepare(context(c, runningIncident('20261123-host01', 'db', 'app=postgres')));
      const warning = '1 pod(s) in scope run on the host network (postgres-exporter): no NetworkPolicy, AdminNetworkPolicy or CiliumNetworkPolicy isolates them. Cordon and drain their node, or stop them.';
      expect(evidence.warnings).toContain(warning);
      expect((evidence.warnings as string[]).join('\n')).not.toContain('backup-agent');
      // The approver sees it in the proposal, before approving.
      expect(JSON.stringify(containProposalBlocks(evidence))).toContain(`:warning: ${warning}`);
      // The whole namespace holds both.
      const all = await containStep.prepare(context(c, runningIncident('20261123-host02', 'db')));
      expect((all.warnings as string[]).find((w) => w.includes('host network'))).toMatch(/^2 pod\(s\) in scope run on the host network \((postgres-exporter, backup-agent|backup-agent, postgres-exporter)\)/);
    } finally {
      await c.sim.close();
    }
    // Without such a pod, no such warning.
    const plain = await containStep.prepare(context(generic, runningIncident('20261123-host03', 'db', 'app=postgres')));
    expect(((plain.warnings as string[] | undefined) ?? []).join('\n')).not.toContain('host network');
  });

  it('a strategy the cluster does not serve is refused with the one that would work', async () => {
    const incident = runningIncident('20261123-nocrd1', 'db', 'app=postgres');
    await expect(containStep.prepare(context(generic, incident, '    params: { strategy: admin-network-policy }'))).rejects.toThrow(/does not serve AdminNetworkPolicy.*strategy: networkpolicy-exclusive/);
  });

  it('additive: the proposal says which doors stay open', async () => {
    const incident = runningIncident('20261123-add001', 'db', 'app=postgres');
    const evidence = await containStep.prepare(context(generic, incident, '    params: { strategy: networkpolicy-additive }'));
    expect(evidence.predictedProof).toMatchObject({ contained: false });
    expect((evidence.predictedProof as { open: string[] }).open.join('\n')).toContain('allow-all-egress');
    expect((evidence.warnings as string[]).join('\n')).toMatch(/Additive strategy/);
    expect(evidence.strongerStrategies).toEqual(['networkpolicy-exclusive']);
  });
});

describe('contain step: the apply', () => {
  it('exclusive: applies, reads back, proves by the engine, and returns the containment in force; a resumed run writes nothing twice', async () => {
    const incident = runningIncident('20261123-idem01', 'db', 'app=postgres', { summary: 'x', strategy: 'networkpolicy-exclusive' });
    const ctx = context(generic, incident);
    generic.sim.clearRequests();
    const first = await containStep.execute(ctx);
    expect(first.result.summary).toMatch(/^Contained with networkpolicy-exclusive: proven by the engine/);
    expect(first.containment).toMatchObject({ status: 'active', strategy: 'networkpolicy-exclusive', liftApprovals: [] });
    expect(first.events.map((e) => e.type)).toEqual(['policy.applied', 'policy.confirmed', 'containment.proven', 'containment.traffic']);
    expect(first.events.at(-1)?.summary).toMatch(/^Not verified by traffic: no flow collector is running/);
    const firstWrites = writes(generic.sim).length;
    const again = await containStep.execute(ctx);
    expect(again.result.summary).toMatch(/^Contained/);
    // The second run re-applies only our own deny-all (server-side apply is idempotent).
    const secondWrites = writes(generic.sim).slice(firstWrites);
    expect(secondWrites.map((r) => `${r.method} ${r.resource}`)).toEqual(['PATCH networkpolicies']);
    expect(again.events[0]?.summary).toMatch(/^Resumed and finished/);
  });

  it('resumed after a worker died mid-apply: the baseline is the connectivity before containment, not the half-applied state', async () => {
    const incident = runningIncident('20261123-died01', 'db', 'app=postgres', { summary: 'x', strategy: 'networkpolicy-exclusive' });
    const ctx = context(generic, incident);
    const scope = { namespace: 'db', labelSelector: parseLabelSelector('app=postgres') };
    const served = servedKinds(await generic.gateway.discoverKinds());
    const live = await readLiveObjects(generic.gateway, served);
    const before = { connectivity: scopeConnectivity(live, scope), fingerprint: policyFingerprint(live) };
    // The first run: every write done, then its worker died before the baseline was recorded (nothing rolled back).
    const dns = { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
    const plan = designContainment({ strategy: 'networkpolicy-exclusive', reason: 'test', target: { incidentId: incident.id, ...scope, dns, approvers: ['U2'] }, anpPriority: 0, live });
    expect(plan.footprint.patches.length).toBeGreaterThan(0);
    const meta = { incidentId: incident.id, strategy: plan.strategy, ...scope, startedAt: now.toISOString(), dns };
    const deps = containmentDeps(ctx.cluster, ctx.ledger!, ctx.settings, silentLogger, ctx.sleep);
    await expect(applyPlan(deps, meta, plan, live, Promise.reject(new Error('worker killed')))).rejects.toThrow('worker killed');
    expect(await ctx.ledger!.isActive(incident.id)).toBe(false);
    const halfway = await readLiveObjects(generic.gateway, served);
    expect(scopeConnectivity(halfway, scope)).not.toEqual(before.connectivity);

    const out = await containStep.execute(ctx);
    expect(out.result.summary).toMatch(/^Contained with networkpolicy-exclusive/);
    expect(out.events[0]?.summary).toMatch(/^Resumed and finished/);
    expect((await ctx.ledger!.load(incident.id))?.meta.baseline).toEqual(before);
  });

  it('additive with an allow-all next to it: in place but NOT contained, and says so', async () => {
    const incident = runningIncident('20261123-add002', 'db', 'app=postgres', { summary: 'x', strategy: 'networkpolicy-additive' });
    const out = await containStep.execute(context(generic, incident, '    params: { strategy: networkpolicy-additive }'));
    expect(out.result.summary).toMatch(/NOT contained: \d+ connections? stay open \(additive strategy\)/);
    expect(out.events.map((e) => e.type)).toContain('containment.not-contained');
    expect(out.containment?.status).toBe('active');
  });

  it('an exclusive strategy whose proof fails fails loudly, with containment still in force', async () => {
    const winner = {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'allow-monitoring' },
      spec: { priority: 10, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } }, ingress: [{ name: 'scrape', action: 'Allow', from: [{ namespaces: {} }] }] },
    };
    const c = await cluster({ cluster: { adminNetworkPolicy: true } }, [winner]);
    try {
      const incident = runningIncident('20261123-prio01', 'db', 'app=postgres', { summary: 'x', strategy: 'admin-network-policy' });
      const ctx = context(c, incident, '    params: { keepDnsEgress: true }', 50);
      const error = await containStep.execute(ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ContainmentNotProven);
      expect((error as ContainmentNotProven).message).toMatch(/^NOT contained: \d+ connections? stay open after admin-network-policy/);
      expect((error as ContainmentNotProven).containment.status).toBe('active');
      expect((error as ContainmentNotProven).events.at(-1)?.summary).toContain('allow-monitoring');
      expect(c.sim.get('AdminNetworkPolicy', undefined, 'netpol-responder-quarantine-20261123-prio01')).toBeDefined();
      await liftAll(ctx);
      expect(c.sim.get('AdminNetworkPolicy', undefined, 'netpol-responder-quarantine-20261123-prio01')).toBeUndefined();
    } finally {
      await c.sim.close();
    }
  });

  it('a refused write is rolled back: nothing half-applied, and the message names the RBAC rule', async () => {
    const incident = runningIncident('20261123-forbid', 'db', 'app=postgres', { summary: 'x', strategy: 'networkpolicy-exclusive' });
    const before = JSON.stringify([generic.sim.list('NetworkPolicy', 'db'), generic.sim.list('Pod', 'db').map((p) => (p as { metadata: { labels: unknown } }).metadata.labels)]);
    const lift = generic.sim.deny({ verb: 'update', resource: 'networkpolicies', namespace: 'db' });
    try {
      const error = await containStep.execute(context(generic, incident)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepFailed);
      expect((error as Error).message).toMatch(/containment failed: .*forbidden.*rolled back; nothing is left half-applied\. Grant the bot `update` on `networkpolicies.networking.k8s.io`/s);
    } finally {
      lift();
    }
    const after = JSON.stringify([generic.sim.list('NetworkPolicy', 'db'), generic.sim.list('Pod', 'db').map((p) => (p as { metadata: { labels: unknown } }).metadata.labels)]);
    expect(JSON.parse(after)[0].map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(JSON.parse(before)[0].map((p: { metadata: { name: string } }) => p.metadata.name));
    expect(JSON.parse(after)[1]).toEqual(JSON.parse(before)[1]);
  });

  it('validates its playbook params', () => {
    expect(containStep.validateParams({ keepDnsEgress: 'yes' })[0]?.path).toEqual(['keepDnsEgress']);
    expect(containStep.validateParams({ strategy: 'nuke' })[0]?.path).toEqual(['strategy']);
    expect(containStep.validateParams({ maxDuration: 'soon' })[0]?.path).toEqual(['maxDuration']);
    expect(containStep.validateParams({ unknown: 1 })[0]?.message).toMatch(/Unrecognized key/);
    expect(containStep.validateParams({ strategy: 'cilium', maxDuration: '15m', trafficWindow: '30s' })).toEqual([]);
    expect(containStep.validateParams({})).toEqual([]);
  });
});
