// The hardening pull request's files: policies under the repository's path, the tests file merged
// (the team's cases and comments kept, duplicates dropped, a malformed file left alone), the
// workload snapshot, the CI job per provider with commands the CLI accepts, and the body.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { generateBaseline } from '../../src/harden/generate.js';
import { buildPrFiles, ciFile, GITHUB_WORKFLOW, GITLAB_CI, GITLAB_CI_INCLUDE, mergeTestCases, policyDir, WORKLOADS_SNAPSHOT, type PrFilesInput } from '../../src/harden/pr-files.js';
import { proveBaseline } from '../../src/harden/prove.js';
import { proofFigures } from '../../src/harden/step-model.js';
import { parseTestCases } from '../../src/nettest/cases.js';
import { COMMAND_SPECS } from '../../src/commands/specs.js';
import { parseCommand } from '../../src/commands/spec.js';
import { SHOP_EDGES, shopLive } from '../helpers/harden.js';

const EXFIL = { src: 'db/postgres', dst: '203.0.113.66', port: 4444, protocol: 'TCP' };

function input(over: Partial<PrFilesInput> = {}): PrFilesInput {
  const baseline = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
  const proof = proofFigures(proveBaseline({ live: shopLive, baseline, anomalies: [EXFIL] }));
  return {
    incident: { id: '20261202-abc123', scope: 'db', reason: 'exfiltration' },
    provider: 'github',
    policyPath: 'policies',
    namespaces: [{ namespace: 'db', files: baseline.files.map((f) => ({ path: f.path, yaml: f.yaml })), proof, flagged: [{ workload: 'db/new-job', reason: 'no flow history' }] }],
    tests: { path: 'netpol-tests.yaml' },
    learned: baseline.kept,
    anomalies: [EXFIL],
    live: { namespaces: shopLive.namespaces, pods: shopLive.pods },
    toolVersion: '0.1.0',
    story: { contained: '4.1 s', cause: 'patch of `NetworkPolicy/db/allow-db-from-api` by carol', restore: '2 object(s) put back from Git shop@1234' },
    now: '2026-12-02T10:00:00.000Z',
    ...over,
  };
}

/** The arguments of every `npx … netpol-responder <command> …` line, checked against the command's spec. */
function commandsIn(text: string): Array<{ command: string; args: string[] }> {
  return [...text.matchAll(/npx --yes netpol-responder@[\d.]+ (lint|test|diff) ([^\n]*)/g)].map((m) => ({ command: m[1] as string, args: (m[2] as string).trim().split(/\s+/) }));
}

