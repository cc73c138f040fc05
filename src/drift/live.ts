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

/** Live policies of every kind, each with its kind (list items carry none). */
export function livePolicies(live: LiveObjects): Record<string, unknown>[] {
  const tag = (kind: string, items: readonly unknown[] | undefined): Record<string, unknown>[] => (items ?? []).map((o) => ({ ...(o as Record<string, unknown>), kind }));
  return [
    ...tag('NetworkPolicy', live.networkPolicies),
    ...tag('AdminNetworkPolicy', live.adminNetworkPolicies),
    ...tag('BaselineAdminNetworkPolicy', live.baselineAdminNetworkPolicies),
    ...tag('CiliumNetworkPolicy', live.ciliumNetworkPolicies),
  ];
}
