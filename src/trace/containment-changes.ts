// The bot's own containment, as the replay needs it. The replay walks back from the live state,
// so every change since the window opened must be in the list, the containment too, with the
// object before it. The journal has both; the audit log may not: without a watcher an audit
// event of our podSelector patch has no before-state, and a webhook backend delivers in batches
// (the containment made a second ago may not be there yet). The containment ledger recorded what
// the bot created and each patched policy's podSelector before the patch: that fills the gaps.
// Pure.
import type { LedgerRecord } from '../containment/ledger.js';
import type { LiveObjects } from '../policy/load-objects.js';
import { keyOf, type TracedChange } from './changes.js';

export interface ContainmentRecord {
  record: LedgerRecord;
  /** Still in force (not lifted): its objects and patches are part of the live state. */
  inForce: boolean;
}

type PatchRecord = LedgerRecord['patches'][number];
type Obj = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

function patchFor(change: TracedChange, records: readonly ContainmentRecord[]): PatchRecord | undefined {
  for (const { record } of records) {
    for (const patch of record.patches) {
      if (patch.namespace !== change.namespace || patch.name !== change.name) continue;
      // Our patch's resulting version when the ledger has it: a later patch of ours (a repair) has another.
      if (patch.patchedResourceVersion !== undefined && change.resourceVersion !== undefined && patch.patchedResourceVersion !== change.resourceVersion) continue;
      return patch;
    }
  }
  return undefined;
}

function unpatched(object: Obj, patch: PatchRecord): Record<string, unknown> {
  const before = structuredClone(object);
  before.spec = { ...(before.spec ?? {}), podSelector: structuredClone(patch.podSelector) };
  before.metadata = { ...(before.metadata ?? {}), resourceVersion: patch.resourceVersion };
  return before;
}

const isPatch = (c: TracedChange): boolean => c.verb !== 'create' && c.verb !== 'delete' && c.verb !== 'deletecollection';

function liveNetworkPolicy(live: LiveObjects, namespace: string, name: string): Obj | undefined {
  return (live.networkPolicies ?? []).find((p) => (p as Obj).metadata?.namespace === namespace && (p as Obj).metadata?.name === name) as Obj | undefined;
}

function ownChange(key: { kind: string; namespace?: string; name: string }, at: string, verb: string, before: Record<string, unknown> | null, after: Record<string, unknown>, fieldManager: string): TracedChange {
  return {
    key: keyOf(key.kind, key.namespace, key.name),
    kind: key.kind,
    ...(key.namespace ? { namespace: key.namespace } : {}),
    name: key.name,
    at,
    verb,
    actor: 'netpol-responder',
    via: 'netpol-responder',
    evidence: 'none',
    auditIDs: [],
    sourceIPs: [],
    before,
    after,
    fromAuditOnly: false,
    managers: [fieldManager],
  };
}

/**
 * `changes` (time-ordered) with the containment's gaps filled: the before-state of our own
 * audit-only podSelector patches, and the containments in force whose changes are missing, at the
 * time they started. `own` tells the bot's changes apart.
 */
export function withContainmentChanges(
  changes: readonly TracedChange[],
  records: readonly ContainmentRecord[],
  live: LiveObjects,
  own: (change: TracedChange) => boolean,
  fieldManager: string,
): TracedChange[] {
  const filled = changes.map((change) => {
    if (!change.fromAuditOnly || change.before !== null || change.after === null || change.kind !== 'NetworkPolicy' || !isPatch(change) || !own(change)) return change;
    const patch = patchFor(change, records);
    return patch ? { ...change, before: unpatched(change.after as Obj, patch) } : change;
  });
  const missing: TracedChange[] = [];
  for (const { record, inForce } of records) {
    if (!inForce) continue;
    const since = record.meta.startedAt;
    const seen = (key: string, created: boolean): boolean => filled.some((c) => c.key === key && own(c) && c.at >= since && (c.verb === 'create') === created);
    for (const created of record.createdObjects) {
      if (!seen(keyOf(created.kind, created.namespace, created.name), true)) missing.push(ownChange(created, since, 'create', null, created.object as Record<string, unknown>, fieldManager));
    }
    for (const patch of record.patches) {
      if (patch.gone || seen(keyOf('NetworkPolicy', patch.namespace, patch.name), false)) continue;
      const now = liveNetworkPolicy(live, patch.namespace, patch.name);
      if (now) missing.push(ownChange({ kind: 'NetworkPolicy', namespace: patch.namespace, name: patch.name }, since, 'patch', unpatched(now, patch), now, fieldManager));
    }
  }
  if (missing.length === 0) return filled;
  // Stable: at equal times a recorded change keeps its place before the synthesized ones.
  return [...filled, ...missing].sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
}
