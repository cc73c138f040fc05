// A push webhook re-evaluates drift at once: the shop's repository served over smart HTTP on
// loopback (git-http-backend), fetched by the bot only every 24 h; a commit pushed to it changes
// a frontend policy in Git, GitHub's push webhook (signed over the raw body) reaches the bot's
// web role, the watcher role fetches and re-evaluates, and the drift alert follows within
// seconds (without the push, the next fetch would be a day away). A bad signature (401) and a push to another branch (200, ignored) change nothing.
import { basename, dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { writeHistory } from '../../src/sim/git-remote.js';
import { SHOP_GIT_POLICY_DIR } from '../../src/sim/scenarios/shop-git.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http.js';
import { githubHeaders, githubPush, SECRET } from '../helpers/git-webhooks.js';
import { DEMO_CHANNEL, startTestEnvironment } from '../helpers/environment.js';

let env: EmbeddedEnvironment | undefined;
let server: GitHttpServer | undefined;
afterEach(async () => {
  await env?.stop();
  await server?.close();
  env = undefined;
  server = undefined;
});

const NEW_SPEC = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web-ingress
  namespace: frontend
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Ingress]
  ingress:
    - ports:
        - protocol: TCP
          port: 8443
`;

async function post(port: number, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/git`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

describe('drift after a Git push', () => {
  it('a signed push is fetched and re-evaluated within seconds; a bad signature or another branch change nothing', async () => {
    env = await startTestEnvironment({ git: true, startBot: false });
    server = await startGitHttpServer(dirname(env.git!.remoteDir));
    const url = server.url(basename(env.git!.remoteDir));
    const repository = { ...env.config.git!.repositories[0]!, url, fetchInterval: 86_400_000 };
    const bot = await env.startBot({ git: { ...env.config.git!, repositories: [repository] }, secrets: { ...env.config.secrets, gitWebhookSecret: SECRET } });
    await new Promise((r) => setTimeout(r, 1500));
    const alerts = () => env!.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && m.text.startsWith('Drift from Git'));
    expect(alerts()).toEqual([]);

    const [sha] = await writeHistory(env.git!.remoteDir, [{ author: { name: 'Erin Platform', email: 'erin@shop.example' }, time: new Date(), message: 'frontend: web on 8443', files: { [`${SHOP_GIT_POLICY_DIR}/frontend/allow-web-ingress.yaml`]: NEW_SPEC } }]);
    const payload = JSON.stringify(githubPush({ after: sha, fullName: basename(env.git!.remoteDir).replace(/\.git$/, ''), host: '127.0.0.1' }));

    // Refused: signed with another secret. Ignored: a push to another branch.
    expect((await post(bot.port!, payload, githubHeaders(payload, 'push', { secret: 'not-the-secret-at-all-1234' }))).status).toBe(401);
    const other = JSON.stringify(githubPush({ after: sha, ref: 'refs/heads/feature', fullName: basename(env.git!.remoteDir).replace(/\.git$/, ''), host: '127.0.0.1' }));
    const ignored = await post(bot.port!, other, githubHeaders(other));
    expect(ignored.status).toBe(200);
    expect(ignored.text).toContain('ignored');
    await new Promise((r) => setTimeout(r, 1500));
    expect(alerts()).toEqual([]);

    const accepted = await post(bot.port!, payload, githubHeaders(payload));
    expect(accepted.status).toBe(202);
    const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Drift from Git') && JSON.stringify(m.blocks ?? []).includes('frontend/allow-web-ingress'), 10_000);
    // Live still has 8080, Git now says 8443: Git allows what is closed (breakage).
    expect(JSON.stringify(alert.blocks)).toContain('8443');
    expect(JSON.stringify(alert.blocks)).toContain('Breakage');
  });
});
