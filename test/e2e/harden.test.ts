// Step 5, Post-Incident Hardening, end to end on the embedded environment (real Redis, real git,
// the simulated cluster and Hubble Relay, Slack requests signed by the driver): after carol's
// out-of-band policy is restored away, the bot proposes a baseline for db proven by the engine,
// shows the figures in the approval message, refuses a non-approver, then delivers the files — as
// a branch pushed to the policy repository, or attached to the thread without one — turns drift
// monitoring on for db (config had it off), and closes the thread with one summary.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { DriftStore } from '../../src/drift/store.js';
import { PolicyRepositories } from '../../src/git/index.js';
import { createChangeProposer } from '../../src/git/propose-changes.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { hardenStep } from '../../src/playbook/steps/harden.js';
import { parseTestCases } from '../../src/nettest/cases.js';
import { GIT_HOST_PROJECT, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { click, DEMO_CHANNEL, DEMO_USERS } from '../helpers/environment.js';
import { decideUntilClosed, hardenApprovalMessage, hardenPlaybook, startHardenEnvironment, untilHardenProposed } from '../helpers/harden-e2e.js';
import { CAROL, timeline, until } from '../helpers/restore.js';
import { runProcess } from '../helpers/run-process.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

type Obj = Record<string, unknown>;

async function start(options: { git: boolean; gitHost?: 'github' | 'gitlab'; params?: Obj }): Promise<EmbeddedEnvironment> {
  return startHardenEnvironment({ git: options.git, ...(options.gitHost ? { gitHost: options.gitHost } : {}), playbookPath: hardenPlaybook({ ...(options.params ? { params: options.params } : {}) }) });
}

const approvalMessage = hardenApprovalMessage;

const threadTexts = (e: EmbeddedEnvironment, ts: string): string[] => e.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === ts).map((m) => m.text);

async function driftEpisodeIn(e: EmbeddedEnvironment, namespace: string, name: string) {
  const store = new DriftStore(e.bot!.redis, e.config.redis.keyPrefix);
  return until(`a drift episode for ${namespace}/${name}`, async () => (await store.list()).find((ep) => ep.objects.some((o) => o.namespace === namespace && o.name === name)), 20_000);
}

