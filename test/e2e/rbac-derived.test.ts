// deploy/rbac.yaml, derived from the code: representative flows run against the simulated API
// server, which records every request with the user whose token made it. The bot's kubeconfig is the
// server's default user; carol (kubectl --as) and Argo CD's controller use their own tokens, so
// filtering by the bot's user keeps only the calls the deployed service account would make. Every
// observed (group, resource, verb) must be granted by the ClusterRole (else the bot would fail in a
// cluster), and every granted one must be observed or listed in NOT_REACHED with the code path that
// needs it (nothing granted for no reason).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { DEFAULT_SIM_USER } from '../../src/sim/kube/index.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALL_TYPES } from '../../src/sim/kube/resources.js';
import { ALLOW_ALL_EGRESS, SHOP_ARGOCD } from '../../src/sim/scenarios/shop.js';
import { click, DEMO_USERS, openIncident, playbookUntilValidate, startTestEnvironment, waitForContained, waitForPlaybookFinished } from '../helpers/environment.js';
import { decideUntilClosed, hardenApprovalMessage, hardenPlaybook, startHardenEnvironment, untilHardenProposed } from '../helpers/harden-e2e.js';
import { CAROL, journalHolds, kubectlDeleteNetworkPolicy, restorePlaybook, untilRestoreProposed, waitForEnd } from '../helpers/restore.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const GROUP_OF = new Map(ALL_TYPES.map((t) => [t.resource as string, t.group]));
const key = (group: string, resource: string, verb: string) => `${group || 'core'}/${resource}:${verb}`;

function granted(): Set<string> {
  const docs = parseAllDocuments(readFileSync('deploy/rbac.yaml', 'utf8')).map((d) => d.toJS() as { kind?: string; rules?: Rule[] });
  const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
  const out = new Set<string>();
  for (const rule of roles.flatMap((r) => r.rules ?? [])) {
    for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) out.add(key(g, r, v));
  }
  return out;
}

/**
 * Granted but not reached by the flows below, each with the code that needs it. Keep it short: an
 * entry here is a permission no test exercises against the simulated server.
 */
const RESTORE = 'restore steps from Git write any policy kind the engine models (src/restore/execute.ts write(): create, replace, apply, delete)';
const REVERT = 'drift revert (src/drift/revert.ts revertOne(): get, apply, replace, delete)';
const LIFT = 'lifting exclusive containment deletes the policies it created (src/containment/execute.ts)';
const NOT_REACHED: Record<string, string> = {
  'policy.networking.k8s.io/adminnetworkpolicies:create': RESTORE,
  'policy.networking.k8s.io/adminnetworkpolicies:update': `${RESTORE}; ${REVERT}`,
  'policy.networking.k8s.io/adminnetworkpolicies:delete': `${LIFT}; ${RESTORE}`,
  'policy.networking.k8s.io/baselineadminnetworkpolicies:get': `${RESTORE} (reads the live object first); ${REVERT}`,
  'policy.networking.k8s.io/baselineadminnetworkpolicies:create': RESTORE,
  'policy.networking.k8s.io/baselineadminnetworkpolicies:update': RESTORE,
  'policy.networking.k8s.io/baselineadminnetworkpolicies:patch': `${RESTORE} (server-side apply)`,
  'policy.networking.k8s.io/baselineadminnetworkpolicies:delete': RESTORE,
  'cilium.io/ciliumnetworkpolicies:create': RESTORE,
  'cilium.io/ciliumnetworkpolicies:update': `${RESTORE}; ${REVERT}`,
  'cilium.io/ciliumnetworkpolicies:delete': `${LIFT}; ${RESTORE}`,
  'cilium.io/ciliumclusterwidenetworkpolicies:list': 'the scheduled audit report reads them (src/audit-report/scheduled.ts); nothing writes them',
};

const observed = new Set<string>();
const unrecorded: string[] = [];

function collect(env: EmbeddedEnvironment): void {
  for (const r of env.kube.requests) {
    if (r.user !== DEFAULT_SIM_USER) continue;
    if (!r.verb) continue;
    if (!r.resource) {
      // SelfSubjectAccessReview/RulesReview: every authenticated user may create them (system:basic-user).
      if (r.path.startsWith('/apis/authorization.k8s.io/') || r.path.startsWith('/apis/authentication.k8s.io/')) continue;
      unrecorded.push(`${r.method} ${r.path}`);
      continue;
    }
    observed.add(key(GROUP_OF.get(r.resource) ?? '?', r.resource, r.verb));
  }
}

