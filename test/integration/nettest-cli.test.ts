// `netpol-responder test` as a real child process, as a CI job runs it: usage, the three formats,
// the exit codes (0 all pass, 1 a case fails or errors, 2 usage / bad cases file / bad
// manifests), and cases over netpol-analyzer fixtures checked against their golden lists.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseXml, type XmlElement } from '../helpers/xml-wellformed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'netpol-test-cli-'));
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const fixtures = join(root, 'test', 'fixtures', 'netpol', 'tests');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], cwd = root, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', tsx, join(root, 'src', 'cli.ts'), 'test', ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const manifests = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: front}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: api}',
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: front}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x}]}',
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orders, namespace: api}\nspec:\n  selector: {matchLabels: {app: orders}}\n  template:\n    metadata: {labels: {app: orders}}\n    spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}',
  'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: orders-in, namespace: api}\nspec:\n  podSelector: {matchLabels: {app: orders}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]\n    ports: [{port: http}]',
].join('\n---\n');
const shop = file('shop/all.yaml', `${manifests}\n`);

const passing = file(
  'passing.yaml',
  [
    'cases:',
    '  - name: web reaches orders',
    '    from: front/web',
    '    to: api/orders',
    '    port: http',
    '    expect: allow',
    '  - {from: api/orders, to: front/web, port: 8080, expect: allow}',
    '  - {from: 203.0.113.0/24, to: api/orders, port: 8080, expect: deny}',
    '',
  ].join('\n'),
);
const failing = file(
  'failing.yaml',
  ['cases:', '  - {name: ok, from: front/web, to: api/orders, port: 8080, expect: allow}', '  - {name: open to the world, from: 0.0.0.0/0, to: api/orders, port: 8080, expect: allow}', ''].join('\n'),
);
const erroring = file('erroring.yaml', 'cases:\n  - {name: ghost, from: front/ghost, to: api/orders, port: 8080, expect: deny}\n');

describe('test: command line', () => {
  it('--help prints the usage from the command spec and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: netpol-responder test <path\.\.\.> --cases FILE \[--format txt\|json\|junit\] \[--strict\]/);
    expect(r.stderr).toBe('');
  });

  it('usage errors exit 2 and print nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[shop], /^--cases FILE is required/],
      [['--cases', passing], /^give at least one path/],
      [[shop, '--cases', passing, '--format', 'xml'], /^--format: unknown format "xml" \(valid: txt, json, junit; "text" means txt\)/],
      [[shop, '--cases', passing, '--frobnicate'], /Unknown option '--frobnicate'/],
      [['-', '-', '--cases', passing], /^"-" \(standard input\) can be given once/],
      [[shop, '--cases', '-'], /^--cases needs a file/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('usage: netpol-responder test');
    }
  });
});

