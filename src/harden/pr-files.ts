// The files of the hardening pull request (step 5), built from what the approver saw: the
// generated baseline under the repository's policy path replacing the policies the repository
// declared for those namespaces (supersede.ts: files deleted or rewritten), the repository's netpol-tests.yaml with
// the learned edges (allow) and the incident's anomalous flows (deny) merged in, a snapshot of the
// workloads those tests name (the policy repository holds no pods, and `test`/`diff` need them),
// the CI job that runs lint, test and diff, and the request's title and body. Pure.
import { isSeq, parseDocument, stringify, type YAMLMap } from 'yaml';
import { NET_TEST_LIMITS, NetTestFileError, parseTestCases, type NetTestCase } from '../nettest/cases.js';
import type { ProposedFile } from '../git/change-proposal.js';
import type { HardenProof, HardenTarget } from './step-model.js';
import { supersede, type DeclaredPolicy, type SupersedePlan } from './supersede.js';

export type CiProvider = 'github' | 'gitlab' | 'unknown';

/** A connection as the tests take it: `ns/workload` or an address on each side. */
export interface TestConnection {
  src: string;
  dst: string;
  port: number;
  protocol: string;
}

export interface PrNamespace {
  namespace: string;
  files: Array<{ path: string; yaml: string }>;
  proof: HardenProof;
  flagged: Array<{ workload: string; reason: string; omitted?: boolean }>;
  /** What the proof kept in (`ns/name`), to compare with what the change can remove now. */
  kept?: string[];
  /** The narrowed copies the proof counted in (narrow.ts). */
  narrowed?: Array<{ key: string; from: string; workloads: string[] }>;
}

export interface PrFilesInput {
  incident: { id: string; scope: string; reason?: string; /** The incident message in Slack. */ permalink?: string };
  provider: CiProvider;
  /** git.repositories[].paths[0] ('' or '.': the repository's root). */
  policyPath: string;
  namespaces: PrNamespace[];
  /** The repository's tests file: its path and its text at the base branch (absent: not there). */
  tests: { path: string; existing?: string };
  learned: readonly TestConnection[];
  anomalies: readonly TestConnection[];
  /** Live Namespace and Pod objects the workload snapshot is cut from; NetworkPolicies for the notes. */
  live: { namespaces: readonly unknown[]; pods: readonly unknown[]; networkPolicies?: readonly unknown[] };
  /** The repository already has a .gitlab-ci.yml: the job goes to a file of its own, to include. */
  gitlabCiExists?: boolean;
  /** netpol-responder version the CI job runs (npx netpol-responder@<version>). */
  toolVersion?: string;
  /** The loop so far, for the body. */
  story: { cause?: string; restore?: string; contained?: string };
  target?: HardenTarget;
  /** NetworkPolicies the repository already declares in the hardened namespaces: the baseline replaces them. */
  declared?: readonly DeclaredPolicy[];
  /** The repository's text of the plain files those policies are in. */
  declaredTexts?: Readonly<Record<string, string>>;
  /** The repository's kustomization files above the policy files (they follow deletions and new files). */
  kustomizations?: Readonly<Record<string, string>>;
  now: string;
}

export interface PrFiles {
  files: ProposedFile[];
  /** Repository files the baseline replaces entirely. */
  deletions: string[];
  title: string;
  body: string;
  /** The tests file the CI job runs (the repository's, or ours next to a malformed one). */
  testsPath: string;
  /** Cases added to the tests file, by kind; what was left out and why. */
  cases: { allow: number; deny: number; skipped: number };
  notes: string[];
}

export const WORKLOADS_SNAPSHOT = '.netpol-responder/workloads.yaml';
export const GITHUB_WORKFLOW = '.github/workflows/netpol.yaml';
export const GITLAB_CI = '.gitlab-ci.yml';
export const GITLAB_CI_INCLUDE = '.gitlab/ci/netpol.yml';
const MAX_SNAPSHOT_PODS = 5000;

