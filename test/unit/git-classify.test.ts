import { describe, expect, it } from 'vitest';
import { classifyChange, isGitOpsActor, type ChangeActor, type CommitState } from '../../src/git/classify.js';
import type { GitCommit } from '../../src/git/log.js';
import { sameState } from '../../src/git/normalize.js';

type Obj = Record<string, unknown>;

function commit(n: number, time: string, author = 'erin', subject = `change ${n}`): GitCommit {
  return { sha: String(n).repeat(40).slice(0, 40), author: { name: author, email: `${author}@shop.example` }, committer: { name: author, email: `${author}@shop.example` }, time, authorTime: time, subject };
}

/** As written in Git: no defaults, kustomize-style (no namespace). */
function inGit(spec: Obj, extra: Obj = {}): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-db', labels: { team: 'data' }, ...extra }, spec };
}

/** As the apiserver returns it after a GitOps apply: defaults, server metadata, tool marks, status. */
function live(spec: Obj, extra: { labels?: Obj; annotations?: Obj } = {}): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'allow-db',
      namespace: 'db',
      uid: '6f1c…',
      resourceVersion: '4242',
      generation: 3,
      creationTimestamp: '2026-03-01T00:00:00Z',
      managedFields: [{ manager: 'argocd-controller', operation: 'Apply' }],
      labels: { team: 'data', 'app.kubernetes.io/instance': 'shop-network-policies', ...extra.labels },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'shop-network-policies:networking.k8s.io/NetworkPolicy:db/allow-db',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        ...extra.annotations,
      },
    },
    spec,
    status: {},
  };
}

const OPEN_SPEC = { podSelector: {}, egress: [{}] };
const TIGHT_SPEC = { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ port: 5432 }] }] };
const TIGHT_LIVE = { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] };
const OPEN_LIVE = { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{}] };

const argocd: ChangeActor = { tool: 'argocd', username: 'system:serviceaccount:argocd:argocd-application-controller' };
const alice: ChangeActor = { tool: 'kubectl', username: 'alice@shop.example' };

const c1 = commit(1, '2026-03-01T10:00:00Z', 'erin', 'db: tight ingress');
const c2 = commit(2, '2026-03-05T10:00:00Z', 'dave', 'db: open egress to debug the backup job');
const c3 = commit(3, '2026-03-05T11:00:00Z', 'erin', 'Revert "db: open egress to debug the backup job"');
const tight: CommitState = { commit: c1, object: inGit(TIGHT_SPEC) };
const open: CommitState = { commit: c2, object: inGit(OPEN_SPEC) };
const reverted: CommitState = { commit: c3, object: inGit(TIGHT_SPEC) };

describe('comparing Git with the live object', () => {
  it('ignores what the server and GitOps tools add, and fills NetworkPolicy defaults', () => {
    expect(sameState(inGit(TIGHT_SPEC), live(TIGHT_LIVE))).toBe(true);
    expect(sameState(inGit(OPEN_SPEC), live(OPEN_LIVE))).toBe(true);
    // policyTypes in another order, `from: []` and null fields read back as absent.
    expect(sameState(inGit({ ...OPEN_SPEC, policyTypes: ['Egress', 'Ingress'], ingress: [] }), live({ ...OPEN_LIVE, ingress: null }))).toBe(true);
    expect(sameState(inGit({ egress: [{}] }), live(OPEN_LIVE))).toBe(true);
    // Flux and Helm marks too.
    expect(sameState(inGit(TIGHT_SPEC), live(TIGHT_LIVE, { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'x', 'config.kubernetes.io/origin': 'path: a.yaml' } }))).toBe(true);
  });

  it('sees every real difference', () => {
    expect(sameState(inGit(TIGHT_SPEC), live(OPEN_LIVE))).toBe(false);
    expect(sameState(inGit(TIGHT_SPEC), live({ ...TIGHT_LIVE, ingress: [{ ...TIGHT_LIVE.ingress[0], ports: [{ protocol: 'UDP', port: 5432 }] }] }))).toBe(false);
    expect(sameState(inGit(TIGHT_SPEC), live({ ...TIGHT_LIVE, policyTypes: ['Ingress', 'Egress'] }))).toBe(false);
    // `namespaceSelector: {}` (every namespace) is not the same as none.
    expect(sameState(inGit({ podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }), live({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{}] }] }))).toBe(false);
    // A label someone added by hand counts; so does a tool mark that Git itself sets and live lost.
    expect(sameState(inGit(TIGHT_SPEC), live(TIGHT_LIVE, { labels: { debug: 'true' } }))).toBe(false);
    expect(sameState(inGit(TIGHT_SPEC, { labels: { team: 'data', 'app.kubernetes.io/managed-by': 'kustomize' } }), live(TIGHT_LIVE))).toBe(false);
    expect(sameState(inGit(TIGHT_SPEC), { ...live(TIGHT_LIVE), kind: 'CiliumNetworkPolicy' })).toBe(false);
    expect(sameState(inGit(TIGHT_SPEC), { ...live(TIGHT_LIVE), apiVersion: 'example.com/v1' })).toBe(false);
  });

  it('treats absent and deleted as the same state, and tolerates malformed objects', () => {
    expect(sameState(undefined, null)).toBe(true);
    expect(sameState(inGit(TIGHT_SPEC), null)).toBe(false);
    expect(sameState({ kind: 'NetworkPolicy', metadata: 'nonsense', spec: 7 } as Obj, { kind: 'NetworkPolicy', spec: 7 } as Obj)).toBe(true);
    const ns = (labels: Obj): Obj => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db', labels }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    expect(sameState({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db', labels: { env: 'prod' } } }, ns({ env: 'prod', 'kubernetes.io/metadata.name': 'db' }))).toBe(true);
    expect(sameState({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db', labels: { env: 'prod' } } }, ns({ env: 'dev' }))).toBe(false);
  });
});

