// The audit report as Markdown (for people and PR comments), JSON (for scripts) and SARIF 2.1.0
// (for GitHub code scanning, in the shape of the lint SARIF: src/policy/lint-sarif.ts).
import { createHash } from 'node:crypto';
import { pathToUri, SARIF_SCHEMA } from '../policy/lint-sarif.js';
import { printable } from '../printable.js';
import { AUDIT_RULES, type AuditFinding, type AuditReport } from './checks.js';

export const AUDIT_FORMATS = ['md', 'json', 'sarif'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

export interface LocatedAuditFinding extends AuditFinding {
  /** Path relative to the working directory, `/` separators. */
  file?: string;
  line?: number;
}

export type LocatedAuditReport = Omit<AuditReport, 'findings'> & { findings: LocatedAuditFinding[] };

/**
 * Text from the input made inert in Markdown: control characters escaped (printable), HTML
 * special characters as entities, Markdown punctuation backslash-escaped, cut to `max`.
 */
export function markdownText(text: string, max = 500): string {
  return printable(text, max)
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

const MAX_MD_FINDINGS_PER_RULE = 200;

export function renderMarkdown(report: AuditReport): string {
  const lines: string[] = ['# NetworkPolicy audit', ''];
  const t = report.totals;
  lines.push(`${t.namespaces} namespaces, ${t.pods} pods, ${t.policies} NetworkPolicies, ${t.adminPolicies} AdminNetworkPolicies/BaselineAdminNetworkPolicies; ${report.findings.length} findings.`, '');
  lines.push('## Scores', '', 'Per namespace, 0 (wide open) to 100 (nothing found); lowest first.', '', '| Namespace | Score | Pods | Policies |', '|---|---:|---:|---:|');
  for (const s of report.scores) lines.push(`| ${markdownText(s.namespace, 100)} | ${s.score} | ${s.pods} | ${s.policies} |`);
  lines.push('');
  for (const rule of AUDIT_RULES) {
    const status = report.checks.find((c) => c.id === rule.id);
    const found = report.findings.filter((f) => f.ruleId === rule.id);
    lines.push(`## \`${rule.id}\`: ${rule.summary}`, '');
    if (status && !status.run) {
      lines.push(`Not run: ${markdownText(status.reason)}.`, '');
      continue;
    }
    if (found.length === 0) {
      lines.push('Nothing found.', '');
      continue;
    }
    for (const f of found.slice(0, MAX_MD_FINDINGS_PER_RULE)) {
      lines.push(`- **${f.level}** ${markdownText(f.message, 1000)}`);
      for (const item of f.items ?? []) lines.push(`  - ${markdownText(item, 300)}`);
      if (f.more) lines.push(`  - … and ${f.more} more`);
    }
    if (found.length > MAX_MD_FINDINGS_PER_RULE) lines.push(`- … and ${found.length - MAX_MD_FINDINGS_PER_RULE} more (see the JSON or SARIF output)`);
    lines.push('', `Fix: ${rule.help}`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export function renderJson(report: LocatedAuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function sarifRules(): object[] {
  return AUDIT_RULES.map((rule) => ({
    id: rule.id,
    name: rule.id.replace(/^audit\//, ''),
    shortDescription: { text: rule.summary },
    fullDescription: { text: `${rule.summary}. ${rule.help}` },
    help: { text: rule.help, markdown: `**${rule.id}**: ${rule.summary}.\n\n${rule.help}` },
    defaultConfiguration: { level: rule.level },
    properties: { tags: ['kubernetes', 'networkpolicy', 'audit'] },
  }));
}

/**
 * Stable across line moves and changing counts (pods scaled, rules added): the rule, the object,
 * the direction; only input errors, several per object, add their message.
 */
function fingerprint(f: AuditFinding): string {
  const extra = f.ruleId === 'audit/invalid-input' ? f.message : '';
  return createHash('sha256').update(`${f.ruleId}\u0000${f.object}\u0000${f.direction ?? ''}\u0000${extra}`).digest('hex');
}

const RULE_INDEX = new Map<string, number>(AUDIT_RULES.map((r, i) => [r.id, i]));

/**
 * The SARIF log. GitHub code scanning drops results without a location: a finding whose object
 * has no file of its own (an implied namespace, a live object) is placed at `fallbackFile`.
 */
export function renderSarif(report: LocatedAuditReport, version: string, fallbackFile?: string): string {
  const results = report.findings.map((f) => {
    const file = f.file ?? fallbackFile;
    const details = f.items && f.items.length > 0 ? `: ${f.items.join('; ')}${f.more ? `; and ${f.more} more` : ''}` : '';
    return {
      ruleId: f.ruleId,
      ruleIndex: RULE_INDEX.get(f.ruleId) ?? -1,
      level: f.level,
      message: { text: `${f.object}: ${f.message}${details}` },
      ...(file !== undefined ? { locations: [{ physicalLocation: { artifactLocation: { uri: pathToUri(file) }, region: { startLine: f.file !== undefined ? (f.line ?? 1) : 1 } } }] } : {}),
      partialFingerprints: { 'netpolResponderAudit/v1': fingerprint(f) },
    };
  });
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'netpol-responder', semanticVersion: version, version, rules: sarifRules() } }, results }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
