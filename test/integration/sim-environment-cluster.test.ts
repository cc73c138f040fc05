// The embedded environment passes its cluster options to the simulated cluster; without them it
// serves exactly what it always did.
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { SHOP_ARGOCD } from '../../src/sim/scenarios/shop.js';
import { simRequest } from '../helpers/kube-sim.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

// The bot is not started, so no Redis is needed: only the simulated services run.
const NO_REDIS = 'redis://127.0.0.1:1';

describe('startEmbeddedEnvironment cluster options', () => {
  it('serves no CRD by default', async () => {
    env = await startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false });
    expect(env.kube.cluster()).toEqual({});
    const groups = (await simRequest(env.kube, 'GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(['networking.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io']);
    expect(env.kube.list('Namespace').map((n) => n.metadata?.name)).not.toContain(SHOP_ARGOCD.namespace);
  });

  it('installs the chosen CRDs and, with Argo CD, the Application that syncs the shop', async () => {
    env = await startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false, cluster: { cni: 'cilium', adminNetworkPolicy: true, argocd: true } });
    const groups = (await simRequest(env.kube, 'GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(['networking.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io', 'policy.networking.k8s.io', 'cilium.io', 'argoproj.io']);
    const app = env.kube.get('Application', SHOP_ARGOCD.namespace, SHOP_ARGOCD.application);
    expect(app?.spec).toMatchObject({ project: 'default', syncPolicy: { automated: { selfHeal: true, prune: true } } });
  });

  it('refuses a misspelt option before starting anything', async () => {
    await expect(startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false, cluster: { cni: 'calico' } as never })).rejects.toThrow('cluster option cni must be "cilium" or "generic", got "calico"');
  });
});