describe('hardening pull request files', () => {
  it('puts the baseline under the repository path, with tests, snapshot and CI job', () => {
    const pr = buildPrFiles(input());
    const paths = pr.files.map((f) => f.path);
    expect(paths).toContain('policies/db/default-deny.yaml');
    expect(paths.filter((p) => p.startsWith('policies/db/')).length).toBe(input().namespaces[0]!.files.length);
    expect(paths).toEqual(expect.arrayContaining(['netpol-tests.yaml', WORKLOADS_SNAPSHOT, GITHUB_WORKFLOW]));
    expect(pr.title).toBe('Baseline NetworkPolicies for db (incident 20261202-abc123)');
    expect(policyDir('')).toBe('');
    expect(policyDir('./deploy/')).toBe('deploy/');
  });

  it('writes the learned edges as allow and the anomalous flows as deny, in a file that parses', () => {
    const pr = buildPrFiles(input());
    const text = pr.files.find((f) => f.path === 'netpol-tests.yaml')!.content;
    const { cases } = parseTestCases(text, 'netpol-tests.yaml');
    expect(cases.filter((c) => c.expect === 'deny')).toEqual([expect.objectContaining({ from: 'db/postgres', to: '203.0.113.66', port: 4444, protocol: 'TCP' })]);
    expect(cases.filter((c) => c.expect === 'allow').length).toBe(pr.cases.allow);
    expect(pr.cases.allow).toBeGreaterThan(0);
    expect(cases).toContainEqual(expect.objectContaining({ from: 'api/orders', to: 'db/postgres', expect: 'allow' }));
    expect(text).toContain('Added by netpol-responder (incident 20261202-abc123)');
  });

  it('keeps the existing cases and comments, and does not add a connection they already test', () => {
    const existing = '# our own tests\ncases:\n  - name: orders reach postgres # checked by hand\n    from: api/orders\n    to: db/postgres\n    port: 5432\n    expect: allow\n  - from: db/postgres\n    to: 203.0.113.66\n    port: 4444\n    expect: allow\n';
    const merged = mergeTestCases({ ...input(), tests: { path: 'netpol-tests.yaml', existing } });
    expect(merged.text.startsWith('# our own tests\ncases:\n  - name: orders reach postgres # checked by hand')).toBe(true);
    const { cases } = parseTestCases(merged.text, 'x');
    expect(cases.filter((c) => c.from === 'api/orders' && c.to === 'db/postgres')).toHaveLength(1);
    // Their expectation for the anomaly's connection wins: no second, contradicting case.
    expect(cases.filter((c) => c.to === '203.0.113.66')).toEqual([expect.objectContaining({ expect: 'allow' })]);
    expect(merged.added.deny).toBe(0);
    // Running the merge again adds nothing: every connection is there.
    expect(mergeTestCases({ ...input(), tests: { path: 'netpol-tests.yaml', existing: merged.text } }).added).toEqual({ allow: 0, deny: 0, skipped: 0 });
  });

  it('leaves a malformed tests file untouched and writes its own next to it', () => {
    const pr = buildPrFiles(input({ tests: { path: 'tests/netpol-tests.yaml', existing: 'cases:\n  - from: nowhere\n    port: 99999\n' } }));
    expect(pr.testsPath).toBe('tests/netpol-tests.netpol-responder.yaml');
    expect(pr.files.map((f) => f.path)).not.toContain('tests/netpol-tests.yaml');
    expect(pr.notes[0]).toMatch(/^tests\/netpol-tests\.yaml does not parse \(.*\): it is left as it is, and the new cases are in tests\/netpol-tests\.netpol-responder\.yaml\.$/);
    expect(pr.body).toContain('does not parse');
    const ci = pr.files.find((f) => f.path === GITHUB_WORKFLOW)!.content;
    expect(ci).toContain('--cases tests/netpol-tests.netpol-responder.yaml');
    expect(() => parseTestCases(pr.files.find((f) => f.path === pr.testsPath)!.content, 'x')).not.toThrow();
  });

  it('snapshots the namespaces and pods the tests name, and kube-dns', () => {
    const pr = buildPrFiles(input());
    const docs = pr.files.find((f) => f.path === WORKLOADS_SNAPSHOT)!.content.split(/^---$/m).slice(1).map((d) => parse(d) as { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } });
    const pods = docs.filter((d) => d.kind === 'Pod');
    // The db baseline's cases name api and db workloads (and kube-dns): frontend is not needed.
    expect(new Set(pods.map((p) => p.metadata.namespace))).toEqual(new Set(['api', 'db', 'kube-system']));
    expect(pods.filter((p) => p.metadata.namespace === 'kube-system').every((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns')).toBe(true);
    expect(docs.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name).sort()).toEqual(['api', 'db', 'kube-system']);
  });

  it('GitHub (and an unknown host): a workflow on pull requests running lint, test and diff with valid flags', () => {
    for (const provider of ['github', 'unknown'] as const) {
      const file = ciFile(provider, { policyPath: 'policies', testsPath: 'netpol-tests.yaml', toolVersion: '0.1.0', incidentId: 'x' });
      expect(file.path).toBe(GITHUB_WORKFLOW);
      const workflow = parse(file.content) as { on: { pull_request: { paths: string[] } }; jobs: { netpol: { steps: Array<{ run?: string; uses?: string }> } } };
      expect(workflow.on.pull_request.paths).toContain('policies/**');
      const runs = workflow.jobs.netpol.steps.map((s) => s.run ?? '').join('\n');
      expect(runs).toContain('${{ github.base_ref }}');
      const commands = commandsIn(runs);
      expect(commands.map((c) => c.command)).toEqual(['lint', 'test', 'diff']);
      expect(commands[0]!.args).toEqual(['policies']);
      expect(commands[1]!.args).toEqual(['policies', WORKLOADS_SNAPSHOT, '--cases', 'netpol-tests.yaml']);
      expect(commands[2]!.args).toEqual(['"$RUNNER_TEMP/base/policies"', WORKLOADS_SNAPSHOT, '--', 'policies', WORKLOADS_SNAPSHOT]);
    }
  });

  it('GitLab: a merge-request job in .gitlab-ci.yml, or in a file of its own when the repository has one', () => {
    const file = ciFile('gitlab', { policyPath: '', testsPath: 'netpol-tests.yaml', toolVersion: '0.1.0', incidentId: 'x' });
    expect(file.path).toBe(GITLAB_CI);
    const job = (parse(file.content) as { netpol: { image: string; rules: unknown[]; script: string[] } }).netpol;
    expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    const commands = commandsIn(job.script.join('\n'));
    expect(commands.map((c) => c.command)).toEqual(['lint', 'test', 'diff']);
    expect(commands[0]!.args).toEqual(['.']);
    expect(job.script).toContain('git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"');
    const pr = buildPrFiles(input({ provider: 'gitlab', gitlabCiExists: true }));
    expect(pr.files.map((f) => f.path)).toContain(GITLAB_CI_INCLUDE);
    expect(pr.files.map((f) => f.path)).not.toContain(GITLAB_CI);
    expect(pr.body).toContain(`include: [{local: ${GITLAB_CI_INCLUDE}}]`);
  });

  it('the CLI accepts every command line the CI job runs', () => {
    const out = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
    for (const provider of ['github', 'gitlab'] as const) {
      const file = ciFile(provider, { policyPath: 'policies', testsPath: 'netpol-tests.yaml', toolVersion: '0.1.0', incidentId: 'x' });
      for (const { command, args } of commandsIn(file.content)) {
        const spec = COMMAND_SPECS.find((s) => s.name === command)!;
        const parsed = parseCommand(spec, args.map((a) => a.replace(/"/g, '')), out);
        expect(parsed.ok, `${provider}: ${command} ${args.join(' ')}`).toBe(true);
      }
    }
  });

  it('the body tells the incident, the proof figures, the flagged workloads and where the postmortem is', () => {
    const body = buildPrFiles(input()).body;
    expect(body).toContain('incident `20261202-abc123`');
    expect(body).toContain('Reason: exfiltration');
    expect(body).toContain('Cause: patch of `NetworkPolicy/db/allow-db-from-api` by carol');
    expect(body).toContain('Restore: 2 object(s) put back from Git shop@1234');
    expect(body).toMatch(/Learned edges allowed: \*\*\d+\/\d+\*\* \(100\.0%\)/);
    expect(body).toContain('Anomalous flows denied: **1/1**');
    expect(body).toContain('`db/new-job` (no flow history)');
    expect(body).toContain('/netpol export 20261202-abc123 html');
  });

  it('replaces the policies the repository declares for the namespace: deletions, rewrites, and the body lists them', () => {
    const np = (name: string, spec: unknown) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'db' }, spec });
    const helm = np('chart-policy', { podSelector: {}, policyTypes: ['Ingress'] });
    const pr = buildPrFiles(
      input({
        declared: [
          { namespace: 'db', name: 'allow-db-from-api', path: 'policies/db/allow-db-from-api.yaml', spec: { podSelector: {} }, via: 'plain' },
          { namespace: 'db', name: 'old', path: 'policies/db/mixed.yaml', spec: { podSelector: {} }, via: 'plain' },
          { namespace: 'db', name: 'chart-policy', path: 'charts/db/templates/np.yaml', spec: helm.spec, via: 'helm', object: helm },
        ],
        declaredTexts: {
          'policies/db/allow-db-from-api.yaml': `---\n${JSON.stringify(np('allow-db-from-api', { podSelector: {} }))}\n`,
          'policies/db/mixed.yaml': `# cache settings\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cache, namespace: db}\n---\n${JSON.stringify(np('old', { podSelector: {} }))}\n`,
        },
        incident: { id: '20261202-abc123', scope: 'db', permalink: 'https://shop.slack.com/archives/C1/p1764640000000100' },
      }),
    );
    expect(pr.deletions).toEqual(['policies/db/allow-db-from-api.yaml']);
    const mixed = pr.files.find((f) => f.path === 'policies/db/mixed.yaml')!.content;
    expect(mixed).toContain('# cache settings');
    expect(mixed).not.toContain('"old"');
    expect(pr.body).toContain('Replaced by the baseline: `db/allow-db-from-api (policies/db/allow-db-from-api.yaml)`, `db/old (policies/db/mixed.yaml)`');
    expect(pr.body).toContain('Kept, and counted in the proof: `db/chart-policy (charts/db/templates/np.yaml: rendered by helm: cannot be edited here, remove it by hand)`');
    expect(pr.body).toContain('- Incident thread: https://shop.slack.com/archives/C1/p1764640000000100');
    expect(pr.body).toContain('Postmortem: `/netpol export 20261202-abc123 html`');
    expect(pr.body).not.toContain('left as they are');
  });

  it('the body says which workloads are not hardened, and loudly which ones merging cuts off', () => {
    const base = input();
    const ns = base.namespaces[0]!;
    const pr = buildPrFiles({ ...base, namespaces: [{ ...ns, flagged: [{ workload: 'db/backup', reason: 'too little history (0.5 h of 24.0 h)', omitted: true }, { workload: 'db/odd', reason: 'no flow history', omitted: false }] }] });
    expect(pr.body).toContain('- Not hardened: `db/backup` (too little history (0.5 h of 24.0 h)); kept under their current policies');
    expect(pr.body).toContain('**Cut off when merged**');
    expect(pr.body).toContain('`db/odd` (no flow history)');
  });

  it('says when the repository changed what stays since the proof', () => {
    const base = input();
    const helm = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'chart-policy', namespace: 'db' }, spec: { podSelector: {} } };
    const pr = buildPrFiles({ ...base, namespaces: [{ ...base.namespaces[0]!, kept: [] }], declared: [{ namespace: 'db', name: 'chart-policy', path: 'charts/np.yaml', spec: helm.spec, via: 'helm', object: helm }] });
    expect(pr.notes.join('\n')).toContain('The repository changed since the proof: db/chart-policy now stays');
    const same = buildPrFiles({ ...base, namespaces: [{ ...base.namespaces[0]!, kept: ['db/chart-policy'] }], declared: [{ namespace: 'db', name: 'chart-policy', path: 'charts/np.yaml', spec: helm.spec, via: 'helm', object: helm }] });
    expect(same.notes.join('\n')).not.toContain('changed since the proof');
  });
});
