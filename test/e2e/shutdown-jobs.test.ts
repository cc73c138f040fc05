// SIGTERM / SIGINT while a worker process is in the middle of a step: the step finishes when the
// grace period allows it; otherwise the job goes back to the queue at the deadline and another
// worker completes it at once (no lock expiry to wait for), and nothing is applied twice. A second
// signal exits at once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';
import { spawnCli, writeServeConfig, type CliProcess } from '../helpers/serve-process.js';

let env: EmbeddedEnvironment;
const workers: CliProcess[] = [];

beforeAll(async () => {
  env = await startTestEnvironment({ roles: ['web'] });
});
const alive = (w: CliProcess) => w.child.exitCode === null && w.child.signalCode === null;
// Each test has its own workers: one left running would take the next test's job.
afterEach(async () => {
  await Promise.all(
    workers.filter(alive).map((w) => {
      w.child.kill('SIGKILL');
      return w.exited;
    }),
  );
});
afterAll(async () => {
  await env?.stop();
});

/** A worker process whose apply retries wait `retryDelayMs` (the step is "slow" while it waits). */
async function startWorker(retryDelayMs: number, graceMs: number): Promise<CliProcess> {
  const file = writeServeConfig({
    slack: { approvers: env.config.slack.approvers, apiUrl: env.config.slack.apiUrl },
    redis: env.config.redis,
    kube: { ...env.config.kube, applyRetries: 3, applyRetryDelayMs: retryDelayMs },
    // A long lock: a job can only move to another worker this quickly if it was handed back.
    worker: { concurrency: 2, lockDurationMs: 30_000, stalledIntervalMs: 15_000 },
    roles: ['worker'],
    shutdown: { graceMs },
    log: { level: 'info' },
  });
  const worker = spawnCli(['serve', '--config', file], { ...env.env, LOG_LEVEL: '' });
  workers.push(worker);
  await worker.waitForLog((l) => l.msg === 'netpol-responder started', 'the worker to start');
  return worker;
}

const quarantine = (id: string) => `netpol-responder-quarantine-${id}`;
const realApplies = (id: string) => env.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(quarantine(id)) && !r.query.dryRun);

async function waitUntil(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens an incident in `namespace`, approves it, and returns once the first (failing) apply happened: the step now waits to retry. */
async function approveIntoSlowStep(namespace: string): Promise<string> {
  const { incidentId, message } = await openIncident(env, `incident ${namespace} -- shutdown test`);
  env.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 503, times: 1, message: 'apiserver restarting' });
  await click(env, message, DEMO_USERS.approver.id);
  await waitUntil('the first apply attempt', () => realApplies(incidentId).length === 1);
  return incidentId;
}

async function signal(worker: CliProcess, name: NodeJS.Signals): Promise<{ code: number; ms: number }> {
  const sent = Date.now();
  worker.child.kill(name);
  const { code, at } = await worker.exited;
  return { code, ms: at - sent };
}

async function timelineTypes(incidentId: string): Promise<string[]> {
  return (await env.bot!.store.timeline(incidentId)).map((e) => e.type);
}

describe('stopping a worker with a step in flight', () => {
  it('SIGTERM within the grace period: the step finishes, then the process exits 0', async () => {
    const worker = await startWorker(1500, 15_000);
    const incidentId = await approveIntoSlowStep('frontend');
    const { code, ms } = await signal(worker, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    // Completed by this worker before it exited: nobody else was running.
    await waitForContained(env, incidentId, 1000);
    expect(realApplies(incidentId).map((r) => r.status)).toEqual([503, 201]);
    expect(await timelineTypes(incidentId)).not.toContain('step.resumed');
    expect(worker.logs().find((l) => l.msg === 'stopped')).toMatchObject({ handedBack: [] });
    expect(worker.stderr).toBe('');
  }, 60_000);

  it('SIGTERM past the grace period: the job is handed back, and a second worker completes it, applying once', async () => {
    const first = await startWorker(6000, 2000);
    const incidentId = await approveIntoSlowStep('api');
    const { code, ms } = await signal(first, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000 + 1500);
    const stopped = first.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('stopped'));
    // (The previous test's incident may have its next step running here too.)
    expect(stopped?.handedBack).toContain(`${incidentId}.contain.1`);
    expect((await env.bot!.store.require(incidentId)).steps.contain?.status).toBe('running');
    expect(env.kube.get('NetworkPolicy', 'api', quarantine(incidentId))).toBeUndefined();

    const takenOverAt = Date.now();
    await startWorker(50, 10_000);
    await waitForContained(env, incidentId, 15_000);
    // Well before the 30 s lock would have expired: the job was waiting, not stalled.
    expect(Date.now() - takenOverAt).toBeLessThan(15_000);
    expect(realApplies(incidentId).map((r) => r.status)).toEqual([503, 201]);
    const types = await timelineTypes(incidentId);
    expect(types).toContain('step.resumed');
    expect(types.filter((t) => t === 'policy.applied')).toHaveLength(1);
    expect(env.kube.get('NetworkPolicy', 'api', quarantine(incidentId))).toBeDefined();
  }, 60_000);

  it('a second SIGINT exits at once with 130', async () => {
    const worker = await startWorker(20_000, 25_000);
    await approveIntoSlowStep('db');
    worker.child.kill('SIGINT');
    await worker.waitForLog((l) => l.msg === 'shutting down' && l.signal === 'SIGINT', 'the first SIGINT to be taken');
    const { code, ms } = await signal(worker, 'SIGINT');
    expect(code).toBe(130);
    expect(ms).toBeLessThan(1500);
    expect(worker.stderr.trim()).toBe('SIGINT again: exiting now');
  }, 60_000);
});
