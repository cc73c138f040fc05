// The simulated API server driven by the real kubectl binary, as an operator would during an incident.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_PODS, SHOP_POLICIES, shopObjects } from '../../src/sim/scenarios/shop.js';

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const kubectlAvailable = hasKubectl();

let sim: KubeApiSim;
let dir: string;
let adminConfig: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], kubeconfig = adminConfig): Promise<Run> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function manifest(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

const CONTAIN = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: emergency-deny
  namespace: db
  labels:
    netpol-responder/incident: inc-7
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`;

describe.runIf(kubectlAvailable)('kubectl against the simulated API server', () => {
  beforeAll(async () => {
    sim = await startKubeApiServer();
    sim.seed(shopObjects());
    dir = mkdtempSync(join(tmpdir(), 'sim-kube-kubectl-'));
    adminConfig = sim.writeKubeconfig(dir);
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets policies as YAML', async () => {
    const run = await kubectl(['get', 'netpol', '-n', 'db', '-o', 'yaml']);
    expect(run.code, run.stderr).toBe(0);
    const doc = parse(run.stdout) as { kind: string; items: Array<{ metadata: { name: string }; spec: { podSelector: unknown } }> };
    expect(doc.kind).toBe('List');
    expect(doc.items.map((i) => i.metadata.name)).toEqual([SHOP_POLICIES.dbIngress, SHOP_POLICIES.allowDns, SHOP_POLICIES.defaultDeny]);
  });

  it('prints the usual table for pods in all namespaces', async () => {
    const run = await kubectl(['get', 'pods', '-A']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines.some((l) => /^db\s+postgres-0\s+1\/1\s+Running\s+0\s+/.test(l))).toBe(true);
    expect(lines).toHaveLength(1 + sim.list('Pod').length);
  });

  it('selects by label and by field', async () => {
    const byLabel = await kubectl(['get', 'pods', '-n', 'api', '-l', 'app in (payments)', '-o', 'name']);
    expect(byLabel.stdout.trim()).toBe(`pod/${SHOP_PODS.payments}`);
    const byField = await kubectl(['get', 'netpol', '-A', '--field-selector', `metadata.name=${SHOP_POLICIES.defaultDeny}`, '-o', 'name']);
    expect(byField.stdout.trim().split('\n')).toHaveLength(3);
    const none = await kubectl(['get', 'netpol', '-n', 'db', '-l', 'nothing=here']);
    expect(none.stderr).toMatch(/No resources found in db namespace/);
  });

  it('applies server-side, reports conflicts with another field manager, and forces', async () => {
    const file = manifest('contain', CONTAIN);
    const first = await kubectl(['apply', '--server-side', '--field-manager', 'netpol-responder', '-f', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('networkpolicy.networking.k8s.io/emergency-deny serverside-applied');
    const live = sim.get('NetworkPolicy', 'db', 'emergency-deny');
    expect((live?.metadata?.managedFields as Array<{ manager: string; operation: string }>)[0]).toMatchObject({ manager: 'netpol-responder', operation: 'Apply' });

    const other = manifest('other', CONTAIN.replace('[Ingress, Egress]', '[Ingress]'));
    const conflict = await kubectl(['apply', '--server-side', '-f', other]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/Apply failed with 1 conflict: conflict with "netpol-responder" using networking.k8s.io\/v1: .spec.policyTypes/);
    expect((sim.get('NetworkPolicy', 'db', 'emergency-deny')?.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress', 'Egress']);

    const forced = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', other]);
    expect(forced.code, forced.stderr).toBe(0);
    expect((sim.get('NetworkPolicy', 'db', 'emergency-deny')?.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress']);
    const shown = await kubectl(['get', 'netpol', 'emergency-deny', '-n', 'db', '-o', 'yaml', '--show-managed-fields']);
    const managers = (parse(shown.stdout) as { metadata: { managedFields: Array<{ manager: string }> } }).metadata.managedFields.map((m) => m.manager);
    expect(managers.sort()).toEqual(['kubectl', 'netpol-responder']);
  });

  it('dry-runs an apply on the server without changing anything', async () => {
    const rv = sim.resourceVersion();
    const file = manifest('dry', CONTAIN.replace('emergency-deny', 'dry-deny'));
    const run = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/serverside-applied \(server dry run\)/);
    expect(sim.get('NetworkPolicy', 'db', 'dry-deny')).toBeUndefined();
    expect(sim.resourceVersion()).toBe(rv);
  });

  it('shows the 422 message for an invalid policy and stores nothing', async () => {
    const file = manifest('invalid', CONTAIN.replace('emergency-deny', 'broken').replace('policyTypes: [Ingress, Egress]', 'ingress:\n  - ports:\n      - port: 70000'));
    const run = await kubectl(['apply', '--server-side', '-f', file]);
    expect(run.code).not.toBe(0);
    // kubectl rebuilds the message from the Status causes, exactly as it does against a real cluster.
    expect(run.stderr).toMatch(/The NetworkPolicy "broken" is invalid: spec.ingress\[0\].ports\[0\].port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
    expect(sim.get('NetworkPolicy', 'db', 'broken')).toBeUndefined();
  });

  it('refuses a misspelt field (kubectl asks for strict field validation) and stores nothing', async () => {
    const file = manifest('typo', CONTAIN.replace('emergency-deny', 'typo').replace('podSelector: {}', 'podSelectr: {}'));
    const run = await kubectl(['apply', '--server-side', '-f', file]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Error from server \(BadRequest\): .*strict decoding error: unknown field "spec.podSelectr"/);
    expect(sim.get('NetworkPolicy', 'db', 'typo')).toBeUndefined();
  });

  it('creates, labels, replaces and deletes', async () => {
    const file = manifest('plain', CONTAIN.replace('emergency-deny', 'plain'));
    expect((await kubectl(['create', '-f', file])).stdout.trim()).toBe('networkpolicy.networking.k8s.io/plain created');
    const dup = await kubectl(['create', '-f', file]);
    expect(dup.stderr).toMatch(/Error from server \(AlreadyExists\).*"plain" already exists/);
    expect((await kubectl(['label', 'netpol', 'plain', '-n', 'db', 'reviewed=yes'])).code).toBe(0);
    expect((sim.get('NetworkPolicy', 'db', 'plain')?.metadata?.labels as Record<string, string>).reviewed).toBe('yes');
    const replaced = await kubectl(['replace', '-f', manifest('plain2', CONTAIN.replace('emergency-deny', 'plain').replace('[Ingress, Egress]', '[Egress]'))]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((sim.get('NetworkPolicy', 'db', 'plain')?.spec as { policyTypes: string[] }).policyTypes).toEqual(['Egress']);
    const del = await kubectl(['delete', 'netpol', 'plain', '-n', 'db']);
    expect(del.stdout.trim()).toBe('networkpolicy.networking.k8s.io "plain" deleted');
    const again = await kubectl(['delete', 'netpol', 'plain', '-n', 'db']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/Error from server \(NotFound\): networkpolicies.networking.k8s.io "plain" not found/);
  });

  it('records client-side apply, edit and patch under their own field managers', async () => {
    const file = manifest('csa', CONTAIN.replace('emergency-deny', 'csa'));
    expect((await kubectl(['apply', '-f', file])).stdout.trim()).toBe('networkpolicy.networking.k8s.io/csa created');
    const changed = manifest('csa2', CONTAIN.replace('emergency-deny', 'csa').replace('[Ingress, Egress]', '[Ingress]'));
    expect((await kubectl(['apply', '-f', changed])).stdout.trim()).toBe('networkpolicy.networking.k8s.io/csa configured');
    expect((sim.get('NetworkPolicy', 'db', 'csa')?.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress']);
    // The incident's "kubectl edit that opens db to the world", done by a non-interactive editor.
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/tier: api/tier: anything/" "$1"\n', { mode: 0o755 });
    const edit = await new Promise<Run>((resolve) => {
      execFile(
        'kubectl',
        ['--kubeconfig', adminConfig, '--cache-dir', join(dir, 'cache'), 'edit', 'netpol', SHOP_POLICIES.dbIngress, '-n', 'db'],
        { env: { ...process.env, KUBE_EDITOR: editor }, timeout: 20_000 },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      );
    });
    expect(edit.code, edit.stderr).toBe(0);
    const patch = await kubectl(['patch', 'netpol', 'csa', '-n', 'db', '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/patched","value":"yes"}]']);
    expect(patch.code, patch.stderr).toBe(0);
    const managersOf = (name: string): string[] =>
      ((sim.get('NetworkPolicy', 'db', name)?.metadata?.managedFields ?? []) as Array<{ manager: string }>).map((m) => m.manager).sort();
    expect(managersOf('csa')).toEqual(['kubectl-client-side-apply', 'kubectl-patch']);
    expect(managersOf(SHOP_POLICIES.dbIngress)).toEqual(['kubectl-edit', 'netpol-sim-seed']);
    expect(JSON.stringify(sim.get('NetworkPolicy', 'db', SHOP_POLICIES.dbIngress)?.spec)).toContain('"tier":"anything"');
  });

  it('shows the Forbidden message for a denied user', async () => {
    sim.deny({ user: 'oncall', verb: 'delete', resource: 'networkpolicies', namespace: 'db' });
    const run = await kubectl(['delete', 'netpol', SHOP_POLICIES.defaultDeny, '-n', 'db'], sim.writeKubeconfig(dir, 'oncall'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `Error from server (Forbidden): networkpolicies.networking.k8s.io "${SHOP_POLICIES.defaultDeny}" is forbidden: User "oncall" cannot delete resource "networkpolicies" in API group "networking.k8s.io" in the namespace "db"`,
    );
    expect(sim.get('NetworkPolicy', 'db', SHOP_POLICIES.defaultDeny)).toBeDefined();
    sim.clearDenials();
  });

  it('creates, labels and deletes a namespace (kubectl sends the Namespace as protobuf)', async () => {
    sim.clearRequests();
    const created = await kubectl(['create', 'namespace', 'scratch']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe('namespace/scratch created');
    const post = sim.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/namespaces');
    expect(post?.contentType).toBe('application/vnd.kubernetes.protobuf');
    expect(sim.get('Namespace', undefined, 'scratch')?.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'scratch' });
    const labelled = await kubectl(['label', 'namespace', 'scratch', 'team=red']);
    expect(labelled.code, labelled.stderr).toBe(0);
    expect((await kubectl(['get', 'ns', 'scratch', '-L', 'team'])).stdout).toMatch(/^scratch\s+Active\s+\S+\s+red$/m);
    const dup = await kubectl(['create', 'namespace', 'scratch']);
    expect(dup.stderr).toMatch(/Error from server \(AlreadyExists\): namespaces "scratch" already exists/);
    const bad = await kubectl(['create', 'namespace', 'Not_Valid']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/The Namespace "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid"/);
    const deleted = await kubectl(['delete', 'namespace', 'scratch']);
    expect(deleted.stdout.trim()).toBe('namespace "scratch" deleted');
    expect(sim.get('Namespace', undefined, 'scratch')).toBeUndefined();
  });

  it('answers kubectl auth can-i, can-i --list and whoami from the simulation\'s access rules', async () => {
    sim.deny({ user: 'oncall', verb: 'delete', resource: 'networkpolicies', namespace: 'db' });
    try {
      const oncall = sim.writeKubeconfig(dir, 'oncall');
      const yes = await kubectl(['auth', 'can-i', 'create', 'networkpolicies', '-n', 'db'], oncall);
      expect([yes.code, yes.stdout.trim()]).toEqual([0, 'yes']);
      const no = await kubectl(['auth', 'can-i', 'delete', 'networkpolicies', '-n', 'db'], oncall);
      expect(no.code).toBe(1);
      expect(no.stdout.trim()).toBe('no - netpol-sim: denied by the simulation\'s access rules (delete networkpolicies.networking.k8s.io in namespace "db")');
      expect((await kubectl(['auth', 'can-i', 'delete', 'networkpolicies', '-n', 'api'], oncall)).stdout.trim()).toBe('yes');
      // --as impersonates: the admin asks as oncall and gets oncall's answer
      expect((await kubectl(['auth', 'can-i', 'delete', 'netpol', '-n', 'db', '--as', 'oncall'])).stdout.trim()).toMatch(/^no/);
      expect((await kubectl(['auth', 'can-i', 'delete', 'netpol', '-n', 'db'])).stdout.trim()).toBe('yes');
      const unserved = await kubectl(['auth', 'can-i', 'create', 'deployments.apps', '-n', 'db']);
      expect(unserved.stdout.trim()).toBe('no - netpol-sim: the simulated API server does not serve deployments.apps');

      const list = await kubectl(['auth', 'can-i', '--list', '-n', 'db'], oncall);
      expect(list.code, list.stderr).toBe(0);
      const netpolRow = list.stdout.split('\n').find((l) => l.startsWith('networkpolicies.networking.k8s.io'));
      expect(netpolRow).toMatch(/\[create deletecollection get list patch update watch\]$/);
      expect(list.stdout).toMatch(/^pods\s+\[\]\s+\[\]\s+\[create delete deletecollection get list patch update watch\]$/m);
      expect(list.stdout).toMatch(/\[\/healthz\]\s+\[\]\s+\[get\]/);

      const whoami = await kubectl(['auth', 'whoami'], oncall);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect(whoami.stdout).toMatch(/^Username\s+oncall$/m);
      expect(whoami.stdout).toMatch(/^Groups\s+\[system:authenticated\]$/m);
      expect((await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout).toBe('netpol-sim-admin');
    } finally {
      sim.clearDenials();
    }
  });

  it('describes a running pod as running: started, ready, with its conditions', async () => {
    const run = await kubectl(['describe', 'pod', SHOP_PODS.postgres, '-n', 'db']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Status:\s+Running$/m);
    expect(run.stdout).toMatch(/^\s+State:\s+Running\n\s+Started:\s+\w{3}, \d{2} \w{3} \d{4}/m);
    expect(run.stdout).toMatch(/^\s+Ready:\s+True$/m);
    expect(run.stdout).toMatch(/^Start Time:\s+\w{3}, /m);
    for (const condition of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
      expect(run.stdout).toMatch(new RegExp(`^\\s+${condition}\\s+True\\s*$`, 'm'));
    }
    // A pod nobody placed on a node stays Pending: there is no scheduler.
    expect((await kubectl(['run', 'unplaced', '--image=busybox', '-n', 'api'])).code).toBe(0);
    expect((await kubectl(['get', 'pod', 'unplaced', '-n', 'api'])).stdout).toMatch(/^unplaced\s+0\/1\s+Pending/m);
    expect((await kubectl(['delete', 'pod', 'unplaced', '-n', 'api'])).code).toBe(0);
  });

  it('watches with -w and prints changes as they happen', async () => {
    const child = spawn('kubectl', ['--kubeconfig', adminConfig, '--cache-dir', join(dir, 'cache'), 'get', 'netpol', '-n', 'db', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`kubectl -w never printed ${pattern}; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(new RegExp(SHOP_POLICIES.defaultDeny));
      const run = await kubectl(['apply', '--server-side', '-f', manifest('watched', CONTAIN.replace('emergency-deny', 'watched-live'))]);
      expect(run.code, run.stderr).toBe(0);
      await waitFor(/watched-live/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(out.split('\n')[0]).toMatch(/^NAME\s+POD-SELECTOR\s+AGE$/);
  });
});
