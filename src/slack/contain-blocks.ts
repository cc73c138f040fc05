// Block Kit for containment: the contain step's proposal (strategy, exact objects, exclusions,
// dry run, predicted proof, blast radius, warnings) and the containment in force with its Lift /
// Keep buttons. Pure: evidence and incident state in, blocks out. Stored evidence comes from
// whichever version recorded it, so every field may be missing.
import { stringify as toYaml } from 'yaml';
import type { Incident } from '../incident/model.js';
import { liftable } from '../incident/containment-transitions.js';
import type { Block } from './blocks.js';
import { escapeMrkdwn, listOf, section, truncate, SECTION_LIMIT } from './block-text.js';

export const LIFT_ACTION = 'netpol_lift';
export const KEEP_ACTION = 'netpol_keep';
export const LIFT_NOW_ACTION = 'netpol_lift_now';
export const STRONGER_ACTION = 'netpol_stronger';

interface ProofEvidence {
  contained?: boolean;
  open?: string[];
  openCount?: number;
  dns?: string[];
}

interface BlastRadiusEvidence {
  cut?: string[];
  cutCount?: number;
  stillAllowed?: string[];
  stillAllowedCount?: number;
  keptByDenyAll?: string[];
  keptByDenyAllCount?: number;
  error?: string;
}

interface PlanEvidence {
  create?: Array<{ kind?: string; metadata?: { name?: string; namespace?: string } }>;
  patches?: Array<{ name?: string; why?: string; gitops?: string[] }>;
  podsToLabel?: string[];
}

function codeList(lines: string[], total: number): string {
  return lines.length === 0 ? '_none_' : `\`\`\`${lines.map(escapeMrkdwn).join('\n')}${total > lines.length ? `\n… and ${total - lines.length} more` : ''}\`\`\``;
}

export function blastRadiusText(radius: BlastRadiusEvidence): string {
  if (radius.error) return `*Blast radius*: not computed (${escapeMrkdwn(radius.error)})`;
  const kept = radius.keptByDenyAll ?? [];
  const keptCount = radius.keptByDenyAllCount ?? kept.length;
  return [
    `*Containment cuts ${radius.cutCount ?? 0} connection${radius.cutCount === 1 ? '' : 's'}:*`,
    codeList(radius.cut ?? [], radius.cutCount ?? 0),
    `*Still allowed by other policies (${radius.stillAllowedCount ?? 0}):*`,
    codeList(radius.stillAllowed ?? [], radius.stillAllowedCount ?? 0),
    // The quarantine's own DNS exception keeps these open, not another policy: said apart so nobody hunts for that policy.
    ...(keptCount > 0 ? [`*Kept by the quarantine's DNS exception (${keptCount}):*`, codeList(kept, keptCount)] : []),
  ].join('\n');
}

function predictedText(proof: ProofEvidence, strategy: string): string {
  if (proof.contained) return `*Predicted by the engine:* :lock: contained — nothing but DNS to kube-dns stays open`;
  const count = proof.openCount ?? proof.open?.length ?? 0;
  return [`*Predicted by the engine: NOT contained — ${count} connection${count === 1 ? '' : 's'} stay open${strategy === 'networkpolicy-additive' ? ' (additive strategy)' : ''}:*`, codeList(proof.open ?? [], count)].join('\n');
}

/** The proposal of the contain step, shown while it waits for approval. */
export function containProposalBlocks(evidence: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  const strategy = String(evidence.strategy ?? 'networkpolicy-additive');
  const plan = (evidence.plan as PlanEvidence | undefined) ?? {};
  const reason = evidence.strategyReason ? ` — ${escapeMrkdwn(String(evidence.strategyReason))}` : '';
  blocks.push(section(`*Strategy: \`${escapeMrkdwn(strategy)}\`*${reason}`));
  const proof = evidence.predictedProof as ProofEvidence | undefined;
  if (proof) blocks.push(section(predictedText(proof, strategy)));
  const radius = evidence.blastRadius as BlastRadiusEvidence | undefined;
  if (radius) blocks.push(section(blastRadiusText(radius)));
  const patches = plan.patches ?? [];
  if (patches.length > 0) {
    const lines = patches.slice(0, 10).map((p) => `• \`${escapeMrkdwn(p.name ?? '?')}\`: ${escapeMrkdwn(p.why ?? '')}${p.gitops?.length ? ` (managed by ${escapeMrkdwn(p.gitops.join(', '))})` : ''}`);
    if (patches.length > 10) lines.push(`… and ${patches.length - 10} more`);
    blocks.push(section(`*Policies to exclude the scope from (${patches.length})* — each gets \`netpol-responder.io/quarantine DoesNotExist\` in its podSelector, recorded first and removed on lift:\n${lines.join('\n')}`));
  }
  if (plan.podsToLabel?.length) blocks.push(section(`*Pods to label* \`netpol-responder.io/quarantine\`: ${listOf(plan.podsToLabel)}`));
  const warnings = (evidence.warnings as string[] | undefined) ?? [];
  if (warnings.length > 0) blocks.push(section(warnings.slice(0, 8).map((w) => `:warning: ${escapeMrkdwn(w)}`).join('\n')));
  const dryRun = evidence.dryRun as { ok?: boolean; error?: string; errors?: string[] } | undefined;
  const dryRunText = dryRun?.ok ? ':white_check_mark: valid' : `:x: ${escapeMrkdwn((dryRun?.errors ?? [dryRun?.error ?? 'not run']).join('; '))}`;
  blocks.push(section(`*Objects to create* (server-side dry run of every write: ${dryRunText})`));
  const create = plan.create ?? (evidence.proposedPolicy ? [evidence.proposedPolicy as NonNullable<PlanEvidence['create']>[number]] : []);
  if (create.length > 0) blocks.push(section(`\`\`\`${truncate(create.map((o) => toYaml(o)).join('---\n'), SECTION_LIMIT - 10)}\`\`\``));
  return blocks;
}

