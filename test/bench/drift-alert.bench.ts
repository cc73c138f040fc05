// Drift alert benchmark, end to end: an out-of-band edit to a policy (kubectl patch over HTTPS to
// the simulated API server) → the watcher role journals it → the drift monitor evaluates it
// against the policy repository (debounced) → a BullMQ job → the worker posts or redraws the alert
// in the Slack stand-in. Each round edits frontend/allow-web-to-api to a new port (a new drift
// of the same episode, redrawn in place) and times until the Slack stand-in holds that port;
// every few rounds the object is put back as Git has it (the episode resolves), so new episodes
// are timed too. Then: a push to the policy repository (served over smart HTTP, fetched by the
// bot only once a day) → the signed GitHub push webhook → fetched, re-evaluated, alerted.
import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { startEmbeddedEnvironment } from '../../src/sim/environment.js';
import { writeHistory } from '../../src/sim/git-remote.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { SHOP_PORTS } from '../../src/sim/scenarios/shop.js';
import { SHOP_GIT_POLICY_DIR } from '../../src/sim/scenarios/shop-git.js';
import { startGitHttpServer } from '../helpers/git-http.js';
import { githubHeaders, githubPush, SECRET } from '../helpers/git-webhooks.js';
import { summarize } from './stats.js';

const ROUNDS = Number(process.env.BENCH_DRIFT_ROUNDS ?? 60);
const PUSHES = Number(process.env.BENCH_DRIFT_PUSHES ?? 15);
const TARGET_P99_MS = 5000;
const GOAL_P99_MS = 1000;

let seenRef: unknown[] = [];
async function until<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting for the drift alert; last seen: ${JSON.stringify(seenRef.at(-1))?.slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const redis = await resolveRedis();
const env = await startEmbeddedEnvironment({ redisUrl: redis.url, keyPrefix: `bench-drift-${randomBytes(3).toString('hex')}`, git: true, startBot: false });
const gitServer = await startGitHttpServer(dirname(env.git!.remoteDir));
const repoName = basename(env.git!.remoteDir);
const bot = await env.startBot({
  git: { ...env.config.git!, repositories: [{ ...env.config.git!.repositories[0]!, url: gitServer.url(repoName), fetchInterval: 86_400_000 }] },
  secrets: { ...env.config.secrets, gitWebhookSecret: SECRET },
});
try {
  // Everything the Slack stand-in receives, as text, with the time it arrived.
  const seen: Array<{ at: number; text: string }> = [];
  seenRef = seen;
  env.slack.onMessage((event) => seen.push({ at: performance.now(), text: JSON.stringify(event.message.blocks ?? []) }));
  // The first clone and evaluation happen at start-up: give them a moment.
  await new Promise((r) => setTimeout(r, 1500));

  const ref = { namespace: 'frontend', name: 'allow-web-to-api' };
  const gitSpec = { egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ protocol: 'TCP', port: SHOP_PORTS.orders }, { protocol: 'TCP', port: SHOP_PORTS.payments }] }] };
  const samples: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const port = 20_000 + i;
    const from = seen.length;
    const start = performance.now();
    await kubectlPatchNetworkPolicy(env.kube, 'dan@shop.example', ref, { spec: { egress: [{ ports: [{ protocol: 'TCP', port }] }] } });
    const hit = await until(() => seen.slice(from).find((s) => s.text.includes(`TCP ${port}`)));
    (i % 5 === 0 ? fresh : samples).push(hit.at - start);
    if (i % 5 === 4) {
      // Back to Git's state: the episode resolves, and the next round opens (or reopens) one.
      const before = seen.length;
      await kubectlPatchNetworkPolicy(env.kube, 'dan@shop.example', ref, { spec: gitSpec });
      await until(() => seen.slice(before).find((s) => s.text.includes('matches Git again')));
    }
  }
  // Pushes: Git moves (allow-web-ingress to a new port), the webhook tells the bot.
  const pushed: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const port = 30_000 + i;
    const spec = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-web-ingress\n  namespace: frontend\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  policyTypes: [Ingress]\n  ingress:\n    - ports:\n        - protocol: TCP\n          port: ${port}\n`;
    const [sha] = await writeHistory(env.git!.remoteDir, [{ author: { name: 'Erin Platform', email: 'erin@shop.example' }, time: new Date(), message: `web on ${port}`, files: { [`${SHOP_GIT_POLICY_DIR}/frontend/allow-web-ingress.yaml`]: spec } }]);
    const body = JSON.stringify(githubPush({ after: sha, fullName: repoName.replace(/\.git$/, ''), host: '127.0.0.1' }));
    const from = seen.length;
    const start = performance.now();
    const res = await fetch(`http://127.0.0.1:${bot.port}/webhooks/git`, { method: 'POST', headers: githubHeaders(body), body });
    if (res.status !== 202) throw new Error(`benchmark: push webhook answered ${res.status} ${await res.text()}`);
    await until(() => seen.slice(from).find((s) => s.text.includes(`TCP ${port}`)));
    pushed.push(performance.now() - start);
  }
  process.stdout.write(`${summarize('push webhook → fetched, re-evaluated, drift alert', pushed)}\n`);
  const all = [...samples, ...fresh];
  process.stdout.write(`${summarize('live change → drift alert redrawn (same episode)', samples)}\n`);
  process.stdout.write(`${summarize('live change → drift alert after the episode resolved', fresh)}\n`);
  const sorted = all.sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? Number.NaN;
  process.stdout.write(`all: p99 ${p99.toFixed(0)} ms (target ≤ ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'MISSED'}; goal ${GOAL_P99_MS} ms: ${p99 <= GOAL_P99_MS ? 'met' : 'missed'})\n`);
} finally {
  await env.stop();
  await gitServer.close();
  await redis.stop();
}
