// Git benchmark for the trace step: a policy repository of 5,000 commits over 180 days (400
// policy files in 40 namespaces; one "hot" policy changed every 10th commit and renamed half-way).
// Figures: the first clone, the cold index, then locate + commitsTouching for one object (what the
// trace asks per changed object), each p50/p99, and trail() over a week.
// GIT_BENCH_COMMITS changes the size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { PolicyRepository } from '../../src/git/repository.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';
import { summarize } from './stats.js';

const COMMITS = Number(process.env.GIT_BENCH_COMMITS ?? 5000);
const NAMESPACES = 40;
const PER_NAMESPACE = 10;
const DAY = 86_400_000;
const people = ['erin', 'frank', 'dave', 'grace', 'heidi'].map((n) => ({ name: n, email: `${n}@shop.example` }));

let seed = 42;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

function policy(ns: number, i: number, port: number): string {
  return stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `policy-${i}`, namespace: `ns-${ns}`, labels: { team: `t${ns % 7}` } },
    spec: { podSelector: { matchLabels: { app: `app-${i}` } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${(ns + 1) % 7}` } } }], ports: [{ protocol: 'TCP', port }] }] },
  });
}

function history(now: number): HistoryCommit[] {
  const start = now - 180 * DAY;
  const step = (180 * DAY) / COMMITS;
  const initial: Record<string, string> = {};
  for (let ns = 0; ns < NAMESPACES; ns++) for (let i = 0; i < PER_NAMESPACE; i++) initial[`policies/ns-${ns}/policy-${i}.yaml`] = policy(ns, i, 1000 + i);
  const commits: HistoryCommit[] = [{ author: people[0]!, time: new Date(start), message: 'initial policies', files: initial }];
  let hotPath = 'policies/ns-7/policy-3.yaml';
  for (let n = 1; n < COMMITS; n++) {
    const time = new Date(start + n * step);
    if (n === Math.floor(COMMITS / 2)) {
      commits.push({ author: pick(people), time, message: 'move the hot policy', renames: [[hotPath, 'policies/ns-7/hot/policy-3.yaml']] });
      hotPath = 'policies/ns-7/hot/policy-3.yaml';
      continue;
    }
    const [ns, i, path] = n % 10 === 0 ? [7, 3, hotPath] : ((): [number, number, string] => {
      const a = Math.floor(rnd() * NAMESPACES);
      const b = Math.floor(rnd() * PER_NAMESPACE);
      const p = `policies/ns-${a}/policy-${b}.yaml`;
      return p === 'policies/ns-7/policy-3.yaml' ? [a, b, hotPath] : [a, b, p];
    })();
    commits.push({ author: pick(people), time, message: `ns-${ns}: port for policy-${i}`, files: { [path]: policy(ns, i, 2000 + (n % 5000)) } });
  }
  return commits;
}

async function measure(label: string, runs: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  process.stdout.write(`  ${summarize(label, samples)}\n`);
}

const root = mkdtempSync(join(tmpdir(), 'netpol-git-bench-'));
try {
  const now = Date.now();
  const remote = join(root, 'policies.git');
  let t = performance.now();
  await createBareRepository(remote);
  await writeHistory(remote, history(now));
  process.stdout.write(`\n${COMMITS} commits, ${NAMESPACES * PER_NAMESPACE} policy files: repository written in ${(performance.now() - t).toFixed(0)} ms\n`);

  const config = gitRepositorySchema.parse({ name: 'bench', url: `file://${remote}`, paths: ['policies'] });
  const repo = new PolicyRepository(config, { dir: join(root, 'clones') });
  t = performance.now();
  const synced = await repo.sync();
  if (!synced.ok) throw new Error(synced.error);
  process.stdout.write(`  first sync (clone)            ${(performance.now() - t).toFixed(0)} ms\n`);
  const hot = { kind: 'NetworkPolicy', namespace: 'ns-7', name: 'policy-3' };
  t = performance.now();
  const location = await repo.locate(hot);
  process.stdout.write(`  cold index at head + locate   ${(performance.now() - t).toFixed(0)} ms (${location?.path})\n`);
  const since180 = new Date(now - 181 * DAY).toISOString();
  const since7 = new Date(now - 7 * DAY).toISOString();
  const all = await repo.commitsTouching(location!.path, since180);
  process.stdout.write(`  the hot policy: ${all.length} commits in 180 days, across its rename\n`);

  const objects = Array.from({ length: 200 }, () => ({ kind: 'NetworkPolicy', namespace: `ns-${Math.floor(rnd() * NAMESPACES)}`, name: `policy-${Math.floor(rnd() * PER_NAMESPACE)}` }));
  await measure('locate (warm index), random object', 2000, (i) => repo.locate(objects[i % objects.length]!));
  await measure('commitsTouching, hot file, 7 days', 50, () => repo.commitsTouching(location!.path, since7));
  await measure('commitsTouching, hot file, 180 days', 50, () => repo.commitsTouching(location!.path, since180));
  await measure('locate + commitsTouching 7 days, random object', 100, async (i) => {
    const where = await repo.locate(objects[i % objects.length]!);
    if (where) await repo.commitsTouching(where.path, since7);
  });
  await measure('trail (locate, commits, objectAt each, state before), hot, 7 days', 20, () => repo.trail(hot, since7));
  process.stdout.write(`  parsed blobs cached: ${(repo as unknown as { indexer: { cachedBlobs: number } }).indexer.cachedBlobs}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
