// What the restore step proposes before approval: every known-good source with what it would
// change (objects, connections opened and closed), and the chosen source's plan, numbered, each
// step with its predicted delta and the API server's dry run of its write. Reads only.
import { shareLive } from '../compute/shared-lists.js';
import { computeOffThread } from '../compute/thread.js';
import { readScopeLive, servedKinds, type WatchedObjects } from '../containment/snapshot.js';
import type { ChangeJournal } from '../journal/index.js';
import { KubeApiError, type KubeGateway, type ObjectClient } from '../kube/index.js';
import type { KubeObject } from '../kube/resources.js';
import type { PolicyRepositories } from '../git/index.js';
import type { LiveObjects } from '../policy/index.js';
import { keyString } from '../drift/compare.js';
import { findControllers } from './controllers.js';
import type { EngineKind } from './engine.js';
import { handOver, liftAtOf } from './handover.js';
import type { RestorePlan, RestoreStep } from './plan.js';
import type { RestoreMode, RestoreProposal, SourceOption } from './run-model.js';
import { defaultOption, describeOption, knownGoodOptions, loadKnownGood, resolveRevision, type KnownGoodSource, type KnownGoodState } from './sources.js';

export interface ProposeContext {
  gateway: Pick<KubeGateway, 'objects' | 'discoverKinds'>;
  git?: PolicyRepositories;
  journal?: ChangeJournal;
  cause: { key: string; at: string } | null;
  namespaces: string[];
  fieldManager: string;
  mode: RestoreMode;
  /** The responder's pick: an option's index, or a typed revision (absent: the first option that exists). */
  choice?: { option: number } | { typed: string };
  /** The Argo CD Applications the incident's containment paused (the lift resumes them). */
  pausedByContainment?: ReadonlyArray<{ namespace: string; name: string }>;
  /** Every other namespace's pods and policies, as watches keep them (the restored namespaces are read fresh). */
  view?: WatchedObjects;
}

export interface Proposal {
  proposal: RestoreProposal;
  plan?: RestorePlan;
}

/**
 * The plan of one loaded source on the live state, on a compute thread: on 10k pods and policies
 * it is a second of CPU, which on the main thread held up every job and lock renewal meanwhile.
 */
export function planOf(state: KnownGoodState, live: LiveObjects, namespaces: string[]): Promise<RestorePlan> {
  return computeOffThread('restorePlan', {
    live: shareLive(live),
    knownGood: { label: state.source.label, objects: state.objects, complete: state.complete, unknown: state.unknown },
    namespaces,
  });
}

function counts(plan: RestorePlan): { objects: number; opened: number; closed: number } {
  return { objects: plan.steps.length, opened: new Set(plan.steps.flatMap((s) => s.opened)).size, closed: new Set(plan.steps.flatMap((s) => s.closed)).size };
}

/** The API server's verdict on a step's write, without writing it. */
async function dryRun(step: RestoreStep, ctx: ProposeContext): Promise<string> {
  const client = ctx.gateway.objects(step.key.kind as EngineKind) as unknown as ObjectClient<KubeObject>;
  try {
    if (step.action === 'create') await client.create(step.after as KubeObject, { dryRun: true, fieldManager: ctx.fieldManager });
    else if (step.action === 'update') await client.apply(step.after as KubeObject, { dryRun: true, fieldManager: ctx.fieldManager, ...(step.resourceVersion ? { resourceVersion: step.resourceVersion } : {}) });
    else await client.delete({ name: step.name, ...(step.namespace ? { namespace: step.namespace } : {}) }, { dryRun: true });
    return 'dry run ok';
  } catch (error) {
    return `dry run refused: ${error instanceof KubeApiError ? error.message : (error as Error).message}`.slice(0, 300);
  }
}

/** A step's predicted delta in a few words: `opens 2, closes 1`, or `no connectivity change`. */
export function deltaText(step: Pick<RestoreStep, 'opened' | 'closed'>): string {
  return [step.opened.length > 0 ? `opens ${step.opened.length}` : '', step.closed.length > 0 ? `closes ${step.closed.length}` : ''].filter(Boolean).join(', ') || 'no connectivity change';
}

export function stepLine(step: RestoreStep, dry?: string): string {
  const by = step.syncedBy ? ` · ${step.syncedBy.owner} syncs it (${step.syncedBy.revision.slice(0, 12)}), verified` : '';
  return `${step.n}. ${step.action} \`${keyString(step.key)}\` — ${step.effect} (${deltaText(step)})${by}${dry ? ` · ${dry}` : ''}`;
}

export function liftLine(plan: RestorePlan): string {
  const bots = plan.containment.length > 0 ? ` (${plan.containment.length} object${plan.containment.length === 1 ? '' : 's'} of the bot's)` : '';
  const at = liftAtOf(plan);
  if (at > plan.steps.length) return `${at}. lift containment${bots}, verified, then the watch window`;
  // Steps left to a controller follow the lift: it resumes the reconcile containment paused.
  return `↳ lift containment${bots}, verified, before step ${at}: the steps from ${at} on are synced by their GitOps controller, then the watch window`;
}

/** The numbered plan: every step, the lift before the first one a controller syncs (or last). */
export function planLines(plan: RestorePlan, dry: readonly (string | undefined)[] = []): string[] {
  const lines = plan.steps.map((s, i) => stepLine(s, dry[i]));
  lines.splice(liftAtOf(plan) - 1, 0, liftLine(plan));
  return lines;
}

