// Live policies as a drift comparison takes them (pure): list items tagged with their kind, and
// a short fingerprint of an object's normalised form, to tell whether it moved since an alert.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../journal/index.js';
import type { LiveObjects } from '../policy/index.js';
import { normalizePolicy } from './normalize.js';

export function fingerprint(obj: Record<string, unknown> | undefined): string {
  if (!obj) return '';
  return createHash('sha256').update(canonicalJson(normalizePolicy(obj))).digest('hex').slice(0, 16);
}

/**
 * Each list item's copy with its kind, kept while the item lives. The watched view hands out the
 * same items until they change, and the drift comparison's memo knows an object by its identity:
 * a fresh copy of every policy at each evaluation had it decide all 10k keys again.
 */
const withKind = new WeakMap<object, Record<string, unknown>>();

function tagged(item: unknown, kind: string): Record<string, unknown> {
  if (typeof item !== 'object' || item === null) return { ...(item as Record<string, unknown>), kind };
  const kept = withKind.get(item);
  if (kept?.kind === kind) return kept;
  const copy = { ...(item as Record<string, unknown>), kind };
  withKind.set(item, copy);
  return copy;
}

/** Live policies of every kind, each with its kind (list items carry none); the same item gives the same object. */
export function livePolicies(live: LiveObjects): Record<string, unknown>[] {
  const tag = (kind: string, items: readonly unknown[] | undefined): Record<string, unknown>[] => (items ?? []).map((o) => tagged(o, kind));
  return [
    ...tag('NetworkPolicy', live.networkPolicies),
    ...tag('AdminNetworkPolicy', live.adminNetworkPolicies),
    ...tag('BaselineAdminNetworkPolicy', live.baselineAdminNetworkPolicies),
    ...tag('CiliumNetworkPolicy', live.ciliumNetworkPolicies),
  ];
}
