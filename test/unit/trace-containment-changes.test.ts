// The bot's own containment in the trace replay: gaps the audit log leaves (no before-state for
// our podSelector patch, or no event yet at all) are filled from the containment ledger, so the
// replay walks back through the containment and the real cause keeps its effect.
import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../src/containment/ledger.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { isOwnChange, type TracedChange } from '../../src/trace/changes.js';
import { withContainmentChanges, type ContainmentRecord } from '../../src/trace/containment-changes.js';
import { changeEffects, likelyCause, type Probe } from '../../src/trace/effects.js';

const T = (s: number) => new Date(Date.UTC(2026, 10, 30, 10, 0, s)).toISOString();
const MANAGER = 'netpol-responder';
const own = (c: TracedChange) => isOwnChange(c, MANAGER);

const ORIGINAL_SELECTOR = {};
const EXCLUDING = { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['postgres'] }] };
const allowAll = (rv: string, podSelector: object = ORIGINAL_SELECTOR) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-all-egress', namespace: 'db', resourceVersion: rv, creationTimestamp: T(10) },
  spec: { podSelector, policyTypes: ['Egress'], egress: [{}] },
});
const quarantine = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'netpol-responder-quarantine-i1', namespace: 'db', labels: { 'app.kubernetes.io/managed-by': 'netpol-responder', 'netpol-responder.io/incident': 'i1' } },
  spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Ingress', 'Egress'] },
};

function record(over: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    meta: {
      incidentId: 'i1',
      strategy: 'exclusive',
      namespace: 'db',
      startedAt: T(40),
      dns: { keep: false, namespace: 'kube-system', podLabels: {} },
      baseline: { connectivity: [], fingerprint: '' },
    },
    created: [{ kind: 'NetworkPolicy', namespace: 'db', name: quarantine.metadata.name }],
    createdObjects: [{ kind: 'NetworkPolicy', namespace: 'db', name: quarantine.metadata.name, object: quarantine }],
    patches: [{ namespace: 'db', name: 'allow-all-egress', resourceVersion: '1', podSelector: ORIGINAL_SELECTOR, fluxReconcile: null, suspendsFlux: false, patchedResourceVersion: '2' }],
    pods: [],
    applications: [],
    ...over,
  };
}

type Obj = { kind: string; metadata: { name: string; namespace?: string } };
function contained(): LiveObjects {
  const objects = [...shopObjects(), allowAll('2', EXCLUDING), quarantine] as Obj[];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy') };
}

function change(over: Partial<TracedChange> & Pick<TracedChange, 'at' | 'verb'>): TracedChange {
  return {
    key: 'NetworkPolicy/db/allow-all-egress',
    kind: 'NetworkPolicy',
    namespace: 'db',
    name: 'allow-all-egress',
    actor: 'carol@corp',
    via: 'kubectl',
    evidence: 'audit',
    auditIDs: ['a'],
    sourceIPs: [],
    before: null,
    after: allowAll('1'),
    fromAuditOnly: true,
    managers: ['kubectl-client-side-apply'],
    ...over,
  };
}

const carol = change({ at: T(10), verb: 'create', resourceVersion: '1' });
const ourPatch = change({ at: T(40), verb: 'patch', resourceVersion: '2', actor: 'system:serviceaccount:netpol:bot', via: 'netpol-responder', after: allowAll('2', EXCLUDING), managers: [MANAGER] });
const SCOPE = { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } };
const EXFIL: Probe = { src: 'db/postgres-0', dst: '203.0.113.66', port: 443, protocol: 'TCP', at: Date.parse(T(30)) };
const inForce = (r: LedgerRecord = record()): ContainmentRecord[] => [{ record: r, inForce: true }];

