// Step "contain": propose a containment that really isolates the scope (AdminNetworkPolicy,
// Cilium deny rules, or the portable exclusive NetworkPolicy isolation; the additive deny-all
// only when the playbook asks for it), show its exact objects, dry run and predicted proof; after
// approval apply it, read it back and prove it with the engine. Containment outlives the step:
// it is lifted by an approved "Lift containment", by its time box, or by the restore step.
import { z } from 'zod';
import { durationSchema } from '../../config/duration.js';
import { designContainment, exclusionOf, type ContainmentPlan } from '../../containment/design.js';
import { applyPlan, ContainmentError, containmentDeps, liftContainment, type ApplyReport, type ContainmentDeps } from '../../containment/execute.js';
import { withExclusion } from '../../containment/exclusion.js';
import { gitOpsWarning } from '../../containment/gitops.js';
import type { QuarantineTarget } from '../../containment/objects.js';
import { planFootprint, type PodView, type PolicyView } from '../../containment/plan.js';
import type { EngineProof } from '../../containment/proof.js';
import { shareLive } from '../../compute/shared-lists.js';
import { computeOffThread } from '../../compute/thread.js';
import { sameIntent } from '../../containment/readback.js';
import { beforeContainment } from '../../containment/before.js';
import { readLiveObjects, readScopeLive, servedKinds } from '../../containment/snapshot.js';
import { chooseStrategy, STRATEGIES, strongerStrategies, type ServedKinds, type StrategyName } from '../../containment/strategy.js';
import type { ContainmentState } from '../../incident/model.js';
import { KubeApiError } from '../../kube/index.js';
import type { LiveObjects } from '../../policy/index.js';
import { AUTOMATIC_RESPONSE_NAME, botActor, type TimelineEvent } from '../../timeline/types.js';
import { StepFailed, type StepContext, type StepHandler } from './types.js';

export const containParamsSchema = z
  .object({
    /** auto: the first exclusive strategy the cluster serves (AdminNetworkPolicy, Cilium, portable NetworkPolicy). */
    strategy: z.enum(['auto', ...STRATEGIES]).default('auto'),
    keepDnsEgress: z.boolean().default(true),
    dnsNamespace: z.string().min(1).default('kube-system'),
    dnsPodLabels: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }),
    /** Time box: containment is lifted (and verified) when it runs out, with a reminder first. */
    maxDuration: durationSchema.optional(),
    /** How long after the apply flows to and from the scope are watched (when the collector runs). */
    trafficWindow: durationSchema.default(30_000),
  })
  .strict();

export type ContainParams = z.infer<typeof containParamsSchema>;

/** Evidence lists are capped so the Slack message and the record stay small. */
const MAX_LISTED = 100;