describe('test: runs', () => {
  it('every case passes: exit 0, one line each', async () => {
    const r = await cli([shop, '--cases', passing]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'PASS   web reaches orders  front/web → api/orders http/TCP  expected allow, got allow',
        'PASS   api/orders → front/web 8080/TCP  expected allow, got allow',
        'PASS   203.0.113.0/24 → api/orders 8080/TCP  expected deny, got deny',
        '3 case(s): 3 passed, 0 failed, 0 error(s)',
        '',
      ].join('\n'),
    );
  });

  it('a failing case: exit 1, with the --explain reason', async () => {
    const r = await cli(['--cases', failing, '--format', 'text', shop]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      'PASS   ok  front/web → api/orders 8080/TCP  expected allow, got allow',
      'FAIL   open to the world  0.0.0.0/0 → api/orders 8080/TCP  expected allow, got deny  (line 3)',
      '    0.0.0.0/0 => api/orders : TCP 8080 DENIED',
      '      denied by the destination ingress',
    ]);
    expect(r.stdout).toContain('1 passed, 1 failed, 0 error(s)');
  });

  it('a case that cannot be evaluated (unknown workload): exit 1, never a pass', async () => {
    const r = await cli([shop, '--cases', erroring]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ERROR  ghost  front/ghost → api/orders 8080/TCP  expected deny, got an error  (line 2)\n    error: no pod or workload "front/ghost" in the input\n1 case(s): 0 passed, 0 failed, 1 error(s)\n');
  });

  it('manifests from standard input, json output', async () => {
    const r = await cli(['-', '--cases', failing, '--format', 'json'], root, manifests);
    expect(r.code).toBe(1);
    const data = JSON.parse(r.stdout) as { summary: unknown; results: Array<{ name: string; status: string; got: string }> };
    expect(data.summary).toEqual({ total: 2, passed: 1, failed: 1, errors: 0 });
    expect(data.results.map((x) => [x.name, x.status, x.got])).toEqual([
      ['ok', 'pass', 'allow'],
      ['open to the world', 'fail', 'deny'],
    ]);
  });

  it('junit output is well-formed XML with a testcase per case', async () => {
    const hostile = file('hostile.yaml', 'cases:\n  - {name: "<&\\"]]> \\u0007bell", from: front/web, to: api/orders, port: 8080, expect: deny}\n  - {from: front/ghost, to: api/orders, port: 8080, expect: deny}\n  - {from: front/web, to: api/orders, port: 8080, expect: allow}\n');
    const bad = await cli([shop, '--cases', hostile, '--format', 'junit']);
    expect(bad.stderr).toMatch(/hostile\.yaml:2:12: cases\[0\]\.name: name must not contain control characters/);
    expect(bad.code).toBe(2);
    const clean = file('hostile-ok.yaml', 'cases:\n  - {name: "<&\\"]]> \'", from: front/web, to: api/orders, port: 8080, expect: deny}\n  - {from: front/ghost, to: api/orders, port: 8080, expect: deny}\n  - {from: front/web, to: api/orders, port: 8080, expect: allow}\n');
    const r = await cli([shop, '--cases', clean, '--format', 'junit']);
    expect(r.code).toBe(1);
    const doc = parseXml(r.stdout);
    const suite = doc.children[0] as XmlElement;
    expect(doc.attributes).toMatchObject({ tests: '3', failures: '1', errors: '1' });
    expect(suite.attributes.name).toBe(clean);
    expect(suite.children.map((t) => [t.attributes.name, t.children[0]?.name ?? 'pass'])).toEqual([
      ['<&"]]> \'', 'failure'],
      ['front/ghost → api/orders 8080/TCP', 'error'],
      ['front/web → api/orders 8080/TCP', 'pass'],
    ]);
    expect(suite.children[0]?.children[0]?.text).toContain('front/web => api/orders : TCP 8080 ALLOWED');
  });
});

