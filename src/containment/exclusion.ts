// The portable exclusion that makes a NetworkPolicy containment exclusive: pods in scope carry
// the quarantine label, and every other NetworkPolicy that selects them gets a
// `netpol-responder.io/quarantine DoesNotExist` requirement, so the deny-all is the only policy
// left selecting them. Pure: selectors in, selectors out.
import type { LabelSelectorSpec } from '../incident/model.js';

export const QUARANTINE_LABEL = 'netpol-responder.io/quarantine';

export type SelectorRequirement = NonNullable<LabelSelectorSpec['matchExpressions']>[number];

export const EXCLUSION_REQUIREMENT: Readonly<SelectorRequirement> = Object.freeze({ key: QUARANTINE_LABEL, operator: 'DoesNotExist' });

function isExclusion(requirement: unknown): boolean {
  if (!requirement || typeof requirement !== 'object') return false;
  const r = requirement as { key?: unknown; operator?: unknown; values?: unknown };
  return r.key === QUARANTINE_LABEL && r.operator === 'DoesNotExist' && (r.values === undefined || (Array.isArray(r.values) && r.values.length === 0));
}

/** A null or missing selector selects every pod, like `{}`. */
function asSelector(selector: unknown): LabelSelectorSpec {
  return selector && typeof selector === 'object' ? (selector as LabelSelectorSpec) : {};
}

export function hasExclusion(selector: unknown): boolean {
  const expressions = asSelector(selector).matchExpressions;
  return Array.isArray(expressions) && expressions.some(isExclusion);
}

/** The selector with our requirement appended (unchanged when it is already there). */
export function withExclusion(selector: unknown): LabelSelectorSpec {
  const current = asSelector(selector);
  if (hasExclusion(current)) return current;
  const expressions = Array.isArray(current.matchExpressions) ? current.matchExpressions : [];
  return { ...current, matchExpressions: [...expressions, { ...EXCLUSION_REQUIREMENT }] };
}

/**
 * The selector without our requirement, whatever else its owner changed meanwhile. An emptied
 * matchExpressions list is dropped: the API server omits empty lists, so the spec reads as before.
 */
export function withoutExclusion(selector: unknown): LabelSelectorSpec {
  const current = asSelector(selector);
  if (!Array.isArray(current.matchExpressions)) return current;
  const rest = current.matchExpressions.filter((r) => !isExclusion(r));
  const { matchExpressions: _dropped, ...others } = current;
  return rest.length > 0 ? { ...others, matchExpressions: rest } : others;
}