/** `paths[0]` as a prefix: '' for the root, else `dir/`. */
export function policyDir(path: string): string {
  const trimmed = path.replace(/^\.\/?/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

function connectionKey(c: { from: string; to: string; port: number | string; protocol: string }): string {
  return `${c.from}\u0000${c.to}\u0000${String(c.port)}\u0000${c.protocol.toUpperCase()}`;
}

interface MergedTests {
  path: string;
  text: string;
  cases: NetTestCase[];
  added: { allow: number; deny: number; skipped: number };
  notes: string[];
}

/**
 * The tests file with our cases appended. The team's cases and comments are kept as written, and a
 * connection they already test is not added again (their expectation wins). A file that does not
 * parse is left untouched: our cases go to a file of their own next to it, and the body says why.
 */
export function mergeTestCases(input: Pick<PrFilesInput, 'tests' | 'learned' | 'anomalies' | 'incident'>): MergedTests {
  const notes: string[] = [];
  let path = input.tests.path;
  let existing: NetTestCase[] = [];
  let doc = parseDocument('cases: []\n');
  if (input.tests.existing !== undefined) {
    try {
      existing = parseTestCases(input.tests.existing, path).cases;
      doc = parseDocument(input.tests.existing);
    } catch (error) {
      if (!(error instanceof NetTestFileError)) throw error;
      const dot = path.lastIndexOf('.');
      path = dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}.netpol-responder${path.slice(dot)}` : `${path}.netpol-responder.yaml`;
      notes.push(`${input.tests.path} does not parse (${error.message.split('\n')[0]}): it is left as it is, and the new cases are in ${path}.`);
    }
  }
  const seen = new Set(existing.map(connectionKey));
  const wanted = [...input.anomalies.map((c) => ({ ...c, expect: 'deny' as const })), ...input.learned.map((c) => ({ ...c, expect: 'allow' as const }))];
  const room = NET_TEST_LIMITS.maxCases - existing.length;
  const added = { allow: 0, deny: 0, skipped: 0 };
  const items: Array<Record<string, unknown>> = [];
  for (const c of wanted) {
    const item = { from: c.src, to: c.dst, port: c.port, protocol: c.protocol.toUpperCase(), expect: c.expect };
    const key = connectionKey(item);
    if (seen.has(key)) continue;
    if (items.length >= room) {
      added.skipped += 1;
      continue;
    }
    seen.add(key);
    items.push(item);
    added[c.expect] += 1;
  }
  if (added.skipped > 0) notes.push(`${added.skipped} case(s) not added: a tests file holds at most ${NET_TEST_LIMITS.maxCases}.`);
  const cases = doc.get('cases', true);
  const seq = isSeq(cases) ? cases : doc.createNode([]);
  if (!isSeq(cases)) (doc.contents as YAMLMap).set('cases', seq);
  items.forEach((item, i) => {
    const node = doc.createNode(item);
    if (i === 0) node.commentBefore = ` Added by netpol-responder (incident ${input.incident.id}): what the apps were seen doing must stay allowed, the incident's flows denied.`;
    seq.items.push(node);
  });
  const text = doc.toString({ lineWidth: 0 });
  // What we write must be what the CI job can read.
  const parsed = parseTestCases(text, path).cases;
  return { path, text, cases: parsed, added, notes };
}

function objectOf(o: unknown): { metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind?: string; name?: string; apiVersion?: string; controller?: boolean }> } } {
  return typeof o === 'object' && o !== null ? (o as never) : {};
}