describe('who is a GitOps controller', () => {
  it.each([
    [{ tool: 'argocd' }, true],
    [{ tool: 'kustomize-controller' }, true],
    [{ tool: 'helm-controller' }, true],
    [{ tool: 'flux' }, true],
    [{ manager: 'argocd-controller' }, true],
    [{ manager: 'kustomize-controller' }, true],
    [{ username: 'system:serviceaccount:flux-system:kustomize-controller' }, true],
    [{ username: 'system:serviceaccount:argocd:argocd-application-controller' }, true],
    [{ tool: 'kubectl', username: 'alice' }, false],
    [{ tool: 'helm' }, false],
    [{ username: 'system:serviceaccount:default:kustomize-controller-impostor' }, false],
    [{ tool: 'argocd', impersonatedBy: 'mallory' }, false],
    [{}, false],
  ])('%j → %s', (actor, expected) => {
    expect(isGitOpsActor(actor)).toBe(expected);
  });
});

describe('classifyChange', () => {
  it('a GitOps controller applying the newest commit: gitops-apply of it', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: argocd, at: '2026-03-05T10:03:00Z', commits: [open], before: tight })).toEqual({
      kind: 'gitops-apply',
      commit: c2,
      reason: 'system:serviceaccount:argocd:argocd-application-controller applied the state of 22222222 (dave, "db: open egress to debug the backup job")',
    });
    // Flux, recognised by its field manager.
    expect(classifyChange({ after: live(OPEN_LIVE), actor: { manager: 'kustomize-controller' }, commits: [open, tight] })).toMatchObject({ kind: 'gitops-apply', commit: c2 });
  });

  it('the state of an older commit, unchanged since: that commit produced it', () => {
    expect(classifyChange({ after: live(TIGHT_LIVE), actor: argocd, at: '2026-03-04T00:00:00Z', commits: [], before: tight })).toMatchObject({ kind: 'gitops-apply', commit: c1 });
  });

  it('a prune: the controller deleted what Git no longer declares', () => {
    const removed: CommitState = { commit: c3, object: undefined };
    expect(classifyChange({ after: null, actor: argocd, at: '2026-03-05T11:02:00Z', commits: [removed, open] })).toMatchObject({ kind: 'gitops-apply', commit: c3, reason: expect.stringContaining('applied the deletion of 33333333') });
  });

  it('a person applying by hand a state no commit holds: out-of-band', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, at: '2026-03-02T00:00:00Z', commits: [], before: tight })).toEqual({ kind: 'out-of-band', reason: 'alice@shop.example made a state that no commit holds' });
    // Deleting what Git declares.
    expect(classifyChange({ after: null, actor: alice, at: '2026-03-02T00:00:00Z', commits: [], before: tight })).toMatchObject({ kind: 'out-of-band', reason: expect.stringContaining('deletion') });
  });

  it('an object Git does not declare at all: out-of-band, unless a controller made it', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, commits: [] })).toEqual({ kind: 'out-of-band', reason: 'made by alice@shop.example; the policy repository does not declare this object' });
    expect(classifyChange({ after: live(OPEN_LIVE), actor: argocd, commits: [] })).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('no history in the policy repository') });
  });

  it('a hand-made change Git recorded only afterwards: out-of-band, naming the later commit', () => {
    const codified: CommitState = { commit: commit(4, '2026-03-03T00:00:00Z', 'frank', 'codify the hotfix'), object: inGit(OPEN_SPEC) };
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, at: '2026-03-02T00:00:00Z', commits: [codified], before: tight })).toMatchObject({ kind: 'out-of-band', laterCommit: codified.commit });
  });

  it('Git reverted after the apply, the controller has not synced yet: revert-pending', () => {
    const result = classifyChange({ after: live(OPEN_LIVE), actor: argocd, at: '2026-03-05T10:03:00Z', commits: [reverted, open], before: tight });
    expect(result).toMatchObject({ kind: 'revert-pending', commit: c3, applied: c2, appliedByGitOps: true });
    expect(result.reason).toBe(
      'live holds the state of 22222222 (dave, "db: open egress to debug the backup job"), applied by system:serviceaccount:argocd:argocd-application-controller; Git already holds a newer state, 33333333 (erin, "Revert "db: open egress to debug the backup job""), not applied yet',
    );
    // Without a change time, a newer differing commit is pending all the same.
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, commits: [reverted, open, tight] })).toMatchObject({ kind: 'revert-pending', commit: c3, applied: c2, appliedByGitOps: false });
  });

  it('a person rolling back by hand to an older commit while Git held a newer one: manual-apply of the older', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, at: '2026-03-06T00:00:00Z', commits: [reverted, open], before: tight })).toMatchObject({
      kind: 'manual-apply',
      commit: c2,
      reason: expect.stringContaining('applied by hand the older state of 22222222'),
    });
  });

  it('a person applying exactly the newest commit by hand: manual-apply', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: alice, at: '2026-03-05T10:30:00Z', commits: [open], before: tight })).toMatchObject({ kind: 'manual-apply', commit: c2 });
  });

  it('a controller applying a state no commit holds: unknown (clone behind, or a transformation)', () => {
    expect(classifyChange({ after: live({ podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 9999 }] }] }), actor: argocd, commits: [open], before: tight })).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('the clone may be behind'),
    });
  });

  it('a person impersonating the controller is not the controller', () => {
    expect(classifyChange({ after: live(OPEN_LIVE), actor: { ...argocd, impersonatedBy: 'mallory' }, at: '2026-03-05T10:30:00Z', commits: [open], before: tight })).toMatchObject({
      kind: 'manual-apply',
      reason: expect.stringMatching(/^mallory as system:serviceaccount:argocd:argocd-application-controller applied by hand/),
    });
  });

  it('a commit made after the change cannot have produced it (second-resolution skew allowed)', () => {
    const sameSecond = { ...open, commit: { ...c2, time: '2026-03-05T10:03:00Z' } };
    expect(classifyChange({ after: live(OPEN_LIVE), actor: argocd, at: '2026-03-05T10:02:59.400Z', commits: [sameSecond], before: tight })).toMatchObject({ kind: 'gitops-apply' });
    const later = { ...open, commit: { ...c2, time: '2026-03-05T10:03:05Z' } };
    expect(classifyChange({ after: live(OPEN_LIVE), actor: argocd, at: '2026-03-05T10:03:00Z', commits: [later], before: tight })).toMatchObject({ kind: 'out-of-band', laterCommit: later.commit });
  });

  it('survives malformed input', () => {
    expect(classifyChange({ after: { kind: 7 } as Obj, actor: {}, at: 'not a time', commits: [{ commit: c1, object: undefined }] })).toMatchObject({ kind: 'out-of-band' });
    expect(classifyChange({ after: null, actor: {}, commits: [{ commit: c1, object: undefined }] })).toMatchObject({ kind: 'manual-apply', commit: c1 });
  });
});
