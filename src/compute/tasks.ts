// The pure computations that run on a worker thread (thread.ts): each takes seconds of CPU on a
// large cluster, which on the main thread would hold up every Slack acknowledgement meanwhile.
// Tasks take their whole-cluster lists shared (shared-lists.ts): `shareLive(live)`.
import { computeValidation, type ValidationInput } from '../playbook/steps/validate-compute.js';
import { policyFingerprintOfParts, proveContainmentOf, scopeConnectivityOf, type FingerprintMemo, type ScopeView } from '../containment/proof.js';
import { projectContainment, type ContainmentPlan } from '../containment/design.js';
import { containmentPreview, type PreviewInput } from '../containment/preview.js';
import { CompareMemo } from '../drift/compare.js';
import { driftDelta } from '../drift/delta.js';
import type { DesiredObject } from '../git/render.js';
import type { CompileMemo, LiveObjects, PolicyIndex } from '../policy/index.js';
import { indexLive, type BuiltIndex } from '../policy/index-refresh.js';
import { planRestore, type RestorePlanInput } from '../restore/plan.js';
import { deepFreeze, openDesired, openLive, openLiveParts, type SharedList, type SharedLive } from './shared-lists.js';
import type { TracedChange } from '../trace/changes.js';
import { changeEffects, type Probe } from '../trace/effects.js';

// Shared lists are decoded once per thread and frozen: their objects cannot change, so what was
// read of them is kept across tasks (a containment's proof reads again only its scope's namespace).
const frozenMemo: CompileMemo = new WeakMap();
const frozenFingerprints: FingerprintMemo = new WeakMap();

/**
 * An index kept for the next task's state, refreshed in place: one containment after another, or
 * one validation after another, each state is a namespace or two away from the last (a build of
 * 10k pods and policies took 120–300 ms of a thread, for every click).
 */
function keptIndex(): { of: (live: LiveObjects) => BuiltIndex; lend: <T>(live: LiveObjects, use: (index: PolicyIndex) => T) => T } {
  let last: BuiltIndex | undefined;
  const of = (live: LiveObjects): BuiltIndex => {
    // Let go first: a task that throws midway leaves no half-refreshed index for the next one.
    const previous = last;
    last = undefined;
    last = indexLive(previous, live, frozenMemo);
    return last;
  };
  return {
    /** The index of `live`, for a task that only reads it. */
    of,
    /**
     * The index of `live` for a task that changes its NetworkPolicies (the trace's walk back):
     * kept only if the task returns. The next refresh compares the state with the index's own
     * policies, not with the objects it was built from, so it puts back what the task changed.
     */
    lend: (live, use) => {
      const built = of(live);
      last = undefined;
      const out = use(built.index);
      last = built;
      return out;
    },
  };
}

const containmentIndex = keptIndex();
const validationIndex = keptIndex();
const traceIndex = keptIndex();

// What the last validation compared, for the next: the live objects and Git's are the thread's
// frozen shared ones, so most of both sides are the very same objects again.
const validationCompare = new CompareMemo();

type SharedDesiredState = Omit<NonNullable<ValidationInput['desired']>, 'objects'> & { objects: readonly DesiredObject[] | SharedList };

export const COMPUTE_TASKS = {
  /** The validate step: drift, delta, indexes, tests and lint over the whole cluster. */
  validation: ({ live, desired, ...input }: Omit<ValidationInput, 'live' | 'desired'> & { live: SharedLive; desired?: SharedDesiredState }) =>
    computeValidation({ ...input, live: openLive(live), ...(desired ? { desired: { ...desired, objects: openDesired(desired.objects) } } : {}) }, { compile: frozenMemo, compare: validationCompare, index: (live) => validationIndex.of(live).index }),
  /** The trace step: what each change did to the scope, walking the cluster's states back. */
  changeEffects: (input: { live: SharedLive; changes: TracedChange[]; scope: ScopeView; probes: Probe[]; /** Per change: replayed, but not a suspect. */ ignored: boolean[] }) => {
    const ignored = new Set(input.changes.filter((_, i) => input.ignored[i]));
    const live = openLive(input.live);
    // Frozen, as the live objects are: the states the walk builds anew then read each object once.
    deepFreeze(input.changes);
    return traceIndex.lend(live, (index) => changeEffects(live, input.changes, input.scope, input.probes, (change) => ignored.has(change), { index, memo: frozenMemo }));
  },
  /** The contain step's proof: what stays open to or from the scope. */
  proveContainment: (input: { live: SharedLive; scope: ScopeView; dns: { namespace: string; podLabels: Record<string, string> } }) =>
    proveContainmentOf(containmentIndex.of(openLive(input.live)), input.scope, input.dns),
  /** The scope's connectivity and the policies' fingerprint before containment (the lift is verified against them). */
  containmentBaseline: (input: { live: SharedLive; scope: ScopeView }) => {
    // The fingerprint by parts: a namespace's policies unchanged since an earlier task give their entries at once.
    return { connectivity: scopeConnectivityOf(containmentIndex.of(openLive(input.live)).index, input.scope), fingerprint: policyFingerprintOfParts(openLiveParts(input.live), frozenFingerprints) };
  },
  /** The contain step's preview: the predicted proof, what the containment would cut, and what other policies would keep open. */
  // The state after containment is projected here, from the plan: the objects it creates are then
  // the very ones in that state, which is how the blast radius tells their own exceptions apart.
  containmentPreview: ({ before: shared, plan, incidentId, ...input }: Omit<PreviewInput, 'before' | 'after' | 'created'> & { before: SharedLive; plan: ContainmentPlan; incidentId: string }) => {
    const before = openLive(shared);
    return containmentPreview({ ...input, before, after: projectContainment(before, plan, incidentId), created: plan.create }, frozenMemo);
  },
  /** The restore step's plan from one known-good source: each step's effect and the safety of every state between, on the whole cluster. */
  restorePlan: ({ live, ...input }: Omit<RestorePlanInput, 'live'> & { live: SharedLive }) => planRestore({ ...input, live: openLive(live) }),
  /** The drift monitor: what an episode's drift opens and closes, against Git. */
  driftDelta: ({ live, desired, ...input }: Omit<Parameters<typeof driftDelta>[0], 'live'> & { live: SharedLive }) => driftDelta({ ...input, live: openLive(live), desired: openDesired(desired) }, frozenMemo),
};

export type ComputeTask = keyof typeof COMPUTE_TASKS;
export type TaskInput<T extends ComputeTask> = Parameters<(typeof COMPUTE_TASKS)[T]>[0];
export type TaskOutput<T extends ComputeTask> = ReturnType<(typeof COMPUTE_TASKS)[T]>;
