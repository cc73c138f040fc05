// Containment benchmarks on the embedded environment (Slack and Kubernetes on loopback), with 200
// NetworkPolicies selecting the scope so the exclusive strategy patches 200 objects each time:
//  - approval click → containment applied, read back and proven by the engine, p50/p99 over 50 incidents;
//  - Lift containment click → everything put back and the lift verified by the engine;
//  - a pod joining the scope (a rollout) → labelled by the containment guard, so only the quarantine selects it.
import { randomBytes } from 'node:crypto';
import { QUARANTINE_LABEL } from '../../src/containment/exclusion.js';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { DEMO_CHANNEL, DEMO_USERS, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import { LIFT_ACTION } from '../../src/slack/contain-blocks.js';
import { summarize } from './stats.js';

const INCIDENTS = Number(process.env.BENCH_CONTAIN_INCIDENTS ?? 50);
const POLICIES = Number(process.env.BENCH_CONTAIN_POLICIES ?? 200);
const SCOPE = { namespace: 'api', selector: 'app=orders' };

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('benchmark: timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Policies an application team might pile up: each selects the scope's pods and allows something. */
function selectingPolicies(count: number): object[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `orders-rule-${String(i).padStart(3, '0')}`, namespace: SCOPE.namespace },
    spec: {
      podSelector: { matchLabels: { app: 'orders' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8000 + i }] }],
      egress: [{ to: [{ ipBlock: { cidr: `198.51.${i % 256}.0/24` } }], ports: [{ protocol: 'TCP', port: 443 }] }],
    },
  }));
}

async function event(env: EmbeddedEnvironment, incidentId: string, type: string, after = 0): Promise<number> {
  const found = await until(async () => {
    const incident = await env.bot!.store.get(incidentId);
    if (incident?.status === 'failed') throw new Error(`incident ${incidentId} failed: ${incident.steps.contain?.error}`);
    return (await env.bot!.store.timeline(incidentId)).find((e) => e.type === type && Date.parse(e.at) >= after);
  });
  return Date.parse(found.at);
}

async function cycle(env: EmbeddedEnvironment, tag: string): Promise<{ contain: number; join: number; lift: number }> {
  const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident ${SCOPE.namespace} ${SCOPE.selector} -- bench ${tag}` });
  const id = /Opening incident `([a-z0-9-]+)`/.exec(result.body)?.[1];
  if (!id) throw new Error(`no incident opened: ${result.body}`);
  const message = await until(() => env.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && m.text.includes(id) && JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION)));

  const clicked = Date.now();
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION });
  const contain = (await event(env, id, 'containment.proven')) - clicked;
  // Step 2 (trace) runs next: let it finish so it does not share the CPU with what is measured below.
  await until(async () => (await env.bot!.store.get(id))?.currentStep === null);

  const rolled = Date.now();
  const added = env.kube.rollPods(SCOPE.namespace, SCOPE.selector).added.map((p) => (p as { metadata: { name: string } }).metadata.name);
  await until(() => added.every((name) => (env.kube.get('Pod', SCOPE.namespace, name) as { metadata: { labels: Record<string, string> } } | undefined)?.metadata.labels[QUARANTINE_LABEL] === id));
  const join = Date.now() - rolled;

  const withLift = await until(() => env.slack.messages(DEMO_CHANNEL).find((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(LIFT_ACTION)));
  const liftClicked = Date.now();
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: withLift.ts, actionId: LIFT_ACTION });
  const lift = (await event(env, id, 'containment.lift-verified')) - liftClicked;
  await until(async () => (await env.bot!.store.get(id))?.status === 'completed');
  return { contain, join, lift };
}

const redis = await resolveRedis();
const env = await startEmbeddedEnvironment({ redisUrl: redis.url, keyPrefix: `bench-guard-${randomBytes(3).toString('hex')}` });
try {
  env.kube.seed(selectingPolicies(POLICIES));
  for (let i = 0; i < 3; i += 1) await cycle(env, `warm-${i}`);
  const contain: number[] = [];
  const join: number[] = [];
  const lift: number[] = [];
  for (let i = 0; i < INCIDENTS; i += 1) {
    const r = await cycle(env, String(i));
    contain.push(r.contain);
    join.push(r.join);
    lift.push(r.lift);
  }
  const where = `exclusive strategy, ${POLICIES} NetworkPolicies selecting the scope, ${INCIDENTS} incidents`;
  console.log(summarize(`click → contained, read back and proven by the engine (${where})`, contain));
  console.log(summarize(`Lift click → lifted and verified by the engine (${where})`, lift));
  console.log(summarize(`pod joins the scope (rollout of 2 pods) → labelled by the guard (${where})`, join));
} finally {
  await env.stop();
  await redis.stop();
}
