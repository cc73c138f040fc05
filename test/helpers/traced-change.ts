// A journalled change of one object, paired with its audit event, as mergeChanges makes it: for
// tests and benchmarks of the trace's walk (changeEffects).
import type { TracedChange } from '../../src/trace/changes.js';

type Obj = { metadata: { name: string; namespace?: string } };

/** The change from `before` to `after` (null: absent) at `at`; its verb follows from which is absent. */
export function tracedChange(kind: string, before: Obj | null, after: Obj | null, at: string): TracedChange {
  const obj = (after ?? before) as Obj;
  return {
    key: `${kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`,
    kind,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata.name,
    at,
    verb: before === null ? 'create' : after === null ? 'delete' : 'update',
    evidence: 'audit',
    auditIDs: [],
    sourceIPs: [],
    before: before as Record<string, unknown> | null,
    after: after as Record<string, unknown> | null,
    fromAuditOnly: false,
    managers: [],
  };
}
