// The custom resources of the simulated cluster driven by the real kubectl, as an operator would
// during an incident: discovery, tables, server-side and client-side apply, validation, deletion.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_ARGOCD, SHOP_PODS, shopObjects } from '../../src/sim/scenarios/shop.js';

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;

function kubectlOn(sim: KubeApiSim, cache: string) {
  const config = sim.writeKubeconfig(join(dir, cache));
  return (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', config, '--cache-dir', join(dir, cache, 'cache'), ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
}

function manifest(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, body);
  return file;
}

const CNP = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: quarantine
  namespace: db
spec:
  endpointSelector:
    matchLabels:
      app: postgres
  ingressDeny:
    - fromEntities: [all]
  egressDeny:
    - toEntities: [all]
`;

const ANP = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: quarantine-db
spec:
  priority: 5
  subject:
    pods:
      namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: db}
      podSelector:
        matchLabels: {app: postgres}
  ingress:
    - name: deny-all-in
      action: Deny
      from: [{namespaces: {}}]
  egress:
    - name: dns
      action: Allow
      to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]
      ports: [{portNumber: {port: 53, protocol: UDP}}, {portNumber: {port: 53}}]
    - name: deny-all-out
      action: Deny
      to: [{namespaces: {}}, {networks: [0.0.0.0/0, "::/0"]}]
`;

