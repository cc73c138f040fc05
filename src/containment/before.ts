// The live objects as they were before a containment, from what its ledger says was done. A contain
// step that resumes after its worker died mid-apply takes its baseline from this: the cluster then
// holds part of the first run's containment, which is not the "before" a lift is verified against.
import { POLICY_LIST_OF_KIND, type LiveObjects } from '../policy/index.js';
import { QUARANTINE_LABEL } from './exclusion.js';
import type { LedgerRecord } from './ledger.js';

type Meta = { name?: unknown; namespace?: unknown; labels?: Record<string, string> | null };

const metaOf = (o: unknown): Meta | undefined => (o as { metadata?: Meta | null } | null | undefined)?.metadata ?? undefined;
const refOf = (o: unknown): string => `${String(metaOf(o)?.namespace ?? '')}/${String(metaOf(o)?.name ?? '')}`;

/**
 * `live` with the record's changes taken out: its created objects removed, the podSelectors of the
 * policies it patched as recorded before the first patch, and its quarantine label off the pods it
 * labelled (only where the label still names this incident). Everything else, other incidents'
 * containments included, is left as it is.
 */
export function beforeContainment(live: LiveObjects, record: Pick<LedgerRecord, 'meta' | 'created' | 'patches' | 'pods'>): LiveObjects {
  const { incidentId, namespace } = record.meta;
  const created = new Set(record.created.map((k) => `${k.kind}:${k.namespace ?? ''}/${k.name}`));
  const patched = new Map(record.patches.map((p) => [`${p.namespace}/${p.name}`, p.podSelector]));
  const labelled = new Set(record.pods.map((pod) => `${namespace}/${pod}`));
  const out: LiveObjects = { ...live };
  // Our created objects are of the kinds the engine models.
  for (const [kind, list] of Object.entries(POLICY_LIST_OF_KIND)) {
    const items = live[list];
    if (items) out[list] = items.filter((o) => !created.has(`${kind}:${refOf(o)}`));
  }
  if (out.networkPolicies) {
    out.networkPolicies = out.networkPolicies.map((p) => {
      const before = patched.get(refOf(p));
      if (before === undefined) return p;
      const policy = p as { spec?: Record<string, unknown> };
      return { ...policy, spec: { ...policy.spec, podSelector: before } };
    });
  }
  if (live.pods) {
    out.pods = live.pods.map((p) => {
      const meta = metaOf(p);
      if (!labelled.has(refOf(p)) || meta?.labels?.[QUARANTINE_LABEL] !== incidentId) return p;
      const { [QUARANTINE_LABEL]: _ours, ...labels } = meta.labels;
      return { ...(p as object), metadata: { ...meta, labels } };
    });
  }
  return out;
}
