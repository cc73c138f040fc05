// The contain step against the simulated API server through the real kube adapter.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIncident, recordApproval, requestApproval, startStep } from '../../src/incident/transitions.js';
import type { Incident } from '../../src/incident/model.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { containStep } from '../../src/playbook/steps/contain.js';
import type { StepContext } from '../../src/playbook/steps/types.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { parseLabelSelector } from '../../src/kube/label-selector.js';
import { testPlaybook } from '../helpers/playbook.js';

let sim: KubeApiSim;
let cluster: ReturnType<typeof createKubeGateway>;
const playbook = testPlaybook('one', '    params: { keepDnsEgress: false }');
const now = new Date('2026-11-23T12:00:00Z');

beforeAll(async () => {
  sim = await startKubeApiServer();
  sim.seed(shopObjects());
  cluster = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(mkdtempSync(join(tmpdir(), 'kc-'))) }));
});
afterAll(() => sim?.close());

function context(incident: Incident): StepContext {
  return {
    incident,
    step: playbook.steps[0]!,
    playbook,
    cluster,
    settings: { fieldManager: 'netpol-responder', applyRetries: 1, applyRetryDelayMs: 1 },
    logger: silentLogger,
    now: () => now,
    sleep: async () => {},
  };
}

function runningIncident(id: string, namespace: string, selector?: string): Incident {
  const scope = selector ? { namespace, selector, labelSelector: parseLabelSelector(selector) } : { namespace };
  let incident = openIncident({ id, scope, requestedBy: 'U1', channel: 'C1' }, playbook, now).incident;
  incident = requestApproval(incident, 'contain', playbook.steps[0]!.approval, { summary: 'x' }, now).incident;
  incident = recordApproval(incident, 'contain', playbook.steps[0]!.approval, 'U2', now).incident;
  return startStep(incident, 'contain', now).incident;
}

const patches = (name: string) => sim.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(name) && !r.query.dryRun);

describe('contain step', () => {
  it('gathers pods and selecting policies for a selector scope and dry-runs the proposal', async () => {
    const incident = runningIncident('20261123-sel001', 'db', 'app=postgres');
    const evidence = await containStep.prepare(context(incident));
    expect((evidence.pods as { name: string }[]).map((p) => p.name)).toEqual(['postgres-0']);
    expect((evidence.policies as { name: string }[]).map((p) => p.name)).toContain('allow-db-from-api');
    expect(evidence.dryRun).toEqual({ ok: true });
    expect((evidence.proposedPolicy as { spec: { podSelector: unknown } }).spec.podSelector).toEqual({ matchLabels: { app: 'postgres' } });
    expect(sim.get('NetworkPolicy', 'db', 'netpol-responder-quarantine-20261123-sel001')).toBeUndefined();
    // The shop lets api reach postgres through its own policy: the deny-all does not cut that.
    const radius = evidence.blastRadius as { stillAllowed: string[]; cut: string[] };
    expect(radius.stillAllowed.some((l) => l.startsWith('api/') && l.includes('=> db/postgres[StatefulSet]'))).toBe(true);
  });

  it('applies once; running it again after an interruption does not apply again', async () => {
    const incident = runningIncident('20261123-idem01', 'api');
    const name = 'netpol-responder-quarantine-20261123-idem01';
    const first = await containStep.execute(context(incident));
    expect(first.result.summary).toContain(name);
    expect(patches(name)).toHaveLength(1);
    const stored = sim.get('NetworkPolicy', 'api', name) as { spec: Record<string, unknown>; metadata: { annotations: Record<string, string> } };
    expect(stored.spec.egress ?? []).toEqual([]);
    expect(stored.metadata.annotations['netpol-responder.io/approved-by']).toBe('U2');

    const again = await containStep.execute(context(incident));
    expect(patches(name)).toHaveLength(1);
    expect(again.events[0]?.summary).toContain('already in place');
    expect(again.events.map((e) => e.type)).toEqual(['policy.applied', 'policy.confirmed']);
  });

  it('re-applies when someone changed the bot’s policy by hand since', async () => {
    const incident = runningIncident('20261123-drift1', 'frontend');
    const name = 'netpol-responder-quarantine-20261123-drift1';
    await containStep.execute(context(incident));
    const live = (await cluster.getNetworkPolicy('frontend', name))!;
    await cluster.applyNetworkPolicy({ ...live, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] } }, { fieldManager: 'kubectl-edit', force: true });
    const again = await containStep.execute(context(incident));
    expect(patches(name)).toHaveLength(3); // ours, the hand edit, ours again
    expect(again.events[0]?.summary).toContain('Applied deny-all');
    const restored = (await cluster.getNetworkPolicy('frontend', name))!;
    expect(restored.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(restored.spec?.ingress ?? []).toEqual([]);
  });

  it('fails clearly when the namespace is forbidden', async () => {
    const incident = runningIncident('20261123-forbid', 'db');
    const lift = sim.deny({ verb: 'patch', resource: 'networkpolicies', namespace: 'db' });
    await expect(containStep.execute(context(incident))).rejects.toThrow(/applying db\/netpol-responder-quarantine-20261123-forbid failed: .*forbidden/i);
    lift();
  });

  it('validates its playbook params', () => {
    expect(containStep.validateParams({ keepDnsEgress: 'yes' })[0]?.path).toEqual(['keepDnsEgress']);
    expect(containStep.validateParams({ unknown: 1 })[0]?.message).toMatch(/Unrecognized key/);
    expect(containStep.validateParams({})).toEqual([]);
  });
});
