// `netpol-responder audit` as a user runs it: a child process on files in a temp directory,
// each output format, exit codes, and clear errors for malformed input.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sarifProblems } from '../helpers/sarif-shape.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The runs happen in temp directories: tsx is named by its resolved URL, not looked up from there.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function cli(args: string[], cwd: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(process.execPath, ['--import', tsx, join(root, 'src', 'cli.ts'), 'audit', ...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: 'silent' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  namespace: shop
  name: web-1
  labels: { app: web }
spec:
  containers: [{ name: web }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: shop
  name: open-web
spec:
  podSelector:
    matchLabels: { app: web }
  ingress:
  - from:
    - ipBlock: { cidr: 0.0.0.0/0 }
`;

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-audit-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('netpol-responder audit', () => {
  it('prints a Markdown report by default and exits 0 with findings', async () => {
    const dir = workspace({ 'shop.yaml': MANIFESTS });
    const r = await cli(['shop.yaml'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# NetworkPolicy audit');
    expect(r.stdout).toContain('| shop | ');
    expect(r.stdout).toContain('shop/open-web allows every address');
    expect(r.stdout).toContain('Not run: flow matches are not known');
  });

  it('--format json: findings with file and line, scores, checks', async () => {
    const dir = workspace({ 'shop.yaml': MANIFESTS });
    const r = await cli(['.', '--format', 'json'], dir);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const open = report.findings.find((f: { ruleId: string }) => f.ruleId === 'audit/allows-any-address');
    expect(open).toMatchObject({ object: 'NetworkPolicy shop/open-web', file: 'shop.yaml', line: 15 });
    expect(report.scores).toEqual([{ namespace: 'shop', score: expect.any(Number), pods: 1, policies: 1 }]);
    expect(report.checks.find((c: { id: string }) => c.id === 'audit/unused-policy').run).toBe(false);
  });

  it('--format sarif: a SARIF 2.1.0 log GitHub code scanning accepts', async () => {
    const dir = workspace({ 'shop.yaml': MANIFESTS });
    const r = await cli(['shop.yaml', '--format', 'sarif'], dir);
    expect(r.code).toBe(0);
    const log = JSON.parse(r.stdout);
    expect(sarifProblems(log)).toEqual([]);
    expect(log.version).toBe('2.1.0');
    const ruleIds = log.runs[0].tool.driver.rules.map((x: { id: string }) => x.id);
    expect(ruleIds).toContain('audit/no-default-deny');
    expect(log.runs[0].results.length).toBeGreaterThan(0);
    for (const result of log.runs[0].results) {
      expect(ruleIds).toContain(result.ruleId);
      expect(['error', 'warning', 'note']).toContain(result.level);
      expect(result.locations[0].physicalLocation.artifactLocation.uri).toBe('shop.yaml');
    }
  });

  it('--matched enables the unused-policy check', async () => {
    const dir = workspace({ 'shop.yaml': MANIFESTS, 'matched.json': JSON.stringify({ 'shop/open-web': '2020-01-01T00:00:00Z' }) });
    const r = await cli(['shop.yaml', '--format', 'json', '--matched', 'matched.json', '--unused-days', '7'], dir);
    expect(r.code).toBe(0);
    const unused = JSON.parse(r.stdout).findings.filter((f: { ruleId: string }) => f.ruleId === 'audit/unused-policy');
    expect(unused.map((f: { message: string }) => f.message)).toEqual(['no flow has matched shop/open-web in 7 days (last match 2020-01-01T00:00:00.000Z)']);
  });

  it('reads standard input', async () => {
    const r = await cli(['-', '--format', 'md'], tmpdir(), MANIFESTS);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shop/open-web');
  });

  it('malformed or missing input: a clear error and exit 1', async () => {
    const dir = workspace({ 'broken.yaml': 'kind: NetworkPolicy\nmetadata: [unclosed\n', 'bad.yaml': 'kind: NetworkPolicy\nmetadata: { name: x, namespace: y }\nspec: { podSelector: 7 }\n' });
    const broken = await cli(['broken.yaml'], dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^audit: error: broken\.yaml/m);
    expect(broken.stdout).toBe('');
    const bad = await cli(['bad.yaml'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('bad.yaml');
    const missing = await cli(['nope.yaml'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read nope.yaml');
  });

  it('bad usage exits 2', async () => {
    const dir = workspace({ 'shop.yaml': MANIFESTS, 'matched.json': '{"shop/open-web": "yesterday"}' });
    const none = await cli([], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give at least one file or directory');
    const format = await cli(['shop.yaml', '--format', 'html'], dir);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('unknown format "html"');
    const matched = await cli(['shop.yaml', '--matched', 'matched.json'], dir);
    expect(matched.code).toBe(2);
    expect(matched.stderr).toContain('is not an ISO 8601 time');
    const days = await cli(['shop.yaml', '--unused-days', '-3'], dir);
    expect(days.code).toBe(2);
    const help = await cli(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--format FMT');
  });
});
