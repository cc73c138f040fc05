// lint over the public kubernetes-network-policy-recipes (test/fixtures/netpol-recipes), as a new
// user would run it: each recipe alone, recipes combined as their pages suggest, the whole folder
// through the CLI, and the DNS-blocking recipes passing with a suppression. The expected findings
// follow from what each manifest means (written per recipe below), not from a recorded output.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allowed, buildIndex } from '../../src/policy/index.js';
import { failing, lint } from '../../src/policy/lint.js';
import { readManifests } from '../../src/policy/load-files.js';
import { sarifProblems } from '../helpers/sarif-shape.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'netpol-recipes');
const recipes = join(fixtures, 'recipes');
const tmp = mkdtempSync(join(tmpdir(), 'netpol-recipes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function findings(paths: string[], extra: unknown[] = []) {
  const read = await readManifests(paths);
  const { index, issues } = buildIndex([...read.inputs, ...extra.map((object, i) => ({ object, source: `extra#${i}` }))]);
  return lint(index, { issues: [...read.issues, ...issues] });
}

const ids = async (...files: string[]): Promise<string[]> => (await findings(files.map((f) => join(fixtures, f)))).map((f) => `${f.id} ${f.object}`);

function cli(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), 'lint', ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

// What each recipe means, and so what lint must say about it alone. Recipes without a namespace
// land in `default`. None holds pods, so pod-dependent rules stay quiet.
const EXPECTED: Record<string, string[]> = {
  // app=web isolated with no ingress rule: a correct deny; but nothing isolates the other pods of default.
  '01-deny-all-traffic-to-an-application.yaml': ['NP002 default'],
  // app=bookstore,role=api reachable from app=bookstore pods only.
  '02-limit-traffic-to-an-application.yaml': ['NP002 default'],
  // ingress: [{}] admits everything on every port.
  '02a-allow-all-traffic-to-an-application.yaml': ['NP002 default', 'NP010 default/web-allow-all ingress[0]'],
  // podSelector {} with no rule: the namespace baseline itself.
  '03-deny-all-non-whitelisted-traffic-in-the-namespace.yaml': [],
  // matchLabels left empty (null) selects every pod of secondary, which then only admits its own namespace: a baseline.
  '04-deny-traffic-from-other-namespaces.yaml': [],
  // namespaceSelector {} admits every pod of every namespace on every port; secondary has no baseline.
  '05-allow-traffic-from-all-namespaces.yaml': ['NP002 secondary', 'NP010 secondary/web-allow-all-namespaces ingress[0]'],
  // Namespaces labelled purpose=production only.
  '06-allow-traffic-from-a-namespace.yaml': ['NP002 default'],
  // type=monitoring pods of team=operations namespaces only (one peer, AND of both selectors).
  '07-allow-traffic-from-some-pods-in-another-namespace.yaml': ['NP002 default'],
  // from: [] is every source, in and outside the cluster.
  '08-allow-external-traffic.yaml': ['NP002 default', 'NP010 default/web-allow-external ingress[0]'],
  // Port 5000 from role=monitoring pods only.
  '09-allow-traffic-only-to-a-port.yaml': ['NP002 default'],
  // Three pod selectors, OR-ed.
  '10-allowing-traffic-with-multiple-selectors.yaml': ['NP002 default'],
  // egress: [] for app=foo: DNS is blocked too (the page shows name resolution failing), an error unless accepted.
  '11-deny-egress-traffic-from-an-application.yaml': ['NP011 default/foo-deny-egress', 'NP002 default'],
  // The page's fix: DNS (UDP and TCP 53) to anywhere.
  '11-deny-egress-traffic-from-an-application-allow-dns.yaml': ['NP002 default'],
  // Every pod of default loses egress, DNS included ("including DNS resolution").
  '12-deny-all-non-whitelisted-traffic-from-the-namespace.yaml': ['NP011 default/default-deny-all-egress', 'NP002 default'],
  // DNS and 8080 to kube-system and to name=internal pods: DNS is allowed (to namespaces labelled name=kube-system).
  '13-egress-to-pod-in-namespace-via-port-app.yaml': ['NP002 default'],
  // DNS anywhere plus every pod of the cluster: external egress denied, which is not "everywhere".
  '14-deny-external-egress-traffic.yaml': ['NP002 default'],
};

describe('each recipe alone', () => {
  it('every recipe file has an expectation', () => {
    expect(readdirSync(recipes).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(file, async () => {
      expect(await ids(join('recipes', file))).toEqual(expected);
    });
  }

  it('NP010 says on which ports: the page’s "only port 80" variant', async () => {
    const all = await findings([join(recipes, '08-allow-external-traffic.yaml')]);
    const port80 = await findings([join(fixtures, 'derived', '08-allow-external-traffic-port-80.yaml')]);
    expect(all.find((f) => f.id === 'NP010')?.message).toBe('allows ingress to pods app=web from every source, in and outside the cluster (empty "from"), on every port');
    expect(port80.find((f) => f.id === 'NP010')?.message).toBe('allows ingress to pods app=web from every source, in and outside the cluster (empty "from"), on TCP 80 only');
  });

  it('the older 03 (podSelector: {matchLabels: null}) is the same baseline as podSelector: {}', async () => {
    expect(await ids(join('older', '03-deny-all-non-whitelisted-traffic-in-the-namespace.yaml'))).toEqual([]);
  });
});

describe('recipes combined', () => {
  it('01 + 02a, as the 02a page suggests: web-allow-all makes web-deny-all void', async () => {
    const list = await findings([join(recipes, '01-deny-all-traffic-to-an-application.yaml'), join(recipes, '02a-allow-all-traffic-to-an-application.yaml')]);
    expect(list.map((f) => `${f.id} ${f.object}`)).toEqual(['NP002 default', 'NP010 default/web-allow-all ingress[0]', 'NP031 default/web-deny-all ingress']);
    const voided = list.find((f) => f.id === 'NP031');
    expect(voided?.message).toMatch(/^allows no ingress yet denies nothing: its pods \(pods app=web\) are already isolated for ingress by default\/web-allow-all/);
    expect(voided?.message).toMatch(/additive/);
  });

  it('03 + specific allows (02, 09, 10): the normal pattern, nothing void', async () => {
    expect(await ids(...['03-deny-all-non-whitelisted-traffic-in-the-namespace.yaml', '02-limit-traffic-to-an-application.yaml', '09-allow-traffic-only-to-a-port.yaml', '10-allowing-traffic-with-multiple-selectors.yaml'].map((f) => join('recipes', f)))).toEqual([]);
  });

  it('03 + 02a: the namespace baseline is not void because one app is open', async () => {
    expect(await ids(join('recipes', '03-deny-all-non-whitelisted-traffic-in-the-namespace.yaml'), join('recipes', '02a-allow-all-traffic-to-an-application.yaml'))).toEqual(['NP010 default/web-allow-all ingress[0]']);
  });

  it('11 + 14: the egress deny of app=foo is void next to the external-egress deny, which allows more', async () => {
    expect(await ids(join('recipes', '11-deny-egress-traffic-from-an-application.yaml'), join('recipes', '14-deny-external-egress-traffic.yaml'))).toEqual(['NP002 default', 'NP031 default/foo-deny-egress egress']);
  });

  it('04 with the pods of its page: the engine isolates every pod of secondary (null matchLabels) and admits only its own namespace', async () => {
    const read = await readManifests([join(recipes, '04-deny-traffic-from-other-namespaces.yaml')]);
    const pod = (namespace: string, name: string, labels: Record<string, string>) => ({ kind: 'Pod', metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c' }] } });
    const { index } = buildIndex([
      ...read.inputs,
      ...[pod('secondary', 'web', { app: 'web' }), pod('secondary', 'db', { app: 'db' }), pod('secondary', 'test', {}), pod('default', 'test', {})].map((object, i) => ({ object, source: `pods#${i}` })),
    ]);
    expect(allowed(index, 'default/test', 'secondary/web', 80).allowed).toBe(false);
    expect(allowed(index, 'default/test', 'secondary/db', 5432).allowed).toBe(false);
    expect(allowed(index, 'secondary/test', 'secondary/web', 80).allowed).toBe(true);
    expect(allowed(index, '8.8.8.8', 'secondary/web', 80).allowed).toBe(false);
  });
});

describe('the whole folder through the CLI', () => {
  it('no crash; duplicates and errors reported, everything else still linted', async () => {
    const r = await cli([recipes, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const list = JSON.parse(r.stdout) as Array<{ id: string; object: string; file?: string; line?: number }>;
    // foo-deny-egress is defined three times (11, its DNS variant — read first —, 13).
    expect(list.map((f) => `${f.id} ${f.object}`)).toEqual([
      'NP000 NetworkPolicy default/foo-deny-egress',
      'NP000 NetworkPolicy default/foo-deny-egress',
      'NP011 default/default-deny-all-egress',
      'NP031 default/foo-deny-egress egress',
      'NP010 default/web-allow-all ingress[0]',
      'NP031 default/web-allow-all-ns-monitoring ingress',
      'NP031 default/web-allow-external ingress',
      'NP010 default/web-allow-external ingress[0]',
      'NP031 default/web-allow-prod ingress',
      'NP031 default/web-deny-all ingress',
      'NP010 secondary/web-allow-all-namespaces ingress[0]',
    ]);
    expect(list.slice(0, 2).map((f) => f.file)).toEqual(['test/fixtures/netpol-recipes/recipes/11-deny-egress-traffic-from-an-application.yaml', 'test/fixtures/netpol-recipes/recipes/13-egress-to-pod-in-namespace-via-port-app.yaml']);
    expect(list.every((f) => f.line === 1)).toBe(true);
  });

  it('SARIF for the folder is valid and every result points at its recipe file', async () => {
    const r = await cli([recipes, '--format', 'sarif']);
    const log = JSON.parse(r.stdout);
    expect(sarifProblems(log)).toEqual([]);
    expect(log.runs[0].results).toHaveLength(11);
  });
});

describe('DNS-blocking recipes pass with a suppression', () => {
  const blocking = ['11-deny-egress-traffic-from-an-application.yaml', '12-deny-all-non-whitelisted-traffic-from-the-namespace.yaml'];

  it('through a --config file: exit 0, the NP011 findings listed as suppressed with their reason', async () => {
    const config = join(tmp, 'lint.yaml');
    writeFileSync(
      config,
      [
        'ignore:',
        '  - rule: NP011',
        '    namespace: default',
        '    policy: foo-deny-egress',
        '    reason: recipe 11 cuts all egress of app=foo, DNS included, on purpose',
        '  - rule: egress-without-dns',
        '    namespace: default',
        '    policy: default-deny-all-egress',
        '    reason: recipe 12 is the namespace egress baseline; DNS is allowed by later policies',
        '',
      ].join('\n'),
    );
    for (const file of blocking) {
      const bare = await cli([join(recipes, file)]);
      expect(bare.code).toBe(1);
      const r = await cli([join(recipes, file), '--config', config, '--format', 'json']);
      expect(r.code).toBe(0);
      const list = JSON.parse(r.stdout) as Array<{ id: string; suppressed?: { reason: string; by: string } }>;
      expect(list.find((f) => f.id === 'NP011')?.suppressed?.reason).toMatch(/^recipe 1[12] /);
      // The other entry matches nothing in this run: an info finding, which does not fail it.
      expect(list.filter((f) => f.id === 'NP041')).toHaveLength(1);
    }
  });

  it('through the annotation on the policy itself', async () => {
    for (const file of blocking) {
      const read = await readManifests([join(recipes, file)]);
      const object = read.inputs[0]?.object as { metadata: Record<string, unknown> };
      const annotated = { ...object, metadata: { ...object.metadata, annotations: { 'netpol-responder.io/lint-ignore': 'NP011: egress, DNS included, is cut on purpose' } } };
      const { index, issues } = buildIndex([{ object: annotated, source: file }]);
      const list = lint(index, { issues });
      expect(failing(list)).toEqual([]);
      expect(list.find((f) => f.id === 'NP011')?.suppressed?.kind).toBe('annotation');
    }
  });
});
