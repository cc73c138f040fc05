import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLine, falcoLines, type EventSpec } from '../../helpers/audit-events.js';

const root = join(import.meta.dirname, '../../..');
let dir = '';

function trace(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'trace', ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const policy = (note: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-db-from-api', namespace: 'db' },
  spec: { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: note } } }], ports: [{ port: 5432 }] }] },
});
const live = (note: string) => {
  const p = policy(note);
  return { ...p, metadata: { ...p.metadata, uid: 'u-1', resourceVersion: '42', creationTimestamp: '2026-11-01T00:00:00Z' }, spec: { ...p.spec, policyTypes: ['Ingress'] } };
};
const at = (hhmm: string) => `2026-11-30T${hhmm}:00.250000Z`;
const line = (spec: EventSpec) => auditLine(spec);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'npr-trace-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  // The rotated, compressed file: Argo CD applying the committed state, and a read.
  writeFileSync(
    join(logs, 'audit-2026-11-30T10-00-00.000.log.gz'),
    gzipSync(
      [
        line({ auditID: 'argo', time: at('09:30'), verb: 'update', username: 'system:serviceaccount:argocd:argocd-application-controller', userAgent: 'argocd-application-controller/v2.10.0 (linux/amd64)', responseObject: live('api'), requestObject: live('api') }),
        line({ auditID: 'read-1', time: at('09:31'), verb: 'get' }),
      ].join('\n') + '\n',
    ),
  );
  // The current file: dave's hand edit (impersonated by an admin), a refused delete, a namespace label, noise and damage.
  writeFileSync(
    join(logs, 'audit.log'),
    [
      line({ auditID: 'dave', time: at('10:15'), impersonate: 'dave@corp', query: 'fieldManager=kubectl-edit', requestObject: { spec: { ingress: [{}] } }, responseObject: live('anything') }),
      line({ auditID: 'argo', time: at('09:30'), verb: 'update' }), // the same event again (a file read twice)
      line({ auditID: 'mallory', time: at('10:20'), verb: 'delete', username: 'mallory', code: 403 }),
      line({ auditID: 'ns-web', time: at('10:25'), resource: 'namespaces', name: 'web', verb: 'patch', requestObject: { metadata: { labels: { team: 'x' } } }, userAgent: 'HashiCorp/1.0 Terraform/1.5.7' }),
      line({ auditID: 'dry', time: at('10:26'), query: 'dryRun=All' }),
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"cut-here',
      line({ auditID: 'v2', time: at('10:27') }).replace('audit.k8s.io/v1', 'audit.k8s.io/v2'),
      ...falcoLines().map((l) => l.line),
    ].join('\n') + '\n',
  );
  // The policy repository: erin commits the policy that lets the api in; Argo CD applies it.
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'policies'), { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 'erin', GIT_AUTHOR_EMAIL: 'erin@corp', GIT_COMMITTER_NAME: 'erin', GIT_COMMITTER_EMAIL: 'erin@corp', GIT_AUTHOR_DATE: '2026-11-30T09:00:00Z', GIT_COMMITTER_DATE: '2026-11-30T09:00:00Z' } });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'policies', 'db.yaml'), JSON.stringify(policy('api'), null, 2));
  git('add', '.');
  git('commit', '-q', '-m', 'db: let the api in');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('netpol-responder trace', () => {
  it('prints each change once in time order, refused attempts apart, and the skips with the first damaged line', () => {
    const { status, stdout, stderr } = trace(['--audit-log', join(dir, 'logs')]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('6 changes:');
    expect(lines[1]).toMatch(/^ {2}2018-10-25T13:58:49\.736Z +system:anonymous +other +create +Namespace foo$/);
    expect(stdout).toMatch(/\n {2}2026-11-30T09:30:00\.250Z +system:serviceaccount:argocd:argocd-application-controller +argocd +update +NetworkPolicy db\/allow-db-from-api\n/);
    expect(stdout).toMatch(/\n {2}2026-11-30T10:15:00\.250Z +admin@corp as dave@corp +kubectl +patch +NetworkPolicy db\/allow-db-from-api\n/);
    expect(stdout).toMatch(/\n {2}2026-11-30T10:25:00\.250Z +admin@corp +terraform +patch +Namespace web\n/);
    expect(stdout).toMatch(/\n1 refused attempt \(not changes\):\n {2}2026-11-30T10:20:00\.250Z +mallory +kubectl +delete +NetworkPolicy db\/allow-db-from-api +403 Forbidden\n/);
    // Two of Falco's fixtures are one event with the user edited (same auditID): shown once.
    expect(stdout).toContain('read 61 lines from 2 files: 7 changes found (refused attempts included), 2 duplicates (same auditID)');
    expect(stdout).toMatch(/\n {2}skipped 1 invalid_json, first at .*audit\.log line 6: \{"kind":"Event","apiVersion":"audit\.k8s\.io\/v1","level":"Metadata","auditID":"cut-here\n/);
    expect(stdout).toMatch(/\n {2}skipped 1 unknown_api_version, first at .*audit\.log line 7: \{"kind"/);
    expect(stdout).toMatch(/\n {2}skipped 1 not_an_event, first at .*audit\.log line \d+: \{"kind": 0\}\n/);
    expect(stdout).toContain('\n  skipped 1 dry_run\n');
    expect(stdout).toContain('\n  skipped 1 read\n');
    expect(stdout).toContain('\n  skipped 47 not_watched\n');
  });

  it('filters by namespace and time window, and prints JSON', () => {
    const { status, stdout } = trace(['--audit-log', join(dir, 'logs', 'audit.log'), join(dir, 'logs', 'audit-2026-11-30T10-00-00.000.log.gz'), '--namespace', 'db', '--since', '2026-11-30T09:00:00Z', '--until', '2026-11-30T10:21:00Z', '--format', 'json']);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as { changes: { auditID: string; tool: string; impersonatedUser?: { username: string } }[]; refused: { auditID: string }[]; counts: { filteredOut: number; duplicates: number } };
    expect(report.changes.map((c) => c.auditID)).toEqual(['argo', 'dave']);
    expect(report.changes[1]?.impersonatedUser?.username).toBe('dave@corp');
    expect(report.refused.map((c) => c.auditID)).toEqual(['mallory']);
    expect(report.counts).toMatchObject({ filteredOut: 4, duplicates: 2 });
  });

  it('reads standard input', () => {
    const { status, stdout } = trace(['--audit-log', '-', '--since', '2026-11-30T10:00:00Z'], line({ auditID: 'in', time: at('10:40') }) + '\n');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^1 change \(since 2026-11-30T10:00:00\.000Z\):\n {2}2026-11-30T10:40:00\.250Z +admin@corp +kubectl +patch +NetworkPolicy db\/allow-db-from-api\n/);
    expect(stdout).toContain('read 1 line from stdin');
  });

  it('with --repo, says whether GitOps applied a commit or someone changed the policy outside Git', () => {
    const { status, stdout, stderr } = trace(['--audit-log', join(dir, 'logs'), '--namespace', 'db', '--repo', join(dir, 'repo'), '--paths', 'policies']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toMatch(/argocd +update +NetworkPolicy db\/allow-db-from-api\n {6}git: gitops-apply [0-9a-f]{8}: .*applied the state of [0-9a-f]{8} \(erin, "db: let the api in"\)/);
    expect(stdout).toMatch(/admin@corp as dave@corp +kubectl +patch +NetworkPolicy db\/allow-db-from-api\n {6}git: out-of-band: admin@corp as dave@corp made a state that no commit holds/);
  });

  it('refuses what it cannot use: exit 1 with one line, 2 on bad usage', () => {
    expect(trace(['--audit-log', join(dir, 'missing.log')])).toMatchObject({ status: 1, stdout: '', stderr: `cannot read ${join(dir, 'missing.log')}: no such file\n` });
    mkdirSync(join(dir, 'empty'), { recursive: true });
    expect(trace(['--audit-log', join(dir, 'empty')]).stderr).toContain('no audit logs');
    writeFileSync(join(dir, 'hubble.json'), '{"flow":{"time":"2026-01-15T09:00:00Z","verdict":"FORWARDED"}}\n[1,2,3]\n');
    const wrong = trace(['--audit-log', join(dir, 'hubble.json')]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^no audit event in .*hubble\.json: expected kube-apiserver audit log lines .*line 1 of .*: \{"flow"/);
    writeFileSync(join(dir, 'cut.log.gz'), gzipSync(Buffer.from(line({}).repeat(200))).subarray(0, 200));
    const cut = trace(['--audit-log', join(dir, 'cut.log.gz')]);
    expect(cut.status).toBe(1);
    expect(cut.stderr).toMatch(/^cannot read .*cut\.log\.gz: damaged gzip \(unexpected end of file\)\n$/);
    const notRepo = trace(['--audit-log', join(dir, 'logs'), '--repo', join(dir, 'empty')]);
    expect(notRepo.status).toBe(1);
    expect(notRepo.stderr).toMatch(/^--repo .*empty: not a Git repository/);
    expect(trace(['--audit-log', join(dir, 'logs'), '--repo', join(dir, 'repo'), '--paths', '../etc']).stderr).toContain('--paths: must not contain ".."');

    for (const [args, message] of [
      [[], 'give at least one audit log with --audit-log'],
      [['--audit-log', '-', '-'], '"-" (standard input) can be given once'],
      [['--audit-log', 'x', '--since', 'yesterday'], '--since: "yesterday" is not a time'],
      [['--audit-log', 'x', '--since', '2026-11-30T11:00:00Z', '--until', '2026-11-30T10:00:00Z'], 'is after --until'],
      [['--audit-log', 'x', '--namespace', 'Not_A_Namespace'], '--namespace: "Not_A_Namespace" is not a namespace name'],
      [['--audit-log', 'x', '--branch', 'main'], '--branch and --paths go with --repo'],
      [['--audit-log', 'x', '--format', 'yaml'], '--format: unknown format "yaml" (valid: txt, json'],
      [['--audit-log', 'x', '--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      const r = trace([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain('usage: netpol-responder trace --audit-log FILE...');
    }
    const help = trace(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--audit-log FILE');
  });
});
