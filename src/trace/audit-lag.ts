// What the trace still waits for from the audit log. kube-apiserver sends audit events in batches
// (--audit-webhook-batch-max-wait, 30 s by default), so the events of the last seconds' changes
// may not have arrived when the step runs, right after the containment: without them a change's
// actor is only what managedFields say, or, with no watcher journalling, the change is missing.
// Two signs tell that they have arrived:
//  - an event of this incident's own containment is in, when it started within the delay: one
//    apiserver sends its events in order, so what happened before the containment was sent before
//    it (changes the audit policy leaves out, or made past the API, then hold nothing up);
//  - otherwise (no recent containment), each recent change the journal saw, not the bot's own, is
//    paired with its audit event.
// What was recent when the step looked is awaited until its events can no longer be in flight (its
// time plus the delay); older ones are not. Pure.
import type { AuditChange } from '../audit/types.js';
import type { TracedChange } from './changes.js';

export interface AuditLagInput {
  /** Epoch ms the step looked: changes within the delay before it are awaited. */
  lookedAt: number;
  /** How late the audit log may deliver an event. */
  delayMs: number;
  /** The audit events stored so far in the window. */
  audit: readonly AuditChange[];
  /** The journal and the audit log merged (mergeChanges): asked for only when no recent containment is the sign. */
  changes: () => readonly TracedChange[];
  /** The bot's own changes: never suspects, so never waited for one by one. */
  own: (change: TracedChange) => boolean;
  /** This incident's containment: when it started and the objects it created (names unique to the incident). */
  containment?: { startedAt: string; created: ReadonlyArray<{ namespace?: string; name: string }> };
}

export interface AuditLag {
  /** Recent changes of others without their audit event yet (awaited when there is no recent containment to wait for). */
  unpaired: TracedChange[];
  /** The containment's own events have not arrived yet (while they may still). */
  containmentPending: boolean;
  /** Epoch ms after which nothing pending can still arrive: the wait's end (lookedAt when nothing is pending). */
  until: number;
}

/** What may still arrive from the audit log, and until when it is worth waiting for. */
export function auditLag(input: AuditLagInput): AuditLag {
  const since = input.lookedAt - input.delayMs;
  const started = input.containment ? Date.parse(input.containment.startedAt) : Number.NaN;
  if (input.containment && input.containment.created.length > 0 && started > since) {
    const names = new Set(input.containment.created.map((o) => `${o.namespace ?? ''}/${o.name}`));
    const arrived = input.audit.some((a) => !a.refused && names.has(`${a.objectRef.namespace ?? ''}/${a.objectRef.name ?? ''}`));
    return arrived ? { unpaired: [], containmentPending: false, until: input.lookedAt } : { unpaired: [], containmentPending: true, until: started + input.delayMs };
  }
  const unpaired = input.changes().filter((c) => !c.fromAuditOnly && !c.firstSighting && c.evidence !== 'audit' && !input.own(c) && Date.parse(c.at) > since);
  return { unpaired, containmentPending: false, until: Math.max(input.lookedAt, ...unpaired.map((c) => Date.parse(c.at) + input.delayMs)) };
}