describe('post-incident hardening, end to end', () => {
  it('proposes a proven baseline, pushes it as a branch, turns drift on for db and closes the thread once', async () => {
    env = await start({ git: true });
    const { incidentId, incident } = await untilHardenProposed(env);
    const evidence = incident.steps.harden!.evidence as Obj & { namespaces: Array<{ namespace: string; proof: Obj & { anomalies: { total: number; denied: number } }; flagged: unknown[] }>; target: Obj };
    expect(evidence.namespaces.map((n) => n.namespace)).toEqual(['db']);
    expect(evidence.namespaces[0]!.flagged).toEqual([]);
    expect(evidence.namespaces[0]!.proof.anomalies.total).toBeGreaterThan(0);
    expect(evidence.namespaces[0]!.proof.anomalies.denied).toBe(evidence.namespaces[0]!.proof.anomalies.total);
    expect(evidence.target).toMatchObject({ kind: 'repository', repository: 'shop-policies', path: 'policies', branch: `netpol-responder/harden-db-${incidentId}`, delivery: 'branch' });

    // The approval message shows the engine's figures.
    const message = await approvalMessage(env, incidentId);
    const shown = JSON.stringify(message.blocks);
    expect(shown).toMatch(/Learned edges allowed: \*(\d+)\/\1\* \(100\.0%\)/);
    expect(shown).toMatch(/Anomalous flows denied: \*(\d+)\/\1\*/);
    expect(shown).toContain('Workload pairs allowed without an observed edge');
    expect(shown).toContain('Lint: *0* error(s)');
    expect(shown).toContain('a branch pushed to `shop-policies`');

    // mallory is not an approver: refused, nothing pushed.
    await click(env, message, DEMO_USERS.outsider.id);
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.outsider.id && m.text.includes('Only approvers'), 10_000);
    const branch = `netpol-responder/harden-db-${incidentId}`;
    const branches = () => execFileSync('git', ['-C', env!.git!.remoteDir, 'branch', '--list', 'netpol-responder/*'], { encoding: 'utf8' });
    expect(branches()).toBe('');
    expect((await env.bot!.store.require(incidentId)).steps.harden?.status).toBe('awaiting-approval');

    const done = await decideUntilClosed(env, message, incidentId);
    expect(done.status).toBe('completed');
    const result = done.steps.harden!.result as Obj & { delivery: Obj; drift: Obj; connectivity: Array<Obj>; files: string[] };
    expect(result.delivery).toMatchObject({ kind: 'branch', branch, base: 'main' });

    // The bare repository holds the branch with the baseline, the tests, the snapshot and the CI job.
    expect(branches()).toContain(branch);
    const show = (path: string) => execFileSync('git', ['-C', env!.git!.remoteDir, 'show', `${branch}:${path}`], { encoding: 'utf8' });
    const tree = execFileSync('git', ['-C', env.git!.remoteDir, 'ls-tree', '-r', '--name-only', branch], { encoding: 'utf8' }).split('\n');
    expect(tree).toEqual(expect.arrayContaining(['policies/db/default-deny.yaml', 'policies/db/postgres.yaml', 'netpol-tests.yaml', '.netpol-responder/workloads.yaml', '.github/workflows/netpol.yaml']));
    expect(show('policies/db/default-deny.yaml')).toContain('name: default-deny');
    // The shop's own db ingress policy is replaced by the baseline: its file is gone, and the
    // kustomization lists the new files instead (the merged state is the one proven).
    expect(tree).not.toContain('policies/db/allow-db-from-api.yaml');
    // Other namespaces' files are untouched.
    const before = execFileSync('git', ['-C', env.git!.remoteDir, 'ls-tree', '-r', '--name-only', 'main'], { encoding: 'utf8' }).split('\n');
    expect(tree.filter((f) => /^policies\/(frontend|api)\//.test(f))).toEqual(before.filter((f) => /^policies\/(frontend|api)\//.test(f)));
    const kustomization = show('policies/kustomization.yaml');
    expect(kustomization).not.toContain('db/allow-db-from-api.yaml');
    expect(kustomization).toContain('db/postgres.yaml');
    // The shop's repository already declares db/allow-dns-egress, identical to the baseline's: not declared twice.
    expect(show('policies/db/default-deny.yaml')).not.toContain('name: allow-dns-egress');
    const [delivered] = await timeline(env, incidentId, 'harden.delivered');
    expect(delivered?.summary).toContain('db/allow-dns-egress is already declared, identical, in policies/db/allow-dns-egress.yaml: kept there.');
    const cases = parseTestCases(show('netpol-tests.yaml'), 'netpol-tests.yaml').cases;
    expect(cases.some((c) => c.expect === 'deny' && c.from === 'db/postgres' && c.to === '203.0.113.66')).toBe(true);
    expect(cases.some((c) => c.expect === 'allow' && c.from === 'api/orders' && c.to === 'db/postgres')).toBe(true);
    expect(show('.github/workflows/netpol.yaml')).toContain('netpol-responder');
    const subject = execFileSync('git', ['-C', env.git!.remoteDir, 'log', '-1', '--format=%s%n%b', branch], { encoding: 'utf8' });
    expect(subject).toContain(`Baseline NetworkPolicies for db (incident ${incidentId})`);
    expect(subject).toContain('Anomalous flows denied');
    expect(subject).toContain('Replaced by the baseline: `db/allow-db-from-api (policies/db/allow-db-from-api.yaml)`');
    expect(subject).toMatch(/Incident thread: https:\/\/\S+\.slack\.com\/archives\/\S+\/p\d+/);

    // What the CI job runs passes on the branch: lint, the network tests, the diff against main.
    const checkout = mkdtempSync(join(tmpdir(), 'netpol-harden-ci-'));
    execFileSync('git', ['clone', '-q', '--branch', branch, env.git!.remoteDir, join(checkout, 'head')]);
    execFileSync('git', ['clone', '-q', '--branch', 'main', env.git!.remoteDir, join(checkout, 'base')]);
    // The CLI runs from this checkout (tsx resolves here); the branch's files by absolute path.
    const cliRun = (args: string[]) => runProcess(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli.ts'), ...args], { timeoutMs: 60_000 });
    const head = (path: string) => join(checkout, 'head', path);
    const snapshot = head('.netpol-responder/workloads.yaml');
    const lint = (await cliRun(['lint', head('policies')]));
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const tests = (await cliRun(['test', head('policies'), snapshot, '--cases', head('netpol-tests.yaml')]));
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/\d+ case\(s\): \d+ passed, 0 failed, 0 error\(s\)/);
    const diff = (await cliRun(['diff', join(checkout, 'base', 'policies'), snapshot, '--', head('policies'), snapshot]));
    expect(diff.status, diff.stdout + diff.stderr).toBe(0);

    // Connectivity for the postmortem: the exfiltration is denied now and with the baseline.
    const exfil = result.connectivity.find((r) => r.kind === 'anomaly' && r.dst === '203.0.113.66');
    expect(exfil).toMatchObject({ src: 'db/postgres', live: false, baseline: false });
    expect(result.connectivity.find((r) => r.kind === 'learned' && r.src === 'api/orders' && r.dst === 'db/postgres')).toMatchObject({ live: true, baseline: true });

    // Drift: turned on for db (config had drift off), said in the thread; a hand edit now raises an episode.
    expect(result.drift).toEqual({ turnedOn: ['db'], alreadyOn: [] });
    const thread = () => threadTexts(env!, message.ts);
    await until('the thread replies', () => (thread().some((t) => t.includes('closed* after')) ? true : undefined), 10_000);
    expect(thread().some((t) => t.includes('Drift monitoring turned on for `db`'))).toBe(true);
    expect(thread().some((t) => t.includes(`Branch \`${branch}\` pushed`))).toBe(true);
    await kubectlPatchNetworkPolicy(env.kube, CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: { ingress: [{ from: [{ namespaceSelector: {} }] }] } });
    const episode = await driftEpisodeIn(env, 'db', 'allow-db-from-api');
    expect(episode.state).toBe('open');

    // The closing summary: once, with the loop in it.
    const summaries = thread().filter((t) => t.includes('closed* after'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toContain('*Time to contain:*');
    expect(summaries[0]).toContain('*Restore:* 1 object(s) put back from');
    expect(summaries[0]).toContain(`*Hardening:* branch \`${branch}\``);
    expect(await timeline(env, incidentId, 'incident.summary')).toHaveLength(1);
  }, 180_000);

  it('with GitHub: opens one pull request with the files, the body and the CI workflow', async () => {
    env = await start({ git: true, gitHost: 'github' });
    const { incidentId } = await untilHardenProposed(env);
    const message = await approvalMessage(env, incidentId);
    expect(JSON.stringify(message.blocks)).toContain('a pull request on `shop-policies`');
    const done = await decideUntilClosed(env, message, incidentId);
    expect(done.status).toBe('completed');
    const branch = `netpol-responder/harden-db-${incidentId}`;
    expect(env.gitHost!.pulls).toHaveLength(1);
    const pull = env.gitHost!.pulls[0]!;
    expect(pull).toMatchObject({ provider: 'github', project: GIT_HOST_PROJECT, head: branch, base: 'main', title: `Baseline NetworkPolicies for db (incident ${incidentId})`, state: 'open' });
    expect(pull.body).toContain(`Post-incident hardening for incident \`${incidentId}\``);
    expect(pull.body).toMatch(/Anomalous flows denied: \*\*(\d+)\/\1\*\*/);
    expect(pull.body).toContain(`/netpol export ${incidentId} html`);
    expect(pull.body).toContain('- Incident thread: https://');
    const files = await env.gitHost!.files(GIT_HOST_PROJECT, branch);
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['policies/db/default-deny.yaml', 'netpol-tests.yaml', '.netpol-responder/workloads.yaml', '.github/workflows/netpol.yaml']));
    expect(files['.github/workflows/netpol.yaml']).toContain('lint policies');
    expect(await env.gitHost!.branchTip(GIT_HOST_PROJECT, branch)).toBe(pull.headSha);
    const result = done.steps.harden!.result as Obj & { delivery: Obj };
    expect(result.delivery).toMatchObject({ kind: 'pull-request', provider: 'github', url: pull.url, number: pull.number, branch });
    const thread = threadTexts(env, message.ts);
    expect(thread.some((t) => t.includes(`Pull request opened: ${pull.url}`))).toBe(true);
    expect(thread.filter((t) => t.includes(`*Hardening:* pull request ${pull.url}`))).toHaveLength(1);

    // The step run again with the same approved proposal (a worker died after the push): the
    // proposer finds the request open on the branch, and no second one is opened.
    const git = new PolicyRepositories(env.config.git, silentLogger);
    await git.start();
    try {
      const again = await hardenStep.execute({
        incident: done,
        step: env.bot!.playbook.steps.find((s) => s.id === 'harden')!,
        playbook: env.bot!.playbook,
        cluster: createKubeGateway(loadKubeConfig({ kubeconfigPath: env.kubeconfigPath })),
        settings: {} as never,
        git,
        proposeChanges: createChangeProposer(git)!,
        logger: silentLogger,
        now: () => new Date(),
        sleep: async () => undefined,
      });
      expect(again.result.delivery).toMatchObject({ kind: 'pull-request', number: pull.number, existing: true });
      expect(env.gitHost!.pulls).toHaveLength(1);
    } finally {
      await git.stop();
    }
  }, 180_000);

  it('with GitLab: opens a merge request whose CI file is .gitlab-ci.yml', async () => {
    env = await start({ git: true, gitHost: 'gitlab' });
    const { incidentId } = await untilHardenProposed(env);
    await click(env, await approvalMessage(env, incidentId), DEMO_USERS.approver.id);
    const done = await until('the incident to complete', async () => {
      const now = await env!.bot!.store.get(incidentId);
      return now && now.status !== 'open' ? now : undefined;
    }, 60_000);
    expect(done.status).toBe('completed');
    expect(env.gitHost!.pulls).toEqual([expect.objectContaining({ provider: 'gitlab', head: `netpol-responder/harden-db-${incidentId}`, base: 'main' })]);
    const files = await env.gitHost!.files(GIT_HOST_PROJECT, `netpol-responder/harden-db-${incidentId}`);
    expect(files['.gitlab-ci.yml']).toContain('merge_request_event');
    expect(files['.github/workflows/netpol.yaml']).toBeUndefined();
    expect(env.gitHost!.pulls[0]!.body).toContain('on every merge request');
  }, 180_000);

  it('a refused delivery (a wrong token) completes the step with the files attached and the reason stated', async () => {
    env = await start({ git: true, gitHost: 'github' });
    const { incidentId } = await untilHardenProposed(env);
    env.gitHost!.token = 'revoked-token-0000000000';
    const message = await approvalMessage(env, incidentId);
    const done = await decideUntilClosed(env, message, incidentId);
    expect(done.status).toBe('completed');
    expect(env.gitHost!.pulls).toHaveLength(0);
    const delivery = (done.steps.harden!.result as Obj).delivery as { kind: string; error: { reason: string; message: string } };
    expect(delivery).toMatchObject({ kind: 'attached', error: { reason: 'auth' } });
    await until('the files in the thread', () => (env!.slack.messages(DEMO_CHANNEL).some((m) => (m.files ?? []).some((f) => f.name === 'PULL_REQUEST.md')) ? true : undefined), 10_000);
    expect(threadTexts(env, message.ts).some((t) => t.includes('Could not deliver the files (') && t.includes('they are attached to this thread instead'))).toBe(true);
    expect(JSON.stringify(delivery)).not.toContain('demo-git-host-token');
  }, 180_000);

  it('without a policy repository, attaches the files to the thread and says drift cannot be watched', async () => {
    env = await start({ git: false });
    // No Git: the restore comes from the journal's snapshot before the cause.
    const { incidentId } = await untilHardenProposed(env);
    const message = await approvalMessage(env, incidentId);
    expect(JSON.stringify(message.blocks)).toContain('the files will be attached to this thread (no policy repository is configured (git.repositories))');
    const done = await decideUntilClosed(env, message, incidentId);
    expect(done.status).toBe('completed');
    expect((done.steps.harden!.result as Obj).delivery).toMatchObject({ kind: 'attached' });
    const uploads = await until('the uploaded files', () => {
      const names = env!.slack.messages(DEMO_CHANNEL).flatMap((m) => (m.files ?? []).map((f) => f.name));
      return names.includes('db__default-deny.yaml') && names.includes('PULL_REQUEST.md') ? names : undefined;
    }, 10_000);
    expect(uploads).toEqual(expect.arrayContaining(['netpol-tests.yaml', '.github__workflows__netpol.yaml', '.netpol-responder__workloads.yaml']));
    const thread = threadTexts(env, message.ts);
    expect(thread.some((t) => t.includes('Drift monitoring could not be turned on: no policy repository is configured'))).toBe(true);
    expect(thread.filter((t) => t.includes('closed* after'))).toHaveLength(1);
  }, 180_000);

  it('partial traffic: a workload with too little history is left out of default-deny, not cut off, and is exactly as restricted on the merged branch as on main', async () => {
    env = await start({ git: true });
    // A backup job started after the collector learned: its pod has no flow history at all.
    env.kube.seed([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'backup-0', namespace: 'db', labels: { app: 'backup' } }, spec: { containers: [{ name: 'backup', image: 'backup:1' }] }, status: { phase: 'Running', podIP: '10.244.3.99' } }]);
    const { incidentId, incident } = await untilHardenProposed(env);
    const evidence = incident.steps.harden!.evidence as Obj & { namespaces: Array<{ flagged: Array<{ workload: string; reason: string }>; files: Array<{ path: string; yaml: string }>; proof: { unobserved: { pairs: number } } }> };
    expect(evidence.namespaces[0]!.flagged).toEqual([{ workload: 'db/backup-0', reason: 'no flow history', omitted: true }]);
    expect(evidence.namespaces[0]!.files.map((f) => f.path)).not.toContain('db/backup-0.yaml');
    expect(evidence.namespaces[0]!.files.map((f) => f.path)).toContain('db/postgres.yaml');
    // backup-0 is not counted as an unobserved pair: it is not hardened on purpose.
    expect(evidence.namespaces[0]!.proof.unobserved.pairs).toBe(0);
    const message = await approvalMessage(env, incidentId);
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain('Not hardened: too little traffic history — kept under their current policies (1):');
    expect(shown).toContain('`db/backup-0`: no flow history');
    // The shop's namespace-wide policies it was under are replaced: they are kept for it, narrowed, and proven with.
    const narrowed = (evidence.namespaces[0] as { narrowed?: Array<{ key: string; from: string; workloads: string[] }> }).narrowed ?? [];
    expect(narrowed.map((c) => c.workloads)).toEqual(narrowed.map(() => ['db/backup-0']));
    expect(narrowed.map((c) => c.from).sort()).toEqual(['db/allow-dns-egress', 'db/default-deny-all']);
    expect(shown).toContain('Kept for workloads not hardened');

    const done = await decideUntilClosed(env, message, incidentId);
    expect(done.status).toBe('completed');
    const branch = `netpol-responder/harden-db-${incidentId}`;
    const checkout = mkdtempSync(join(tmpdir(), 'netpol-harden-partial-'));
    execFileSync('git', ['clone', '-q', '--branch', branch, env.git!.remoteDir, join(checkout, 'head')]);
    execFileSync('git', ['clone', '-q', '--branch', 'main', env.git!.remoteDir, join(checkout, 'base')]);
    const head = (path: string) => join(checkout, 'head', path);
    expect(readFileSync(head('policies/db/default-deny.yaml'), 'utf8')).toContain('operator: NotIn');
    const kept = readFileSync(head('policies/db/not-hardened.yaml'), 'utf8');
    expect(kept).toContain('name: default-deny-all-not-hardened');
    expect(kept).toContain('netpol-responder.io/narrowed-from: default-deny-all');
    // What backup-0 reached before (DNS only: postgres, the API and the outside were closed to it) is what it reaches on the branch.
    const cases = join(checkout, 'backup-cases.yaml');
    writeFileSync(cases, toYaml({ cases: [
      { from: 'db/backup-0', to: 'kube-system/kube-dns', port: 53, protocol: 'UDP', expect: 'allow' },
      { from: 'db/backup-0', to: 'db/postgres', port: 5432, protocol: 'TCP', expect: 'deny' },
      { from: 'db/backup-0', to: '203.0.113.66', port: 443, protocol: 'TCP', expect: 'deny' },
      { from: 'db/backup-0', to: '198.51.100.7', port: 80, protocol: 'TCP', expect: 'deny' },
    ] }));
    const cliRun = (args: string[]) => runProcess(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli.ts'), ...args], { timeoutMs: 60_000 });
    const snapshot = head('.netpol-responder/workloads.yaml');
    for (const side of ['base', 'head']) {
      const run = (await cliRun(['test', join(checkout, side, 'policies'), snapshot, '--cases', cases]));
      expect(run.status, `${side}: ${run.stdout}${run.stderr}`).toBe(0);
    }
    const tests = (await cliRun(['test', head('policies'), snapshot, '--cases', head('netpol-tests.yaml')]));
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
  }, 180_000);
});
