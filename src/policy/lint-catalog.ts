// The lint rules: stable id, name, default severity, and the texts that `--help`, the docs and
// SARIF (tool.driver.rules) show. Errors fail CI; warnings and info do not.

export type Severity = 'error' | 'warning' | 'info';

export interface LintRule {
  name: string;
  severity: Severity;
  /** One line: what the rule reports. */
  summary: string;
  /** Why it matters and how to fix it. */
  help: string;
  /** What a finding is about: the input, a namespace, one policy, or a suppression. Only policy findings can be suppressed by an annotation on the policy. */
  scope: 'input' | 'namespace' | 'policy' | 'suppression';
}

export const LINT_RULES = {
  NP000: {
    name: 'invalid-manifest',
    severity: 'error',
    scope: 'input',
    summary: 'a file or object that cannot be read, or that the API server would reject',
    help: 'The object is left out of the analysis, so the other findings do not account for it. Fix the field named in the message (kubectl apply --dry-run=server reports the same).',
  },
  NP001: {
    name: 'namespace-without-policy',
    severity: 'warning',
    scope: 'namespace',
    summary: 'a namespace with pods and no NetworkPolicy',
    help: 'Every pod of the namespace accepts and sends any traffic. Add a default-deny policy (podSelector: {}, policyTypes: [Ingress, Egress]) plus allow rules for the traffic the namespace needs.',
  },
  NP002: {
    name: 'namespace-without-default-deny',
    severity: 'warning',
    scope: 'namespace',
    summary: 'no policy isolates every pod of the namespace for ingress',
    help: 'Pods that no policy selects accept any traffic, including pods added later. Add a policy with podSelector: {} (or matchLabels left empty) and policyTypes: [Ingress], with no rule or with the namespace-wide allows.',
  },
  NP009: {
    name: 'manifest-warning',
    severity: 'warning',
    scope: 'input',
    summary: 'an object skipped or partly read (unknown kind, unusable container port, ...)',
    help: 'The analysis may miss what the object would change. Check the object named in the message.',
  },
  NP010: {
    name: 'ingress-from-everywhere',
    severity: 'warning',
    scope: 'policy',
    summary: 'an ingress rule that admits every source (empty from, 0.0.0.0/0 or ::/0, or every namespace)',
    help: 'Anything that can reach the pods, in or outside the cluster, may connect on the ports named. Restrict "from" to the namespaces, pods or CIDRs that need access.',
  },
  NP011: {
    name: 'egress-without-dns',
    severity: 'error',
    scope: 'policy',
    summary: 'egress is isolated and nothing allows DNS (UDP 53)',
    help: 'Name resolution fails, so the pods cannot reach services by name. Allow UDP and TCP 53 to kube-dns; if DNS is blocked on purpose, suppress the finding with its reason.',
  },
  NP012: {
    name: 'egress-to-everywhere',
    severity: 'warning',
    scope: 'policy',
    summary: 'egress allowed to every destination (empty to, or the whole Internet and every namespace) on every port',
    help: 'The policy isolates egress but allows everything, so it restricts nothing and can hide a missing restriction. Limit "to" and "ports" to what the pods need, or remove Egress from policyTypes.',
  },
  NP020: {
    name: 'policy-selects-no-pods',
    severity: 'warning',
    scope: 'policy',
    summary: 'a podSelector that matches no pod of the input',
    help: 'The policy protects nothing. Check the labels against the pods (kubectl get pods --show-labels) or delete the policy.',
  },
  NP021: {
    name: 'rule-never-matches',
    severity: 'error',
    scope: 'policy',
    summary: 'a rule that can never match (named port no destination defines, or a direction missing from policyTypes)',
    help: 'The traffic the rule was written for is denied. Fix the port name or policyTypes.',
  },
  NP022: {
    name: 'peer-selects-nothing',
    severity: 'warning',
    scope: 'policy',
    summary: 'a peer of a rule that matches no pod of the input',
    help: 'Check the namespace and pod labels of the peer.',
  },
  NP023: {
    name: 'selects-host-network-pods',
    severity: 'warning',
    scope: 'policy',
    summary: 'a policy that selects hostNetwork pods, which most CNIs do not police',
    help: 'Protect host-network pods with host firewall or host endpoint policies instead, or exclude them from the podSelector.',
  },
  NP030: {
    name: 'shadowed-rule',
    severity: 'info',
    scope: 'policy',
    summary: 'a rule that allows nothing another rule of the same policy does not',
    help: 'Remove the rule or merge it into the broader one.',
  },
  NP031: {
    name: 'void-policy',
    severity: 'warning',
    scope: 'policy',
    summary: 'a policy that changes nothing in a direction because other policies already isolate its pods and allow all it allows',
    help: 'NetworkPolicies are additive: a connection is allowed when any policy selecting the pod allows it, so one policy cannot take away what another allows (e.g. a deny-all next to an allow-all denies nothing). Narrow or delete the broader policy if the traffic must be denied; otherwise delete the void one.',
  },
  NP040: {
    name: 'invalid-suppression',
    severity: 'error',
    scope: 'suppression',
    summary: 'a malformed netpol-responder.io/lint-ignore annotation',
    help: 'Write one "RULE: reason" per line or separated by ";", where RULE is a rule id (NP011) or name (egress-without-dns) and the reason is not empty.',
  },
  NP041: {
    name: 'unused-suppression',
    severity: 'info',
    scope: 'suppression',
    summary: 'a suppression that matches no finding',
    help: 'The problem it was written for is gone (or the rule, namespace or policy is misspelled): remove it.',
  },
  NP050: {
    name: 'anp-same-priority',
    severity: 'warning',
    scope: 'input',
    summary: 'two AdminNetworkPolicies with the same priority select the same pods in a direction where both have rules',
    help: 'The API leaves the order of equal priorities undefined: implementations may apply either, so the outcome can differ between clusters and restarts. Give each AdminNetworkPolicy its own priority.',
  },
} as const satisfies Record<string, LintRule>;

