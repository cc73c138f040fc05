// Whether an object read back from the API enforces what we applied: specs compared after
// dropping what servers add or omit (key order, empty lists, defaulted policyTypes order). Pure.
import { compactSelector } from './objects.js';
import type { LabelSelectorSpec } from '../incident/model.js';

/** JSON with object keys sorted and empty/absent values dropped, so equal intents compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

type Spec = Record<string, unknown> | null | undefined;

function normalise(kind: string, spec: Spec): string {
  if (!spec) return 'null';
  if (kind === 'NetworkPolicy') {
    return canonicalJson({
      ...spec,
      podSelector: compactSelector((spec.podSelector ?? {}) as LabelSelectorSpec),
      policyTypes: [...((spec.policyTypes as string[] | undefined) ?? [])].sort(),
    });
  }
  return canonicalJson(spec);
}

/** True when the live object's spec enforces the desired one. */
export function sameIntent(kind: string, desired: Spec, live: Spec): boolean {
  return live !== undefined && live !== null && normalise(kind, desired) === normalise(kind, live);
}
