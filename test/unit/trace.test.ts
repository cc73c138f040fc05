// The trace's pure parts: merging the journal with the audit log, each change's effect on the
// scope, the most likely cause, and how it reads.
import { describe, expect, it } from 'vitest';
import type { AuditChange } from '../../src/audit/types.js';
import type { JournalEntry } from '../../src/journal/types.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { isOwnChange, mergeChanges, type TracedChange } from '../../src/trace/changes.js';
import { changeEffects, likelyCause, type Probe } from '../../src/trace/effects.js';
import { causeLine, changeRow, fullReport, gitText, objectDiff, prettyConnection, type ExplainedChange } from '../../src/trace/render.js';

const T = (s: number) => new Date(Date.UTC(2026, 10, 30, 10, 0, s)).toISOString();

const allowAll = (rv: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-all-egress', namespace: 'db', resourceVersion: rv, labels, creationTimestamp: T(10) },
  spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
});

function entry(over: Partial<JournalEntry> & Pick<JournalEntry, 'type' | 'resourceVersion'>): JournalEntry {
  return { id: `${Date.parse(over.observedAt ?? T(11))}-0`, kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress', observedAt: T(11), before: null, after: null, managers: [], ...over };
}

function audit(over: Partial<AuditChange> = {}): AuditChange {
  return {
    auditID: 'a1',
    at: T(10),
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'carol@corp', groups: ['system:authenticated'] },
    userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/7c48c2b',
    tool: 'kubectl',
    sourceIPs: ['192.0.2.7'],
    objectRef: { resource: 'networkpolicies', apiGroup: 'networking.k8s.io', namespace: 'db', name: 'allow-all-egress' },
    responseStatus: { code: 201 },
    refused: false,
    ...over,
  };
}

describe('merging the journal and the audit log', () => {
  it('pairs an audit event with the journal entry of the same resourceVersion, whatever the clocks say', () => {
    const { changes } = mergeChanges([entry({ type: 'added', resourceVersion: '42', observedAt: T(50), after: allowAll('42') })], [audit({ at: T(10), responseObject: allowAll('42') })]);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ actor: 'carol@corp', via: 'kubectl', evidence: 'audit', auditIDs: ['a1'], at: T(10), verb: 'create' });
  });

  it('pairs by time within the skew tolerance when the event has no body, and not beyond it', () => {
    const journal = [entry({ type: 'added', resourceVersion: '42', observedAt: T(40), after: allowAll('42') })];
    expect(mergeChanges(journal, [audit({ at: T(10) })], { skewToleranceMs: 60_000 }).changes).toHaveLength(1);
    const apart = mergeChanges(journal, [audit({ at: T(10) })], { skewToleranceMs: 5_000 }).changes;
    expect(apart).toHaveLength(2);
    expect(apart.find((c) => !c.fromAuditOnly)?.evidence).toBe('none');
  });

  it('two changes of one object within one second stay two, each with its own actor', () => {
    const journal = [
      entry({ type: 'added', resourceVersion: '42', observedAt: T(10), after: allowAll('42') }),
      entry({ type: 'modified', resourceVersion: '43', observedAt: T(10), before: allowAll('42'), after: allowAll('43', { x: 'y' }) }),
    ];
    const events = [audit({ auditID: 'b', verb: 'patch', user: { username: 'dave@corp', groups: [] }, responseObject: allowAll('43') }), audit({ auditID: 'a', responseObject: allowAll('42') })];
    const { changes } = mergeChanges(journal, events);
    expect(changes.map((c) => `${c.verb}:${c.actor}`)).toEqual(['create:carol@corp', 'patch:dave@corp']);
  });

  it('keeps refused attempts apart, names impersonation, and falls back to managedFields', () => {
    const refused = audit({ auditID: 'r', refused: true, responseStatus: { code: 403 } });
    const impersonated = audit({ auditID: 'i', user: { username: 'admin@corp', groups: [] }, impersonatedUser: { username: 'dave@corp', groups: [] }, responseObject: allowAll('42') });
    const { changes, refused: apart } = mergeChanges([entry({ type: 'added', resourceVersion: '42', after: allowAll('42') })], [refused, impersonated]);
    expect(apart.map((r) => r.auditID)).toEqual(['r']);
    expect(changes[0]?.actor).toBe('admin@corp as dave@corp');
    const fallback = mergeChanges([entry({ type: 'modified', resourceVersion: '50', managers: [{ manager: 'kubectl-edit', operation: 'Update' }], after: allowAll('50') })], []).changes[0];
    expect(fallback).toMatchObject({ evidence: 'managedFields', via: 'kubectl-edit', managers: ['kubectl-edit'] });
  });

  it('an audit event the journal never saw is a change with the bodies it carries', () => {
    const { changes } = mergeChanges([], [audit({ responseObject: allowAll('7') }), audit({ auditID: 'd', verb: 'delete', at: T(20) })]);
    expect(changes.map((c) => [c.verb, c.fromAuditOnly, c.after !== null])).toEqual([
      ['create', true, true],
      ['delete', true, false],
    ]);
  });

  it('an object first seen long after its creation is dated by its creationTimestamp', () => {
    const { changes } = mergeChanges([entry({ type: 'added', resourceVersion: '9', observedAt: T(59) + '', after: { ...allowAll('9'), metadata: { ...allowAll('9').metadata, creationTimestamp: '2026-11-01T00:00:00Z' } } })], [], { skewToleranceMs: 1000 });
    expect(changes[0]).toMatchObject({ firstSighting: true, at: '2026-11-01T00:00:00.000Z' });
  });

  it('a first sighting never takes an audit event by time, and kinds of change must agree', () => {
    const old = { ...allowAll('9'), metadata: { ...allowAll('9').metadata, creationTimestamp: '2026-11-01T00:00:00Z' } };
    const journal = [entry({ type: 'added', resourceVersion: '9', observedAt: T(10), after: old }), entry({ type: 'modified', resourceVersion: '12', observedAt: T(12), before: old, after: allowAll('12') })];
    // The update two seconds later belongs to the modification, not to the watcher's first sight of the object.
    const { changes } = mergeChanges(journal, [audit({ auditID: 'u', verb: 'update', at: T(11), responseStatus: { code: 200 } })], { skewToleranceMs: 60_000 });
    expect(changes.map((c) => [c.verb, c.auditIDs.join(), c.firstSighting ?? false])).toEqual([
      ['create', '', true],
      ['update', 'u', false],
    ]);
    // A server-side apply that created the object (201) is a creation.
    const applied = mergeChanges([entry({ type: 'added', resourceVersion: '3', observedAt: T(10), after: allowAll('3') })], [audit({ verb: 'patch', responseStatus: { code: 201 } })]).changes;
    expect(applied).toHaveLength(1);
    const mismatch = mergeChanges([entry({ type: 'deleted', resourceVersion: '3', observedAt: T(10), before: allowAll('3') })], [audit({ verb: 'update', responseStatus: { code: 200 } })]).changes;
    expect(mismatch).toHaveLength(2);
  });

  it("recognises the bot's own changes and objects", () => {
    const base = mergeChanges([entry({ type: 'modified', resourceVersion: '5', managers: [{ manager: 'netpol-responder', operation: 'Update' }], after: allowAll('5') })], []).changes[0] as TracedChange;
    expect(isOwnChange(base, 'netpol-responder')).toBe(true);
    expect(isOwnChange({ ...base, managers: ['netpol-responder', 'kubectl'] }, 'netpol-responder')).toBe(false);
    expect(isOwnChange({ ...base, managers: [], after: allowAll('5', { 'app.kubernetes.io/managed-by': 'netpol-responder', 'netpol-responder.io/incident': 'x' }) }, 'netpol-responder')).toBe(true);
    expect(isOwnChange({ ...base, managers: [], evidence: 'audit', via: 'netpol-responder' }, 'other')).toBe(true);
  });
});