function notesOf(plan: RestorePlan, state: KnownGoodState): string[] {
  const notes = [...state.problems];
  if (state.source.caveat) notes.push(state.source.caveat);
  if (!plan.safe) notes.push(`no order keeps every intermediate state within both ends: ${plan.violations.length} state(s) would be more open (${plan.violations[0]?.connections.slice(0, 3).join('; ') ?? ''})`);
  if (plan.ordering === 'safety-first') notes.push('steps reordered so that no intermediate state is more open than both ends');
  if (plan.skipped.length > 0) notes.push(`${plan.skipped.length} object(s) not planned: ${plan.skipped.slice(0, 3).map((s) => `${s.where} (${s.reason})`).join('; ')}`);
  return notes;
}

/** The plan with the tail a GitOps controller would sync left to it (./handover.ts); unchanged when none would. */
async function handOverToControllers(plan: RestorePlan, state: KnownGoodState, ctx: ProposeContext): Promise<{ plan: RestorePlan; notes: string[] }> {
  const commits = new Map((state.source.revisions ?? []).map((r) => [r.repository, r.commit]));
  if (commits.size === 0) return { plan, notes: [] };
  try {
    const controllers = await findControllers({ gateway: ctx.gateway, ...(ctx.git ? { git: ctx.git } : {}), ...(ctx.pausedByContainment ? { pausedByContainment: ctx.pausedByContainment } : {}) });
    return handOver(plan, controllers, commits);
  } catch (error) {
    return { plan, notes: [`GitOps controllers could not be read (${(error as Error).message.slice(0, 200)}): the bot writes every step`] };
  }
}

/** Every source with its counts, the chosen one planned and dry-run. */
export async function propose(ctx: ProposeContext): Promise<Proposal> {
  const sourceCtx = { git: ctx.git, journal: ctx.journal, cause: ctx.cause, namespaces: ctx.namespaces };
  const served = servedKinds(await ctx.gateway.discoverKinds());
  const [sources, live] = await Promise.all([knownGoodOptions(sourceCtx), readScopeLive(ctx.gateway as KubeGateway, served, ctx.namespaces, ctx.view)]);
  const planned = new Map<number, { state: KnownGoodState; plan: RestorePlan }>();
  const options: SourceOption[] = [];
  for (const [index, source] of sources.entries()) {
    const base = { index, kind: source.kind, label: source.label, available: source.available, ...(source.reason ? { reason: source.reason } : {}), ...(source.caveat ? { caveat: source.caveat } : {}), ...(source.needsInput ? { needsInput: true as const } : {}) };
    if (!source.available || source.needsInput) {
      options.push({ ...base, text: describeOption(source, 0, { opened: 0, closed: 0 }) });
      continue;
    }
    try {
      const state = await loadKnownGood(source, sourceCtx);
      const plan = await planOf(state, live, ctx.namespaces);
      planned.set(index, { state, plan });
      const c = counts(plan);
      options.push({ ...base, ...c, text: describeOption(state.source, c.objects, c) });
    } catch (error) {
      const reason = (error as Error).message.slice(0, 300);
      options.push({ ...base, available: false, reason, text: describeOption({ ...source, available: false, reason }, 0, { opened: 0, closed: 0 }) });
    }
  }
  let chosen = -1;
  let typed: string | undefined;
  let picked: { state: KnownGoodState; plan: RestorePlan } | undefined;
  const choice = ctx.choice;
  const typedProblem: string[] = [];
  if (choice && 'typed' in choice) {
    try {
      const source: KnownGoodSource = await resolveRevision(sourceCtx, choice.typed);
      const state = await loadKnownGood(source, sourceCtx);
      picked = { state, plan: await planOf(state, live, ctx.namespaces) };
      typed = choice.typed;
      chosen = sources.findIndex((s) => s.needsInput);
    } catch (error) {
      // A typo must not end the step: the default is planned, and the thread says why.
      typedProblem.push(`\`${choice.typed.slice(0, 200)}\` cannot be used: ${(error as Error).message.slice(0, 300)}; planned from the default source instead`);
    }
  }
  if (!picked) {
    const wanted = choice && 'option' in choice ? choice.option : sources.indexOf(defaultOption(sources) as KnownGoodSource);
    chosen = planned.has(wanted) ? wanted : ([...planned.keys()][0] ?? -1);
    picked = planned.get(chosen);
  }
  if (!picked) {
    const summary = 'No known-good source can be used: nothing to restore from (see each option)';
    return { proposal: { kind: 'restore-proposal', summary, options, chosen: -1, mode: ctx.mode, steps: [], safe: true, notes: typedProblem } };
  }
  const { state } = picked;
  const handover = await handOverToControllers(picked.plan, state, ctx);
  const plan = handover.plan;
  const dry = await Promise.all(plan.steps.map((s) => dryRun(s, ctx)));
  const lines = planLines(plan, dry);
  const refused = dry.filter((d) => d.startsWith('dry run refused')).length;
  const c = counts(plan);
  const summary = `Restore from ${state.source.label}: ${c.objects} step${c.objects === 1 ? '' : 's'} (opens ${c.opened}, closes ${c.closed} connection${c.closed === 1 ? '' : 's'}) then the lift${refused > 0 ? ` · ${refused} dry run${refused === 1 ? '' : 's'} refused` : ''}`;
  const notes = [...typedProblem, ...notesOf(plan, state), ...handover.notes];
  return { proposal: { kind: 'restore-proposal', summary, options, chosen, ...(typed ? { typed } : {}), mode: ctx.mode, steps: lines, safe: plan.safe, notes }, plan };
}
