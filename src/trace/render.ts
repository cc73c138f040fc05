// How a trace reads: one cause line, a compact table of the other changes, and the full list (a
// file in the thread when long, and the postmortem's section). Pure text from traced changes.
import { stringify as toYaml } from 'yaml';
import type { GitVerdict } from '../git/index.js';
import { codeSpan, escapeMrkdwn } from '../slack/block-text.js';
import type { Cause, EffectedChange } from './effects.js';

export type { GitVerdict };

export type ExplainedChange = EffectedChange & { git?: GitVerdict };

const VERB_PAST: Record<string, string> = { create: 'created', update: 'updated', patch: 'patched', delete: 'deleted', deletecollection: 'deleted' };

function objectName(c: ExplainedChange): string {
  return c.namespace ? `${c.namespace}/${c.name}` : c.name;
}

/** What Git says of a change; `text` escapes the commit's author and subject for Slack (plain text by default). */
export function gitText(git: GitVerdict | undefined, text: (s: string) => string = (s) => s): string {
  if (!git) return 'Git not checked';
  const by = git.commit ? ` (${text(git.commit.author)}: ${text(git.commit.subject)})` : '';
  switch (git.kind) {
    case 'gitops-apply':
      return `GitOps apply of commit ${git.commit ? git.commit.sha.slice(0, 8) : '?'}${by}`;
    case 'manual-apply':
      return `applied by hand, exactly as commit ${git.commit ? git.commit.sha.slice(0, 8) : '?'} declares it${by}`;
    case 'out-of-band':
      return 'out-of-band (not in Git)';
    case 'revert-pending':
      return `Git revert pending: Git already holds a newer state${git.commit ? ` (${git.commit.sha.slice(0, 8)})` : ''}`;
    case 'unknown':
      return `Git: ${text(git.reason ?? 'unknown')}`;
  }
}

function time(at: string): string {
  return at.slice(11, 19);
}

/** Whole address families read as CIDRs: `0.0.0.0-255.255.255.255` is `0.0.0.0/0`. */
function prettyPeer(peer: string): string {
  return peer.replace(/^0\.0\.0\.0-255\.255\.255\.255\[External\]$/, '0.0.0.0/0').replace(/^::-ffff(:ffff){7}\[External\]$/, '::/0').replace(/\[External\]$/, '');
}

/** `-> peer : conns` (a scopeConnectivity line) as `scope → peer` with its connections. */
export function prettyConnection(line: string, scopeName: string): string {
  const m = /^(->|<-) (.+) : (.+)$/.exec(line);
  if (!m) return `\`${line}\``;
  const [, arrow, peer, conns] = m as unknown as [string, string, string, string];
  const pair = arrow === '->' ? `${scopeName} → ${prettyPeer(peer)}` : `${prettyPeer(peer)} → ${scopeName}`;
  return `\`${pair}\` ${conns === 'All Connections' ? 'all ports' : conns}`;
}

function effectText(c: ExplainedChange, scopeName: string, limit = 2): string {
  const e = c.effect;
  if (!e) return 'no effect on the scope';
  if (e.unknown) return 'effect unknown (the object before it was not recorded)';
  const parts: string[] = [];
  if (e.opened.length > 0) parts.push(`opened ${e.opened.slice(0, limit).map((l) => prettyConnection(l, scopeName)).join(', ')}${e.opened.length > limit ? ` and ${e.opened.length - limit} more` : ''}`);
  if (e.closed.length > 0) parts.push(`closed ${e.closed.length} connection${e.closed.length === 1 ? '' : 's'}`);
  return parts.length > 0 ? parts.join('; ') : 'no effect on the scope';
}

// The actor (an audit-log username), the user agent and the commit come from outside: escaped.
function who(c: ExplainedChange): string {
  if (c.actor) return codeSpan(c.actor);
  if (c.evidence === 'managedFields') return `manager ${codeSpan(c.via ?? '?')} (from managedFields: no audit log, weaker evidence)`;
  return 'someone (no audit log, no managedFields change)';
}

/** The cause line of the step message. */
export function causeLine(cause: Cause, scopeName: string): string {
  const c = cause.change as ExplainedChange;
  const via = c.evidence === 'audit' && c.via ? ` with ${escapeMrkdwn(c.via)}` : '';
  return `${who(c)} ${VERB_PAST[c.verb] ?? c.verb} \`${c.kind === 'NetworkPolicy' ? '' : `${c.kind} `}${objectName(c)}\`${via} at ${time(c.at)}, ${gitText(c.git, escapeMrkdwn)}. It ${effectText(c, scopeName)}. Confidence ${cause.confidence}: ${cause.why}.`;
}

/** One row per change for the compact table (Slack mrkdwn, monospace-friendly). */
export function changeRow(c: ExplainedChange, scopeName: string): string {
  const commit = c.git?.commit ? (c.git.commit.url ? `<${c.git.commit.url}|${c.git.commit.sha.slice(0, 8)}>` : c.git.commit.sha.slice(0, 8)) : '';
  return `${time(c.at)} · ${escapeMrkdwn(c.actor ?? c.via ?? '?')} · ${c.verb} · ${objectName(c)} · ${gitText(c.git, escapeMrkdwn)}${commit ? ` ${commit}` : ''} · ${effectText(c, scopeName, 1)}`;
}

/** A compact YAML diff of the object: the spec before and after (metadata noise left out). */
export function objectDiff(c: ExplainedChange): string {
  const strip = (o: Record<string, unknown> | null): unknown => {
    if (!o) return null;
    const meta = (o.metadata ?? {}) as Record<string, unknown>;
    return { metadata: { ...(meta.labels ? { labels: meta.labels } : {}) }, ...(o.spec !== undefined ? { spec: o.spec } : {}) };
  };
  const before = toYaml(strip(c.before)).trimEnd().split('\n');
  const after = toYaml(strip(c.after)).trimEnd().split('\n');
  const lines: string[] = [];
  const afterSet = new Set(after);
  const beforeSet = new Set(before);
  for (const l of before) if (!afterSet.has(l)) lines.push(`- ${l}`);
  for (const l of after) if (!beforeSet.has(l)) lines.push(`+ ${l}`);
  return lines.join('\n');
}

/** The full list, one block per change, for the thread file and the postmortem. */
export function fullReport(changes: readonly ExplainedChange[], scopeName: string): string {
  return changes
    .map((c) =>
      [
        `${c.at}  ${c.actor ?? c.via ?? '?'}  ${c.verb} ${c.kind} ${objectName(c)}`,
        `  via: ${c.via ?? '?'} · evidence: ${c.evidence}${c.auditIDs.length ? ` · auditID ${c.auditIDs.join(', ')}` : ''}${c.sourceIPs.length ? ` · from ${c.sourceIPs.join(', ')}` : ''}`,
        `  ${gitText(c.git)}${c.git?.commit?.url ? ` ${c.git.commit.url}` : ''}`,
        `  effect: ${effectText(c, scopeName, 20)}`,
        ...objectDiff(c).split('\n').filter(Boolean).map((l) => `    ${l}`),
      ].join('\n'),
    )
    .join('\n\n');
}