describe.runIf(hasKubectl())('kubectl and the custom resources', () => {
  let full: KubeApiSim;
  let plain: KubeApiSim;
  let kubectl: (args: string[]) => Promise<Run>;
  let kubectlPlain: (args: string[]) => Promise<Run>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-kube-crds-'));
    full = await startKubeApiServer({ cluster: { cni: 'cilium', adminNetworkPolicy: true, argocd: true } });
    full.seed(shopObjects({ argocd: true }));
    plain = await startKubeApiServer();
    plain.seed(shopObjects());
    kubectl = kubectlOn(full, 'full');
    kubectlPlain = kubectlOn(plain, 'plain');
  });
  afterAll(async () => {
    await full?.close();
    await plain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the installed kinds in api-resources, and only those', async () => {
    const run = await kubectl(['api-resources', '--no-headers']);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    const byName = new Map(rows.map((r) => [r[0], r]));
    expect(byName.get('adminnetworkpolicies')).toEqual(['adminnetworkpolicies', 'anp', 'policy.networking.k8s.io/v1alpha1', 'false', 'AdminNetworkPolicy']);
    expect(byName.get('baselineadminnetworkpolicies')).toEqual(['baselineadminnetworkpolicies', 'banp', 'policy.networking.k8s.io/v1alpha1', 'false', 'BaselineAdminNetworkPolicy']);
    expect(byName.get('ciliumnetworkpolicies')).toEqual(['ciliumnetworkpolicies', 'cnp,ciliumnp', 'cilium.io/v2', 'true', 'CiliumNetworkPolicy']);
    expect(byName.get('applications')).toEqual(['applications', 'app,apps', 'argoproj.io/v1alpha1', 'true', 'Application']);
    const bare = await kubectlPlain(['api-resources', '--no-headers']);
    expect(bare.stdout).not.toMatch(/cilium|adminnetworkpolicies|argoproj/);
    const missing = await kubectlPlain(['get', 'anp']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/the server doesn't have a resource type "anp"/);
  });

  it('applies a CiliumNetworkPolicy server-side, shows it in every namespace, and deletes it', async () => {
    const file = manifest('cnp', CNP);
    const applied = await kubectl(['apply', '--server-side', '--field-manager', 'netpol-responder', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim()).toBe('ciliumnetworkpolicy.cilium.io/quarantine serverside-applied');
    const listed = await kubectl(['get', 'cnp', '-A', '-o', 'yaml', '--show-managed-fields']);
    const doc = parse(listed.stdout) as { items: Array<{ metadata: { name: string; namespace: string; managedFields: Array<{ manager: string }> }; spec: unknown }> };
    expect(doc.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['db/quarantine']);
    expect(doc.items[0]?.metadata.managedFields[0]?.manager).toBe('netpol-responder');
    const table = await kubectl(['get', 'ciliumnetworkpolicies', '-n', 'db']);
    expect(table.stdout).toMatch(/^NAME\s+AGE\s+VALID\nquarantine\s+\d+s\s*$/m);
    const deleted = await kubectl(['delete', 'cnp', 'quarantine', '-n', 'db']);
    expect(deleted.stdout.trim()).toBe('ciliumnetworkpolicy.cilium.io "quarantine" deleted');
    expect(full.get('CiliumNetworkPolicy', 'db', 'quarantine')).toBeUndefined();
  });

  it('applies a CiliumNetworkPolicy client-side too, and configures it on a change', async () => {
    const file = manifest('cnp-csa', CNP.replace('quarantine', 'csa'));
    expect((await kubectl(['apply', '-f', file])).stdout.trim()).toBe('ciliumnetworkpolicy.cilium.io/csa created');
    const changed = manifest('cnp-csa2', CNP.replace('quarantine', 'csa').replace('app: postgres', 'app: redis-cache'));
    const run = await kubectl(['apply', '-f', changed]);
    expect(run.stdout.trim(), run.stderr).toBe('ciliumnetworkpolicy.cilium.io/csa configured');
    expect(full.get('cnp', 'db', 'csa')?.spec).toMatchObject({ endpointSelector: { matchLabels: { app: 'redis-cache' } } });
    expect(full.get('cnp', 'db', 'csa')?.metadata?.generation).toBe(2);
  });

  it('prints AdminNetworkPolicies with their priority and defaults the port protocol', async () => {
    const run = await kubectl(['apply', '--server-side', '-f', manifest('anp', ANP)]);
    expect(run.code, run.stderr).toBe(0);
    const table = await kubectl(['get', 'anp']);
    expect(table.stdout).toMatch(/^NAME\s+PRIORITY\s+AGE\nquarantine-db\s+5\s+\d+s\s*$/m);
    const stored = full.get('AdminNetworkPolicy', undefined, 'quarantine-db') as { spec: { egress: Array<{ ports?: Array<{ portNumber: { protocol: string } }> }> } };
    expect(stored.spec.egress[0]?.ports?.map((p) => p.portNumber.protocol)).toEqual(['UDP', 'TCP']);
    expect((await kubectl(['delete', 'anp', 'quarantine-db'])).stdout.trim()).toBe('adminnetworkpolicy.policy.networking.k8s.io "quarantine-db" deleted');
  });

  it('reports schema violations and unknown fields the way the apiserver does, storing nothing', async () => {
    const bad = manifest('anp-bad', ANP.replace('priority: 5', 'priority: 1001').replace('action: Deny', 'action: Block'));
    const run = await kubectl(['apply', '--server-side', '-f', bad]);
    expect(run.code).not.toBe(0);
    // kubectl rewrites the Status message as a list under "The <Kind> "<name>" is invalid:".
    expect(run.stderr).toMatch(/The AdminNetworkPolicy "quarantine-db" is invalid/);
    expect(run.stderr).toMatch(/spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000/);
    expect(run.stderr).toMatch(/spec.ingress\[0\].action: Unsupported value: "Block": supported values: "Allow", "Deny", "Pass"/);
    const typo = await kubectl(['apply', '--server-side', '-f', manifest('cnp-typo', CNP.replace('ingressDeny', 'ingresDeny'))]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/unknown field "spec.ingresDeny"/);
    const banp = await kubectl(['apply', '--server-side', '-f', manifest('banp', 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: other}\nspec: {subject: {namespaces: {}}}\n')]);
    expect(banp.stderr).toMatch(/Only one baseline admin network policy with metadata.name="default" can be created in the cluster/);
    expect(full.list('AdminNetworkPolicy')).toEqual([]);
    expect(full.list('BaselineAdminNetworkPolicy')).toEqual([]);
  });

  it("shows Argo CD's Application with its sync and health columns, and annotates it", async () => {
    const table = await kubectl(['get', 'app', '-n', SHOP_ARGOCD.namespace]);
    expect(table.stdout).toMatch(new RegExp(`^NAME\\s+SYNC STATUS\\s+HEALTH STATUS\\n${SHOP_ARGOCD.application}\\s+Synced\\s+Healthy\\s*$`, 'm'));
    const annotated = await kubectl(['annotate', 'app', SHOP_ARGOCD.application, '-n', SHOP_ARGOCD.namespace, 'argocd.argoproj.io/skip-reconcile=true']);
    expect(annotated.code, annotated.stderr).toBe(0);
    expect(full.get('Application', SHOP_ARGOCD.namespace, SHOP_ARGOCD.application)?.metadata?.annotations).toEqual({ 'argocd.argoproj.io/skip-reconcile': 'true' });
  });

  it('labels and patches a pod, and refuses a change to its spec', async () => {
    const labelled = await kubectl(['label', 'pod', SHOP_PODS.postgres, '-n', 'db', 'quarantine=inc-7']);
    expect(labelled.code, labelled.stderr).toBe(0);
    const patched = await kubectl(['patch', 'pod', SHOP_PODS.postgres, '-n', 'db', '--type', 'merge', '-p', '{"metadata":{"labels":{"quarantine":null,"seen":"yes"}}}']);
    expect(patched.code, patched.stderr).toBe(0);
    expect(full.get('Pod', 'db', SHOP_PODS.postgres)?.metadata?.labels).toMatchObject({ seen: 'yes', app: 'postgres' });
    expect(full.get('Pod', 'db', SHOP_PODS.postgres)?.metadata?.labels).not.toHaveProperty('quarantine');
    const spec = await kubectl(['patch', 'pod', SHOP_PODS.postgres, '-n', 'db', '--type', 'merge', '-p', '{"spec":{"nodeName":"elsewhere"}}']);
    expect(spec.code).not.toBe(0);
    expect(spec.stderr).toMatch(/Pod "postgres-0" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
  });
});
