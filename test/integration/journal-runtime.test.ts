// The watcher role in the bot: it runs by default (web, worker, watcher), one replica per cluster
// journals, it needs no audit log, and every role can read the journal.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { startTestEnvironment } from '../helpers/environment.js';
import { waitFor } from '../helpers/journal-cluster.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

describe('watcher role', () => {
  it('runs by default, journals the cluster without an audit log, and one replica writes', async () => {
    env = await startTestEnvironment({ cluster: { cni: 'cilium', adminNetworkPolicy: true } });
    expect(env.config.roles).toContain('watcher');
    expect(env.config.audit.logFile).toBeUndefined();
    const bot = env.bot!;
    const policies = env.kube.list('NetworkPolicy').length;
    const namespaces = env.kube.list('Namespace').length;
    await waitFor('the first list in the journal', async () => (await bot.journal.size()) >= policies + namespaces);

    // A second replica of the bot (every role) stands by: its list never reaches the journal twice.
    const second = await env.startBot();
    env.kube.seed([
      {
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'no-world', namespace: 'db' },
        spec: { endpointSelector: { matchLabels: { app: 'postgres' } }, egressDeny: [{ toEntities: ['world'] }] },
      },
    ]);
    await waitFor('the new policy', async () => (await second.journal.query({ since: '1970-01-01T00:00:00Z', kinds: ['CiliumNetworkPolicy'] })).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    const all = await second.journal.query({ since: '1970-01-01T00:00:00Z', limit: 10_000 });
    expect(all).toHaveLength(policies + namespaces + 1);
    expect(all.at(-1)).toMatchObject({ kind: 'CiliumNetworkPolicy', namespace: 'db', name: 'no-world', type: 'added', before: null });
    expect(all.at(-1)!.managers.map((m) => m.manager)).toEqual(['netpol-sim-seed']);
    expect(await bot.redis.get(`${env.config.redis.keyPrefix}:watcher:lock`)).toMatch(/^watcher:/);
  });
});
