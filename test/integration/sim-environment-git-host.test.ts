// The embedded environment's gitHost option: the shop's repository served by the Git host
// stand-in, the bot's configuration pointing at it (token file, pullRequests), and a proposal made
// with that configuration opening a pull or merge request there. Without the option nothing changes.
import { afterEach, describe, expect, it } from 'vitest';
import { createChangeProposer } from '../../src/git/propose-changes.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { GIT_HOST_PROJECT, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

// The bot is not started, so no Redis is needed.
const NO_REDIS = 'redis://127.0.0.1:1';

describe('startEmbeddedEnvironment gitHost', () => {
  it.each(['github', 'gitlab'] as const)('%s: the bot fetches through the stand-in and its proposals open requests there', async (flavor) => {
    env = await startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false, git: true, gitHost: flavor });
    const host = env.gitHost;
    expect(host?.flavor).toBe(flavor);
    const repo = env.config.git?.repositories[0];
    expect(repo).toMatchObject({ url: host?.gitUrl(GIT_HOST_PROJECT), auth: { tokenFile: expect.any(String) }, pullRequests: { provider: flavor, apiUrl: host?.apiUrl } });

    const repositories = new PolicyRepositories(env.config.git);
    expect(await repositories.list[0]?.sync()).toMatchObject({ ok: true });
    const propose = createChangeProposer(repositories, {});
    const outcome = await propose?.({
      branch: 'netpol-responder/harden-shop',
      title: 'Harden the shop',
      body: 'From the hardening step.',
      files: [{ path: 'policies/api/harden.yaml', content: 'kind: NetworkPolicy\n' }],
    });
    expect(outcome).toMatchObject({ kind: 'pull-request', provider: flavor, number: 1, base: 'main' });
    expect(host?.pulls).toEqual([expect.objectContaining({ title: 'Harden the shop', head: 'netpol-responder/harden-shop', base: 'main' })]);
    expect((await host?.files(GIT_HOST_PROJECT, 'netpol-responder/harden-shop'))?.['policies/api/harden.yaml']).toBe('kind: NetworkPolicy\n');
  });

  it('without it, the repository is the bare one by its file url, as before', async () => {
    env = await startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false, git: true });
    expect(env.gitHost).toBeUndefined();
    expect(env.config.git?.repositories[0]).toMatchObject({ url: env.git?.remoteUrl });
    expect(env.config.git?.repositories[0]).not.toHaveProperty('pullRequests');
    expect(env.config.git?.repositories[0]).not.toHaveProperty('auth');
  });

  it('needs git: true', async () => {
    await expect(startEmbeddedEnvironment({ redisUrl: NO_REDIS, startBot: false, gitHost: 'github' })).rejects.toThrow(/gitHost option needs git: true/);
  });
});
