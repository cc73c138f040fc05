// Which restore steps a GitOps controller syncs (after the lift) and which the bot writes: the
// plan's tail of steps that close nothing, whose object the controller would re-apply exactly.
import { describe, expect, it } from 'vitest';
import { controllerFor, handOver, liftAtOf, underDir, type GitOpsController } from '../../src/restore/handover.js';
import type { RestorePlan, RestoreStep } from '../../src/restore/plan.js';
import { sameRepositoryUrl } from '../../src/restore/controllers.js';
import { isLiftStep, stepWaits } from '../../src/restore/run-model.js';
import { planLines } from '../../src/restore/propose.js';

const COMMIT = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);

const app: GitOpsController = {
  tool: 'argocd',
  owner: 'Argo CD Application argocd/shop',
  application: { namespace: 'argocd', name: 'shop' },
  repository: 'policies',
  path: 'policies',
  commit: COMMIT,
};

function step(n: number, over: Partial<RestoreStep> = {}): RestoreStep {
  const name = over.name ?? `p${n}`;
  return {
    n,
    action: 'create',
    key: { kind: 'NetworkPolicy', namespace: 'db', name },
    kind: 'NetworkPolicy',
    namespace: 'db',
    name,
    before: null,
    after: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'db' }, spec: { podSelector: {} } },
    effect: 'widens',
    opened: ['a => b : TCP/5432'],
    closed: [],
    diff: [],
    source: { repository: 'policies', path: `policies/db/${name}.yaml`, line: 1 },
    ...over,
  } as RestoreStep;
}

function plan(steps: RestoreStep[]): RestorePlan {
  return { label: 'git', namespaces: ['db'], steps, containment: [], unchanged: 0, safe: true, violations: [], ordering: 'by-effect', skipped: [], knownGood: { label: 'git', objects: [] } };
}

const commits = new Map([['policies', COMMIT]]);

describe('underDir', () => {
  it.each([
    ['policies/db/x.yaml', 'policies', true],
    ['policies/db/x.yaml', 'policies/', true],
    ['policies/db/x.yaml', './policies', true],
    ['policies/db/x.yaml', '', true],
    ['policies/db/x.yaml', '.', true],
    ['policies-old/db/x.yaml', 'policies', false],
    ['other/x.yaml', 'policies', false],
    ['policies', 'policies', false],
  ])('%s in %j: %s', (file, dir, inside) => expect(underDir(file, dir)).toBe(inside));
});

describe('sameRepositoryUrl', () => {
  it.each([
    ['https://git.example/org/repo.git', 'https://git.example/org/repo', true],
    ['https://GIT.example/org/repo/', 'https://git.example/org/repo.git', true],
    ['file:///tmp/x/repo.git', 'file:///tmp/x/repo.git', true],
    ['https://git.example/org/Repo', 'https://git.example/org/repo', false],
    ['https://git.example/org/repo', 'https://git.example/org/repo2', false],
    ['', '', false],
  ])('%s ~ %s: %s', (a, b, same) => expect(sameRepositoryUrl(a, b)).toBe(same));
});

