// Reads through the object client ride out transient answers of the simulated API server: a 5xx
// burst, a 429 whose Retry-After is waited, and give up after their attempts; answers (403) are not retried.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, loadKubeConfig } from '../../src/kube/index.js';
import { createObjectClient } from '../../src/kube/objects.js';
import { KINDS } from '../../src/kube/kinds.js';
import { rawOpsFor } from '../../src/kube/object-ops.js';
import { DEFAULT_READ_RETRY, readRetryDelay } from '../../src/kube/read-retry.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
const dir = mkdtempSync(join(tmpdir(), 'kube-read-retry-'));
const slept: number[] = [];
const policy = { ...DEFAULT_READ_RETRY, sleep: async (ms: number) => void slept.push(ms) };

beforeAll(async () => {
  sim = await startKubeApiServer();
  sim.seed(shopObjects());
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const policies = () => createObjectClient(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }), 'NetworkPolicy', undefined, policy);
const listStatuses = () => sim.requests.filter((r) => r.verb === 'list' && r.resource === 'networkpolicies').map((r) => r.status);

describe('reads retried on transient answers', () => {
  it('lists through a burst of 503s, backing off between attempts', async () => {
    sim.clearRequests();
    slept.length = 0;
    sim.injectFault({ verb: 'list', resource: 'networkpolicies', status: 503, times: 2, retryAfterSeconds: 0 });
    const list = await policies().list({ namespace: 'db' });
    expect(list.items.length).toBeGreaterThan(0);
    expect(listStatuses()).toEqual([503, 503, 200]);
    expect(slept).toEqual([200, 400]);
  });

  it('waits the Retry-After a 429 asks for', async () => {
    sim.clearRequests();
    slept.length = 0;
    sim.injectFault({ verb: 'get', resource: 'networkpolicies', status: 429, times: 1, retryAfterSeconds: 3 });
    const got = await policies().get({ namespace: 'db', name: 'default-deny-all' });
    expect(got?.metadata?.name).toBe('default-deny-all');
    expect(slept).toEqual([3000]);
  });

  it('gives up after its attempts with the last error, and does not retry a 403', async () => {
    sim.clearRequests();
    slept.length = 0;
    sim.injectFault({ verb: 'list', resource: 'networkpolicies', status: 500, times: 100, message: 'etcd is down' });
    const error = await policies().list({ namespace: 'db' }).catch((e: unknown) => e);
    sim.clearFaults();
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toContain('etcd is down');
    expect(listStatuses()).toEqual(Array(DEFAULT_READ_RETRY.attempts).fill(500));

    sim.clearRequests();
    const lift = sim.deny({ verb: 'list', resource: 'networkpolicies' });
    const denied = await policies().list({ namespace: 'db' }).catch((e: unknown) => e);
    lift();
    expect((denied as KubeApiError).status).toBe(403);
    expect(listStatuses()).toEqual([403]);
  });

  it('aborts a request past its deadline and reads again (an API server that does not answer)', async () => {
    sim.clearRequests();
    slept.length = 0;
    const kc = loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) });
    const client = createObjectClient(kc, 'NetworkPolicy', rawOpsFor(kc, KINDS.NetworkPolicy, 300), policy);
    sim.injectDelay({ verb: 'list', resource: 'networkpolicies', ms: 3000, times: 1 });
    const started = Date.now();
    const list = await client.list({ namespace: 'db' });
    expect(list.items.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(slept).toEqual([200]);

    // Every attempt past its deadline: a network error after the attempts, never a hang.
    sim.injectDelay({ verb: 'list', resource: 'networkpolicies', ms: 3000, times: DEFAULT_READ_RETRY.attempts });
    const error = await client.list({ namespace: 'db' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, reason: 'NetworkError', retryable: true });
  });

  it('never waits less than the backoff nor more than the Retry-After cap', () => {
    expect(readRetryDelay(1, {}, DEFAULT_READ_RETRY)).toBe(200);
    expect(readRetryDelay(10, {}, DEFAULT_READ_RETRY)).toBe(5000);
    expect(readRetryDelay(1, { retryAfterSeconds: 2 }, DEFAULT_READ_RETRY)).toBe(2000);
    expect(readRetryDelay(1, { retryAfterSeconds: 3600 }, DEFAULT_READ_RETRY)).toBe(30_000);
    expect(readRetryDelay(1, { retryAfterSeconds: -5 }, DEFAULT_READ_RETRY)).toBe(200);
    expect(readRetryDelay(1, { retryAfterSeconds: Number.NaN }, DEFAULT_READ_RETRY)).toBe(200);
  });
});