type Obj = { kind: string; metadata: { name: string; namespace?: string } };

function live(extra: object[] = []): LiveObjects {
  const objects = [...shopObjects(), ...extra] as Obj[];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy') };
}

const SCOPE = { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } };
const EXFIL: Probe = { src: 'db/postgres-0', dst: '203.0.113.66', port: 443, protocol: 'TCP', at: Date.parse(T(30)) };

function created(obj: Record<string, unknown>, at: string, actor = 'carol@corp'): TracedChange {
  const meta = obj.metadata as { name: string; namespace: string };
  return { key: `NetworkPolicy/${meta.namespace}/${meta.name}`, kind: 'NetworkPolicy', namespace: meta.namespace, name: meta.name, at, verb: 'create', actor, via: 'kubectl', evidence: 'audit', auditIDs: ['x'], sourceIPs: [], before: null, after: obj, fromAuditOnly: false, managers: [] };
}

describe("each change's effect and the most likely cause", () => {
  // Lets frontend pods talk among themselves: nothing of db can be concerned.
  const unrelated = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'frontend-extra', namespace: 'frontend' }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] } };

  it("the change that let the anomaly's flow through is the cause, with high confidence", () => {
    const changes = [created(unrelated, T(5), 'erin@corp'), created(allowAll('1'), T(10))];
    const effects = changeEffects(live([unrelated, allowAll('1')]), changes, SCOPE, [EXFIL]);
    expect(effects[0]?.relevant).toBe(false);
    expect(effects[1]?.effect?.opensProbes).toEqual([EXFIL]);
    expect(effects[1]?.effect?.opened.some((l) => l.startsWith('-> 0.0.0.0-255.255.255.255[External]'))).toBe(true);
    const cause = likelyCause(effects, Date.parse(T(30)));
    expect(cause).toMatchObject({ confidence: 'high' });
    expect(cause?.change.name).toBe('allow-all-egress');
  });

  it('a change after the anomaly is not its cause; without a flow to check, time and scope give medium', () => {
    const effects = changeEffects(live([allowAll('1')]), [created(allowAll('1'), T(50))], SCOPE, [EXFIL]);
    expect(likelyCause(effects, Date.parse(T(30)))?.confidence).not.toBe('high');
    const noProbe = changeEffects(live([allowAll('1')]), [created(allowAll('1'), T(10))], SCOPE, []);
    expect(likelyCause(noProbe, Date.parse(T(30)))).toMatchObject({ confidence: 'medium' });
    expect(likelyCause(noProbe, undefined)).toMatchObject({ confidence: 'medium' });
  });

  it('a deletion that opened the door is found from the journal state before it: the one after which the flow passes', () => {
    const denyAll = shopObjects().find((o) => (o as Obj).kind === 'NetworkPolicy' && (o as Obj).metadata.name === 'default-deny-all' && (o as Obj).metadata.namespace === 'db') as Record<string, unknown>;
    const allowDns = shopObjects().find((o) => (o as Obj).kind === 'NetworkPolicy' && (o as Obj).metadata.name === 'allow-dns-egress' && (o as Obj).metadata.namespace === 'db') as Record<string, unknown>;
    const now = live();
    now.networkPolicies = (now.networkPolicies ?? []).filter((p) => p !== undefined && !((p as Obj).metadata.namespace === 'db' && ['default-deny-all', 'allow-dns-egress'].includes((p as Obj).metadata.name)));
    const deletion = (obj: Record<string, unknown>, at: string): TracedChange => ({ ...created(obj, at), verb: 'delete', before: obj, after: null });
    const effects = changeEffects(now, [deletion(denyAll, T(10)), deletion(allowDns, T(11))], SCOPE, [EXFIL]);
    // Without default-deny-all, allow-dns-egress still isolates db's egress (DNS only): the flow
    // passes only once that one goes too.
    expect(effects[0]?.effect?.opensProbes).toEqual([]);
    const cause = likelyCause(effects, Date.parse(T(30)));
    expect(cause?.confidence).toBe('high');
    expect(cause?.change.name).toBe('allow-dns-egress');
  });

  it('an audit-only change with no state before it has an unknown effect', () => {
    const change = { ...created(allowAll('1'), T(10)), verb: 'patch', fromAuditOnly: true, before: null };
    const [effect] = changeEffects(live([allowAll('1')]), [change], SCOPE, []);
    expect(effect?.effect?.unknown).toBe(true);
  });
});