/** The playbook's params; an incident opened by automatic response brings its own strategy and time box. */
function params(ctx: StepContext): ContainParams {
  const p = containParamsSchema.parse(ctx.step.params);
  const auto = ctx.incident.auto;
  const fromAuto = auto ? { strategy: auto.strategy === 'auto' || (STRATEGIES as readonly string[]).includes(auto.strategy ?? '') ? (auto.strategy as ContainParams['strategy']) : p.strategy, maxDuration: auto.maxDuration } : {};
  // A stronger strategy an approver asked for wins over the playbook's and the rule's.
  const override = (STRATEGIES as readonly string[]).includes(ctx.incident.strategyOverride ?? '') ? { strategy: ctx.incident.strategyOverride as StrategyName } : {};
  return { ...p, ...fromAuto, ...override };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function targetOf(ctx: StepContext, p: ContainParams, approvers: string[], appliedAt?: string): QuarantineTarget {
  const { namespace, labelSelector } = ctx.incident.scope;
  return {
    incidentId: ctx.incident.id,
    namespace,
    ...(labelSelector ? { labelSelector } : {}),
    dns: { keep: p.keepDnsEgress, namespace: p.dnsNamespace, podLabels: p.dnsPodLabels },
    approvers,
    ...(appliedAt ? { appliedAt } : {}),
  };
}

function scopeOf(ctx: StepContext) {
  const { namespace, labelSelector } = ctx.incident.scope;
  return { namespace, ...(labelSelector ? { labelSelector } : {}) };
}

function dnsOf(p: ContainParams) {
  return { namespace: p.dnsNamespace, podLabels: p.dnsPodLabels };
}

function depsOf(ctx: StepContext): ContainmentDeps {
  if (!ctx.ledger) throw new Error('the contain step needs the containment ledger');
  return containmentDeps(ctx.cluster, ctx.ledger, ctx.settings, ctx.logger, ctx.sleep);
}

async function served(ctx: StepContext): Promise<ServedKinds> {
  return servedKinds(await ctx.cluster.discoverKinds());
}

function inNamespace<T>(items: readonly unknown[] | undefined, namespace: string): T[] {
  return ((items ?? []) as Array<{ metadata?: { namespace?: string } }>).filter((o) => o?.metadata?.namespace === namespace) as T[];
}

/** The live objects from the watched view (see StepContext.clusterView). */
async function viewed(view: NonNullable<StepContext['clusterView']>): Promise<LiveObjects> {
  const [workloads, policies] = await Promise.all([view.workloads(), view.policies()]);
  return { ...workloads, ...policies };
}

/** Server-side dry runs of every write the plan makes; nothing changes. */
async function dryRun(ctx: StepContext, plan: ContainmentPlan, live: LiveObjects): Promise<{ ok: true } | { ok: false; error: string; errors: string[] }> {
  const errors: string[] = [];
  const { namespace } = ctx.incident.scope;
  const attempt = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
    } catch (error) {
      errors.push(`${what}: ${errorMessage(error)}`);
    }
  };
  for (const obj of plan.create) {
    await attempt(`${obj.kind} ${obj.metadata.name}`, () => ctx.cluster.objects(obj.kind as 'NetworkPolicy').apply(obj as never, { fieldManager: ctx.settings.fieldManager, dryRun: true, force: true }));
  }
  const policies = inNamespace<PolicyView & { metadata?: { name?: string } }>(live.networkPolicies, namespace);
  for (const patch of plan.footprint.patches) {
    const current = policies.find((p) => p.metadata?.name === patch.name);
    if (!current) continue;
    const next = { ...current, spec: { ...current.spec, podSelector: withExclusion(current.spec?.podSelector) } };
    await attempt(`exclude networkpolicy ${patch.name}`, () => ctx.cluster.objects('NetworkPolicy').replace(next as never, { fieldManager: ctx.settings.fieldManager, dryRun: true }));
  }
  for (const pod of plan.footprint.podsToLabel.slice(0, 1)) {
    // One pod is enough to know whether labelling is allowed.
    await attempt(`label pod ${pod}`, () => ctx.cluster.objects('Pod').mergePatch({ namespace, name: pod }, { metadata: { labels: { probe: 'dry-run' } } }, { dryRun: true }));
  }
  return errors.length === 0 ? { ok: true } : { ok: false, error: errors[0] as string, errors: errors.slice(0, 10) };
}

function warningsOf(plan: ContainmentPlan, ctx: StepContext): string[] {
  const warnings: string[] = [];
  const { hostNetworkPods, heldByOtherIncident, patches } = plan.footprint;
  if (hostNetworkPods.length > 0) {
    warnings.push(`${hostNetworkPods.length} pod(s) in scope run on the host network (${hostNetworkPods.slice(0, 5).join(', ')}): no NetworkPolicy, AdminNetworkPolicy or CiliumNetworkPolicy isolates them. Cordon and drain their node, or stop them.`);
  }
  for (const held of heldByOtherIncident.slice(0, 5)) warnings.push(`pod ${held.pod} is already quarantined by incident ${held.incident}.`);
  for (const patch of patches) {
    for (const owner of patch.gitops) warnings.push(`${patch.name}: ${gitOpsWarning(owner, ctx.settings.containment.argocdSkipReconcile)}`);
  }
  if (plan.strategy === 'networkpolicy-additive') {
    warnings.push('Additive strategy (chosen in the playbook): the allow rules of every other policy that selects these pods keep working next to the deny-all.');
  }
  return warnings;
}