/** Namespaces and pods (names, labels, owners: what the engine needs) of the namespaces the tests name. */
export function workloadsSnapshot(live: PrFilesInput['live'], cases: readonly NetTestCase[], now: string): { text: string; notes: string[] } {
  const wanted = new Set<string>(['kube-system']);
  for (const c of cases) for (const side of [c.from, c.to]) if (side.includes('/') && !/^[0-9a-f:.]+\/\d+$/i.test(side)) wanted.add(side.slice(0, side.indexOf('/')));
  const docs: unknown[] = [];
  for (const ns of live.namespaces) {
    const m = objectOf(ns).metadata;
    if (m?.name && wanted.has(m.name)) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: m.name, ...(m.labels ? { labels: m.labels } : {}) } });
  }
  const pods = live.pods.filter((p) => {
    const m = objectOf(p).metadata;
    // kube-system: its DNS pods only (the baseline's DNS rule names them).
    return m?.namespace !== undefined && wanted.has(m.namespace) && (m.namespace !== 'kube-system' || m.labels?.['k8s-app'] === 'kube-dns');
  });
  for (const p of pods.slice(0, MAX_SNAPSHOT_PODS)) {
    const m = objectOf(p).metadata ?? {};
    const owners = (m.ownerReferences ?? []).filter((o) => o.controller).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, controller: true }));
    docs.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: m.name, namespace: m.namespace, ...(m.labels ? { labels: m.labels } : {}), ...(owners.length > 0 ? { ownerReferences: owners } : {}) } });
  }
  const notes = pods.length > MAX_SNAPSHOT_PODS ? [`The workload snapshot holds the first ${MAX_SNAPSHOT_PODS} of ${pods.length} pods.`] : [];
  const header = `# The cluster's workloads as netpol-responder saw them at ${now}: the pods the network tests name,\n# so that \`netpol-responder test\` and \`diff\` can decide connections in CI. Refresh it when workloads change.\n`;
  return { text: header + docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join(''), notes };
}

function cli(version: string | undefined): string {
  return `npx --yes netpol-responder${version ? `@${version}` : ''}`;
}

function quoted(path: string): string {
  return path === '' ? '.' : path.replace(/\/$/, '');
}

/** The CI job: lint the policies, run the network tests, show what the change does against the base branch. */
export function ciFile(provider: CiProvider, o: { policyPath: string; testsPath: string; toolVersion?: string; incidentId: string; gitlabCiExists?: boolean }): ProposedFile {
  const dir = quoted(policyDir(o.policyPath));
  const run = cli(o.toolVersion);
  const lint = `${run} lint ${dir}`;
  const test = `${run} test ${dir} ${WORKLOADS_SNAPSHOT} --cases ${o.testsPath}`;
  const diff = (base: string) => `${run} diff "${base}/${dir}" ${WORKLOADS_SNAPSHOT} -- ${dir} ${WORKLOADS_SNAPSHOT}`;
  const header = `# Added by netpol-responder (incident ${o.incidentId}): checks the NetworkPolicies on every change request.\n`;
  if (provider === 'gitlab') {
    const job = {
      netpol: {
        image: 'node:20',
        rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }],
        script: [lint, test, 'git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"', 'git worktree add /tmp/netpol-base FETCH_HEAD', diff('/tmp/netpol-base')],
      },
    };
    return { path: o.gitlabCiExists ? GITLAB_CI_INCLUDE : GITLAB_CI, content: header + stringify(job, { lineWidth: 0 }) };
  }
  const paths = [...new Set([dir === '.' ? '**' : `${dir}/**`, o.testsPath, `${WORKLOADS_SNAPSHOT.split('/')[0]}/**`, GITHUB_WORKFLOW])];
  const workflow = {
    name: 'netpol',
    on: { pull_request: { paths } },
    jobs: {
      netpol: {
        'runs-on': 'ubuntu-latest',
        steps: [
          { uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 20 } },
          { name: 'Lint the policies', run: lint },
          { name: 'Network tests', run: test },
          { name: 'Connections the change opens and closes', run: `git worktree add "$RUNNER_TEMP/base" "origin/\${{ github.base_ref }}"\n${diff('$RUNNER_TEMP/base')}\n` },
        ],
      },
    },
  };
  return { path: GITHUB_WORKFLOW, content: header + stringify(workflow, { lineWidth: 0 }) };
}

