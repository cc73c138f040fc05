// Step 3, Validate Rules, end to end: the incident's playbook runs contain, trace and validate on
// the simulated cluster with the shop's policy repository (real git). The step reports carol's
// out-of-band policy as extra in the cluster with its exposure, keeps the bot's containment apart,
// answers whether restoring Git is enough for the anomalous flow, runs the repository's
// netpol-tests.yaml against live and Git, says when that file is broken (file and line), and
// works without any repository. The postmortem gets its "Validation" section.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { writeHistory } from '../../src/sim/git-remote.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment, waitForPlaybookFinished } from '../helpers/environment.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const TESTS_FILE = `cases:
  - name: web reaches the orders API
    from: frontend/web
    to: api/orders
    port: 8080
    expect: allow
  - name: the database never talks to the internet
    from: db/postgres
    to: 203.0.113.0/24
    port: 443
    expect: deny
`;

async function commitFile(e: EmbeddedEnvironment, path: string, content: string): Promise<void> {
  await writeHistory(e.git!.remoteDir, [{ author: { name: 'Erin Platform', email: 'erin@shop.example' }, time: new Date(), message: `add ${path}`, files: { [path]: content } }]);
}

async function runIncident(e: EmbeddedEnvironment): Promise<{ incidentId: string; thread: string }> {
  await kubectlCreateNetworkPolicy(e.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
  const { incidentId, message } = await openIncident(e, 'incident db app=postgres -- exfiltration to 203.0.113.66');
  await click(e, message, DEMO_USERS.approver.id);
  await waitForPlaybookFinished(e, incidentId, 30_000);
  // The thread follows the record: wait for the step's summary reply.
  const summary = (await e.bot!.store.require(incidentId)).steps.validate?.result?.summary as string;
  await e.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes(summary), 10_000);
  const thread = e.slack
    .messages(DEMO_CHANNEL)
    .filter((m) => m.threadTs === message.ts)
    .map((m) => m.text)
    .join('\n');
  return { incidentId, thread };
}

describe('validate step', () => {
  it('reports the drift with its exposure, keeps containment apart, runs netpol-tests.yaml on live and Git; the postmortem has the section', async () => {
    env = await startTestEnvironment({ git: true });
    await commitFile(env, 'netpol-tests.yaml', TESTS_FILE);
    const { incidentId, thread } = await runIncident(env);
    const incident = await env.bot!.store.require(incidentId);
    const result = incident.steps.validate?.result as Record<string, unknown> & { drift: { extra: string[]; containment: string[] }; exposure: string[]; tests: Array<{ name: string | null; live: string; intended: string; origin: string }> };
    expect(incident.steps.validate?.status).toBe('done');
    expect(result.drift.extra).toEqual(['NetworkPolicy db/allow-all-egress']);
    // The quarantine and the exclusion patches are the bot's own: never drift.
    expect(result.drift.containment.length).toBeGreaterThan(0);
    expect(result.drift.containment.some((c) => c.includes('netpol-responder-quarantine'))).toBe(true);
    expect(result.exposure.some((l) => l.includes('[External]'))).toBe(true);
    expect(result.severity).toBe('high');
    // The file's two cases, on both sides: the database case fails live (carol's policy) and passes on Git.
    const byName = new Map(result.tests.filter((t) => t.origin === 'file').map((t) => [t.name, t]));
    expect(byName.get('web reaches the orders API')).toMatchObject({ live: 'pass', intended: 'pass' });
    expect(byName.get('the database never talks to the internet')).toMatchObject({ live: 'fail', intended: 'pass' });
    expect(thread).toContain('Drift from Git');
    expect(thread).toContain('+ NetworkPolicy db/allow-all-egress (not in Git)');
    expect(thread).toContain('Network tests');
    const postmortem = await env.bot!.engine.postmortem(incident, 'md');
    expect(postmortem).toContain('## Validation');
    expect(postmortem).toContain('### Extra in the cluster (not in Git) (1)');
    expect(postmortem).toContain('the database never talks to the internet');
  });

  it('a broken netpol-tests.yaml is named with its line, and the rest of the validation still runs', async () => {
    env = await startTestEnvironment({ git: true });
    await commitFile(env, 'netpol-tests.yaml', 'cases:\n  - from: frontend/web\n    to: api/orders\n    port: 99999\n');
    const { incidentId, thread } = await runIncident(env);
    const result = (await env.bot!.store.require(incidentId)).steps.validate?.result as { limits: string[]; drift: { extra: string[] } };
    expect(result.limits.join('\n')).toMatch(/netpol-tests\.yaml was not run: .*netpol-tests\.yaml:4:\d+: cases\[0\]\.port/);
    expect(result.drift.extra).toEqual(['NetworkPolicy db/allow-all-egress']);
    expect(thread).toContain('netpol-tests.yaml was not run');
  });

  it('without a policy repository it says so and still tests and lints the live policies', async () => {
    env = await startTestEnvironment();
    const { incidentId, thread } = await runIncident(env);
    const incident = await env.bot!.store.require(incidentId);
    const result = incident.steps.validate?.result as { summary: string; limits: string[]; lint: unknown[] };
    expect(incident.steps.validate?.status).toBe('done');
    expect(result.limits[0]).toMatch(/no policy repository is configured/);
    expect(result.summary).toMatch(/^Validated without Git/);
    expect(result.lint.length).toBeGreaterThan(0);
    expect(thread).toContain('no policy repository is configured');
  });
});
