// Step 2, Trace & Audit, end to end on the embedded environment: the simulated API server posts
// its audit events to the bot's webhook, the watcher journals every change, the shop's policies
// live in a real Git repository. The trace names who opened the door, with which tool, whether
// it was in Git, and checks it on the anomaly's sample flow.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actAs, kubectlCreateNetworkPolicy, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { AUDIT_WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment } from '../helpers/environment.js';
import { argoCdApplies, learned, traceFromAnomaly } from '../helpers/trace.js';
import { until } from '../helpers/restore.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

describe('Trace & Audit', () => {
  it("names carol's out-of-band kubectl apply as the cause, checked on the anomaly's flow, not in Git", async () => {
    env = await startTestEnvironment({ flows: true, git: true });
    await learned(env);
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { result, thread } = await traceFromAnomaly(env);
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress', confidence: 'high' });
    const cause = thread.find((t) => t.includes('Most likely cause'));
    expect(cause).toContain('`carol@shop.example` created `db/allow-all-egress` with kubectl');
    expect(cause).toContain('out-of-band (not in Git)');
    expect(cause).toContain('db/postgres-0 → 203.0.113.66:443/TCP');
    const changes = result.changes as Array<{ key: string; evidence: string; auditIDs: string[] }>;
    expect(changes.find((c) => c.key === 'NetworkPolicy/db/allow-all-egress')).toMatchObject({ evidence: 'audit', auditIDs: [expect.any(String)] });
    // Containment's own patches are part of the state but never suspects.
    expect(changes.every((c) => !c.key.includes('netpol-responder-quarantine'))).toBe(true);
    expect((result.limits as string[]).join('\n')).not.toContain('no audit events in the window');
  }, 60_000);

  it("names dave's commit when Argo CD's service account applied it (GitOps apply)", async () => {
    env = await startTestEnvironment({ flows: true, git: true });
    await learned(env);
    const bad = await env.git!.addBadCommit();
    await argoCdApplies(env, bad);
    const { result, thread } = await traceFromAnomaly(env);
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress', confidence: 'high' });
    const cause = thread.find((t) => t.includes('Most likely cause'))!;
    expect(cause).toContain('`system:serviceaccount:argocd:argocd-application-controller`');
    expect(cause).toContain(`GitOps apply of commit ${bad.sha.slice(0, 8)}`);
    expect(cause).toContain('db: open egress to debug the backup job');
  }, 60_000);

  it('without a watcher running, the step does not wait for the journal: it reports from the audit log and says so', async () => {
    env = await startTestEnvironment({ git: true, roles: ['web', 'worker'] });
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- no watcher');
    await click(env, message, DEMO_USERS.approver.id);
    const result = await until('the trace step', async () => (await env!.bot!.store.get(incidentId))?.steps.trace?.result);
    const limits = (result.limits as string[]).join('\n');
    expect(limits).toContain('no watcher is journalling changes now');
    expect(limits).not.toContain('lags behind');
    // The 5 s catch-up wait is for a journal someone keeps.
    const timeline = await env.bot!.store.timeline(incidentId);
    const at = (type: string): number => Date.parse(timeline.find((e) => e.type === type && e.step === 'trace')!.at);
    expect(at('step.completed') - at('step.started')).toBeLessThan(4_000);
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress' });
    const changes = result.changes as Array<{ key: string; actor: string; via: string }>;
    expect(changes.find((c) => c.key === 'NetworkPolicy/db/allow-all-egress')).toMatchObject({ actor: 'carol@shop.example', via: 'kubectl' });
  }, 60_000);

  it("the audit log holding only the bot's own writes is no audit evidence: the note says so, whether or not the containment's batch has arrived", async () => {
    env = await startTestEnvironment({});
    const first = await openIncident(env, 'incident db app=postgres -- first');
    await click(env, first.message, DEMO_USERS.approver.id);
    await until('the first trace', async () => (await env!.bot!.store.get(first.incidentId))?.steps.trace?.result);
    // The first containment's writes are in the audit store before the second incident opens.
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const own = await until('the containment in the audit log', async () => {
      const events = await env!.bot!.audit!.query({ since, limit: 100 });
      return events.length > 0 ? events : undefined;
    });
    expect(own.every((e) => e.tool === 'netpol-responder')).toBe(true);
    const second = await openIncident(env, 'incident api -- second');
    await click(env, second.message, DEMO_USERS.approver.id);
    const result = await until('the second trace', async () => (await env!.bot!.store.get(second.incidentId))?.steps.trace?.result);
    expect((result.limits as string[]).join('\n')).toContain('no audit events in the window');
  }, 60_000);

  it('a Git remote that cannot be reached: the step still reports from the audit log and the journal, and says what failed', async () => {
    env = await startTestEnvironment({ git: true, startBot: false });
    env.config.git!.repositories[0]!.url = 'http://127.0.0.1:9/unreachable.git';
    await env.startBot();
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- by hand');
    await click(env, message, DEMO_USERS.approver.id);
    const result = await until('the trace step', async () => (await env!.bot!.store.get(incidentId))?.steps.trace?.result);
    expect((result.limits as string[]).join('\n')).toMatch(/Git fetch failed \(shop-policies: .*\)/);
    // No anomaly to check: the change that opened the most is named, with the confidence that says so.
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress', confidence: 'medium' });
    const changes = result.changes as Array<{ key: string; actor: string; via: string }>;
    expect(changes.find((c) => c.key === 'NetworkPolicy/db/allow-all-egress')).toMatchObject({ actor: 'carol@shop.example', via: 'kubectl' });
  }, 60_000);
});