function proofLines(n: PrNamespace): string[] {
  const p = n.proof;
  const lines = [
    `- Learned edges allowed: **${p.coverage.allowed}/${p.coverage.learned}** (${p.coverage.percent.toFixed(1)}%)`,
    `- Workload pairs allowed without an observed edge: **${p.unobserved.pairs}**${p.unobserved.examples.length > 0 ? ` (e.g. ${p.unobserved.examples.slice(0, 3).map((x) => `\`${x.src} → ${x.dst} ${x.conns}\``).join(', ')})` : ''}`,
    `- Anomalous flows denied: **${p.anomalies.denied}/${p.anomalies.total}**`,
    `- Lint: ${p.lint.errors} error(s), ${p.lint.warnings} warning(s)`,
  ];
  const omitted = n.flagged.filter((f) => f.omitted !== false);
  const cut = n.flagged.filter((f) => f.omitted === false);
  if (omitted.length > 0) lines.push(`- Not hardened: ${omitted.map((f) => `\`${f.workload}\` (${f.reason})`).join(', ')}; kept under their current policies (left out of default-deny)`);
  if (cut.length > 0) lines.push(`- **Cut off when merged** (too little history, and no label of their own to leave them out of default-deny; decide before merging): ${cut.map((f) => `\`${f.workload}\` (${f.reason})`).join(', ')}`);
  return lines;
}

const MAX_LISTED = 30;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).map((i) => `\`${i}\``).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function replacedLines(plan: SupersedePlan): string[] {
  const lines: string[] = [];
  if (plan.superseded.length > 0) lines.push(`- Replaced by the baseline: ${listed(plan.superseded)}${plan.deletions.length > 0 ? ` (${plan.deletions.length} file(s) deleted, the others rewritten without them)` : ''}`);
  const kept = plan.kept.map((k) => `${k.key} (${k.path}: ${k.why})`);
  if (kept.length > 0) lines.push(`- Kept, and counted in the proof: ${listed(kept)}`);
  const narrowed = plan.narrowed.map((c) => `${c.key} (narrowed from ${c.from}, for ${c.workloads.join(', ')}; ${c.path})`);
  if (narrowed.length > 0) lines.push(`- Kept for workloads not hardened, and counted in the proof: ${listed(narrowed)}: the replaced policies' rules, selecting only the pods left out of default-deny, so that they are exactly as restricted as before`);
  if (plan.liveOnly.length > 0) lines.push(`- In the cluster but not in this repository (the proof assumes they are gone; delete them or add them here): ${listed(plan.liveOnly)}`);
  return lines;
}

export function prBody(input: PrFilesInput, tests: MergedTests, ci: ProposedFile, notes: readonly string[], plan?: SupersedePlan): string {
  const s = input.story;
  const lines = [
    `Post-incident hardening for incident \`${input.incident.id}\` (${input.incident.scope}), proposed by netpol-responder and approved in Slack.`,
    '',
    '## The incident',
    ...(input.incident.permalink ? [`- Incident thread: ${input.incident.permalink}`] : []),
    ...(input.incident.reason ? [`- Reason: ${input.incident.reason}`] : []),
    `- Contained: ${s.contained ?? 'not recorded'}`,
    `- Cause: ${s.cause ?? 'not found by the trace step'}`,
    `- Restore: ${s.restore ?? 'not recorded'}`,
    '',
    '## What this changes',
    ...input.namespaces.map((n) => `- \`${n.namespace}\`: default-deny (DNS to kube-dns kept) and ${n.files.length - 1} workload file(s) with exactly the traffic the flow collector learned`),
    ...(plan ? replacedLines(plan) : []),
    `- \`${tests.path}\`: ${tests.added.allow} learned edge(s) that must stay allowed, ${tests.added.deny} anomalous flow(s) that must be denied`,
    `- \`${WORKLOADS_SNAPSHOT}\`: the pods the tests name, so CI can decide connections`,
    `- \`${ci.path}\`: lint, network tests and the connectivity diff against the base branch on every ${input.provider === 'gitlab' ? 'merge' : 'pull'} request`,
    '',
    '## Proof by the policy engine (live cluster, the namespace’s policies replaced by the baseline: the state after the merge)',
  ];
  for (const n of input.namespaces) lines.push(`### ${n.namespace}`, ...proofLines(n), '');
  if (notes.length > 0) lines.push('## Notes', ...notes.map((n) => `- ${n}`), '');
  lines.push(
    '## Before merging',
    '- The kustomizations above the policy files list the new files and no longer the deleted ones; check any other tool that renders this directory.',
    '',
    `Postmortem: \`/netpol export ${input.incident.id} html\` (or \`md\`) in Slack.`,
  );
  return lines.join('\n');
}