describe('test: bad input exits 2', () => {
  it('a bad cases file: every problem as file:line:col, nothing on stdout', async () => {
    const bad = file('bad.yaml', 'cases:\n  - from: front/web\n    to: api/orders\n    port: 0\n    expect: sure\n    extra: 1\n');
    const r = await cli([shop, '--cases', bad]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(
      `${bad}:4:11: cases[0].port: port 0 is out of range (1-65535)\n${bad}:5:13: cases[0].expect: expect must be one of allow, deny (got "sure")\n${bad}:6:5: cases[0].extra: unknown key (valid: name, from, to, port, protocol, expect)\n`,
    );
    const yaml = file('yaml.yaml', 'cases:\n  - {from: a/b\n');
    const y = await cli([shop, '--cases', yaml]);
    expect(y.code).toBe(2);
    expect(y.stderr).toMatch(new RegExp(`^${yaml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: \\(file\\): invalid YAML: `));
  });

  it('a missing, oversized or directory cases file', async () => {
    const missing = await cli([shop, '--cases', join(tmp, 'nope.yaml')]);
    expect([missing.code, missing.stdout, missing.stderr]).toEqual([2, '', `cannot read ${join(tmp, 'nope.yaml')}: no such file\n`]);
    const dir = await cli([shop, '--cases', tmp]);
    expect([dir.code, dir.stderr]).toEqual([2, `cannot read ${tmp}: is a directory\n`]);
    const big = file('big.yaml', `cases: []\n${'#'.repeat(4 * 1024 * 1024)}\n`);
    const large = await cli([shop, '--cases', big]);
    expect([large.code, large.stderr]).toEqual([2, `${big}: the file is 4.0 MiB; at most 4 MiB is read\n`]);
  });

  it('manifests that cannot be read or are invalid', async () => {
    const unreadable = await cli([join(tmp, 'no-such-dir'), '--cases', passing]);
    expect([unreadable.code, unreadable.stdout]).toEqual([2, '']);
    expect(unreadable.stderr).toBe(`cannot read ${join(tmp, 'no-such-dir')}: no such file\n`);
    const invalid = file('invalid/p.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\nspec: {podSelector: {}, policyTypes: [Sideways]}\n');
    const r = await cli([invalid, '--cases', passing]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toMatch(/^error: .*p\.yaml/);
  });
});

describe('test: netpol-analyzer fixtures', () => {
  it('ipblockstest: ranges cut by the policies, as the golden list has them', async () => {
    // Golden: calico-node-tier takes UDP 53 from 0.0.0.0-9.255.255.255, 11.0.0.0-172.20.255.255,
    // 172.22.0.0-172.29.255.255 and 172.31.0.0-255.255.255.255, and nothing else from outside.
    const cases = file(
      'ipblocks.yaml',
      [
        'cases:',
        '  - {from: 0.0.0.0/5, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: allow}',
        '  - {from: 10.0.0.0/8, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: deny}',
        '  - {from: 172.21.0.0/16, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: deny}',
        '  - {from: 172.22.0.0/15, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: allow}',
        '  - {from: 8.8.8.8, to: kube-system/calico-node-tier, port: 53, protocol: TCP, expect: deny}',
        '  - {from: 0.0.0.0/0, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: allow}',
        '  - {from: 172.20.0.0/15, to: kube-system/calico-node-tier, port: 53, protocol: UDP, expect: deny}',
        '  - {from: kube-system/calico-node-tier, to: 0.0.0.0/0, port: 443, expect: allow}',
        '',
      ].join('\n'),
    );
    const r = await cli([join(fixtures, 'ipblockstest'), '--cases', cases, '--format', 'json']);
    expect(r.code).toBe(1);
    const data = JSON.parse(r.stdout) as { results: Array<{ from: string; got: string; pass: boolean; checked: number; allowedCount: number }> };
    expect(data.results.map((x) => [x.from, x.got, x.pass])).toEqual([
      ['0.0.0.0/5', 'allow', true],
      ['10.0.0.0/8', 'deny', true],
      ['172.21.0.0/16', 'deny', true],
      ['172.22.0.0/15', 'allow', true],
      ['8.8.8.8', 'deny', true],
      ['0.0.0.0/0', 'partial', false],
      ['172.20.0.0/15', 'partial', false],
      ['kube-system/calico-node-tier', 'allow', true],
    ]);
  });

  it('netpol_named_port_test_2: SCTP named ports resolved on the destination', async () => {
    // Golden: helloworld/pod-a[Deployment] => helloworld/new-pod[Deployment] : SCTP 8956,9090 is all
    // new-pod takes, and new-pod (egress-isolated, no egress rule) sends nothing.
    const cases = file(
      'named.yaml',
      [
        'cases:',
        '  - {from: helloworld/pod-a, to: helloworld/new-pod, port: sctp-port, protocol: SCTP, expect: allow}',
        '  - {from: helloworld/pod-a, to: helloworld/new-pod, port: newport, protocol: SCTP, expect: allow}',
        '  - {from: helloworld/pod-a, to: helloworld/new-pod, port: 9090, protocol: SCTP, expect: allow}',
        '  - {from: helloworld/pod-a, to: helloworld/new-pod, port: 8050, protocol: TCP, expect: deny}',
        '  - {from: helloworld/pod-a, to: helloworld/new-pod, port: 8956, protocol: UDP, expect: deny}',
        '  - {from: 192.0.2.1, to: helloworld/new-pod, port: 9090, protocol: SCTP, expect: deny}',
        '  - {from: helloworld/new-pod, to: helloworld/pod-a, port: 8956, protocol: SCTP, expect: deny}',
        '',
      ].join('\n'),
    );
    const r = await cli([join(fixtures, 'netpol_named_port_test_2'), '--cases', cases]);
    expect(r.stdout.split('\n').filter((l) => /^(PASS|FAIL|ERROR)/.test(l))).toEqual([
      'PASS   helloworld/pod-a → helloworld/new-pod sctp-port/SCTP  expected allow, got allow',
      'PASS   helloworld/pod-a → helloworld/new-pod newport/SCTP  expected allow, got allow',
      'PASS   helloworld/pod-a → helloworld/new-pod 9090/SCTP  expected allow, got allow',
      'PASS   helloworld/pod-a → helloworld/new-pod 8050/TCP  expected deny, got deny',
      'PASS   helloworld/pod-a → helloworld/new-pod 8956/UDP  expected deny, got deny',
      'PASS   192.0.2.1 → helloworld/new-pod 9090/SCTP  expected deny, got deny',
      'PASS   helloworld/new-pod → helloworld/pod-a 8956/SCTP  expected deny, got deny',
    ]);
    expect(r.code).toBe(0);
    // The fixture's own flaw is a warning on stderr; it does not fail the run.
    expect(r.stderr).toMatch(/^warning: .*container port "udps" has no valid containerPort\/protocol/);
  });
});