function proofSummary(proof: EngineProof): string {
  return proof.contained ? 'contained: nothing but DNS to kube-dns is open' : `NOT contained: ${proof.openCount} connection${proof.openCount === 1 ? '' : 's'} stay open`;
}

export const containStep: StepHandler = {
  action: 'contain',

  validateParams(raw) {
    const parsed = containParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare(ctx) {
    const p = params(ctx);
    const kinds = await served(ctx);
    const decision = chooseStrategy(p.strategy, kinds);
    if (!decision.ok) throw new StepFailed(`${decision.message}. Set \`strategy: ${decision.suggestion}\` (or \`auto\`) in the playbook's contain step; nothing was changed.`);
    // A proposal predicts: the watched view serves it (fifty incidents opened at once list the
    // whole cluster once, not fifty times). Execute reads the scope's namespace fresh.
    const live = ctx.clusterView ? await viewed(ctx.clusterView) : await readLiveObjects(ctx.cluster, kinds);
    const { namespace } = ctx.incident.scope;
    const plan = designContainment({ strategy: decision.strategy, reason: decision.reason, target: targetOf(ctx, p, []), anpPriority: ctx.settings.containment.anpPriority, live });
    const selecting = planFootprint({
      incidentId: ctx.incident.id,
      labelSelector: ctx.incident.scope.labelSelector,
      pods: inNamespace<PodView>(live.pods, namespace),
      policies: inNamespace<PolicyView>(live.networkPolicies, namespace),
      mode: 'all-selecting',
    }).patches;
    const pods = inNamespace<PodView>(live.pods, namespace).filter((pod) => plan.footprint.scopePods.includes(pod.metadata?.name ?? ''));
    const check = await dryRun(ctx, plan, live);
    // Seconds of CPU on a large cluster: off the main thread, which answers Slack meanwhile.
    const { predicted, radius } = await computeOffThread('containmentPreview', {
      before: shareLive(live),
      plan,
      incidentId: ctx.incident.id,
      scopePods: plan.footprint.scopePods.map((name) => ({ namespace, name })),
      scope: scopeOf(ctx),
      dns: dnsOf(p),
    }, { priority: 'interactive' });
    if ('error' in radius) ctx.logger.warn({ error: radius.error }, 'could not compute the blast radius');
    const anomalies = (await ctx.anomalies?.forIncident(ctx.incident)) ?? [];
    const anomalyText = anomalies.length > 0 ? `${anomalies.length} anomal${anomalies.length === 1 ? 'y' : 'ies'} from the flow collector, ` : '';
    const changes = [`${plan.create.length} object${plan.create.length === 1 ? '' : 's'} to create`];
    if (plan.footprint.patches.length > 0) changes.push(`${plan.footprint.patches.length} polic${plan.footprint.patches.length === 1 ? 'y' : 'ies'} to exclude`);
    if (plan.footprint.podsToLabel.length > 0) changes.push(`${plan.footprint.podsToLabel.length} pod${plan.footprint.podsToLabel.length === 1 ? '' : 's'} to label`);
    return {
      summary:
        `${anomalyText}${pods.length} pod${pods.length === 1 ? '' : 's'} in scope, ${selecting.length} NetworkPolic${selecting.length === 1 ? 'y selects' : 'ies select'} them; ` +
        `${plan.strategy}: ${changes.join(', ')}; dry run ${check.ok ? 'passed' : 'FAILED'}; predicted ${proofSummary(predicted)}`,
      strategy: plan.strategy,
      strategyReason: plan.reason,
      anomalies,
      pods: pods.slice(0, MAX_LISTED).map((pod) => ({ name: pod.metadata?.name ?? '?', labels: pod.metadata?.labels ?? {}, phase: pod.status?.phase ?? 'Unknown' })),
      podCount: pods.length,
      policies: selecting.slice(0, MAX_LISTED).map((s) => ({ name: s.name })),
      plan: {
        create: plan.create,
        patches: plan.footprint.patches.slice(0, MAX_LISTED).map((x) => ({ name: x.name, why: x.why, selects: x.selects, gitops: x.gitops.map((o) => o.owner) })),
        podsToLabel: plan.footprint.podsToLabel.slice(0, MAX_LISTED),
      },
      dryRun: check,
      predictedProof: predicted,
      blastRadius: radius,
      warnings: warningsOf(plan, ctx),
      strongerStrategies: plan.strategy === 'networkpolicy-additive' ? strongerStrategies(plan.strategy, kinds) : [],
    };
  },

  async execute(ctx) {
    const p = params(ctx);
    const evidence = ctx.incident.steps[ctx.step.id]?.evidence ?? {};
    const approved = (STRATEGIES as readonly string[]).includes(String(evidence.strategy)) ? (evidence.strategy as StrategyName) : undefined;
    const kinds = await served(ctx);
    // The approvers approved one strategy: run that one, or stop (never quietly another).
    const decision = chooseStrategy(approved ?? p.strategy, kinds);
    if (!decision.ok) throw new StepFailed(`${decision.message}; nothing was changed. ${decision.suggestion} would work here.`);
    // On the objects' approved-by annotation: the approvers, or that nobody approved (automatic response).
    const approvers = ctx.incident.auto ? [AUTOMATIC_RESPONSE_NAME] : (ctx.incident.steps[ctx.step.id]?.approvals.map((a) => a.user) ?? []);
    const appliedAt = ctx.now().toISOString();
    const deps = depsOf(ctx);
    // Fresh where it decides (the scope's namespace, cluster-scoped policies), the watched view
    // elsewhere: two whole-cluster lists per click were most of a containment's time.
    const readLive = (): Promise<LiveObjects> => readScopeLive(ctx.cluster, kinds, ctx.incident.scope.namespace, ctx.clusterView);
    // A record already there: an earlier run of this step began the apply (its worker died).
    const [live, earlier] = await Promise.all([readLive(), deps.ledger.load(ctx.incident.id)]);
    const plan = designContainment({ strategy: decision.strategy, reason: decision.reason, target: targetOf(ctx, p, approvers, appliedAt), anpPriority: ctx.settings.containment.anpPriority, live });
    const scope = scopeOf(ctx);
    // The scope's connectivity before containment, computed on the urgent thread while the writes
    // go out (applyPlan records it before the containment is active). After a run that died
    // mid-apply, from the state with that run's changes taken out.
    const baseline =
      earlier?.meta.baseline !== undefined
        ? Promise.resolve(earlier.meta.baseline)
        : computeOffThread('containmentBaseline', { live: shareLive(earlier ? beforeContainment(live, earlier) : live), scope }, { priority: 'urgent' });
    let report: ApplyReport;
    let after: Promise<LiveObjects>;
    try {
      const meta = {
        incidentId: ctx.incident.id,
        strategy: plan.strategy,
        ...scope,
        startedAt: appliedAt,
        dns: { keep: p.keepDnsEgress, ...dnsOf(p) },
        ...(exclusionOf(plan.strategy) ? { exclusion: exclusionOf(plan.strategy) } : {}),
      };
      report = await applyPlan(deps, meta, plan, live, baseline);
      // What the proof reads, asked for beside the read-back (its failure is the proof's, below).
      after = readLive();
      after.catch(() => undefined);
      await readBack(ctx, plan);
    } catch (error) {
      throw new StepFailed(`${await rollback(deps, ctx, error)}${suggestion(error, plan.strategy, kinds)}`);
    }
    const events: TimelineEvent[] = [
      {
        at: ctx.now().toISOString(),
        type: 'policy.applied',
        actor: botActor,
        step: ctx.step.id,
        summary: appliedSummary(plan, report, earlier !== undefined),
        data: { strategy: plan.strategy, reason: plan.reason, objects: plan.create, ...report },
      },
      {
        at: ctx.now().toISOString(),
        type: 'policy.confirmed',
        actor: botActor,
        step: ctx.step.id,
        summary: `Read back: ${plan.create.map((o) => `${o.kind} \`${o.metadata.name}\``).join(' and ')} in place as applied`,
      },
    ];
    const proof = await computeOffThread('proveContainment', { live: shareLive(await after), scope, dns: dnsOf(p) }, { priority: 'urgent' });
    const containment: ContainmentState = {
      status: 'active',
      strategy: plan.strategy,
      appliedAt,
      ...(p.maxDuration ? { expiresAt: new Date(Date.parse(appliedAt) + p.maxDuration).toISOString() } : {}),
      ...(ctx.incident.auto ? { auto: true } : {}),
      liftApprovals: [],
    };
    events.push(proofEvent(ctx, proof, plan.strategy, kinds));
    if (!proof.contained) {
      containment.notProven = true;
      containment.stronger = strongerStrategies(plan.strategy, kinds);
    }
    if (!proof.contained && plan.strategy !== 'networkpolicy-additive') {
      // Never "Contained" while a door is open: the step fails, containment stays in force (it
      // still cuts what it can) and can be lifted; the thread names stronger strategies.
      throw new ContainmentNotProven(`NOT contained: ${proof.openCount} connection${proof.openCount === 1 ? '' : 's'} stay open after ${plan.strategy} (${proof.open.slice(0, 3).join('; ')})`, containment, events);
    }
    const traffic = await watchTraffic(ctx, p, plan.footprint.scopePods);
    events.push(traffic.event);
    const summary = proof.contained
      ? `Contained with ${plan.strategy}: proven by the engine, nothing but DNS to kube-dns is open`
      : `Deny-all in place, but NOT contained: ${proof.openCount} connection${proof.openCount === 1 ? '' : 's'} stay open (additive strategy)`;
    return {
      result: {
        summary,
        strategy: plan.strategy,
        contained: proof.contained,
        proof,
        created: report.created,
        excluded: report.exclusions.map((e) => e.name),
        labelled: report.labelled,
        ...(traffic.untilMs ? { trafficUntil: new Date(traffic.untilMs).toISOString() } : {}),
      },
      events,
      containment,
    };
  },
};

/**
 * Asks the flow collector to watch the scope for the traffic window after the apply; the verdict
 * is read by a job once the window has passed. Without a collector, the thread says so.
 */
async function watchTraffic(ctx: StepContext, p: ContainParams, scopePods: string[]): Promise<{ event: TimelineEvent; untilMs?: number }> {
  const at = ctx.now().toISOString();
  if (!ctx.traffic || !(await ctx.traffic.collectorRunning())) {
    return { event: { at, type: 'containment.traffic', actor: botActor, step: ctx.step.id, summary: "Not verified by traffic: no flow collector is running (the engine's proof stands alone)", data: { status: 'no-collector' } } };
  }
  const from = ctx.now().getTime();
  const untilMs = from + p.trafficWindow;
  const { namespace, labelSelector } = ctx.incident.scope;
  await ctx.traffic.register(ctx.incident.id, { namespace, podNames: scopePods, ...(labelSelector ? { labelSelector } : {}) }, from, untilMs, { dns: dnsOf(p) });
  return {
    event: { at, type: 'containment.traffic', actor: botActor, step: ctx.step.id, summary: `Watching the scope's flows for ${Math.round(p.trafficWindow / 1000)} s (flow collector): forwarded versus dropped, reported then`, data: { status: 'watching', untilMs } },
    untilMs,
  };
}

/** The proof failed for an exclusive strategy: the step fails, with containment still in force. */
export class ContainmentNotProven extends StepFailed {
  constructor(
    message: string,
    readonly containment: ContainmentState,
    readonly events: TimelineEvent[],
  ) {
    super(message);
    this.name = 'ContainmentNotProven';
  }
}

function appliedSummary(plan: ContainmentPlan, report: ApplyReport, resumed: boolean): string {
  const parts = [`created ${report.created.map((o) => `${o.kind} \`${o.name}\`${o.attempts > 1 ? ` (${o.attempts} attempts)` : ''}`).join(' and ')} with server-side apply`];
  const patched = report.exclusions.filter((e) => e.outcome === 'patched');
  if (patched.length > 0) parts.push(`excluded the scope from ${patched.length} other polic${patched.length === 1 ? 'y' : 'ies'} (${patched.map((e) => `\`${e.name}\``).join(', ')})`);
  if (report.labelled.length > 0) parts.push(`labelled ${report.labelled.length} pod${report.labelled.length === 1 ? '' : 's'}`);
  if (report.applications.length > 0) parts.push(`suspended Argo CD ${report.applications.map((a) => `\`${a}\``).join(', ')}`);
  return `${resumed ? 'Resumed and finished' : 'Applied'} ${plan.strategy} containment: ${parts.join('; ')}`;
}

function proofEvent(ctx: StepContext, proof: EngineProof, strategy: StrategyName, kinds: ServedKinds): TimelineEvent {
  const at = ctx.now().toISOString();
  if (proof.contained) {
    return { at, type: 'containment.proven', actor: botActor, step: ctx.step.id, summary: `Proven by the engine on the live objects: ${proofSummary(proof)}${proof.dns.length > 0 ? ' (kept by the quarantine)' : ''}`, data: { proof } };
  }
  const stronger = strongerStrategies(strategy, kinds);
  const offer = stronger.length > 0 ? ` Stronger strategies this cluster serves: ${stronger.map((s) => `\`${s}\``).join(', ')} (set \`strategy\` in the playbook's contain step).` : '';
  return {
    at,
    type: 'containment.not-contained',
    actor: botActor,
    step: ctx.step.id,
    summary: `*NOT contained: these connections stay open (${proof.openCount})*\n${proof.open.map((l) => `• ${l}`).join('\n')}${proof.openCount > proof.open.length ? `\n… and ${proof.openCount - proof.open.length} more` : ''}${offer}`,
    data: { proof, strongerStrategies: stronger },
  };
}

/** Compares every object we created with what the API now holds. */
async function readBack(ctx: StepContext, plan: ContainmentPlan): Promise<void> {
  for (const obj of plan.create) {
    const namespace = (obj.metadata as { namespace?: string }).namespace;
    const live = await ctx.cluster.objects(obj.kind as 'NetworkPolicy').get({ name: obj.metadata.name, ...(namespace ? { namespace } : {}) });
    if (!sameIntent(obj.kind, obj.spec as never, live?.spec as never)) {
      throw new ContainmentError(`read-back of ${obj.kind} ${obj.metadata.name} does not match what was applied: ${live ? 'rules differ' : 'it is missing'}`);
    }
  }
}

/** Puts back what a failed apply changed; returns the message for the timeline. */
async function rollback(deps: ContainmentDeps, ctx: StepContext, error: unknown): Promise<string> {
  const cause = errorMessage(error);
  try {
    await liftContainment(deps, ctx.incident.id);
    await deps.ledger.markLifted(ctx.incident.id, ctx.now().toISOString());
    return `containment failed: ${cause}. Everything applied so far was rolled back; nothing is left half-applied.`;
  } catch (undoError) {
    ctx.logger.error({ err: undoError }, 'rolling back a failed containment failed');
    return `containment failed: ${cause}. Rolling back also failed (${errorMessage(undoError)}): the containment record lists what is in place.`;
  }
}

function suggestion(error: unknown, strategy: StrategyName, kinds: ServedKinds): string {
  if (!(error instanceof KubeApiError)) return '';
  if (error.missingPermission) {
    const m = error.missingPermission;
    return ` Grant the bot \`${m.verb}\` on \`${m.resource}${m.group ? `.${m.group}` : ''}\` (deploy/rbac.yaml)${strategy !== 'networkpolicy-exclusive' ? ', or use `strategy: networkpolicy-exclusive`' : ''}.`;
  }
  if (error.kindNotServed) return ` The cluster does not serve it; ${strongerStrategies(strategy, kinds)[0] ?? 'networkpolicy-exclusive'} would work here.`;
  return '';
}

