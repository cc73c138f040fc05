// Lint findings as a SARIF 2.1.0 log, the form GitHub code scanning ingests: the rules in
// tool.driver.rules, one result per finding with its file (relative URI) and start line, a
// fingerprint that survives line moves, and `suppressions` with the reason for suppressed ones.
import { createHash } from 'node:crypto';
import { LINT_RULES, RULE_IDS, type LintFinding, type Severity } from './lint-catalog.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface LocatedFinding extends LintFinding {
  /** Path relative to the working directory, with `/` separators. */
  file?: string;
  line?: number;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** A relative path as a URI reference: each segment percent-encoded, `/` between them. */
export function pathToUri(path: string): string {
  return path
    .split(/[\\/]/)
    .map((segment) => (segment === '..' || segment === '.' ? segment : encodeURIComponent(segment)))
    .join('/');
}

function rules(): object[] {
  return RULE_IDS.map((id) => {
    const rule = LINT_RULES[id];
    return {
      id,
      name: rule.name,
      shortDescription: { text: rule.summary },
      fullDescription: { text: `${rule.summary}. ${rule.help}` },
      help: { text: rule.help, markdown: `**${id} ${rule.name}**: ${rule.summary}.\n\n${rule.help}` },
      defaultConfiguration: { level: LEVEL[rule.severity] },
      properties: { tags: ['kubernetes', 'networkpolicy'] },
    };
  });
}

function result(f: LocatedFinding): object {
  const fingerprint = createHash('sha256').update(`${f.id}\u0000${f.object}`).digest('hex');
  return {
    ruleId: f.id,
    ruleIndex: RULE_IDS.indexOf(f.id),
    level: LEVEL[f.severity],
    message: { text: `${f.object}: ${f.message}. Fix: ${f.hint}.` },
    ...(f.file !== undefined
      ? { locations: [{ physicalLocation: { artifactLocation: { uri: pathToUri(f.file) }, region: { startLine: f.line ?? 1 } } }] }
      : {}),
    partialFingerprints: { 'netpolResponderFinding/v1': fingerprint },
    ...(f.suppressed
      ? {
          suppressions: [
            { kind: f.suppressed.kind === 'annotation' ? 'inSource' : 'external', status: 'accepted', justification: f.suppressed.reason, properties: { source: f.suppressed.by } },
          ],
        }
      : {}),
  };
}

export function toSarif(findings: readonly LocatedFinding[], version: string): object {
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'netpol-responder', semanticVersion: version, version, rules: rules() } },
        results: findings.map(result),
      },
    ],
  };
}