/** Every file of the request, its title and body. */
export function buildPrFiles(input: PrFilesInput): PrFiles {
  const dir = policyDir(input.policyPath);
  const tests = mergeTestCases(input);
  const snapshot = workloadsSnapshot(input.live, tests.cases, input.now);
  const ci = ciFile(input.provider, { policyPath: input.policyPath, testsPath: tests.path, incidentId: input.incident.id, ...(input.toolVersion ? { toolVersion: input.toolVersion } : {}), ...(input.gitlabCiExists ? { gitlabCiExists: true } : {}) });
  const policies = supersede({
    files: input.namespaces.flatMap((n) => n.files.map((f) => ({ path: `${dir}${f.path}`, content: f.yaml }))),
    declared: input.declared ?? [],
    texts: input.declaredTexts ?? {},
    live: { pods: [...input.live.pods], networkPolicies: [...(input.live.networkPolicies ?? [])] } as never,
    flagged: new Set(input.namespaces.flatMap((n) => n.flagged.map((f) => f.workload))),
    namespaces: input.namespaces.map((n) => n.namespace),
    kustomizations: input.kustomizations ?? {},
  });
  const notes = [...policies.notes, ...tests.notes, ...snapshot.notes];
  // The proof was made before approval: say so when the repository has changed what stays since.
  const proven = new Set(input.namespaces.flatMap((n) => [...(n.kept ?? []), ...(n.narrowed ?? []).map((c) => c.key)]));
  const now = new Set([...policies.kept.map((k) => k.key), ...policies.narrowed.map((c) => c.key)]);
  const copies = new Set([...input.namespaces.flatMap((n) => (n.narrowed ?? []).map((c) => c.key)), ...policies.narrowed.map((c) => c.key)]);
  const changed = [...new Set([...proven, ...now])].filter((k) => proven.has(k) !== now.has(k)).sort();
  if (input.namespaces.some((n) => n.kept !== undefined) && changed.length > 0) notes.push(`The repository changed since the proof: ${changed.map((k) => `${k} ${copies.has(k) ? (now.has(k) ? 'is now added (narrowed copy)' : 'is no longer added') : now.has(k) ? 'now stays' : 'is now replaced'}`).join(', ')}; the figures above are of the state before that change.`);
  if (ci.path === GITLAB_CI_INCLUDE) notes.push(`The repository has a ${GITLAB_CI} of its own: the job is in ${GITLAB_CI_INCLUDE}; add \`include: [{local: ${GITLAB_CI_INCLUDE}}]\` to it.`);
  const files: ProposedFile[] = [
    ...policies.files,
    { path: tests.path, content: tests.text },
    { path: WORKLOADS_SNAPSHOT, content: snapshot.text },
    ci,
  ];
  const names = input.namespaces.map((n) => n.namespace).join(', ');
  return {
    files,
    deletions: policies.deletions,
    title: `Baseline NetworkPolicies for ${names} (incident ${input.incident.id})`,
    body: prBody(input, tests, ci, notes, policies),
    testsPath: tests.path,
    cases: tests.added,
    notes,
  };
}
