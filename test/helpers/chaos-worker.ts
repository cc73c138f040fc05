// The worker-kill chaos scenario's tools: a worker child process configured for the whole shipped
// playbook (Git with the Git host stand-in for hardening's pull request, the collector's baseline
// for learned edges), and an HTTP relay in front of the Slack stand-in that can hold a worker's
// Slack calls, so a test kills the worker at an exact point (see test/chaos/worker-kill.test.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { waitUntil } from './restore-robust.js';

/** Decides, per Slack Web API method, whether a call is held (never answered) instead of relayed. */
export type HoldRule = (method: string) => boolean | Promise<boolean>;

export interface SlackRelay {
  url: string;
  /** Calls held since the rule was set (method names, in order). */
  held: string[];
  hold(rule: HoldRule | undefined): void;
  close(): Promise<void>;
}

/** Relays Slack Web API calls to `target`, except those the current rule holds: they hang until closed. */
export async function startSlackRelay(target: string): Promise<SlackRelay> {
  let rule: HoldRule | undefined;
  const held: string[] = [];
  const hanging = new Set<ServerResponse>();
  const base = target.replace(/\/+$/, '');
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const method = (req.url ?? '').split('?')[0]!.replace(/^\/+/, '');
        if (rule && (await rule(method))) {
          held.push(method);
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const answer = await fetch(`${base}/${req.url?.replace(/^\/+/, '') ?? ''}`, { method: req.method ?? 'POST', headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) });
        const out: Record<string, string> = {};
        answer.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'content-encoding') out[k] = v;
        });
        res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()));
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    held,
    hold(next) {
      rule = next;
      held.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A worker-only config for the whole playbook: Slack through `slackApiUrl`, Git through the Git host stand-in, the collector's baseline. */
export function writeFullPlaybookWorkerConfig(env: EmbeddedEnvironment, slackApiUrl: string, worker: Record<string, unknown>): string {
  const { slack, redis, playbook, kube } = env.config;
  const repo = env.config.git?.repositories[0];
  if (!env.git || !repo || !env.hubble) throw new Error('the full playbook needs git, the Git host and flows in the environment');
  const git = { dir: env.git.dir, repositories: [{ name: repo.name, url: repo.url, branch: repo.branch, paths: repo.paths, ...(repo.auth ? { auth: repo.auth } : {}), ...(repo.pullRequests ? { pullRequests: repo.pullRequests } : {}) }] };
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-chaos-worker-')), 'config.yaml');
  writeFileSync(
    file,
    toYaml({
      slack: { approvers: slack.approvers, apiUrl: slackApiUrl },
      redis,
      playbook,
      kube,
      worker: { ...env.config.worker, ...worker },
      git,
      // Not run here (the environment's bot collects): its presence gives the worker the learned edges and the traffic check.
      collector: { source: { kind: 'hubble-relay', address: env.hubble.address }, learningPeriod: '1h', cooldown: '15m' },
      drift: { enabled: false },
      roles: ['worker'],
      log: { level: 'info' },
    }),
  );
  return file;
}

/** A worker child process, resolved once it says it started; its log goes to a file of its own. */
export async function startLoggedWorker(env: EmbeddedEnvironment, configFile: string): Promise<{ child: ChildProcess; logFile: string }> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'netpol-chaos-worker-log-')), 'worker.log');
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configFile], { env: { ...process.env, ...env.env }, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  await waitUntil(`worker ${child.pid} to start`, () => {
    if (child.exitCode !== null) throw new Error(`worker ${child.pid} exited with ${child.exitCode} (log: ${logFile})`);
    return readFileSync(logFile, 'utf8').includes('"msg":"netpol-responder started"');
    // tsx compiles the program at start: on a loaded 2-core machine that took over a minute.
  }, 150_000);
  return { child, logFile };
}
