// The bot on Redis behind Sentinels (a master, a replica, three Sentinels on loopback): a whole
// incident, with the master killed while the approved step runs. The Sentinels promote the
// replica; the incident completes, the approval is acted on once, and nothing is applied twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, playbookUntilValidate } from '../helpers/environment.js';
import { expectCompletedOnce, redisClusterToolsMissing, startRedisSentinels, type TestRedisSentinels } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis.js';

const missing = redisClusterToolsMissing();
if (missing) console.warn(`Redis Sentinel end-to-end tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('the bot on Redis behind Sentinels', () => {
  let sentinels: TestRedisSentinels;
  let env: EmbeddedEnvironment;
  const prefix = uniquePrefix('sentinel');

  beforeAll(async () => {
    sentinels = await startRedisSentinels();
    env = await startEmbeddedEnvironment({
      redis: { mode: 'sentinel', masterName: sentinels.masterName, sentinels: sentinels.sentinels.map((n) => `${n.host}:${n.port}`) },
      keyPrefix: prefix,
      playbookPath: playbookUntilValidate(),
    });
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await sentinels?.stop();
  }, 60_000);

  it('completes an incident while the master fails over; approval once, applied once', async () => {
    // No hash tag outside a cluster: keys are as in single mode.
    expect(env.config.redis.keyPrefix).toBe(prefix);
    const { incidentId, message } = await openIncident(env, 'incident db -- exfiltration during a Redis failover');

    const master = await sentinels.master();
    const approved = await click(env, message, DEMO_USERS.approver.id);
    expect(approved.status).toBe(200);
    // Everything written so far is on the replica; what the running step writes next meets the failover.
    await sentinels.syncReplica();
    expect(await sentinels.killMaster()).toBe(master);
    const promoted = await sentinels.waitForFailover(master);
    expect(promoted).not.toBe(master);

    await expectCompletedOnce(env, incidentId);
  }, 180_000);
});