async function run(start: () => Promise<EmbeddedEnvironment>, flow: (e: EmbeddedEnvironment) => Promise<void>): Promise<void> {
  const env = await start();
  try {
    await flow(env);
  } finally {
    collect(env);
    await env.stop();
  }
}

function strategyPlaybook(strategy: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-rbac-pb-')), 'playbook.yaml');
  writeFileSync(file, readFileSync(playbookUntilValidate(), 'utf8').replace('keepDnsEgress: true', `keepDnsEgress: true\n      strategy: ${strategy}`));
  return file;
}

async function containAndFinish(e: EmbeddedEnvironment, what: string): Promise<void> {
  e.kube.seed([structuredClone(ALLOW_ALL_EGRESS) as never]);
  const { incidentId, message } = await openIncident(e, `incident db app=postgres -- ${what}`);
  await click(e, message, DEMO_USERS.approver.id);
  await waitForContained(e, incidentId, 20_000);
  await waitForPlaybookFinished(e, incidentId, 30_000);
}

describe('deploy/rbac.yaml is derived from the calls the bot makes', () => {
  it('full incident: contain → trace → validate → restore → harden (NetworkPolicies, pods, namespaces)', async () => {
    await run(
      () => startHardenEnvironment({ git: true, playbookPath: hardenPlaybook() }),
      async (e) => {
        const { incidentId } = await untilHardenProposed(e);
        await decideUntilClosed(e, await hardenApprovalMessage(e, incidentId), incidentId);
      },
    );
  }, 180_000);

  it('restore with Argo CD: pausing and resuming the Application', async () => {
    await run(
      () => startTestEnvironment({ git: true, gitops: true, cluster: { argocd: true }, containment: { argocd: { skipReconcile: true, namespace: SHOP_ARGOCD.namespace } }, playbookPath: restorePlaybook('plan', '1s') }),
      async (e) => {
        await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
        const { incidentId, message } = await untilRestoreProposed(e);
        await click(e, message, DEMO_USERS.approver.id);
        await waitForEnd(e, incidentId);
      },
    );
  }, 120_000);

  it('restore re-creates a policy deleted out of band (no GitOps controller)', async () => {
    await run(
      () => startTestEnvironment({ git: true, playbookPath: restorePlaybook('plan', '1s') }),
      async (e) => {
        await journalHolds(e, 'db', ['allow-db-from-api']);
        await kubectlDeleteNetworkPolicy(e, CAROL, 'db', 'allow-db-from-api');
        await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
        const { incidentId, message } = await untilRestoreProposed(e);
        await click(e, message, DEMO_USERS.approver.id);
        await waitForEnd(e, incidentId);
      },
    );
  }, 120_000);

  it('exclusive containment with AdminNetworkPolicy', async () => {
    await run(() => startTestEnvironment({ cluster: { adminNetworkPolicy: true }, playbookPath: strategyPlaybook('admin-network-policy') }), (e) => containAndFinish(e, 'anp'));
  }, 60_000);

  it('exclusive containment with Cilium', async () => {
    await run(() => startTestEnvironment({ cluster: { cni: 'cilium' }, playbookPath: strategyPlaybook('cilium') }), (e) => containAndFinish(e, 'cilium'));
  }, 60_000);

  it('every observed call is granted (the deployed bot would not be refused)', () => {
    expect(unrecorded).toEqual([]);
    expect(observed.size).toBeGreaterThan(0);
    const allowed = granted();
    expect([...observed].filter((k) => !allowed.has(k)).sort()).toEqual([]);
  });

  it('every granted call is observed or listed with the code path that needs it (least privilege)', () => {
    const allowed = granted();
    const extra = [...allowed].filter((k) => !observed.has(k) && !(k in NOT_REACHED)).sort();
    expect(extra, `observed: ${[...observed].sort().join(', ')}`).toEqual([]);
    // The allow-list names only calls the role grants and the flows do not reach.
    expect(Object.keys(NOT_REACHED).filter((k) => !allowed.has(k) || observed.has(k)).sort()).toEqual([]);
  });
});
