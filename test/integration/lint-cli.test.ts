// `netpol-responder lint` as a real child process, as a CI job runs it: flags and help from the
// command spec, formats (txt/json/sarif), several paths, invalid input reported as findings,
// suppressions by annotation and --config, and the exit codes (0 clean, 1 errors, 2 usage).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sarifProblems } from '../helpers/sarif-shape.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'netpol-lint-cli-'));
// tsx by absolute path: the tests run some commands from a temporary working directory.
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function lint(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', tsx, join(root, 'src', 'cli.ts'), 'lint', ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function dir(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, file)), { recursive: true });
    writeFileSync(join(d, file), text);
  }
  mkdirSync(d, { recursive: true });
  return d;
}

const policy = (ns: string, name: string, spec: string, annotations = ''): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${annotations ? `  annotations:\n    ${annotations}\n` : ''}spec:\n${spec}`;
const denyAll = '  podSelector: {}\n  policyTypes: [Ingress]\n';
const denyEgress = '  podSelector: {}\n  policyTypes: [Egress]\n';

describe('lint: command line', () => {
  it('--help and -h print the usage from the command spec and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await lint([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: netpol-responder lint <path\.\.\.> \[--format txt\|json\|sarif\] \[--config FILE\]/);
      expect(r.stdout).toContain('--config FILE');
      expect(r.stdout).toContain('netpol-responder.io/lint-ignore');
      expect(r.stderr).toBe('');
    }
  });

  it('usage errors exit 2 and print nothing on stdout', async () => {
    const d = dir('usage', { 'p.yaml': policy('a', 'p', denyAll) });
    const unknown = await lint([d, '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--frobnicate'/);
    expect(unknown.stderr).toContain('usage: netpol-responder lint');
    const format = await lint([d, '--format', 'yaml']);
    expect([format.code, format.stdout]).toEqual([2, '']);
    expect(format.stderr).toBe('--format: unknown format "yaml" (valid: txt, json, sarif; "text" means txt)\n');
    const none = await lint([]);
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toMatch(/^lint: give at least one file or directory/);
  });

  it('txt under its alias text, formats in any case, flags after --', async () => {
    const d = dir('alias', { 'p.yaml': policy('a', 'p', denyAll) });
    const text = await lint([d, '--format', 'text']);
    expect([text.code, text.stdout]).toEqual([0, '0 error(s), 0 warning(s), 0 info\n']);
    const upper = await lint([d, '--format', 'JSON']);
    expect(JSON.parse(upper.stdout)).toEqual([]);
    const after = await lint(['--', d, '--format', 'json']);
    expect([after.code, after.stdout]).toEqual([0, '[]\n']);
  });
});

describe('lint: input', () => {
  it('an invalid policy is a finding; the rest is linted and --format json prints everything', async () => {
    const d = dir('invalid', {
      'bad.yaml': policy('a', 'bad', '  podSelector:\n    matchLabels: {app: 7}\n'),
      'broken.yaml': 'kind: NetworkPolicy\nmetadata: {name: x\n',
      'open.yaml': policy('a', 'open', '  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - {}\n'),
    });
    const r = await lint([d, '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const findings = JSON.parse(r.stdout) as Array<{ id: string; object: string; file?: string; line?: number; message: string }>;
    // Sorted by severity, then object (a path sorts before "NetworkPolicy ...").
    expect(findings.map((f) => `${f.id} ${f.object}`)).toEqual([`NP000 ${join(d, 'broken.yaml')}`, 'NP000 NetworkPolicy a/bad', 'NP002 a', 'NP010 a/open ingress[0]']);
    expect(findings[1]).toMatchObject({ message: expect.stringMatching(/^spec\.podSelector: matchLabels: label value 7 must be a string/), line: 1 });
    expect(findings[0]?.message).toMatch(/^invalid YAML at line \d+/);
    expect(findings[3]?.file).toMatch(/open\.yaml$/);
  });

  it('several files and directories; a missing path and an empty directory are findings', async () => {
    const one = dir('multi-1', { 'p.yaml': policy('a', 'p', denyAll) });
    const two = dir('multi-2', { 'sub/q.yml': policy('b', 'q', '  podSelector: {matchLabels: {app: x}}\n') });
    const r = await lint([join(one, 'p.yaml'), two, join(tmp, 'nope.yaml'), '--format', 'json']);
    const findings = JSON.parse(r.stdout) as Array<{ id: string; object: string; message: string }>;
    expect(findings.map((f) => `${f.id} ${f.object}`)).toEqual([`NP000 ${join(tmp, 'nope.yaml')}`, 'NP002 b']);
    expect(findings[0]?.message).toBe(`cannot read ${join(tmp, 'nope.yaml')}: no such file`);
    expect(r.code).toBe(1);
    const empty = dir('empty', { 'README.md': '# nothing\n' });
    const e = await lint([empty, '--format', 'json']);
    expect(e.code).toBe(1);
    expect(JSON.parse(e.stdout)).toEqual([expect.objectContaining({ id: 'NP000', message: 'no .yaml, .yml or .json files found' })]);
  });

  it('reads standard input ("-", once); its objects have no file', async () => {
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', tsx, join(root, 'src', 'cli.ts'), 'lint', '-', '--format', 'json'], { cwd: tmp }, (error, stdout) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout });
      });
      child.stdin?.end(policy('a', 'eg', denyEgress));
    });
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout) as Array<{ id: string; source?: string; file?: string }>;
    expect(findings.map((f) => [f.id, f.source, f.file])).toEqual([
      ['NP011', 'stdin', undefined],
      ['NP002', 'stdin', undefined],
    ]);
    const twice = await lint(['-', '-']);
    expect([twice.code, twice.stderr]).toEqual([2, 'lint: "-" (standard input) can be given once\n']);
  });

  it('names from the input cannot drive the terminal in text output', async () => {
    const d = dir('hostile', { 'p.yaml': 'kind: NetworkPolicy\nmetadata:\n  name: "evil\\e[2J\\u202e"\n  namespace: a\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n' });
    const r = await lint([d]);
    expect(r.stdout).toContain('a/evil\\x1b[2J\\u202e: isolates egress');
    expect(r.stdout.includes('\u001b') || r.stdout.includes('\u202e')).toBe(false);
  });

  it('text output names file:line of the object inside multi-document files', async () => {
    const d = dir('lines', { 'all.yaml': `${policy('a', 'deny', denyAll)}---\n${policy('a', 'eg', denyEgress)}` });
    const r = await lint(['all.yaml'], d);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR NP011 egress-without-dns a/eg: isolates egress of every pod of the namespace but nothing allows DNS');
    expect(r.stdout).toContain('  at: all.yaml:10\n');
  });
});

describe('lint: suppressions and exit codes', () => {
  const eg = policy('a', 'eg', denyEgress);
  const quiet = policy('a', 'eg', denyEgress, 'netpol-responder.io/lint-ignore: "NP011: DNS blocked on purpose"');

  it('exit 1 on an error finding, 0 once it is suppressed by the annotation (still listed)', async () => {
    expect((await lint([dir('exit-1', { 'eg.yaml': eg, 'deny.yaml': policy('a', 'deny', denyAll) })])).code).toBe(1);
    const r = await lint([dir('exit-0', { 'eg.yaml': quiet, 'deny.yaml': policy('a', 'deny', denyAll) })]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'suppressed:',
        '  ERROR NP011 egress-without-dns a/eg: isolates egress of every pod of the namespace but nothing allows DNS (UDP 53): name resolution will fail',
        '    reason: DNS blocked on purpose (annotation netpol-responder.io/lint-ignore on a/eg)',
        '0 error(s), 0 warning(s), 0 info; 1 suppressed',
        '',
      ].join('\n'),
    );
  });

  it('a malformed annotation fails the run', async () => {
    const r = await lint([dir('bad-annotation', { 'eg.yaml': policy('a', 'eg', denyEgress, 'netpol-responder.io/lint-ignore: "NP011"') }), '--format', 'json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Array<{ id: string }>).map((f) => f.id)).toEqual(['NP011', 'NP040', 'NP002']);
  });

  it('--config suppresses with a reason; a bad config exits 2 with path and reason', async () => {
    const d = dir('config', { 'eg.yaml': eg, 'lint.yaml': 'ignore:\n  - rule: NP011\n    namespace: a\n    reason: egress-only namespace\n  - rule: namespace-without-default-deny\n    reason: no ingress policies here\n' });
    const ok = await lint(['eg.yaml', '--config', 'lint.yaml', '--format', 'json'], d);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual([
      expect.objectContaining({ id: 'NP011', suppressed: { reason: 'egress-only namespace', by: 'lint.yaml ignore[0]', kind: 'config' } }),
      expect.objectContaining({ id: 'NP002', suppressed: expect.objectContaining({ by: 'lint.yaml ignore[1]' }) }),
    ]);
    writeFileSync(join(d, 'bad.yaml'), 'ignore:\n  - rule: NP011\n  - rule: NP404\n    reason: x\n');
    const bad = await lint(['eg.yaml', '--config', 'bad.yaml'], d);
    expect([bad.code, bad.stdout]).toEqual([2, '']);
    expect(bad.stderr).toBe('lint: --config bad.yaml is invalid:\n  - ignore[0].reason: reason is required\n  - ignore[1].rule: unknown rule "NP404" (a rule id such as NP011, or a name such as egress-without-dns)\n');
    const missing = await lint(['eg.yaml', '--config', 'none.yaml'], d);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('lint: --config: cannot read none.yaml: no such file\n');
  });

  it('--format sarif: a valid SARIF 2.1.0 log with relative URIs, start lines and suppressions', async () => {
    const d = dir('sarif', { 'policies/all.yaml': `${policy('a', 'deny', denyAll)}---\n${quiet}---\n${policy('a', 'eg2', denyEgress)}`, 'lint.yaml': 'ignore: [{rule: NP041, reason: x}]\n' });
    const r = await lint(['policies', '--format', 'sarif'], d);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout);
    expect(sarifProblems(log)).toEqual([]);
    const results = log.runs[0].results as Array<{ ruleId: string; message: { text: string }; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }>; suppressions?: unknown[] }>;
    expect(results.map((x) => [x.ruleId, x.locations[0]?.physicalLocation.artifactLocation.uri, x.locations[0]?.physicalLocation.region.startLine, x.suppressions ? 'suppressed' : 'open'])).toEqual([
      ['NP011', 'policies/all.yaml', 10, 'suppressed'],
      ['NP011', 'policies/all.yaml', 21, 'open'],
    ]);
    expect(log.runs[0].tool.driver.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