describe('Trace & Audit: an audit log that delivers late', () => {
  it("audit batches sent 2 s late (the apiserver's batch wait): the step waits for them and names carol from the audit log, not managedFields", async () => {
    env = await startTestEnvironment({ git: true });
    env.kube.setAuditWebhook({ url: `http://127.0.0.1:${env.bot!.port}/webhooks/k8s-audit`, token: AUDIT_WEBHOOK_TOKEN, batchMaxWaitMs: 2_000 });
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- late audit');
    await click(env, message, DEMO_USERS.approver.id);
    const result = await until('the trace step', async () => (await env!.bot!.store.get(incidentId))?.steps.trace?.result);
    const changes = result.changes as Array<{ key: string; actor: string; via: string; evidence: string }>;
    expect(changes.find((c) => c.key === 'NetworkPolicy/db/allow-all-egress')).toMatchObject({ actor: 'carol@shop.example', via: 'kubectl', evidence: 'audit' });
    expect((result.limits as string[]).join('\n')).not.toContain('had not delivered');
  }, 60_000);

  it('audit events that never come: the step waits auditDelay at most, reports from the journal, and says what it waited for', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: playbookWithOneTableRow({ auditDelay: '2s' }) });
    // The apiserver stops sending (a webhook backend removed, or an audit policy that leaves these writes out).
    env.kube.setAuditWebhook(undefined);
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- no audit');
    await click(env, message, DEMO_USERS.approver.id);
    const result = await until('the trace step', async () => (await env!.bot!.store.get(incidentId))?.steps.trace?.result);
    const limits = (result.limits as string[]).join('\n');
    expect(limits).toMatch(/the audit log had not delivered the events of this containment after 2 s/);
    expect(limits).toContain('no audit events in the window');
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress' });
    const changes = result.changes as Array<{ key: string; evidence: string }>;
    expect(changes.find((c) => c.key === 'NetworkPolicy/db/allow-all-egress')).toMatchObject({ evidence: 'managedFields' });
  }, 60_000);
});

/** Contain, then trace with a one-row table: whatever else touched the scope goes in the file. */
function playbookWithOneTableRow(extra: { auditDelay?: string } = {}): string {
  const path = join(mkdtempSync(join(tmpdir(), 'netpol-pb-')), 'playbook.yaml');
  writeFileSync(
    path,
    `apiVersion: netpol-responder/v1
kind: Playbook
name: trace-one-row
steps:
  - id: contain
    title: Confirm & Contain
    action: contain
    approval: { rule: one, timeout: 10m }
    params: { keepDnsEgress: true }
  - id: trace
    title: Trace & Audit
    action: trace
    approval: { rule: none }
    params: { lookback: 24h, tableRows: 1${extra.auditDelay ? `, auditDelay: ${extra.auditDelay}` : ''} }
`,
  );
  return path;
}

/** postgres's egress to one CIDR and port: a change that opens a connection of the scope. */
function egressTo(name: string, cidr: string, port: number) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'db' },
    spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port }] }] },
  };
}

