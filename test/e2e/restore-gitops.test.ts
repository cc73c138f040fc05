// "Let the controller sync", end to end: the shop's policies are deployed by Argo CD (the simulated
// application controller, syncing the real Git repository), containment pauses the Application
// (skip-reconcile) while it holds, and the restore leaves the object Argo CD would re-apply to
// Argo CD itself: the bot removes carol's extra policy, lifts containment (which resumes the
// Application), then asks Argo CD to sync the policy carol deleted and verifies it like any step.
import { afterEach, describe, expect, it } from 'vitest';
import { ARGOCD_SKIP_RECONCILE_ANNOTATION } from '../../src/containment/gitops.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS, SHOP_ARGOCD } from '../../src/sim/scenarios/shop.js';
import { click, DEMO_USERS, startTestEnvironment } from '../helpers/environment.js';
import { CAROL, gitPolicy, journalHolds, kubectlDeleteNetworkPolicy, livePolicy, normalised, restorePlaybook, restoreSection, timeline, untilRestoreProposed, waitForEnd, waitForRun } from '../helpers/restore.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const APP = `Argo CD Application ${SHOP_ARGOCD.namespace}/${SHOP_ARGOCD.application}`;

function application(e: EmbeddedEnvironment): { metadata: { annotations?: Record<string, string> }; operation?: unknown } {
  return e.kube.get('Application', SHOP_ARGOCD.namespace, SHOP_ARGOCD.application) as never;
}

function managers(e: EmbeddedEnvironment, name: string): string[] {
  const live = e.kube.get('NetworkPolicy', 'db', name) as { metadata: { managedFields?: Array<{ manager?: string }> } } | undefined;
  return (live?.metadata.managedFields ?? []).map((m) => m.manager ?? '');
}

async function gitopsEnvironment(approve: 'plan' | 'step' = 'plan', syncTimeout?: string): Promise<EmbeddedEnvironment> {
  const playbookPath = restorePlaybook(approve, '1s', syncTimeout ? { syncTimeout } : {});
  return startTestEnvironment({ git: true, gitops: true, cluster: { argocd: true }, containment: { argocd: { skipReconcile: true, namespace: SHOP_ARGOCD.namespace } }, playbookPath });
}

describe('restore: let the GitOps controller sync', () => {
  it('after the lift resumes the Application containment paused, Argo CD re-creates the deleted policy, verified', async () => {
    env = await gitopsEnvironment();
    // Argo CD deployed the shop: its policies carry the Application's tracking id.
    expect(managers(env, 'allow-db-from-api')).toContain('argocd-controller');
    await journalHolds(env, 'db', ['allow-db-from-api']);
    await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'allow-db-from-api');
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const syncsBefore = env.argocd!.syncs.length;

    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    // Containment patched Argo CD's policies in db, so it paused the Application.
    expect(application(env).metadata.annotations?.[ARGOCD_SKIP_RECONCILE_ANNOTATION]).toBe('true');
    expect(proposal.steps).toEqual([
      expect.stringMatching(/^1\. delete `NetworkPolicy db\/allow-all-egress` — restricts/),
      expect.stringMatching(/^↳ lift containment .*before step 2/),
      expect.stringMatching(new RegExp(`^2\\. create \`NetworkPolicy db/allow-db-from-api\` — widens .*${APP} syncs it`)),
    ]);
    // Nothing was synced while the proposal was made.
    expect(env.argocd!.syncs).toHaveLength(syncsBefore);

    await click(env, message, DEMO_USERS.approver.id);
    const incident = await waitForEnd(env, incidentId);
    expect(incident.status).toBe('completed');
    expect(incident.restore).toMatchObject({ status: 'done', total: 2, next: 3, lifted: true });
    expect(incident.containment?.status).toBe('lifted');

    // Argo CD, not the bot, wrote the policy back: as Git has it, under Argo's manager.
    expect(livePolicy(env, 'db', 'allow-db-from-api')).toMatchObject({ spec: normalised(gitPolicy(env, 'db', 'allow-db-from-api'))?.spec });
    expect(managers(env, 'allow-db-from-api')).toEqual(['argocd-controller']);
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
    // The lift resumed the Application before its sync ran; the sync named exactly that object.
    expect(application(env).metadata.annotations?.[ARGOCD_SKIP_RECONCILE_ANNOTATION]).toBeUndefined();
    const syncs = env.argocd!.syncs.slice(syncsBefore);
    expect(syncs).toEqual([expect.objectContaining({ phase: 'Succeeded', resources: ['NetworkPolicy/db/allow-db-from-api'] })]);

    const steps = (await timeline(env, incidentId, 'restore.step')).map((e) => e.data as Record<string, unknown>);
    expect(steps).toEqual([
      expect.objectContaining({ n: 1, action: 'delete', applied: 'deleted' }),
      expect.objectContaining({ n: 2, action: 'create', applied: 'created', syncedBy: APP, verification: expect.objectContaining({ object: expect.objectContaining({ ok: true }), engine: expect.objectContaining({ ok: true }) }) }),
    ]);
    const lifts = (await timeline(env, incidentId, 'restore.lift')).map((e) => e.summary);
    expect(lifts[0]).toMatch(/Before step 2: .*lifted first/);
    expect(lifts[1]).toMatch(/steps 2–2 are synced by their GitOps controller/);
    const section = await restoreSection(env, incidentId);
    expect(section).toMatch(new RegExp(`### Step 2: create \`NetworkPolicy db/allow-db-from-api\`: applied \\(created\\)[\\s\\S]*synced by ${APP}`));
  }, 120_000);

  it('a controller that does not sync in time stops the run at its step with the reason; the bot writes nothing', async () => {
    env = await gitopsEnvironment('plan', '2s');
    await journalHolds(env, 'db', ['allow-db-from-api']);
    await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'allow-db-from-api');
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    expect(proposal.steps.at(-1)).toMatch(/syncs it/);
    // Argo CD's controller is down: the sync operation is requested, and nobody runs it.
    await env.argocd!.close();
    await click(env, message, DEMO_USERS.approver.id);
    const blocked = await waitForRun(env, incidentId, ['blocked', 'watching'], -1, 60_000);
    expect(blocked.restore).toMatchObject({ status: 'blocked', next: 1, lifted: true });
    expect(blocked.restore?.failure?.message).toMatch(/sync of `NetworkPolicy db\/allow-db-from-api` at [0-9a-f]{12}\): the object is not as Git has it after 2 s/);
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-db-from-api')).toBeUndefined();
    // The sync operation waits on the Application for the controller.
    expect(application(env).operation).toMatchObject({ sync: { resources: [{ kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }] } });
    const failed = (await timeline(env, incidentId, 'restore.step-failed')).map((e) => e.data as Record<string, unknown>);
    expect(failed).toEqual([expect.objectContaining({ n: 1, reason: 'error' })]);
  }, 120_000);
});
