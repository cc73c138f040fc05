// Suppressions: the `netpol-responder.io/lint-ignore` annotation on a policy ("NP011: DNS blocked
// on purpose", several separated by newlines or ";") and the `ignore` list of the config file.
// A suppressed finding stays in the output with its reason and origin but does not fail the run.
// Malformed annotations (NP040) and suppressions that match nothing (NP041) are findings.
import { finding, findRule, LINT_RULES, type LintFinding, type RuleId, type Suppression } from './lint-catalog.js';
import type { IgnoreEntry, LintConfig } from './lint-config.js';
import type { NetworkPolicy } from './model.js';
import { policyId } from './model.js';

export type { LintConfig } from './lint-config.js';

export const IGNORE_ANNOTATION = 'netpol-responder.io/lint-ignore';
const MAX_ANNOTATION_CHARS = 16 * 1024;
const MAX_ANNOTATION_ENTRIES = 100;

export interface AnnotationEntry {
  rule: RuleId;
  reason: string;
}

export interface ParsedAnnotation {
  entries: AnnotationEntry[];
  errors: string[];
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function preview(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

/** Parses the annotation's value: `RULE: reason` entries, one per line or separated by `;`. */
export function parseIgnoreAnnotation(value: unknown): ParsedAnnotation {
  if (typeof value !== 'string') return { entries: [], errors: [`the value must be a string ("NP011: reason"), not ${Array.isArray(value) ? 'a list' : typeof value}`] };
  if (value.length > MAX_ANNOTATION_CHARS) return { entries: [], errors: [`the value is longer than ${MAX_ANNOTATION_CHARS} characters`] };
  const parts = value
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) return { entries: [], errors: ['the value is empty (write "NP011: reason")'] };
  if (parts.length > MAX_ANNOTATION_ENTRIES) return { entries: [], errors: [`more than ${MAX_ANNOTATION_ENTRIES} entries`] };
  const entries: AnnotationEntry[] = [];
  const errors: string[] = [];
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    const ref = (colon === -1 ? part : part.slice(0, colon)).trim();
    const reason = colon === -1 ? '' : part.slice(colon + 1).trim();
    const rule = findRule(ref);
    if (!rule) errors.push(`entry ${i + 1} ${preview(part)}: unknown rule ${preview(ref)} (a rule id such as NP011, or its name)`);
    else if (LINT_RULES[rule].scope !== 'policy') errors.push(`entry ${i + 1} ${preview(part)}: ${rule} is not about one policy, so an annotation cannot suppress it (use an ignore entry of the --config file)`);
    else if (reason === '') errors.push(`entry ${i + 1} ${preview(part)}: the reason is missing (write "${rule}: why it is accepted")`);
    else entries.push({ rule, reason });
  });
  return { entries, errors };
}

function annotationOf(p: NetworkPolicy): { present: boolean; value?: unknown } {
  const raw = p.raw;
  const meta = isRecord(raw) && isRecord(raw.metadata) ? raw.metadata : undefined;
  const annotations = meta && isRecord(meta.annotations) ? meta.annotations : undefined;
  if (!annotations || !Object.prototype.hasOwnProperty.call(annotations, IGNORE_ANNOTATION)) return { present: false };
  return { present: true, value: annotations[IGNORE_ANNOTATION] };
}

interface Candidate {
  suppression: Suppression;
  matches: (f: LintFinding) => boolean;
  used: boolean;
  /** For NP041: what the unused suppression is about. */
  unused: () => LintFinding;
}

function annotationCandidates(policies: readonly NetworkPolicy[], out: LintFinding[]): Candidate[] {
  const candidates: Candidate[] = [];
  for (const p of policies) {
    const { present, value } = annotationOf(p);
    if (!present) continue;
    const pid = policyId(p);
    const context = { namespace: p.namespace, policy: p.name, source: p.source };
    const parsed = parseIgnoreAnnotation(value);
    for (const e of parsed.errors) {
      out.push(finding('NP040', pid, `annotation ${IGNORE_ANNOTATION}: ${e}; nothing in it is suppressed until it is fixed`, 'write one "RULE: reason" per line or separated by ";" (e.g. "NP011: DNS blocked on purpose")', context));
    }
    // One bad entry voids the whole annotation, so a typo never silently narrows what is suppressed.
    if (parsed.errors.length > 0) continue;
    for (const entry of parsed.entries) {
      candidates.push({
        suppression: { reason: entry.reason, by: `annotation ${IGNORE_ANNOTATION} on ${pid}`, kind: 'annotation' },
        matches: (f) => f.id === entry.rule && f.namespace === p.namespace && f.policy === p.name,
        used: false,
        unused: () => finding('NP041', pid, `annotation ${IGNORE_ANNOTATION} suppresses ${entry.rule}, but the policy has no ${entry.rule} finding`, `remove "${entry.rule}: ..." from the annotation`, context),
      });
    }
  }
  return candidates;
}

function configCandidates(config: LintConfig): Candidate[] {
  const file = config.source ?? 'config';
  return config.ignore.map((entry: IgnoreEntry, i) => {
    const scope = [entry.namespace ? `namespace ${entry.namespace}` : '', entry.policy ? `policy ${entry.policy}` : ''].filter((s) => s !== '').join(', ');
    return {
      suppression: { reason: entry.reason, by: `${file} ignore[${i}]`, kind: 'config' as const },
      matches: (f: LintFinding) => f.id === entry.rule && (entry.namespace === undefined || f.namespace === entry.namespace) && (entry.policy === undefined || f.policy === entry.policy),
      used: false,
      unused: () =>
        finding('NP041', `${file} ignore[${i}]`, `ignore[${i}] (${entry.rule}${scope ? `, ${scope}` : ''}) matches no finding`, `remove ignore[${i}] from ${file}`, { source: `${file}.ignore[${i}]` }),
    };
  });
}

/**
 * Marks the findings that a suppression covers (annotations first, then the config) and adds
 * NP040 for malformed annotations and NP041 for suppressions that matched nothing (not for the
 * config's when `report.unusedConfig` is false: the findings are of a part of the cluster).
 */
export function applySuppressions(findings: readonly LintFinding[], policies: readonly NetworkPolicy[], config?: LintConfig, report: { unusedConfig: boolean } = { unusedConfig: true }): LintFinding[] {
  const extra: LintFinding[] = [];
  const fromAnnotations = annotationCandidates(policies, extra);
  const fromConfig = config ? configCandidates(config) : [];
  const all = [...findings, ...extra];
  const out = all.map((f) => {
    // An annotation cannot excuse its own malformation; the config can.
    const pool = f.id === 'NP040' ? fromConfig : [...fromAnnotations, ...fromConfig];
    const hit = pool.find((c) => c.matches(f));
    if (!hit) return f;
    for (const c of pool) if (c.matches(f)) c.used = true;
    return { ...f, suppressed: hit.suppression };
  });
  for (const c of [...fromAnnotations, ...(report.unusedConfig ? fromConfig : [])]) if (!c.used) out.push(c.unused());
  return out;
}
