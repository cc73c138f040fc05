// Who the drift alert names: the newest change someone other than the bot made to the object.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { AuditChange, AuditQuery } from '../../src/audit/types.js';
import type { AuditStore } from '../../src/audit/store.js';
import type { ChangeJournal, JournalEntry } from '../../src/journal/index.js';
import type { KubeGateway } from '../../src/kube/index.js';
import { DriftAttribution } from '../../src/drift/attribution.js';
import type { EpisodeObject } from '../../src/drift/episode.js';

const NOW = new Date('2026-12-02T10:00:00Z');
const OBJECT: EpisodeObject = { key: 'NetworkPolicy db/open-egress', kind: 'NetworkPolicy', namespace: 'db', name: 'open-egress', status: 'extra', diff: [], live: 'x', desired: '', since: '2026-12-02T09:59:00Z' } as EpisodeObject;

function change(at: string, username: string, tool: AuditChange['tool'], extra: Partial<AuditChange> = {}): AuditChange {
  return {
    auditID: `${at}-${username}`, at, stage: 'ResponseComplete', verb: 'update', user: { username, groups: [] }, userAgent: `${tool}/1.0`, tool, sourceIPs: [],
    objectRef: { resource: 'networkpolicies', apiGroup: 'networking.k8s.io', namespace: 'db', name: 'open-egress' }, responseStatus: { code: 200 }, refused: false, ...extra,
  };
}

function attribution(changes: AuditChange[], journal: Partial<JournalEntry>[] = []): DriftAttribution {
  const audit = { query: async (_q: AuditQuery) => changes } as unknown as AuditStore;
  const changeJournal = { query: async () => journal } as unknown as ChangeJournal;
  return new DriftAttribution({ gateway: {} as KubeGateway, audit, journal: changeJournal, fieldManager: 'netpol-responder', argocdNamespace: 'argocd', logger: pino({ level: 'silent' }) });
}

describe('drift attribution', () => {
  it('names the person, not the bot that later added its containment exclusion', async () => {
    const a = attribution([
      change('2026-12-02T09:58:00.000Z', 'mallory', 'kubectl', { verb: 'create' }),
      change('2026-12-02T09:59:00.000Z', 'netpol-sim-admin', 'netpol-responder'),
    ]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('mallory (create with kubectl, audit log)');
  });

  it('names the newest of several people, in time order whatever the store returned', async () => {
    const a = attribution([change('2026-12-02T09:58:30.000Z', 'bob', 'helm'), change('2026-12-02T09:58:00.000Z', 'alice', 'kubectl')]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('bob (update with helm, audit log)');
  });

  it('names the bot when it made every change', async () => {
    const a = attribution([change('2026-12-02T09:59:00.000Z', 'netpol-sim-admin', 'netpol-responder')]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('netpol-sim-admin (update with netpol-responder, audit log)');
  });

  it('skips refused attempts and changes to other objects', async () => {
    const a = attribution([
      change('2026-12-02T09:58:00.000Z', 'alice', 'kubectl'),
      change('2026-12-02T09:59:00.000Z', 'eve', 'kubectl', { refused: true, responseStatus: { code: 403 } }),
      change('2026-12-02T09:59:30.000Z', 'carol', 'kubectl', { objectRef: { resource: 'networkpolicies', namespace: 'db', name: 'other' } }),
    ]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('alice (update with kubectl, audit log)');
  });

  it('names the impersonated user as the effective actor', async () => {
    const a = attribution([change('2026-12-02T09:58:00.000Z', 'ci-bot', 'kubectl', { impersonatedUser: { username: 'dave', groups: [] } })]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('ci-bot as dave (update with kubectl, audit log)');
  });

  it('falls back to the journal, skipping the bot as a field manager', async () => {
    const a = attribution([], [{ name: 'open-egress', managers: [{ manager: 'kubectl-client-side-apply' }, { manager: 'netpol-responder' }] } as unknown as JournalEntry]);
    expect(await a.actorOf(OBJECT, NOW)).toBe('manager kubectl-client-side-apply (managedFields: weaker evidence than an audit log)');
  });

  it('names nothing when nobody is on record', async () => {
    expect(await attribution([]).actorOf(OBJECT, NOW)).toBeUndefined();
  });
});
