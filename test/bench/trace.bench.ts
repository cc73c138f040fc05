// Trace step benchmark: job start → the step's message, with 100k stored audit events and 20k
// journal entries over 30 days (about 1 % in the incident's namespace), a 5k-commit policy
// repository, and a 2,000-pod cluster (20 namespaces, ~1,000 policies) on the simulated API server.
// Figures: p50/p99 of the trace step's execute over repeated runs, after one cold run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { AuditStore } from '../../src/audit/store.js';
import type { AuditChange } from '../../src/audit/types.js';
import { ContainmentLedger } from '../../src/containment/ledger.js';
import { PolicyRepositories } from '../../src/git/index.js';
import { openIncident } from '../../src/incident/transitions.js';
import { ChangeJournal } from '../../src/journal/index.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { parsePlaybook } from '../../src/playbook/load.js';
import { traceStep } from '../../src/playbook/steps/trace.js';
import type { StepContext } from '../../src/playbook/steps/types.js';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';
import { startKubeApiServer } from '../../src/sim/kube/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { summarize } from './stats.js';

const AUDIT_EVENTS = Number(process.env.BENCH_TRACE_AUDIT ?? 100_000);
const JOURNAL_ENTRIES = Number(process.env.BENCH_TRACE_JOURNAL ?? 20_000);
const COMMITS = Number(process.env.BENCH_TRACE_COMMITS ?? 5_000);
const RUNS = Number(process.env.BENCH_TRACE_RUNS ?? 20);
const DAY = 86_400_000;
const SCOPE_NS = 'ns-7';

type Policy = { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };

let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

const objects = syntheticCluster({ pods: 2000 }) as Array<{ kind: string; metadata: { name: string; namespace?: string } }>;
const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
const inScope = policies.filter((p) => p.metadata.namespace === SCOPE_NS);
const elsewhere = policies.filter((p) => p.metadata.namespace !== SCOPE_NS);
/** About 1 % of the changes concern the incident's namespace. */
const target = (): Policy => (rnd() < 0.01 ? pick(inScope) : pick(elsewhere));

function variant(p: Policy, i: number): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { ...p.metadata, uid: `uid-${p.metadata.namespace}-${p.metadata.name}`, resourceVersion: String(10_000 + i), labels: { rev: String(i % 7) } }, spec: p.spec };
}

async function fillJournal(redis: Redis, prefix: string, now: number): Promise<void> {
  let clock = now - 30 * DAY;
  const journal = new ChangeJournal(redis, prefix, { maxAgeMs: 31 * DAY, maxEntries: JOURNAL_ENTRIES + 10_000 }, { now: () => clock });
  const step = (30 * DAY) / JOURNAL_ENTRIES;
  for (let i = 0; i < JOURNAL_ENTRIES; i++) {
    clock += step;
    await journal.append('NetworkPolicy', { type: i < policies.length ? 'added' : 'modified', object: variant(i < policies.length ? (policies[i] as Policy) : target(), i) });
  }
}

async function fillAudit(store: AuditStore, now: number): Promise<void> {
  const step = (30 * DAY) / AUDIT_EVENTS;
  let batch: AuditChange[] = [];
  for (let i = 0; i < AUDIT_EVENTS; i++) {
    const p = target();
    const at = new Date(now - 30 * DAY + i * step).toISOString();
    batch.push({
      auditID: `bench-${i}`,
      at,
      stage: 'ResponseComplete',
      verb: 'patch',
      user: { username: pick(['erin@corp', 'frank@corp', 'system:serviceaccount:argocd:argocd-application-controller']), groups: [] },
      userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b',
      tool: 'kubectl',
      sourceIPs: ['192.0.2.10'],
      objectRef: { resource: 'networkpolicies', apiGroup: 'networking.k8s.io', namespace: p.metadata.namespace, name: p.metadata.name },
      responseStatus: { code: 200 },
      refused: false,
      ...(p.metadata.namespace === SCOPE_NS ? { responseObject: variant(p, i) } : {}),
    });
    if (batch.length === 1000) {
      await store.save(batch, now);
      batch = [];
    }
  }
  await store.save(batch, now);
}

