// The CLI as a user runs it: child processes, real files, exit codes and messages.
import { exec, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { runProcess } from '../helpers/run-process.js';
import { startTestEnvironment, openIncident, click, DEMO_USERS, waitForContained } from '../helpers/environment.js';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeoutMs: 60_000 });
const temp = () => mkdtempSync(join(tmpdir(), 'netpol-cli-'));
const secrets = { SLACK_BOT_TOKEN: 'xoxb-1-2', SLACK_SIGNING_SECRET: 'secret-secret', REDIS_URL: '' };

describe('netpol-responder CLI', () => {
  it('prints usage and refuses unknown commands', async () => {
    expect((await cli(['--help'])).stdout).toContain('usage: netpol-responder <command>');
    const unknown = (await cli(['frobnicate']));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const none = (await cli([]));
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('usage: netpol-responder <command>');
  });

  it('analyze and diff read what kubectl prints, through a pipe (YAML and JSON)', async () => {
    const sim = await startKubeApiServer();
    const dir = temp();
    try {
      sim.seed(shopObjects());
      const kubectl = `kubectl --kubeconfig '${sim.writeKubeconfig(dir)}' --cache-dir '${join(dir, 'cache')}' get namespaces,pods,networkpolicies -A`;
      const self = `'${process.execPath}' --import tsx src/cli.ts`;
      // The simulated API server runs in this process: the pipeline must run asynchronously.
      const sh = (command: string) => promisify(exec)(`set -o pipefail; ${command}`, { shell: '/bin/bash', env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });
      const fromYaml = await sh(`${kubectl} -o yaml | ${self} analyze -`);
      expect(fromYaml.stderr).toBe('');
      expect(fromYaml.stdout).toMatch(/^api\/orders-[a-z0-9]+\[ReplicaSet\] => db\/postgres\[StatefulSet\] : TCP 5432,6379$/m);
      const fromJson = await sh(`${kubectl} -o json | ${self} analyze - --format json`);
      expect(JSON.parse(fromJson.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ dst: 'db/postgres[StatefulSet]', conn: 'TCP 5432,6379' })]));
      // The live state against the same state plus a policy opening postgres to every namespace,
      // with flags on both sides of --.
      await sh(`${kubectl} -o yaml > '${join(dir, 'live.yaml')}'`);
      writeFileSync(
        join(dir, 'open-db.yaml'),
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open-postgres, namespace: db}\nspec:\n  podSelector: {matchLabels: {app: postgres}}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n    ports: [{port: 5432}]\n',
      );
      const diff = await sh(`${kubectl} -o json | ${self} diff --format txt - -- '${join(dir, 'live.yaml')}' '${join(dir, 'open-db.yaml')}' --format json`);
      const changes = JSON.parse(diff.stdout) as { kind: string; src: string; dst: string; opened: string; closed: string }[];
      expect(changes.length).toBeGreaterThan(0);
      expect(changes.every((c) => c.dst === 'db/postgres[StatefulSet]' && c.opened.includes('TCP 5432') && c.closed === 'No Connections')).toBe(true);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it('serve: a bad config field is reported with its path and the exit code is 1', async () => {
    const dir = temp();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'slack:\n  approvers:\n    users: [bob]\nworker:\n  concurrency: -1\n');
    const result = (await cli(['serve', '--config', file], secrets));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`invalid configuration (${file})`);
    expect(result.stderr).toContain('slack.approvers.users.0: must be a Slack user id');
    expect(result.stderr).toContain('worker.concurrency:');
  });

  it.each([
    [['--roles', 'web,janitor'], '--roles: must be a comma-separated list of web, worker, watcher, collector (got "web,janitor")'],
    [['--roles', ''], '--roles: must be a comma-separated list'],
    [['--port', '70000'], '--port: must be a port number from 0 to 65535 (got "70000")'],
    [['--port', '80; rm -rf /'], '--port: must be a port number'],
    [['--port', ''], '--port: must be a port number'],
  ])('serve: a bad override %j is refused with usage and exit 2, before anything starts', async (args, message) => {
    const result = (await cli(['serve', '--config', '/nonexistent/config.yaml', ...args], secrets));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage: netpol-responder serve');
  });

  it('serve: a broken playbook is reported with file, line and reason', async () => {
    const dir = temp();
    const playbook = join(dir, 'pb.yaml');
    writeFileSync(playbook, 'apiVersion: netpol-responder/v1\nkind: Playbook\nname: x\nsteps:\n  - id: contain\n    title: C\n    action: contain\n    approval: { rule: sometimes }\n');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `slack:\n  approvers:\n    users: [U0BOB]\nplaybook:\n  path: ${playbook}\n`);
    const result = (await cli(['serve', '--config', file], { ...secrets, REDIS_URL: testRedisUrl() }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${playbook}:8:\\d+: steps\\.0\\.approval\\.rule:`));
  });

  it('serve: unreachable Redis is one clear line and exit 1', async () => {
    const dir = temp();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'slack:\n  approvers:\n    users: [U0BOB]\nroles: [worker]\n');
    const result = (await cli(['serve', '--config', file], { ...secrets, REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
  });

  it('export: writes the postmortem of an incident in md and json', async () => {
    const prefix = uniquePrefix('cli');
    const env = await startTestEnvironment({ keyPrefix: prefix });
    try {
      const { incidentId, message } = await openIncident(env, 'incident db -- cli export');
      await click(env, message, DEMO_USERS.approver.id);
      await waitForContained(env, incidentId);
      const out = temp();
      const config = join(out, 'config.yaml');
      writeFileSync(config, `redis:\n  keyPrefix: ${prefix}\n`);
      for (const format of ['md', 'json']) {
        const result = (await cli(['export', incidentId, '--format', format, '--out', out, '--config', config], { REDIS_URL: testRedisUrl(), SLACK_BOT_TOKEN: '' }));
        // Names need Slack (test/e2e/export-cli.test.ts); without a token the ids stay, and it says so.
        expect(result.stderr).toBe('SLACK_BOT_TOKEN is not set: the postmortem shows Slack user ids instead of names\n');
        expect(result.status).toBe(0);
        expect(result.stdout.trim()).toBe(join(out, `postmortem-${incidentId}.${format}`));
      }
      expect(readFileSync(join(out, `postmortem-${incidentId}.md`), 'utf8')).toContain('## Timeline');
      expect(JSON.parse(readFileSync(join(out, `postmortem-${incidentId}.json`), 'utf8')).incident.id).toBe(incidentId);
      const missing = (await cli(['export', '20990101-nope00', '--config', config], { REDIS_URL: testRedisUrl() }));
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('no incident with id "20990101-nope00"');
      expect((await cli(['export', incidentId, '--format', 'pdf'], { REDIS_URL: testRedisUrl() })).status).toBe(2);
      expect((await cli(['export', incidentId], { REDIS_URL: '' })).stderr).toContain('REDIS_URL is not set');
    } finally {
      await env.stop();
    }
  });

  it('demo: runs the whole incident, prints the conversation and writes the postmortem', async () => {
    const out = temp();
    const result = (await cli(['demo', '--out', out], { REDIS_URL: testRedisUrl() }));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Anomaly: db\/postgres sent traffic to external IP 203\.0\.113\.66/);
    expect(result.stdout).toContain('@alice clicked [ Open incident ]');
    expect(result.stdout).toContain('Anomalies seen by the flow collector');
    expect(result.stdout).toContain('only visible to @mallory');
    expect(result.stdout).toContain('@bob clicked [ Approve ]');
    expect(result.stdout).toMatch(/Read back: NetworkPolicy `netpol-responder-quarantine-[a-z0-9-]+` in place as applied/);
    expect(result.stdout).toContain('Proven by the engine on the live objects: contained: nothing but DNS to kube-dns is open');
    expect(result.stdout).toMatch(/Traffic check \(5 s\): 0 flows forwarded, \d+ dropped/);
    // Step 4: the plan from Git, a field-manager conflict forced by an approver, each step verified, the lift last.
    expect(result.stdout).toContain('*Restore plan* from Git shop-policies@');
    expect(result.stdout).toMatch(/1\. delete `NetworkPolicy db\/allow-all-egress` — restricts/);
    expect(result.stdout).toContain('@bob clicked [ Force step 2');
    expect(result.stdout).toMatch(/\*Step 2\* updated: `NetworkPolicy db\/allow-db-from-api`/);
    expect(result.stdout).toMatch(/Containment lifted: deleted NetworkPolicy `netpol-responder-quarantine-/);
    // Step 5: the baseline proven by the engine, approved, opened as a pull request; the thread's closing summary.
    expect(result.stdout).toContain('The watch window passed quietly. Step 5 proposes a baseline for db');
    expect(result.stdout).toMatch(/Learned edges allowed: \*(\d+)\/\1\* \(100\.0%\)/);
    expect(result.stdout).toMatch(/Anomalous flows denied: \*(\d+)\/\1\*/);
    expect(result.stdout).toMatch(/Pull request #1 opened on the Git host stand-in: http:\/\/127\.0\.0\.1:\d+\/shop\/policies\/pull\/1/);
    expect(result.stdout).toMatch(/\*Incident [a-z0-9-]+ closed\* after/);
    expect(result.stdout).toMatch(/• \*Hardening:\* pull request http:\/\/127\.0\.0\.1:\d+\/shop\/policies\/pull\/1/);
    const id = /postmortem-([a-z0-9-]+)\.md/.exec(result.stdout)?.[1];
    expect(id).toBeDefined();
    expect(existsSync(join(out, `postmortem-${id}.md`))).toBe(true);
    expect(existsSync(join(out, `postmortem-${id}.json`))).toBe(true);
    expect(result.stdout).toContain(join(out, `postmortem-${id}.html`));
    expect(readFileSync(join(out, `postmortem-${id}.html`), 'utf8')).toMatch(/^<!doctype html>/i);
  }, 60_000);

  it('demo: names the fix when redis-server is missing and REDIS_URL is unset', async () => {
    const result = (await cli(['demo'], { REDIS_URL: '', PATH: '/nonexistent' }));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('redis-server was not found on PATH');
    expect(result.stderr).toContain('apt-get install -y redis-server');
  });

  it('demo --keep-running leaves a cluster kubectl can read, until interrupted', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--keep-running', '--out', temp()], {
      env: { ...process.env, REDIS_URL: testRedisUrl() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const deadline = Date.now() + 90_000;
    while (!stdout.includes('Press Ctrl-C')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`demo did not stay up:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const kubeconfig = /kubectl --kubeconfig (\S+) get networkpolicies -A/.exec(stdout)?.[1];
    expect(kubeconfig).toBeDefined();
    expect(existsSync(kubeconfig!)).toBe(true);
    const kubectl = spawnSync('kubectl', ['--kubeconfig', kubeconfig!, 'get', 'networkpolicies', '-n', 'db', '-o', 'name'], { encoding: 'utf8', timeout: 20_000 });
    if (!kubectl.error) {
      expect(kubectl.stdout).toMatch(/networkpolicy\.networking\.k8s\.io\/default-deny-all/);
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);
});