describe('how a trace reads', () => {
  const change = (over: Partial<ExplainedChange> = {}): ExplainedChange => ({
    ...created(allowAll('1'), '2026-11-30T10:29:58.000Z'),
    relevant: true,
    effect: { opened: ['-> 0.0.0.0-255.255.255.255[External] : All Connections'], closed: [], unknown: false, opensProbes: [EXFIL], closesProbes: [] },
    git: { kind: 'out-of-band', reason: 'no commit produced this state' },
    ...over,
  });

  it('one cause line: who, what, tool, time, Git, and the connections it opened', () => {
    const line = causeLine({ change: change(), confidence: 'high', why: 'its after-state allows the flow' }, 'db/postgres');
    expect(line).toBe('`carol@corp` created `db/allow-all-egress` with kubectl at 10:29:58, out-of-band (not in Git). It opened `db/postgres → 0.0.0.0/0` all ports. Confidence high: its after-state allows the flow.');
  });

  it('names the weaker evidence when only managedFields know', () => {
    const line = causeLine({ change: change({ actor: undefined, evidence: 'managedFields', via: 'kubectl-edit' }), confidence: 'medium', why: 'w' }, 's');
    expect(line).toContain('manager `kubectl-edit` (from managedFields: no audit log, weaker evidence)');
  });

  it('Git verdicts, connections and rows', () => {
    expect(gitText({ kind: 'gitops-apply', reason: 'r', commit: { sha: 'abcdef1234', subject: 'open db', author: 'dave' } })).toBe('GitOps apply of commit abcdef12 (dave: open db)');
    expect(gitText({ kind: 'revert-pending', reason: 'r' })).toMatch(/^Git revert pending/);
    expect(gitText(undefined)).toBe('Git not checked');
    expect(prettyConnection('<- api/orders[Deployment] : TCP 5432', 'db/pg')).toBe('`api/orders[Deployment] → db/pg` TCP 5432');
    expect(prettyConnection('-> ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections', 'x')).toBe('`x → ::/0` all ports');
    expect(prettyConnection('garbage', 'x')).toBe('`garbage`');
    const row = changeRow(change({ git: { kind: 'gitops-apply', reason: 'r', commit: { sha: 'abcdef1234', subject: 's', author: 'a', url: 'https://github.com/o/r/commit/abcdef1234' } } }), 'db/pg');
    expect(row).toContain('<https://github.com/o/r/commit/abcdef1234|abcdef12>');
  });

  it('the full report carries audit ids, Git and the compact diff', () => {
    const report = fullReport([change({ before: { ...allowAll('0'), spec: { podSelector: {}, policyTypes: ['Egress'] } } })], 'db/pg');
    expect(report).toContain('auditID x');
    expect(report).toContain('out-of-band (not in Git)');
    expect(objectDiff(change({ before: null }))).toContain('+ spec:');
  });
});