/** Opens an incident on db app=postgres by hand, approves it, and waits for the trace step and its thread. */
async function traceByHand(e: EmbeddedEnvironment): Promise<{ incidentId: string; threadTs: string; table: string }> {
  const { incidentId, message } = await openIncident(e, 'incident db app=postgres -- many changes');
  await click(e, message, DEMO_USERS.approver.id);
  await until('the trace step', async () => (await e.bot!.store.get(incidentId))?.steps.trace?.result);
  const table = await e.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes('Other changes touching the scope'), 10_000);
  return { incidentId, threadTs: message.ts, table: table.text };
}

describe('Trace & Audit: more changes than the table holds', () => {
  it('the table shows tableRows changes and says how many more; the full list is a file in the thread', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: playbookWithOneTableRow() });
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', egressTo('allow-backup-egress', '198.51.100.0/24', 443));
    await kubectlCreateNetworkPolicy(env.kube, 'dave@shop.example', egressTo('allow-metrics-egress', '192.0.2.0/24', 9090));
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, threadTs, table } = await traceByHand(env);
    const result = (await env.bot!.store.require(incidentId)).steps.trace!.result!;
    expect(result.cause).toMatchObject({ key: 'NetworkPolicy/db/allow-all-egress' });
    // The cause has its own line; the two others share a table of one row.
    expect(table).toContain('*Other changes touching the scope (2):*');
    expect(table.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(1);
    expect(table).toContain('… and 1 more (in the attached file)');
    const withFile = await env.slack.waitForMessage((m) => m.threadTs === threadTs && (m.files ?? []).some((f) => f.name === `trace-${incidentId}.txt`), 10_000);
    const content = String(withFile.files!.find((f) => f.name === `trace-${incidentId}.txt`)!.content);
    for (const name of ['db/allow-backup-egress', 'db/allow-metrics-egress', 'db/allow-all-egress']) expect(content).toContain(name);
    expect(content).toContain('dave@shop.example');
  }, 60_000);

  it('as many other changes as table rows: no "more" line and no file', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: playbookWithOneTableRow() });
    await kubectlCreateNetworkPolicy(env.kube, 'dave@shop.example', egressTo('allow-metrics-egress', '192.0.2.0/24', 9090));
    await kubectlCreateNetworkPolicy(env.kube, 'carol@shop.example', structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, threadTs, table } = await traceByHand(env);
    expect(table).toContain('*Other changes touching the scope (1):*');
    expect(table).toContain('db/allow-metrics-egress');
    expect(table).not.toContain('more');
    // A file would be posted right after the step's messages: none comes.
    await expect(env.slack.waitForMessage((m) => m.threadTs === threadTs && (m.files ?? []).some((f) => f.name === `trace-${incidentId}.txt`), 2_000)).rejects.toThrow(/no matching Slack message/);
    expect(env.slack.calls.filter((c) => c.method === 'files.getUploadURLExternal')).toEqual([]);
  }, 60_000);

  it('no change explains the anomaly: the changes beyond the table are still in the attached file', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: playbookWithOneTableRow() });
    // Deleting needs the journal to hold the object first (its before-state).
    for (const name of ['allow-db-from-api', 'allow-dns-egress']) await until(`the journal to hold db/${name}`, () => env!.bot!.journal.versionOf('NetworkPolicy', 'db', name));
    for (const name of ['allow-db-from-api', 'allow-dns-egress']) {
      const out = await actAs(env.kube, { user: 'carol@shop.example', userAgent: USER_AGENTS.kubectl, method: 'DELETE', path: `/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/${name}` });
      expect(out.status).toBeLessThan(300);
    }
    const { incidentId, threadTs, table } = await traceByHand(env);
    const result = (await env.bot!.store.require(incidentId)).steps.trace!.result!;
    // Both only closed connections: neither is a cause, both are listed.
    expect(result.cause).toBeNull();
    expect(table).toContain('*Other changes touching the scope (2):*');
    expect(table).toContain('… and 1 more (in the attached file)');
    const withFile = await env.slack.waitForMessage((m) => m.threadTs === threadTs && (m.files ?? []).some((f) => f.name === `trace-${incidentId}.txt`), 10_000);
    const content = String(withFile.files!.find((f) => f.name === `trace-${incidentId}.txt`)!.content);
    for (const name of ['db/allow-db-from-api', 'db/allow-dns-egress']) expect(content).toContain(name);
  }, 60_000);
});
