// Step "restore" (Restore Safe State): puts the known-good policies back one object at a time,
// verifying each step, and lifts containment last. prepare() offers the known-good sources with
// what each would change and plans the chosen one (stored by id: approving the step approves that
// plan); execute() hands the plan to the restore runner (../restore-runner.ts), which applies and
// verifies step after step in the background and completes the step after the watch window.
import { z } from 'zod';
import { durationSchema, parseDuration } from '../../config/duration.js';
import type { Incident } from '../../incident/model.js';
import { liftAtOf } from '../../restore/handover.js';
import { propose } from '../../restore/propose.js';
import type { RestoreProposal } from '../../restore/run-model.js';
import { botActor, type TimelineEvent } from '../../timeline/types.js';
import { StepFailed, type StepContext, type StepHandler } from './types.js';

export const restoreParamsSchema = z
  .object({
    /** plan: one approval for the whole plan, with Stop; step: every step is approved on its own. */
    approve: z.enum(['plan', 'step']).default('plan'),
    /** How long the flow collector watches after each step (0: no traffic verification). */
    trafficWindow: durationSchema.default(parseDuration('30s')),
    /** After the lift: if the anomaly fires again within this time, Contain again is offered. */
    watchWindow: durationSchema.default(parseDuration('15m')),
    /** How long a GitOps controller gets to sync a step left to it (then the run stops, with Resume). */
    syncTimeout: durationSchema.default(parseDuration('2m')),
    /** More namespaces to restore, beyond the incident's and those the cause touched. */
    namespaces: z.array(z.string().min(1).max(253)).max(50).default([]),
  })
  .strict();

export type RestoreParams = z.infer<typeof restoreParamsSchema>;

export function restoreParams(raw: unknown): RestoreParams {
  return restoreParamsSchema.parse(raw ?? {});
}

/** The cause step 2 found: the trace step's result. */
export function causeOf(incident: Incident): { key: string; at: string } | null {
  for (const id of incident.stepOrder) {
    const cause = incident.steps[id]?.result?.cause as { key?: unknown; at?: unknown } | null | undefined;
    if (cause && typeof cause.key === 'string' && typeof cause.at === 'string') return { key: cause.key, at: cause.at };
  }
  return null;
}

/** The incident's namespace, the one the cause's object lives in, and the playbook's extra ones. */
export function restoreNamespaces(incident: Incident, cause: { key: string } | null, extra: readonly string[]): string[] {
  const parts = cause?.key.split('/') ?? [];
  const causeNamespace = parts.length === 3 ? parts[1] : undefined;
  return [...new Set([incident.scope.namespace, ...(causeNamespace ? [causeNamespace] : []), ...extra])];
}

function proposalOf(ctx: StepContext): RestoreProposal {
  const evidence = ctx.incident.steps[ctx.step.id]?.evidence as RestoreProposal | undefined;
  if (evidence?.kind !== 'restore-proposal') throw new StepFailed('the restore step has no proposal to run: its evidence is missing');
  return evidence;
}

export const restoreStep: StepHandler = {
  action: 'restore',

  validateParams(raw) {
    const parsed = restoreParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare(ctx) {
    if (!ctx.restore) throw new StepFailed('the restore step needs Redis for its plans (not configured)');
    const p = restoreParams(ctx.step.params);
    const cause = causeOf(ctx.incident);
    const namespaces = restoreNamespaces(ctx.incident, cause, p.namespaces);
    const paused = (await ctx.ledger?.load(ctx.incident.id))?.applications ?? [];
    const { proposal, plan } = await propose({
      gateway: ctx.cluster,
      git: ctx.git,
      journal: ctx.journal,
      cause,
      namespaces,
      fieldManager: ctx.settings.fieldManager,
      mode: p.approve,
      pausedByContainment: paused,
      ...(ctx.clusterView ? { view: ctx.clusterView } : {}),
      ...(ctx.incident.restoreChoice ? { choice: ctx.incident.restoreChoice } : {}),
    });
    const planId = plan ? await ctx.restore.savePlan(ctx.incident.id, plan) : undefined;
    const at = ctx.now().toISOString();
    const chosen = proposal.options[proposal.chosen];
    const events: TimelineEvent[] = [
      { at, type: 'restore.sources', actor: botActor, step: ctx.step.id, summary: ['*Known-good sources* (the first that exists is the default):', ...proposal.options.map((o) => `${o.index === proposal.chosen ? '➤' : '•'} ${o.index + 1}. ${o.text}`)].join('\n'), data: { options: proposal.options, chosen: proposal.chosen } },
    ];
    if (plan && planId) {
      events.push({
        at,
        type: 'restore.plan',
        actor: botActor,
        step: ctx.step.id,
        summary: [`*Restore plan* from ${proposal.typed ? `\`${proposal.typed}\`` : (chosen?.label ?? plan.label)} (${p.approve === 'plan' ? 'one approval for the whole plan; Stop halts before the next step' : 'each step approved on its own'}):`, ...proposal.steps, ...proposal.notes.map((n) => `_${n}_`)].join('\n'),
        data: { planId, source: plan.label, mode: p.approve, safe: plan.safe, ordering: plan.ordering, steps: plan.steps.map((s) => ({ n: s.n, action: s.action, key: `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`, effect: s.effect, opened: s.opened, closed: s.closed, diff: s.diff, ...(s.syncedBy ? { syncedBy: s.syncedBy.owner } : {}) })), notes: proposal.notes },
      });
    }
    return { ...proposal, ...(planId ? { planId } : {}), events };
  },

  async execute(ctx) {
    const proposal = proposalOf(ctx);
    if (!proposal.planId) throw new StepFailed(proposal.summary);
    const plan = await ctx.restore?.loadPlan(ctx.incident.id, proposal.planId);
    if (!plan) throw new StepFailed('the restore step needs Redis for its plans (not configured)');
    const approvedBy = (ctx.incident.steps[ctx.step.id]?.approvals ?? []).map((a) => a.user);
    return {
      result: { summary: `Restoring from ${plan.label}: ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}, then the lift`, planId: proposal.planId, source: plan.label, total: plan.steps.length },
      events: [],
      continues: { planId: proposal.planId, source: plan.label, mode: proposal.mode, total: plan.steps.length, approvedBy, liftAt: liftAtOf(plan) },
    };
  },
};
