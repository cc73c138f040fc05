// Automatic response: which anomalies are contained at once, without an approval. Pure: the
// configured rules and an anomaly in, the first matching rule's decision out. Protected
// namespaces are never contained automatically, whatever a rule says.
import type { AnomalyKind, Severity, Anomaly } from '../flows/types.js';
import type { StrategyChoice } from '../containment/strategy.js';

export const ANOMALY_KINDS = ['new-external-egress', 'new-east-west-edge', 'volume-spike', 'policy-deny-spike', 'fan-out', 'external-alert'] as const satisfies readonly AnomalyKind[];
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const satisfies readonly Severity[];

// Both lists must name every kind and severity the detectors raise (a compile error otherwise).
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : never;
const kindsComplete: Missing<AnomalyKind, (typeof ANOMALY_KINDS)[number]> = true;
const severitiesComplete: Missing<Severity, (typeof SEVERITIES)[number]> = true;
void kindsComplete;
void severitiesComplete;

/** Time box of an automatic containment when a rule does not set one: 15 minutes. */
export const DEFAULT_AUTO_MAX_DURATION_MS = 15 * 60_000;
/** The longest time box a rule may ask for: automatic containment never runs unattended for long. */
export const MAX_AUTO_MAX_DURATION_MS = 24 * 3_600_000;

/** One entry of `anomalies.autoContain` (validated by the config schema). */
export interface AutoContainRule {
  kinds?: readonly AnomalyKind[];
  minSeverity?: Severity;
  namespaces?: readonly string[];
  strategy?: StrategyChoice;
  /** Milliseconds; > 0 and at most MAX_AUTO_MAX_DURATION_MS. */
  maxDuration: number;
}

export type AutoDecision =
  /** No rule matches: the alert waits for a person, as without automatic response. */
  | { kind: 'none' }
  /** A rule matches, but the namespace is protected: never contained automatically. */
  | { kind: 'protected'; rule: number; namespace: string }
  | { kind: 'contain'; rule: number; strategy?: StrategyChoice; maxDuration: number };

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function ruleMatches(rule: AutoContainRule, anomaly: Anomaly): boolean {
  if (rule.kinds && !rule.kinds.includes(anomaly.kind)) return false;
  if (rule.minSeverity && !(severityRank(anomaly.severity) >= severityRank(rule.minSeverity))) return false;
  if (rule.namespaces && !rule.namespaces.includes(anomaly.scope.namespace)) return false;
  // An empty rule would contain everything: the schema refuses one, and so does matching.
  return Boolean(rule.kinds || rule.minSeverity || rule.namespaces);
}

/** The first matching rule decides; a protected namespace is refused even when a rule matches. */
export function decideAutoResponse(rules: readonly AutoContainRule[], anomaly: Anomaly, protectedNamespaces: ReadonlySet<string>): AutoDecision {
  const index = rules.findIndex((rule) => ruleMatches(rule, anomaly));
  if (index < 0) return { kind: 'none' };
  const rule = rules[index] as AutoContainRule;
  const namespace = anomaly.scope.namespace;
  if (protectedNamespaces.has(namespace)) return { kind: 'protected', rule: index, namespace };
  if (!(rule.maxDuration > 0 && rule.maxDuration <= MAX_AUTO_MAX_DURATION_MS)) return { kind: 'none' };
  return { kind: 'contain', rule: index, ...(rule.strategy ? { strategy: rule.strategy } : {}), maxDuration: rule.maxDuration };
}

/** Start-up check: a rule that names a protected namespace is a mistake worth stopping for. */
export function protectedRuleProblems(rules: readonly AutoContainRule[], protectedNamespaces: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  rules.forEach((rule, index) => {
    for (const namespace of rule.namespaces ?? []) {
      if (protectedNamespaces.has(namespace)) {
        problems.push(`anomalies.autoContain.${index}.namespaces: \`${namespace}\` is a protected namespace (the playbook's protectedNamespaces or kube.botNamespace): it is never contained automatically; remove it from the rule`);
      }
    }
  });
  return problems;
}