describe('controllerFor', () => {
  it('a create from the controller’s repository, directory and commit that closes nothing is the controller’s', () => {
    expect(controllerFor(step(1), [app], commits)).toEqual({ controller: app, revision: COMMIT });
  });

  it('objects outside its repository or directory, or from the journal, are not its business', () => {
    expect(controllerFor(step(1, { source: { repository: 'other', path: 'policies/db/p1.yaml' } }), [app], commits)).toBeUndefined();
    expect(controllerFor(step(1, { source: { repository: 'policies', path: 'legacy/db/p1.yaml' } }), [app], commits)).toBeUndefined();
    expect(controllerFor(step(1, { source: { journal: '1-0', resourceVersion: '7' } }), [app], commits)).toBeUndefined();
    expect(controllerFor(step(1, { source: undefined }), [app], commits)).toBeUndefined();
    expect(controllerFor(step(1, { source: 'policies/db/p1.yaml' }), [app], commits)).toBeUndefined();
  });

  it.each([
    ['a delete (the controller prunes only what it tracks)', step(1, { action: 'delete', after: null, before: {}, resourceVersion: '3' }), [app], commits, /would not delete it/],
    ['another revision than the restore’s', step(1), [{ ...app, commit: OTHER }], commits, /tracks bbbbbbbbbbbb, the restore goes back to aaaaaaaaaaaa/],
    ['an unresolved target revision', step(1), [{ ...app, commit: undefined, unresolved: 'no tag v9' }], commits, /cannot be resolved \(no tag v9\)/],
    ['paused by someone else', step(1), [{ ...app, pausedOtherwise: true }], commits, /paused \(skip-reconcile\), not by the containment/],
    ['a step that closes connections', step(1, { closed: ['x => y : TCP/1'], effect: 'mixed' }), [app], commits, /closes connections/],
    ['two controllers deploying the directory', step(1), [app, { ...app, owner: 'Argo CD Application argocd/twin', application: { namespace: 'argocd', name: 'twin' } }], commits, /2 controllers deploy/],
    ['a source without that repository’s commit', step(1), [app], new Map<string, string>(), /the restore goes back to another source/],
  ])('the bot writes it: %s', (_what, s, controllers, sourceCommits, reason) => {
    const v = controllerFor(s, controllers, sourceCommits);
    expect(v && 'reason' in v ? v.reason : '').toMatch(reason);
  });

  it('an update of an object carrying the containment’s exclusion stays the bot’s (a sync would strip it)', () => {
    const excluded = { metadata: { name: 'p1', namespace: 'db' }, spec: { podSelector: { matchExpressions: [{ key: 'netpol-responder.io/quarantine', operator: 'DoesNotExist' }] } } };
    const v = controllerFor(step(1, { action: 'update', before: excluded, resourceVersion: '4' }), [app], commits);
    const plain = controllerFor(step(1, { action: 'update', before: { metadata: { name: 'p1' }, spec: { podSelector: {} } }, resourceVersion: '4' }), [app], commits);
    expect(plain).toEqual({ controller: app, revision: COMMIT });
    expect(v && 'reason' in v ? v.reason : '').toMatch(/carries the containment's exclusion, which a sync would strip while contained/);
  });

  it('the containment having paused it is no obstacle: the lift resumes it', () => {
    expect(controllerFor(step(1), [{ ...app, pausedByContainment: true }], commits)).toMatchObject({ controller: { pausedByContainment: true } });
  });
});

describe('handOver', () => {
  it('hands over the longest tail of eligible steps; the lift goes before the first', () => {
    const steps = [step(1, { action: 'delete', after: null, before: {}, resourceVersion: '2', opened: [], closed: ['c'], effect: 'restricts' }), step(2), step(3)];
    const out = handOver(plan(steps), [app], commits);
    expect(out.plan.steps.map((s) => s.syncedBy?.owner)).toEqual([undefined, app.owner, app.owner]);
    expect(out.plan.steps[1]?.syncedBy).toEqual({ tool: 'argocd', owner: app.owner, application: app.application, revision: COMMIT });
    expect(liftAtOf(out.plan)).toBe(2);
    expect(out.notes.some((n) => /would not delete it/.test(n))).toBe(true);
  });

  it('an eligible step before a bot step stays the bot’s, with the reason', () => {
    const steps = [step(1), step(2, { source: { repository: 'elsewhere', path: 'x.yaml' } })];
    const out = handOver(plan(steps), [app], commits);
    expect(out.plan.steps.every((s) => s.syncedBy === undefined)).toBe(true);
    expect(liftAtOf(out.plan)).toBe(3);
    expect(out.notes).toEqual([expect.stringMatching(/would sync it, but a later step is the bot's/)]);
  });

  it('no controllers, or an empty plan: the plan unchanged', () => {
    const p = plan([step(1)]);
    expect(handOver(p, [], commits)).toEqual({ plan: p, notes: [] });
    expect(handOver(plan([]), [app], commits).plan.steps).toEqual([]);
    expect(liftAtOf(plan([]))).toBe(1);
  });

  it('caps its notes', () => {
    const steps = Array.from({ length: 30 }, (_, i) => step(i + 1, { closed: ['x'], effect: 'mixed' }));
    const out = handOver(plan(steps), [app], commits);
    expect(out.notes).toHaveLength(10);
    expect(out.notes.at(-1)).toBe('… 21 more objects the bot writes itself');
  });

  it('the numbered plan shows the lift before the steps a controller syncs', () => {
    const steps = [step(1, { action: 'delete', after: null, before: {}, resourceVersion: '2', opened: [], closed: ['c'], effect: 'restricts' }), step(2)];
    const lines = planLines(handOver(plan(steps), [app], commits).plan);
    expect(lines).toEqual([
      expect.stringMatching(/^1\. delete /),
      expect.stringMatching(/^↳ lift containment, verified, before step 2: the steps from 2 on are synced by their GitOps controller/),
      expect.stringMatching(/^2\. create `NetworkPolicy db\/p2` — widens \(opens 1\) · Argo CD Application argocd\/shop syncs it \(aaaaaaaaaaaa\), verified$/),
    ]);
    expect(planLines(plan(steps)).at(-1)).toBe('3. lift containment, verified, then the watch window');
  });
});

describe('the lift in the run', () => {
  const run = { mode: 'plan' as const, total: 3, next: 1 };
  it.each([
    [{ ...run, next: 4 }, true],
    [{ ...run, next: 3 }, false],
    [{ ...run, next: 2, liftAt: 2 }, true],
    [{ ...run, next: 2, liftAt: 2, lifted: true }, false],
    [{ ...run, next: 4, liftAt: 2, lifted: true }, false],
    [{ ...run, next: 4, liftAt: 9 }, true],
  ])('%j at the lift: %s', (r, at) => expect(isLiftStep(r)).toBe(at));

  it('step mode waits for each step but not for the lift', () => {
    expect(stepWaits({ mode: 'step', total: 3, next: 2 })).toBe(true);
    expect(stepWaits({ mode: 'step', total: 3, next: 2, liftAt: 2 })).toBe(false);
    expect(stepWaits({ mode: 'step', total: 3, next: 2, liftAt: 2, lifted: true })).toBe(true);
    expect(stepWaits({ mode: 'step', total: 3, next: 4 })).toBe(false);
    expect(stepWaits({ mode: 'plan', total: 3, next: 2 })).toBe(false);
  });
});