export type RuleId = keyof typeof LINT_RULES;

export const RULE_IDS = Object.keys(LINT_RULES) as RuleId[];

/** A rule named by id (any case) or by name, else undefined. */
export function findRule(ref: string): RuleId | undefined {
  const text = ref.trim();
  const byId = text.toUpperCase();
  if (byId in LINT_RULES) return byId as RuleId;
  return RULE_IDS.find((id) => LINT_RULES[id].name === text.toLowerCase());
}

export interface Suppression {
  reason: string;
  /** Where it was written, e.g. `annotation netpol-responder.io/lint-ignore on default/web` or `lint.yaml ignore[2]`. */
  by: string;
  kind: 'annotation' | 'config';
}

export interface LintFinding {
  id: RuleId;
  name: string;
  severity: Severity;
  /** `namespace` or `namespace/policy`, plus the rule path when it is about one rule. */
  object: string;
  message: string;
  hint: string;
  /** The namespace and policy the finding is about, when it is about one (suppressions match them). */
  namespace?: string;
  policy?: string;
  /** Where the object is defined, as the loader names it: `file`, `file#2`, `file#2.items[0]`, `live:...`. */
  source?: string;
  /** Present when a suppression covers the finding: listed, but it does not fail the run. */
  suppressed?: Suppression;
}

export interface FindingContext {
  namespace?: string;
  policy?: string;
  source?: string;
}

export function finding(id: RuleId, object: string, message: string, hint: string, context: FindingContext = {}): LintFinding {
  const rule: LintRule = LINT_RULES[id];
  return { id, name: rule.name, severity: rule.severity, object, message, hint, ...definedOnly(context) };
}

function definedOnly(context: FindingContext): FindingContext {
  const out: FindingContext = {};
  if (context.namespace !== undefined) out.namespace = context.namespace;
  if (context.policy !== undefined) out.policy = context.policy;
  if (context.source !== undefined) out.source = context.source;
  return out;
}