describe('the containment in the trace replay', () => {
  it('without the containment in the changes, the replay keeps it in every earlier state and the cause is lost', () => {
    const effects = changeEffects(contained(), [carol], SCOPE, [EXFIL], own);
    expect(effects[0]?.effect?.opensProbes).toEqual([]);
    expect(likelyCause(effects, Date.parse(T(30)))).toBeUndefined();
  });

  it('adds the containment in force that the audit log has not delivered yet, at its start, and the cause comes back', () => {
    const changes = withContainmentChanges([carol], inForce(), contained(), own, MANAGER);
    expect(changes.map((c) => `${c.verb} ${c.name} @${c.at}`)).toEqual([`create allow-all-egress @${T(10)}`, `create ${quarantine.metadata.name} @${T(40)}`, `patch allow-all-egress @${T(40)}`]);
    expect(changes.slice(1).every(own)).toBe(true);
    expect((changes[2]?.before as { spec: { podSelector: unknown } }).spec.podSelector).toEqual(ORIGINAL_SELECTOR);
    const effects = changeEffects(contained(), changes, SCOPE, [EXFIL], own);
    const cause = likelyCause(effects, Date.parse(T(30)));
    expect(cause).toMatchObject({ confidence: 'high' });
    expect(cause?.change.actor).toBe('carol@corp');
  });

  it('gives our audit-only podSelector patch its before-state from the ledger', () => {
    const quarantineEvent = change({ key: `NetworkPolicy/db/${quarantine.metadata.name}`, name: quarantine.metadata.name, at: T(40), verb: 'create', after: quarantine, via: 'netpol-responder', managers: [MANAGER] });
    const changes = withContainmentChanges([carol, quarantineEvent, ourPatch], inForce(), contained(), own, MANAGER);
    // Both were in the audit log: nothing synthesized, the patch completed.
    expect(changes).toHaveLength(3);
    const patched = changes[2]!;
    expect(patched.before).toMatchObject({ metadata: { resourceVersion: '1' }, spec: { podSelector: ORIGINAL_SELECTOR, egress: [{}] } });
    expect(patched.after).toBe(ourPatch.after);
    expect(likelyCause(changeEffects(contained(), changes, SCOPE, [EXFIL], own), Date.parse(T(30)))?.change.actor).toBe('carol@corp');
  });

  it('leaves alone what is not ours, a creation, a change with its before-state, and a patch of another version', () => {
    const records = inForce();
    const notOurs = change({ at: T(50), verb: 'patch', resourceVersion: '2' });
    const withBefore = { ...ourPatch, before: allowAll('1') };
    const otherVersion = { ...ourPatch, resourceVersion: '7' };
    for (const c of [notOurs, withBefore, otherVersion, carol]) {
      const [out] = withContainmentChanges([c], [{ record: records[0]!.record, inForce: false }], contained(), own, MANAGER);
      expect(out).toBe(c);
    }
  });

  it('synthesizes nothing for a lifted containment, for a policy gone since, or one no longer live', () => {
    expect(withContainmentChanges([carol], [{ record: record(), inForce: false }], contained(), own, MANAGER)).toEqual([carol]);
    const gone = record({ createdObjects: [], patches: [{ ...record().patches[0]!, gone: true }] });
    expect(withContainmentChanges([carol], inForce(gone), contained(), own, MANAGER)).toEqual([carol]);
    const notLive = record({ createdObjects: [] });
    const liveWithout = { ...contained(), networkPolicies: contained().networkPolicies!.filter((p) => (p as Obj).metadata.name !== 'allow-all-egress') };
    expect(withContainmentChanges([carol], inForce(notLive), liveWithout, own, MANAGER)).toEqual([carol]);
  });

  it('does not add a change the journal already holds (ours, since the containment started)', () => {
    const journalled = [carol, { ...ourPatch, fromAuditOnly: false, before: allowAll('1') }, { ...change({ at: T(41), verb: 'create', after: quarantine, managers: [MANAGER] }), key: `NetworkPolicy/db/${quarantine.metadata.name}`, name: quarantine.metadata.name, fromAuditOnly: false }];
    expect(withContainmentChanges(journalled, inForce(), contained(), own, MANAGER)).toEqual(journalled);
  });

  it('keeps a cluster-scoped object of the containment keyed without a namespace', () => {
    const anp = { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'netpol-responder-i1' }, spec: { priority: 0 } };
    const r = record({ createdObjects: [{ kind: 'AdminNetworkPolicy', name: 'netpol-responder-i1', object: anp }], patches: [] });
    const [, added] = withContainmentChanges([carol], inForce(r), contained(), own, MANAGER);
    expect(added).toMatchObject({ key: 'AdminNetworkPolicy//netpol-responder-i1', kind: 'AdminNetworkPolicy', verb: 'create', before: null, after: anp });
    expect(added?.namespace).toBeUndefined();
  });
});