async function repository(dir: string, now: number): Promise<string> {
  const remote = join(dir, 'policies.git');
  await createBareRepository(remote);
  const files: Record<string, string> = {};
  for (const p of policies) files[`policies/${p.metadata.namespace}/${p.metadata.name}.yaml`] = stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: p.metadata, spec: p.spec });
  const people = ['erin', 'frank', 'dave'].map((n) => ({ name: n, email: `${n}@shop.example` }));
  const history: HistoryCommit[] = [{ author: people[0]!, time: new Date(now - 180 * DAY), message: 'initial policies', files }];
  for (let i = 1; i < COMMITS; i++) {
    const p = target();
    history.push({ author: pick(people), time: new Date(now - 180 * DAY + (i * 180 * DAY) / COMMITS), message: `tune ${p.metadata.name}`, files: { [`policies/${p.metadata.namespace}/${p.metadata.name}.yaml`]: stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { ...p.metadata, labels: { rev: String(i) } }, spec: p.spec }) } });
  }
  await writeHistory(remote, history);
  return remote;
}

const redisServer = await resolveRedis();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const sim = await startKubeApiServer();
const dir = mkdtempSync(join(tmpdir(), 'netpol-trace-bench-'));
try {
  const now = Date.now();
  sim.seed(objects);
  const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
  const prefix = `bench-trace-${Math.floor(rnd() * 1e9)}`;
  let t = Date.now();
  await fillJournal(redis, prefix, now);
  const audit = new AuditStore(redis, prefix, { maxAgeMs: 31 * DAY, maxEntries: AUDIT_EVENTS + 10_000 });
  await fillAudit(audit, now);
  console.log(`setup: ${JOURNAL_ENTRIES} journal entries and ${AUDIT_EVENTS} audit events in ${Date.now() - t} ms`);
  t = Date.now();
  const remote = await repository(dir, now);
  const git = new PolicyRepositories({ dir: join(dir, 'clones'), maxFileBytes: 1 << 20, fetchTimeout: 120_000, repositories: [{ name: 'policies', url: remote, branch: 'main', paths: ['policies'], fetchInterval: 3_600_000 }] } as never);
  await git.start();
  console.log(`setup: ${COMMITS}-commit repository cloned in ${Date.now() - t} ms`);

  const playbook = parsePlaybook(`apiVersion: netpol-responder/v1\nkind: Playbook\nname: bench\nsteps:\n  - id: trace\n    title: Trace\n    action: trace\n    approval: { rule: none }\n`, 'bench.yaml');
  const incident = openIncident({ id: '20261201-bench1', scope: { namespace: SCOPE_NS }, requestedBy: 'U1', channel: 'C1' }, playbook, new Date(now)).incident;
  const probe = { src: `${SCOPE_NS}/${(objects.find((o) => o.kind === 'Pod' && o.metadata.namespace === SCOPE_NS) as { metadata: { name: string } }).metadata.name}`, dst: '203.0.113.66', port: 443, protocol: 'TCP' as const, at: now };
  const ctx: StepContext = {
    incident,
    step: playbook.steps[0]!,
    playbook,
    cluster: gateway,
    anomalies: { forIncident: async () => [{ id: 'a', kind: 'new-external-egress', severity: 'high', title: 't', baseline: 'b', sampleFlows: [], probes: [probe], raisedAt: new Date(now).toISOString() }] },
    settings: { fieldManager: 'netpol-responder', applyRetries: 1, applyRetryDelayMs: 1, containment: { anpPriority: 0, argocdSkipReconcile: false, argocdNamespace: 'argocd' } },
    ledger: new ContainmentLedger(redis, prefix),
    journal: new ChangeJournal(redis, prefix, { maxAgeMs: 31 * DAY, maxEntries: JOURNAL_ENTRIES + 10_000 }),
    audit,
    git,
    logger: silentLogger,
    now: () => new Date(now),
    sleep: async () => {},
  };
  t = Date.now();
  const cold = await traceStep.execute(ctx);
  console.log(`cold run: ${Date.now() - t} ms; ${(cold.result.changes as unknown[]).length} changes touched the scope (${cold.result.summary})`);
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await traceStep.execute(ctx);
    samples.push(performance.now() - started);
  }
  console.log(summarize(`trace step, job start → step message (${AUDIT_EVENTS} audit events, ${JOURNAL_ENTRIES} journal entries, ${COMMITS} commits, 2,000 pods)`, samples));
  git.stop();
} finally {
  redis.disconnect();
  await sim.close();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
