// Block Kit for the hardening step (step 5): the proposal shown while it waits for approval — per
// namespace the engine's proof figures (learned edges allowed, pairs allowed without an observed
// edge, anomalous flows denied, lint), the workloads with too little history (and the replaced
// policies kept for them, narrowed), the files — and
// where the files go. Pure. Stored evidence may come from another version: fields read defensively.
import type { HardenNamespace, HardenProposal, HardenTarget } from '../harden/step-model.js';
import type { Block } from './blocks.js';
import { escapeMrkdwn, section } from './block-text.js';

const MAX_NAMESPACES = 5;
const MAX_LISTED = 8;

function code(text: string): string {
  return `\`${escapeMrkdwn(text)}\``;
}

function listed(items: string[], total = items.length): string {
  const shown = items.slice(0, MAX_LISTED);
  return shown.join('\n') + (total > shown.length ? `\n… and ${total - shown.length} more` : '');
}

export function targetText(target: HardenTarget | undefined): string {
  if (!target) return '*Where it goes:* _unknown_';
  if (target.kind === 'attach') return `*Where it goes:* the files will be attached to this thread (${escapeMrkdwn(target.why)})`;
  const where = `${code(target.repository)}, branch ${code(target.branch)} off ${code(target.base)}, files under ${code(target.path || '.')}`;
  if (target.delivery === 'pull-request') return `*Where it goes:* a pull request on ${where}`;
  if (target.delivery === 'branch') return `*Where it goes:* a branch pushed to ${where}${target.why ? ` (${escapeMrkdwn(target.why)})` : ''}`;
  return `*Where it goes:* the files will be attached to this thread (${escapeMrkdwn(target.why ?? 'no Git delivery configured')}); repository ${code(target.repository)}`;
}

function check(ok: boolean): string {
  return ok ? ':white_check_mark:' : ':warning:';
}

export function namespaceText(n: HardenNamespace): string {
  const p = n.proof;
  const cov = p?.coverage ?? { learned: 0, allowed: 0, percent: 0, misses: [] };
  const un = p?.unobserved ?? { pairs: 0, combinations: 0, examples: [] };
  const an = p?.anomalies ?? { total: 0, denied: 0, allowed: [], unresolved: 0 };
  const lint = p?.lint ?? { errors: 0, warnings: 0, findings: [] };
  const lines = [
    `*Baseline for ${code(n.namespace)}* (${(n.files ?? []).length} file(s)) — proven by the policy engine against the live cluster:`,
    `${check(cov.allowed === cov.learned)} Learned edges allowed: *${cov.allowed}/${cov.learned}* (${Number(cov.percent).toFixed(1)}%)`,
    `${check(un.pairs === 0)} Workload pairs allowed without an observed edge: *${un.pairs}*${un.examples.length > 0 ? `, e.g. ${un.examples.slice(0, 3).map((x) => code(`${x.src} → ${x.dst} ${x.conns}`)).join(', ')}` : ''}`,
    `${check(an.denied === an.total)} Anomalous flows denied: *${an.denied}/${an.total}*${an.unresolved > 0 ? ` (${an.unresolved} not found in the cluster)` : ''}`,
    `${check(lint.errors === 0 && lint.warnings === 0)} Lint: *${lint.errors}* error(s), *${lint.warnings}* warning(s)`,
  ];
  for (const m of cov.misses.slice(0, 3)) lines.push(`   not allowed: ${code(m)}`);
  for (const a of an.allowed.slice(0, 3)) lines.push(`   anomaly still allowed: ${code(a)}`);
  for (const f of lint.findings.slice(0, 3)) lines.push(`   lint: ${escapeMrkdwn(f)}`);
  const flagged = n.flagged ?? [];
  // Omitted: left out of default-deny, so merging keeps them as they are; cut off: no label to leave them out by.
  const omitted = flagged.filter((f) => (f as { omitted?: boolean }).omitted !== false);
  const cut = flagged.filter((f) => (f as { omitted?: boolean }).omitted === false);
  if (omitted.length > 0) {
    lines.push(`:hourglass: *Not hardened: too little traffic history — kept under their current policies (${omitted.length}):*`, listed(omitted.map((f) => `• ${code(f.workload)}: ${escapeMrkdwn(f.reason)}`), omitted.length));
  }
  const narrowed = (n as { narrowed?: Array<{ key?: string; from?: string }> }).narrowed ?? [];
  if (narrowed.length > 0) {
    lines.push(`:lock: *Kept for workloads not hardened — replaced policies narrowed to them, counted in the proof (${narrowed.length}):*`, listed(narrowed.map((c) => `• ${code(String(c.key))} from ${code(String(c.from))}`), narrowed.length));
  }
  if (cut.length > 0) {
    lines.push(`:rotating_light: *Cut off when merged — too little history and no label of their own to leave them out of default-deny (${cut.length}):*`, listed(cut.map((f) => `• ${code(f.workload)}: ${escapeMrkdwn(f.reason)}`), cut.length));
  }
  const files = (n.files ?? []).map((f) => code(f.path));
  lines.push(`*Files:* ${files.slice(0, MAX_LISTED).join(', ')}${files.length > MAX_LISTED ? ` and ${files.length - MAX_LISTED} more` : ''}`);
  return lines.join('\n');
}

/** The hardening proposal under the incident message (the approval buttons follow it). */
export function hardenProposalBlocks(proposal: HardenProposal): Block[] {
  const blocks: Block[] = [];
  const namespaces = proposal.namespaces ?? [];
  blocks.push(section(`*Post-incident hardening:* ${escapeMrkdwn(proposal.summary ?? '')}`));
  for (const n of namespaces.slice(0, MAX_NAMESPACES)) blocks.push(section(namespaceText(n)));
  if (namespaces.length > MAX_NAMESPACES) blocks.push(section(`… and ${namespaces.length - MAX_NAMESPACES} more namespace(s) (in the files)`));
  const tail = [targetText(proposal.target), `Approving pushes nothing to the cluster: the files go to review (with network tests and a CI job running lint, test and diff), and drift monitoring is turned on for ${namespaces.map((n) => code(n.namespace)).join(', ') || 'the namespaces'}.`];
  if ((proposal.dismissed ?? 0) > 0) tail.push(`_${proposal.dismissed} anomaly(ies) dismissed as expected: their traffic is treated as normal._`);
  for (const limit of (proposal.limits ?? []).slice(0, 4)) tail.push(`_${escapeMrkdwn(limit)}_`);
  blocks.push(section(tail.join('\n')));
  return blocks;
}
