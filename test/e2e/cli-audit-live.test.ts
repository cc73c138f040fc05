// `netpol-responder audit --live` and `--flows` as a user runs them: a child process reading the
// simulated Kubernetes API (the shop) through a kubeconfig over loopback, and the flow collector's
// snapshot in a real Redis. Each format, the clear one-line failures (no kubeconfig, a closed port,
// a server that never answers, RBAC), and the usage rules between the flags.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { auditReport } from '../../src/audit-report/checks.js';
import { readLiveAuditInput } from '../../src/audit-report/scheduled.js';
import { Baseline, type BaselineSnapshot, type WorkloadSnapshot } from '../../src/flows/baseline.js';
import { BaselineStore } from '../../src/flows/baseline-store.js';
import { flowsKeyPrefix } from '../../src/flows/watch-registry.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { redisConnections, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { sarifProblems } from '../helpers/sarif-shape.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const connect = redisConnections();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with a clean environment: no KUBECONFIG or REDIS_URL unless the test gives them. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', HOME: home };
  delete base.KUBECONFIG;
  delete base.REDIS_URL;
  delete base.KUBERNETES_SERVICE_HOST;
  return new Promise((resolvePromise) => {
    execFile(process.execPath, ['--import', tsx, join(root, 'src', 'cli.ts'), 'audit', ...args], { cwd: dir, maxBuffer: 16 * 1024 * 1024, env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let kube: KubeApiSim;
let dir: string;
let home: string;
let kubeconfig: string;
let silent: Server;
const held: Socket[] = [];

beforeAll(async () => {
  kube = await startKubeApiServer({ cluster: { cni: 'cilium' } });
  kube.seed(shopObjects());
  dir = mkdtempSync(join(tmpdir(), 'netpol-audit-live-'));
  home = join(dir, 'home');
  kubeconfig = kube.writeKubeconfig(dir);
  // Accepts connections and never answers: an API server that hangs.
  silent = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The sim's kubeconfig with its server moved to another address. */
function kubeconfigAt(name: string, server: string): string {
  const file = join(dir, name);
  writeFileSync(file, readKubeconfig().replace(kube.url, server));
  return file;
}

function readKubeconfig(): string {
  return readFileSync(kubeconfig, 'utf8');
}

const byRule = (report: { findings: Array<{ ruleId: string; object: string }> }, rule: string): string[] =>
  report.findings.filter((f) => f.ruleId === rule).map((f) => f.object);

describe('netpol-responder audit --live', () => {
  it('Markdown by default: the namespaces of the shop without a default deny, the open ingress, exit 0', async () => {
    const r = await cli(['--live', '--kubeconfig', kubeconfig]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# NetworkPolicy audit\n\n5 namespaces, 8 pods, 11 NetworkPolicies/);
    expect(r.stdout).toContain('namespace kube-system has no default-deny ingress or egress policy');
    expect(r.stdout).toContain('namespace netpol-responder has no default-deny ingress or egress policy');
    expect(r.stdout).not.toMatch(/namespace (frontend|api|db) has no default-deny/);
    expect(r.stdout).toContain('frontend/allow-web-ingress allows every address');
    expect(r.stdout).toContain('Not run: flow matches are not known');
  });

  it('--format json: the report the scheduled audit would make of the same cluster, findings without a file', async () => {
    const r = await cli(['--live', '--format', 'json'], { KUBECONFIG: kubeconfig });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(byRule(report, 'audit/no-default-deny').sort()).toEqual(['Namespace kube-system', 'Namespace netpol-responder']);
    expect(byRule(report, 'audit/unselected-pods')).toEqual(['Namespace kube-system', 'Namespace kube-system']);
    expect(report.scores.map((s: { namespace: string }) => s.namespace).sort()).toEqual(['api', 'db', 'frontend', 'kube-system', 'netpol-responder']);
    for (const f of report.findings) expect(f.file).toBeUndefined();
    // Read as the scheduled audit reads the cluster (the shared readLiveAuditInput).
    const input = await readLiveAuditInput(createKubeGateway(loadKubeConfig({ kubeconfigPath: kubeconfig })));
    const expected = auditReport(input.index, { issues: input.issues, clusterwideCilium: input.clusterwide });
    expect(report).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('--format sarif: valid SARIF, each live object at Kind/namespace/name under the uriBaseId KUBERNETES', async () => {
    const r = await cli(['--live', '--kubeconfig', kubeconfig, '--format', 'sarif']);
    expect(r.code).toBe(0);
    const log = JSON.parse(r.stdout);
    expect(sarifProblems(log)).toEqual([]);
    const run = log.runs[0];
    expect(run.originalUriBaseIds.KUBERNETES.uri).toBe(`kubernetes://${new URL(kube.url).host}/`);
    const locations = run.results.map((x: { message: { text: string }; locations: Array<{ physicalLocation: { artifactLocation: object } }> }) => [x.message.text.split(':')[0], x.locations[0]!.physicalLocation.artifactLocation]);
    expect(locations).toContainEqual(['NetworkPolicy frontend/allow-web-ingress', { uri: 'NetworkPolicy/frontend/allow-web-ingress', uriBaseId: 'KUBERNETES' }]);
    expect(locations).toContainEqual(['Namespace kube-system', { uri: 'Namespace/kube-system', uriBaseId: 'KUBERNETES' }]);
  });

  it('a missing kubeconfig: exit 1, one line naming the file or the fix', async () => {
    const missing = await cli(['--live', '--kubeconfig', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`audit: kubeconfig file not found: ${join(dir, 'nope.yaml')} (--kubeconfig): give the path of a readable kubeconfig\n`);
    const fromEnv = await cli(['--live'], { KUBECONFIG: join(dir, 'gone.yaml') });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(/^audit: kubeconfig file not found: .*gone\.yaml \(from KUBECONFIG\)/);
    const none = await cli(['--live']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`audit: no kubeconfig: KUBECONFIG is not set and ${join(home, '.kube', 'config')} does not exist; give --kubeconfig FILE or set KUBECONFIG\n`);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'clusters: [unclosed\n');
    const bad = await cli(['--live', '--kubeconfig', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^audit: cannot read the kubeconfig .*broken\.yaml: .*Give --kubeconfig a valid kubeconfig\.\n$/);
  });

  it('an API server nobody listens on: exit 1, one line naming the server', async () => {
    const port = await closedPort();
    const r = await cli(['--live', '--kubeconfig', kubeconfigAt('closed.yaml', `https://127.0.0.1:${port}`)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(new RegExp(`^audit: cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\): check the server address`));
  });

  it('an API server that never answers: --request-timeout bounds each request, exit 1', async () => {
    const port = (silent.address() as { port: number }).port;
    const r = await cli(['--live', '--request-timeout', '1', '--kubeconfig', kubeconfigAt('silent.yaml', `https://127.0.0.1:${port}`)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`audit: the Kubernetes API at https://127.0.0.1:${port} did not answer within 1 s: check that the cluster is up and reachable from here (VPN, proxy), or raise --request-timeout\n`);
  });

  it('credentials the API refuses: exit 1, what to check', async () => {
    const refused = join(dir, 'refused.yaml');
    writeFileSync(refused, readKubeconfig().replace(/token: \S+/, 'token: sim-not-a-token'));
    const r = await cli(['--live', '--kubeconfig', refused]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`audit: the Kubernetes API at ${kube.url} refused the kubeconfig's credentials (401 Unauthorized): log in again, or check the token or client certificate of the current context's user\n`);
  });

  it('a user RBAC does not let list pods: exit 1, the verb and resource to grant', async () => {
    const undo = kube.deny({ user: 'auditor', verb: 'list', resource: 'pods' });
    try {
      const r = await cli(['--live', '--kubeconfig', kube.writeKubeconfig(dir, 'auditor')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(r.stderr).toContain(`audit: the Kubernetes API at ${kube.url} forbids the kubeconfig's user to list pods cluster-wide (403 Forbidden: `);
      expect(r.stderr).toContain('User "auditor" cannot list resource "pods"');
      expect(r.stderr).toContain('grant it verb "list" on resource "pods" in apiGroup "" (core), cluster-wide, with a ClusterRole bound to that user');
    } finally {
      undo();
    }
  });
});

const now = Date.now();
const DAY = 86_400_000;

/** A collector snapshot with one learned flow: frontend/web → api/orders on 8080, an hour ago. */
async function saveSnapshot(prefix: string): Promise<void> {
  const workload = (namespace: string, name: string): WorkloadSnapshot => ({ key: `${namespace}/${name}`, namespace, name, kind: 'Deployment', selector: {}, firstSeen: now - 40 * DAY, lastSeen: now, bucket: 0, flows: 10, drops: 0, flowHistory: [], dropHistory: [], historyLen: 0, historyPos: 0, fanoutPeak: 0 });
  const snapshot: BaselineSnapshot = {
    version: 1,
    startedAt: now - 40 * DAY,
    workloads: [workload('frontend', 'web'), workload('api', 'orders')],
    edges: [
      [0, 'e|TCP|8080|w:api/orders', now - DAY, now - 3_600_000, 50, 100, 0, 0, 0, 0],
      [1, 'i|TCP|8080|w:frontend/web', now - DAY, now - 3_600_000, 50, 100, 0, 0, 0, 0],
    ],
  };
  await new BaselineStore(connect(), { prefix: flowsKeyPrefix(prefix) }).save(Baseline.fromSnapshot(snapshot), now);
}

describe('netpol-responder audit --flows', () => {
  it('judges unused policies on the collector snapshot: the matched allows are not reported', async () => {
    const prefix = uniquePrefix('audit-live');
    await saveSnapshot(prefix);
    const r = await cli(['--live', '--kubeconfig', kubeconfig, '--flows', '--redis-prefix', prefix, '--format', 'json'], { REDIS_URL: testRedisUrl() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^audit: Unused policies judged on 2 learned flows \(snapshot of .* UTC, learning since \d{4}-\d\d-\d\d\)\n$/);
    const report = JSON.parse(r.stdout);
    expect(report.checks).toContainEqual({ id: 'audit/unused-policy', run: true });
    const unused = byRule(report, 'audit/unused-policy');
    expect(unused).toContain('NetworkPolicy api/allow-api-to-db');
    expect(unused).not.toContain('NetworkPolicy frontend/allow-web-to-api');
    expect(unused).not.toContain('NetworkPolicy api/allow-api-from-frontend');
    expect(unused.filter((o) => o.endsWith('/default-deny-all'))).toEqual([]);
  });

  it('--redis names the Redis, and manifests work with --flows too', async () => {
    const prefix = uniquePrefix('audit-live');
    await saveSnapshot(prefix);
    const manifests = join(dir, 'shop.yaml');
    writeFileSync(manifests, shopObjects().map((o) => stringify(o)).join('---\n'));
    const r = await cli([manifests, '--flows', '--redis', testRedisUrl(), '--redis-prefix', prefix, '--unused-days', '7']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no flow has matched api/allow-api-to-db (window: 7 days)');
    expect(r.stdout).not.toContain('no flow has matched frontend/allow-web-to-api');
  });

  it('no collector snapshot: the check is reported as not run, with the reason, exit 0', async () => {
    const r = await cli(['--live', '--kubeconfig', kubeconfig, '--flows', '--redis-prefix', uniquePrefix('audit-live')], { REDIS_URL: testRedisUrl() });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('audit: Unused policies not judged: the flow collector has no usable baseline snapshot (no snapshot)\n');
    expect(r.stdout).toContain('Not run: the flow collector has no usable baseline snapshot (no snapshot).');
  });

  it('a Redis nobody listens on: exit 1, one line', async () => {
    const port = await closedPort();
    const r = await cli(['--live', '--kubeconfig', kubeconfig, '--flows', '--redis', `redis://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^audit: cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(.*\\)\\. Start redis-server or point --redis or REDIS_URL at a reachable Redis\\.\\n$`));
  });
});

describe('netpol-responder audit: usage of --live and --flows', () => {
  it.each([
    [['shop.yaml', '--live'], 'audit: give paths or --live, not both'],
    [[], 'audit: give at least one file or directory, or --live to read the cluster'],
    [['shop.yaml', '--kubeconfig', 'k.yaml'], 'audit: --kubeconfig is for --live'],
    [['--live', '--flows', '--matched', 'm.json', '--redis', 'redis://127.0.0.1:1'], 'audit: --flows and --matched both give the flow matches of the unused-policy check: use one'],
    [['--live', '--flows'], "audit: --flows reads the flow collector's snapshot from Redis: give --redis URL or set REDIS_URL"],
    [['--live', '--flows', '--redis', 'http://example'], 'audit: --redis must be a redis:// or rediss:// URL, not "http://example"'],
    [['--live', '--flows', '--redis', 'redis://127.0.0.1:1', '--redis-prefix', 'a:b'], 'audit: --redis-prefix must be 1 to 32 letters'],
    [['--live', '--redis', 'redis://127.0.0.1:1'], 'audit: --redis is for --flows'],
    [['--live', '--request-timeout', '0'], 'audit: --request-timeout must be a whole number of seconds from 1 to 300, not "0"'],
  ])('%j: exit 2 with the reason and the usage', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(message)).toBe(true);
    expect(r.stderr).toContain('usage: netpol-responder audit <path...>');
  });

  it('--help shows both forms', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('netpol-responder audit --live [--kubeconfig FILE]');
    expect(r.stdout).toContain('--flows');
  });
});

/** A loopback port with nothing listening on it (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
