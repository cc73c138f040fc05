// Kill the worker process in the middle of a step; a new worker resumes and nothing is applied twice.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';
import { startWorkerProcess, stopProcess, writeWorkerConfig } from '../helpers/worker-process.js';

let env: EmbeddedEnvironment;
let configFile: string;
const children: ChildProcess[] = [];

function startWorker(): ChildProcess {
  const child = startWorkerProcess(env, configFile);
  children.push(child);
  return child;
}

async function waitUntil(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  env = await startTestEnvironment({ roles: ['web'] });
  // A long pause between apply retries leaves the step running while we kill the worker.
  configFile = writeWorkerConfig(env, { kube: { applyRetries: 3, applyRetryDelayMs: 4000 }, worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 } });
});
afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
  await env?.stop();
});

describe('worker crash in the middle of containment', () => {
  it('resumes in a new worker process and applies the deny-all exactly once', async () => {
    const first = startWorker();
    const { incidentId, message } = await openIncident(env, 'incident db -- crash test');
    const name = `netpol-responder-quarantine-${incidentId}`;
    const realApplies = () => env.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(name) && !r.query.dryRun);

    env.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 503, times: 1, message: 'apiserver restarting' });
    await click(env, message, DEMO_USERS.approver.id);
    await waitUntil('the first apply attempt', () => realApplies().length === 1);
    await stopProcess(first, 'SIGKILL');

    const stuck = await env.bot!.store.require(incidentId);
    expect(stuck.steps.contain?.status).toBe('running');
    expect(env.kube.get('NetworkPolicy', 'db', name)).toBeUndefined();

    startWorker();
    await waitForContained(env, incidentId, 20_000);
    expect(realApplies().map((r) => r.status)).toEqual([503, 201]);
    const timeline = await env.bot!.store.timeline(incidentId);
    expect(timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['step.started', 'step.resumed', 'policy.applied', 'policy.confirmed', 'containment.proven']));
    expect(timeline.filter((e) => e.type === 'policy.applied')).toHaveLength(1);
    expect(env.kube.get('NetworkPolicy', 'db', name)).toBeDefined();
  }, 60_000);
});
