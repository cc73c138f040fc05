// Step "contain": show the pods and policies in scope, propose the emergency deny-all (checked by
// a server-side dry run), and after approval apply it with server-side apply and read it back.
import { z } from 'zod';
import { selectorMatches } from '../../kube/label-selector.js';
import { botActor, type TimelineEvent } from '../../timeline/types.js';
import { buildQuarantinePolicy, enforcesSameRules, quarantinePolicyName, ANNOTATION_PREFIX, type NetworkPolicyObject } from './quarantine-policy.js';
import { blastRadius } from './blast-radius.js';
import { StepFailed, type PolicyLike, type StepContext, type StepHandler } from './types.js';

export const containParamsSchema = z
  .object({
    keepDnsEgress: z.boolean().default(true),
    dnsNamespace: z.string().min(1).default('kube-system'),
    dnsPodLabels: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }),
  })
  .strict();

/** Evidence lists are capped so the Slack message and the record stay small. */
const MAX_LISTED = 100;

function params(ctx: StepContext): z.infer<typeof containParamsSchema> {
  return containParamsSchema.parse(ctx.step.params);
}

function policyFor(ctx: StepContext, approvers: string[], appliedAt?: string): NetworkPolicyObject {
  const p = params(ctx);
  return buildQuarantinePolicy({
    incidentId: ctx.incident.id,
    namespace: ctx.incident.scope.namespace,
    labelSelector: ctx.incident.scope.labelSelector,
    keepDnsEgress: p.keepDnsEgress,
    dnsNamespace: p.dnsNamespace,
    dnsPodLabels: p.dnsPodLabels,
    approvers,
    appliedAt,
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

function selectsAny(policy: PolicyLike, podLabels: Record<string, string>[]): boolean {
  const selector = (policy.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
  return podLabels.some((labels) => selectorMatches(selector, labels));
}

/** The engine's view of what the proposal changes; a failure here must not block containment. */
async function computeBlastRadius(ctx: StepContext, proposal: NetworkPolicyObject, scopePods: { metadata?: { name?: string } }[]) {
  try {
    const [namespaces, pods, policies] = await Promise.all([ctx.cluster.listNamespaces(), ctx.cluster.listAllPods(), ctx.cluster.listAllNetworkPolicies()]);
    const namespace = ctx.incident.scope.namespace;
    return blastRadius({
      namespaces,
      pods,
      policies,
      proposed: proposal,
      scopePods: scopePods.map((p) => ({ namespace, name: p.metadata?.name ?? '' })),
    });
  } catch (error) {
    ctx.logger.warn({ err: error }, 'could not compute the blast radius');
    return { error: errorMessage(error) };
  }
}

export const containStep: StepHandler = {
  action: 'contain',

  validateParams(raw) {
    const parsed = containParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare(ctx) {
    const { namespace, selector } = ctx.incident.scope;
    const [pods, policies] = await Promise.all([ctx.cluster.listPods(namespace, selector), ctx.cluster.listNetworkPolicies(namespace)]);
    const podLabels = pods.map((p) => p.metadata?.labels ?? {});
    const selecting = policies.filter((p) => !p.metadata?.name?.startsWith('netpol-responder-quarantine-') && selectsAny(p, podLabels));
    const proposal = policyFor(ctx, []);
    let dryRun: { ok: true } | { ok: false; error: string };
    try {
      await ctx.cluster.applyNetworkPolicy(proposal, { fieldManager: ctx.settings.fieldManager, dryRun: true, force: true });
      dryRun = { ok: true };
    } catch (error) {
      dryRun = { ok: false, error: errorMessage(error) };
    }
    const allowing = selecting.filter((p) => {
      const spec = p.spec ?? {};
      return (Array.isArray(spec.ingress) && spec.ingress.length > 0) || (Array.isArray(spec.egress) && spec.egress.length > 0);
    });
    const radius = await computeBlastRadius(ctx, proposal, pods);
    const anomalies = (await ctx.anomalies?.forIncident(ctx.incident)) ?? [];
    const anomalyText = anomalies.length > 0 ? `${anomalies.length} anomal${anomalies.length === 1 ? 'y' : 'ies'} from the flow collector, ` : '';
    return {
      summary: `${anomalyText}${pods.length} pod${pods.length === 1 ? '' : 's'} in scope, ${selecting.length} NetworkPolic${selecting.length === 1 ? 'y selects' : 'ies select'} them; deny-all ${dryRun.ok ? 'passed' : 'FAILED'} the server-side dry run`,
      anomalies,
      pods: pods.slice(0, MAX_LISTED).map((p) => ({ name: p.metadata?.name ?? '?', labels: p.metadata?.labels ?? {}, phase: p.status?.phase ?? 'Unknown' })),
      podCount: pods.length,
      policies: selecting.slice(0, MAX_LISTED).map((p) => ({ name: p.metadata?.name ?? '?', policyTypes: p.spec?.policyTypes ?? null })),
      // NetworkPolicies are additive: allow rules of other policies keep working next to a deny-all.
      stillAllowing: allowing.map((p) => p.metadata?.name ?? '?'),
      proposedPolicy: proposal,
      dryRun,
      blastRadius: radius,
    };
  },

  async execute(ctx) {
    const approvers = ctx.incident.steps[ctx.step.id]?.approvals.map((a) => a.user) ?? [];
    const appliedAt = ctx.now().toISOString();
    const desired = policyFor(ctx, approvers, appliedAt);
    const { namespace } = ctx.incident.scope;
    const name = quarantinePolicyName(ctx.incident.id);
    const events: TimelineEvent[] = [];

    // After an interrupted run the policy may already be in place: do not apply it twice.
    const existing = await ctx.cluster.getNetworkPolicy(namespace, name);
    const alreadyApplied = existing?.metadata?.annotations?.[`${ANNOTATION_PREFIX}/incident`] === ctx.incident.id && enforcesSameRules(desired.spec, existing.spec);
    let attempts = 0;
    if (!alreadyApplied) {
      for (;;) {
        attempts += 1;
        try {
          await ctx.cluster.applyNetworkPolicy(desired, { fieldManager: ctx.settings.fieldManager, force: true });
          break;
        } catch (error) {
          if (!isRetryable(error) || attempts > ctx.settings.applyRetries) {
            throw new StepFailed(`applying ${namespace}/${name} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${errorMessage(error)}`);
          }
          ctx.logger.warn({ err: error, attempt: attempts }, 'transient error applying the quarantine policy; retrying');
          await ctx.sleep(ctx.settings.applyRetryDelayMs * attempts);
        }
      }
    }
    events.push({
      at: ctx.now().toISOString(),
      type: 'policy.applied',
      actor: botActor,
      step: ctx.step.id,
      summary: alreadyApplied
        ? `Deny-all \`${name}\` was already in place in \`${namespace}\` (resumed run; not applied again)`
        : `Applied deny-all \`${name}\` in \`${namespace}\` with server-side apply${attempts > 1 ? ` (${attempts} attempts)` : ''}`,
      data: { policy: alreadyApplied ? existing : desired, attempts, resumed: alreadyApplied },
    });

    const live = await ctx.cluster.getNetworkPolicy(namespace, name);
    if (!live || !enforcesSameRules(desired.spec, live.spec)) {
      throw new StepFailed(`read-back of ${namespace}/${name} does not match what was applied: ${live ? 'rules differ' : 'the policy is missing'}`);
    }
    events.push({
      at: ctx.now().toISOString(),
      type: 'policy.confirmed',
      actor: botActor,
      step: ctx.step.id,
      summary: `Confirmed: \`${name}\` is in place and isolates ${ctx.incident.scope.selector ? `pods matching \`${ctx.incident.scope.selector}\`` : 'every pod'} in \`${namespace}\` (ingress and egress${params(ctx).keepDnsEgress ? ', DNS to kube-dns kept' : ''})`,
      data: { resourceVersion: live.metadata?.resourceVersion ?? null, uid: live.metadata?.uid ?? null },
    });
    return { result: { summary: `Contained: deny-all \`${name}\` in place`, policyName: name, namespace, attempts }, events };
  },
};
