// The analyze / diff / lint commands run as real child processes over the fixture
// directories and over temporary directories (including one with thousands of files).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'netpol');
const tmp = mkdtempSync(join(tmpdir(), 'netpol-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function dir(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(d, file), text);
  return d;
}

const podYaml = (ns: string, name: string, app: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: ${ns}\n  name: ${name}\n  labels:\n    app: ${app}\nspec:\n  containers:\n  - name: c\n`;

describe('analyze', () => {
  it('prints the golden connectivity list of a fixture case', async () => {
    const r = await cli(['analyze', join(fixtures, 'tests', 'online_boutique_workloads_no_ns')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(fixtures, 'expected', 'online_boutique_workloads_no_ns_connlist_output.txt'), 'utf8').trimEnd() + '\n');
  });

  it('supports json, csv, md and dot', async () => {
    const path = join(fixtures, 'tests', 'netpol_named_port_test_2');
    const json = await cli(['analyze', path, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toContainEqual({ src: 'helloworld/pod-a[Deployment]', dst: 'helloworld/new-pod[Deployment]', conn: 'SCTP 8956,9090' });
    expect((await cli(['analyze', path, '--format', 'csv'])).stdout).toContain('helloworld/pod-a[Deployment],helloworld/new-pod[Deployment],"SCTP 8956,9090"');
    expect((await cli(['analyze', path, '--format', 'md'])).stdout).toContain('| helloworld/pod-a[Deployment] | helloworld/new-pod[Deployment] | SCTP 8956,9090 |');
    expect((await cli(['analyze', path, '--format', 'dot'])).stdout).toMatch(/^digraph connectivity/);
    const bad = await cli(['analyze', path, '--format', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^--format: unknown format "yaml" \(valid: txt, json, csv, md, dot; "text" means txt\)\n\nusage: netpol-responder analyze /);
    expect((await cli(['analyze', path, '--format', 'text'])).stdout).toBe((await cli(['analyze', path])).stdout);
  });

  it('--port restricts the list to one question; --merge-external joins equal address blocks', async () => {
    const named = await cli(['analyze', join(fixtures, 'tests', 'netpol_named_port_test_2'), '--port', '9090', '--protocol', 'sctp']);
    expect(named.code).toBe(0);
    expect(named.stdout).toContain('helloworld/pod-a[Deployment] => helloworld/new-pod[Deployment] : SCTP 9090\n');
    expect(named.stdout.trimEnd().split('\n').every((l) => l.endsWith(': SCTP 9090'))).toBe(true);
    const path = join(fixtures, 'tests', 'ipblockstest');
    const split = await cli(['analyze', path]);
    const merged = await cli(['analyze', path, '--merge-external']);
    expect(split.stdout).toContain('0.0.0.0-9.255.255.255[External] => default/cognetive-agents[DaemonSet] : All Connections');
    expect(merged.stdout).toContain('0.0.0.0-255.255.255.255[External] => default/cognetive-agents[DaemonSet] : All Connections');
    expect(merged.stdout).toContain('0.0.0.0-9.255.255.255[External] => kube-system/vpn-858f6d9777[ReplicaSet] : UDP 53');
    expect(merged.stdout.split('\n').length).toBeLessThan(split.stdout.split('\n').length);
  });

  it('--explain prints the reasons', async () => {
    const path = join(fixtures, 'tests', 'netpol_named_port_test_2');
    const r = await cli(['analyze', path, '--explain', 'helloworld/pod-a', 'helloworld/new-pod[Deployment]', '--port', 'newport', '--protocol', 'SCTP']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('helloworld/pod-a => helloworld/new-pod[Deployment] : SCTP 9090 ALLOWED');
    expect(r.stdout).toContain('allowed by helloworld/enable-ingress-from-named-port ingress[0] peer 0');
    const denied = await cli(['analyze', path, '--explain', 'helloworld/new-pod', '10.1.1.1', '--port', '443']);
    expect(denied.stdout).toContain('DENIED');
    const json = await cli(['analyze', path, '--explain', 'helloworld/new-pod', '10.1.1.1', '--port', '443', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ allowed: false, egress: { isolated: true, isolatingPolicies: ['helloworld/enable-ingress-from-named-port'], allowedBy: [] }, ingress: { applicable: false } });
    const unknown = await cli(['analyze', path, '--explain', 'helloworld/nope', '10.1.1.1', '--port', '443']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no pod or workload "helloworld/nope"');
  });

  it('invalid YAML fails with the file and line and prints no partial result', async () => {
    const d = dir('bad-yaml', { 'a.yaml': podYaml('x', 'p', 'a'), 'b.yaml': 'kind: Pod\nmetadata: {name: [\n' });
    const r = await cli(['analyze', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/b\.yaml: invalid YAML at line \d/);
  });

  it('an invalid policy fails with its path; unknown kinds only warn', async () => {
    const badPolicy = 'kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n';
    const r = await cli(['analyze', dir('bad-policy', { 'a.yaml': podYaml('x', 'p', 'a'), 'p.yaml': badPolicy })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NetworkPolicy x/p');
    expect(r.stderr).toContain('spec.ingress[0].ports[0].port: port 70000 is out of range');
    const w = await cli(['analyze', dir('unknown-kind', { 'a.yaml': podYaml('x', 'p', 'a'), 'g.yaml': 'kind: Gadget\nmetadata: {name: g}\n' })]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('unknown kind "Gadget" skipped');
    expect(w.stdout).toContain('x/p[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections');
  });

  it('missing paths and empty directories are errors; bad usage exits 2', async () => {
    const missing = await cli(['analyze', join(fixtures, 'tests', 'ipblockstest'), join(tmp, 'does-not-exist')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`cannot read ${join(tmp, 'does-not-exist')}: no such file\n`);
    const underFile = join(fixtures, 'tests', 'ipblockstest', 'pods.yaml', 'x.yaml');
    expect((await cli(['analyze', underFile])).stderr).toBe(`cannot read ${underFile}: a part of the path is not a directory\n`);
    expect((await cli(['analyze', dir('empty', {})])).stderr).toContain('no .yaml, .yml or .json files');
    expect((await cli(['analyze'])).code).toBe(2);
    expect((await cli(['analyze', '--nope', 'x'])).code).toBe(2);
  });

  it('handles a directory with thousands of files', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`pod-${String(i).padStart(4, '0')}.yaml`] = podYaml(`ns-${i % 30}`, `p-${i}`, `app-${i % 100}`);
    for (let n = 0; n < 30; n++) files[`deny-${n}.yaml`] = `kind: NetworkPolicy\nmetadata: {name: deny, namespace: ns-${n}}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n`;
    const started = Date.now();
    const r = await cli(['analyze', dir('many', files)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    // Every pod is ingress-isolated, so only egress to the outside world remains: one line per pod.
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3000);
    expect(lines.every((l) => l.endsWith('=> 0.0.0.0-255.255.255.255[External] : All Connections'))).toBe(true);
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 30_000);
});

describe('diff', () => {
  it('prints connections opened and closed between two fixture states', async () => {
    const r = await cli(['diff', join(fixtures, 'tests', 'semanticDiff-same-topologies-old3'), '--', join(fixtures, 'tests', 'semanticDiff-same-topologies-new1')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'Connectivity diff:',
      'diff-type: changed, source: demo/cog-agents-account-query[DaemonSet], destination: demo/cog-agents-bank-ui[DaemonSet], ref1: TCP 8080, ref2: All Connections',
      'diff-type: changed, source: demo/cog-agents-bank-ui[DaemonSet], destination: demo/cog-agents-account-command[DaemonSet], ref1: All Connections, ref2: TCP 8080,9090,UDP 8080',
      'diff-type: added, source: 0.0.0.0-255.255.255.255[External], destination: demo/cog-agents-bank-ui[DaemonSet], ref1: No Connections, ref2: All Connections',
      'diff-type: added, source: demo/cog-agents-account-command[DaemonSet], destination: demo/cog-agents-bank-ui[DaemonSet], ref1: No Connections, ref2: All Connections',
      'diff-type: removed, source: 0.0.0.0-255.255.255.255[External], destination: demo/cog-agents-account-command[DaemonSet], ref1: All Connections, ref2: No Connections',
      '',
    ]);
    const json = await cli(['diff', '--format', 'json', join(fixtures, 'tests', 'semanticDiff-same-topologies-old3'), '--', join(fixtures, 'tests', 'semanticDiff-same-topologies-new1')]);
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ kind: 'changed', opened: 'SCTP 1-65535,TCP 1-8079,8081-65535,UDP 1-65535', closed: 'No Connections' });
  });

  it('reports no change for identical inputs and needs the -- separator and a path on each side', async () => {
    const path = join(fixtures, 'tests', 'semanticDiff-same-topologies-old3');
    expect((await cli(['diff', path, '--', path])).stdout).toBe('No connectivity changes.\n');
    const noSeparator = await cli(['diff', path, path]);
    expect(noSeparator.code).toBe(2);
    expect(noSeparator.stderr).toMatch(/^put "--" between the before and the after paths\n\nusage: netpol-responder diff /);
    expect((await cli(['diff', '--', path])).stderr).toMatch(/^no before path/);
    expect((await cli(['diff', path, '--'])).stderr).toMatch(/^no after path/);
    expect((await cli(['diff', '-', '--', '-'])).stderr).toMatch(/^"-" \(standard input\) can be given once/);
    const bad = await cli(['diff', path, '--', path, '--format', 'csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format: unknown format "csv" (valid: txt, json; "text" means txt)');
  });

  it('takes --format before the paths, between them, or after --', async () => {
    const a = join(fixtures, 'tests', 'semanticDiff-same-topologies-old3');
    const b = join(fixtures, 'tests', 'semanticDiff-same-topologies-new1');
    const runs = await Promise.all([
      cli(['diff', a, '--', b, '--format', 'json']),
      cli(['diff', '--format', 'json', a, '--', b]),
      cli(['diff', a, '--format', 'json', '--', b]),
      cli(['diff', a, '--', '--format=json', b]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(runs[0]?.stdout);
    }
    expect(JSON.parse(runs[0]?.stdout ?? '')).toHaveLength(5);
    const text = await cli(['diff', a, '--', b, '--format', 'text']);
    expect(text.stdout.startsWith('Connectivity diff:\n')).toBe(true);
  });

  it('each side may be several paths; a missing one is named plainly', async () => {
    const dir = join(fixtures, 'tests', 'semanticDiff-same-topologies-old3');
    const files = readdirSync(dir).filter((f) => /\.(yaml|json)$/.test(f)).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(1);
    const r = await cli(['diff', ...files, '--', dir]);
    expect(r.stdout).toBe('No connectivity changes.\n');
    const missing = await cli(['diff', dir, '--', join(tmp, 'gone.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`cannot read ${join(tmp, 'gone.yaml')}: no such file\n`);
  });
});

describe('lint', () => {
  it('exits 1 on error findings and prints id, severity and fix', async () => {
    const r = await cli(['lint', join(fixtures, 'tests', 'netpol_named_port_test_2')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR NP021 rule-never-matches helloworld/enable-ingress-from-named-port ingress[0]: named port "newport"/UDP');
    expect(r.stdout).toContain('fix: ');
  });

  it('exits 0 when there are only warnings, and emits JSON', async () => {
    const d = dir('lint-ok', {
      'p.yaml': podYaml('x', 'p', 'a'),
      'deny.yaml': 'kind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n',
      'open.yaml': 'kind: NetworkPolicy\nmetadata: {name: open, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n  - {}\n',
    });
    const r = await cli(['lint', d, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({ id: 'NP010', severity: 'warning', object: 'x/open ingress[0]' }),
    ]);
  });
});

describe('AdminNetworkPolicy, BaselineAdminNetworkPolicy and CiliumNetworkPolicy input', () => {
  const anpFixtures = join(root, 'test', 'fixtures', 'netpol-anp');

  it('analyze prints the golden list of an ANP/BANP case, and diff shows what the ANP changes', async () => {
    const path = join(anpFixtures, 'tests', 'anp_with_np_and_banp_pass_test');
    const r = await cli(['analyze', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(anpFixtures, 'expected', 'anp_with_np_and_banp_pass_test_connlist_output.txt'), 'utf8').trimEnd() + '\n');
    const pods = join(path, 'pods.yaml');
    const d = await cli(['diff', pods, '--', path]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('source: ns2/pod1[Deployment], destination: ns1/pod1[Deployment], ref1: All Connections, ref2: TCP 80,UDP 80');
  });

  it('--explain names the ANP, BANP or Cilium rule that decided', async () => {
    const d = dir('explain-anp', {
      'pods.yaml': [podYaml('a', 'web', 'web'), podYaml('b', 'client', 'client')].join('---\n'),
      'anp.yaml': 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: deny-b}\nspec:\n  priority: 5\n  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: a}}}\n  ingress:\n  - {name: no-b, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}]}\n',
      'cnp.yaml': 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: egress, namespace: b}\nspec:\n  endpointSelector: {}\n  egressDeny:\n  - toEntities: [world]\n    toPorts: [{ports: [{port: "25"}]}]\n',
    });
    const anp = await cli(['analyze', d, '--explain', 'b/client', 'a/web', '--port', '80']);
    expect(anp.code).toBe(0);
    expect(anp.stdout).toContain('b/client => a/web : TCP 80 DENIED');
    expect(anp.stdout).toContain('ingress: a/web: denied by ANP deny-b ingress[0] "no-b" (action Deny)');
    const cnp = await cli(['analyze', d, '--explain', 'b/client', '203.0.113.5', '--port', '25']);
    expect(cnp.stdout).toContain('egress: b/client: denied by CNP b/egress spec.egressDeny[0]');
    const json = await cli(['analyze', d, '--explain', 'b/client', 'a/web', '--port', '80', '--format', 'json']);
    expect(JSON.parse(json.stdout).ingress.verdict).toMatchObject({ layer: 'AdminNetworkPolicy', policy: 'ANP deny-b', rule: 'ingress[0] "no-b"', allowed: false });
  });

  it('invalid ANP/CNP fields: exit 1 with the field path; lint reports NP000 and NP050', async () => {
    const d = dir('bad-anp', {
      'pods.yaml': podYaml('a', 'web', 'web'),
      'anp.yaml': 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: bad}\nspec: {priority: 5000, subject: {namespaces: {}}}\n',
    });
    const r = await cli(['analyze', d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('(AdminNetworkPolicy bad): spec.priority: priority 5000 must be an integer 0-1000');
    const same = dir('same-priority', {
      'pods.yaml': podYaml('a', 'web', 'web'),
      'anps.yaml': ['x', 'y'].map((n) => `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: ${n}}\nspec:\n  priority: 3\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]\n`).join('---\n'),
    });
    const lint = await cli(['lint', same, '--format', 'json']);
    expect(lint.code).toBe(0);
    expect(JSON.parse(lint.stdout).map((f: { id: string; object: string }) => `${f.id} ${f.object}`)).toContain('NP050 AdminNetworkPolicy y');
    const analyze = await cli(['analyze', same]);
    expect(analyze.code).toBe(0);
    expect(analyze.stderr).toContain('warning: ');
    expect(analyze.stderr).toContain('(AdminNetworkPolicy y): has the same priority (3) as AdminNetworkPolicy x');
  });
});

describe('repositories: non-Kubernetes files next to manifests', () => {
  const repo = (): string =>
    dir('repo', {
      'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n',
      'values.yaml': 'replicaCount: 2\nimage: {repository: app}\n',
      'kustomization.yaml': 'resources: [pods.yaml]\n',
      'package.json': '{"name": "x", "version": "1.0.0"}',
      'list.json': '[1, 2, 3]',
      'pods.yaml': [podYaml('a', 'web', 'web'), podYaml('a', 'db', 'db')].join('---\n'),
    });

  it('analyze skips each of them with one warning; --strict refuses with the list', async () => {
    const d = repo();
    mkdirSync(join(d, 'workflows'), { recursive: true });
    writeFileSync(join(d, 'workflows', 'ci.yml'), 'on: [push]\njobs:\n  test: {runs-on: ubuntu-latest, steps: [{run: make}]}\n');
    const r = await cli(['analyze', d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a/web[Pod] => a/db[Pod] : All Connections');
    const warnings = r.stderr.trimEnd().split('\n');
    expect(warnings).toHaveLength(6);
    for (const f of ['Chart.yaml', 'values.yaml', 'kustomization.yaml', 'package.json', 'list.json', join('workflows', 'ci.yml')]) {
      expect(warnings).toContain(`warning: ${join(d, f)}: not a Kubernetes manifest (no document has a kind): skipped`);
    }
    const strict = await cli(['analyze', d, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr.trimEnd().split('\n')).toContain(`error: ${join(d, 'Chart.yaml')}: not a Kubernetes manifest (no document has a kind) (--strict)`);
    const diffStrict = await cli(['diff', d, '--', d, '--strict']);
    expect(diffStrict.code).toBe(1);
    expect(diffStrict.stderr).toContain(`before: error: ${join(d, 'values.yaml')}`);
    const lint = await cli(['lint', d, '--format', 'json']);
    expect(JSON.parse(lint.stdout).filter((f: { id: string }) => f.id === 'NP009')).toHaveLength(6);
    const lintStrict = await cli(['lint', d, '--strict', '--format', 'json']);
    expect(lintStrict.code).toBe(1);
    expect(JSON.parse(lintStrict.stdout).filter((f: { id: string }) => f.id === 'NP000')).toHaveLength(6);
  });

  it('a file named on the command line is still read as a manifest', async () => {
    const r = await cli(['analyze', join(repo(), 'list.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a Kubernetes object');
  });

  it('Succeeded pods of a Job are workloads; other finished pods are not', async () => {
    const job = (name: string, owner: string, phase: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: a\n  name: ${name}\n  labels: {app: ${name}}\n  ownerReferences: [{apiVersion: batch/v1, kind: ${owner}, name: ${name}-owner, controller: true}]\nspec: {containers: [{name: c}]}\nstatus: {phase: ${phase}}\n`;
    const d = dir('jobs', { 'pods.yaml': [podYaml('a', 'web', 'web'), job('backup', 'Job', 'Succeeded'), job('old', 'ReplicaSet', 'Failed')].join('---\n') });
    const r = await cli(['analyze', d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a/backup-owner[Job] => a/web[Pod] : All Connections');
    expect(r.stdout).not.toContain('old');
  });
});