const containmentStatus: Record<NonNullable<Incident['containment']>['status'], string> = {
  active: ':lock: In force',
  lifting: ':hourglass_flowing_sand: Being lifted',
  lifted: ':unlock: Lifted',
  'lift-failed': ':x: Lift failed',
};

/** The containment in force (or lifted), with the buttons that apply now. */
export function containmentBlocks(incident: Incident): Block[] {
  const c = incident.containment;
  if (!c) return [];
  const details = [`${containmentStatus[c.status]} · \`${escapeMrkdwn(c.strategy)}\` since ${c.appliedAt}`];
  if (c.auto) details.push('applied automatically, without an approval');
  if (c.expiresAt && c.status === 'active') details.push(`time box ends ${c.expiresAt}`);
  if (c.liftApprovals.length > 0 && c.status === 'active') details.push(`lift approved by ${c.liftApprovals.map((a) => `<@${a.user}>`).join(', ')} (waiting for another approver)`);
  if (c.status === 'lifted' && c.liftedAt) details.push(`lifted ${c.liftedAt}${c.liftReason ? ` (${c.liftReason})` : ''}`);
  if (c.status === 'lift-failed' && c.liftError) details.push(`error: ${escapeMrkdwn(c.liftError)}`);
  if (c.notProven && c.status === 'active') details.push('*NOT proven: connections stay open (see the thread)*');
  const blocks: Block[] = [section(`*Containment*: ${details.join(' · ')}`)];
  if (!liftable(incident)) return blocks;
  const elements: Block[] = [];
  if (c.notProven) {
    for (const strategy of (c.stronger ?? []).slice(0, 3)) {
      elements.push({ type: 'button', action_id: `${STRONGER_ACTION}.${strategy}`, style: 'primary', text: { type: 'plain_text', text: `Contain with ${strategy}` }, value: JSON.stringify({ incidentId: incident.id, strategy }) });
    }
  }
  if (c.auto) {
    elements.push({ type: 'button', action_id: KEEP_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Keep contained' }, value: incident.id });
    elements.push({ type: 'button', action_id: LIFT_NOW_ACTION, text: { type: 'plain_text', text: 'Lift now' }, value: incident.id });
  } else {
    elements.push({
      type: 'button',
      action_id: LIFT_ACTION,
      text: { type: 'plain_text', text: 'Lift containment' },
      value: incident.id,
      confirm: {
        title: { type: 'plain_text', text: 'Lift containment?' },
        text: { type: 'mrkdwn', text: 'Everything containment changed is put back, and the result is verified by the policy engine.' },
        confirm: { type: 'plain_text', text: 'Lift' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
  }
  blocks.push({ type: 'actions', block_id: `containment.${incident.id}`, elements });
  return blocks;
}

/** A "Contain with <strategy>" button's value, or undefined when it is not one of ours. */
export function parseStrongerButton(value: unknown): { incidentId: string; strategy: string } | undefined {
  if (typeof value !== 'string' || value.length > 300) return undefined;
  try {
    const parsed = JSON.parse(value) as { incidentId?: unknown; strategy?: unknown };
    const incidentId = parseIncidentButton(parsed.incidentId);
    if (!incidentId || typeof parsed.strategy !== 'string' || !/^[a-z-]{1,40}$/.test(parsed.strategy)) return undefined;
    return { incidentId, strategy: parsed.strategy };
  } catch {
    return undefined;
  }
}

/** An incident id from a containment button's value, or undefined when it is not one of ours. */
export function parseIncidentButton(value: unknown): string | undefined {
  return typeof value === 'string' && /^[a-z0-9][a-z0-9-]{2,63}$/.test(value) ? value : undefined;
}
