// Starts `netpol-responder serve --roles worker` as a child process that joins an embedded
// environment: for the crash-recovery test and the multi-worker benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/schema.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';

export interface WorkerProcessOptions {
  kube?: Partial<Config['kube']>;
  worker?: Partial<Config['worker']>;
  logLevel?: string;
}

export function writeWorkerConfig(env: EmbeddedEnvironment, options: WorkerProcessOptions = {}): string {
  const { slack, redis, playbook, kube, worker } = env.config;
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-worker-')), 'config.yaml');
  writeFileSync(
    file,
    stringify({
      slack: { approvers: slack.approvers, apiUrl: slack.apiUrl },
      redis,
      playbook,
      kube: { ...kube, ...options.kube },
      worker: { ...worker, ...options.worker },
      roles: ['worker'],
      log: { level: options.logLevel ?? 'warn' },
    }),
  );
  return file;
}

export function startWorkerProcess(env: EmbeddedEnvironment, configFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configFile], {
    env: { ...process.env, ...env.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
