import { describe, expect, it } from 'vitest';
import { applyConfiguration, fromFieldsV1, leafPaths, recordUpdate, toFieldsV1 } from '../../../src/sim/kube/managed-fields.js';
import { StatusError } from '../../../src/sim/kube/status.js';

type Obj = Record<string, unknown>;
const GV = 'networking.k8s.io/v1';
const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-01-01T00:01:00Z';

function policy(spec: Obj, labels?: Record<string, string>): Obj {
  return { apiVersion: GV, kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'db', ...(labels ? { labels } : {}) }, spec };
}

function managers(obj: Obj): Array<{ manager: string; operation: string; fields: string[] }> {
  const entries = ((obj.metadata as Obj).managedFields ?? []) as Array<Obj>;
  return entries.map((e) => ({ manager: String(e.manager), operation: String(e.operation), fields: fromFieldsV1(e.fieldsV1).map((p) => p.join('.')).sort() }));
}

describe('field paths and FieldsV1', () => {
  it('tracks spec leaves, labels and annotations; lists are atomic', () => {
    const paths = leafPaths(policy({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{}], policyTypes: ['Ingress'] }, { team: 'data' }));
    expect(paths.map((p) => p.join('.')).sort()).toEqual(['metadata.labels.team', 'spec.ingress', 'spec.podSelector.matchLabels.app', 'spec.policyTypes']);
    expect(leafPaths(policy({ podSelector: {} })).map((p) => p.join('.'))).toEqual(['spec.podSelector']);
  });
  it('writes FieldsV1 like the apiserver and reads it back', () => {
    const paths = [['metadata', 'labels', 'team'], ['spec', 'ingress'], ['spec', 'podSelector', 'matchLabels', 'app']];
    const fields = toFieldsV1(paths);
    expect(fields).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } },
      'f:spec': { 'f:ingress': {}, 'f:podSelector': { '.': {}, 'f:matchLabels': { '.': {}, 'f:app': {} } } },
    });
    expect(fromFieldsV1(fields)).toEqual(paths);
    expect(fromFieldsV1('garbage')).toEqual([]);
  });
});

describe('recordUpdate', () => {
  it('gives a creator every field with operation Update', () => {
    const obj = policy({ podSelector: {}, policyTypes: ['Ingress'] });
    recordUpdate(undefined, obj, 'kubectl-create', GV, T1);
    expect(managers(obj)).toEqual([{ manager: 'kubectl-create', operation: 'Update', fields: ['spec.podSelector', 'spec.policyTypes'] }]);
  });
  it('moves only changed fields to the editor', () => {
    const before = policy({ podSelector: {}, policyTypes: ['Ingress'] });
    recordUpdate(undefined, before, 'creator', GV, T1);
    const after = structuredClone(before);
    (after.spec as Obj).policyTypes = ['Ingress', 'Egress'];
    recordUpdate(before, after, 'kubectl-edit', GV, T2);
    expect(managers(after)).toEqual([
      { manager: 'creator', operation: 'Update', fields: ['spec.podSelector'] },
      { manager: 'kubectl-edit', operation: 'Update', fields: ['spec.policyTypes'] },
    ]);
  });
  it('forgets fields that were removed', () => {
    const before = policy({ podSelector: {}, ingress: [{}] });
    recordUpdate(undefined, before, 'creator', GV, T1);
    const after = policy({ podSelector: {} });
    (after.metadata as Obj).managedFields = (before.metadata as Obj).managedFields;
    recordUpdate(before, after, 'editor', GV, T2);
    expect(managers(after)).toEqual([{ manager: 'creator', operation: 'Update', fields: ['spec.podSelector'] }]);
  });
});

describe('applyConfiguration (server-side apply)', () => {
  const base = (): Obj => applyConfiguration(undefined, policy({ podSelector: {}, policyTypes: ['Ingress'] }, { owner: 'bot' }), { manager: 'bot', force: false, apiVersion: GV, time: T1 });

  it('creates with the applier owning what it sent', () => {
    const obj = base();
    expect(obj.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(managers(obj)).toEqual([{ manager: 'bot', operation: 'Apply', fields: ['metadata.labels.owner', 'spec.podSelector', 'spec.policyTypes'] }]);
  });

  it('lets the same manager change its own fields and removes what it dropped', () => {
    const next = applyConfiguration(base(), policy({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] }), { manager: 'bot', force: false, apiVersion: GV, time: T2 });
    expect(next.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect((next.metadata as Obj).labels).toBeUndefined();
  });

  it('reports a conflict with another manager, in the apiserver format', () => {
    try {
      applyConfiguration(base(), policy({ podSelector: {}, policyTypes: ['Egress'] }), { manager: 'human', force: false, apiVersion: GV, time: T2 });
      expect.unreachable();
    } catch (error) {
      const status = (error as StatusError).status;
      expect(status.code).toBe(409);
      expect(status.reason).toBe('Conflict');
      expect(status.message).toBe('Apply failed with 1 conflict: conflict with "bot" using networking.k8s.io/v1: .spec.policyTypes');
      expect(status.details?.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "bot" using networking.k8s.io/v1', field: '.spec.policyTypes' }]);
    }
  });

  it('lists several conflicts', () => {
    expect(() =>
      applyConfiguration(base(), policy({ podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Egress'] }, { owner: 'me' }), { manager: 'human', force: false, apiVersion: GV, time: T2 }),
    ).toThrow(/^Apply failed with 3 conflicts: conflicts with "bot" using networking.k8s.io\/v1:\n- \.metadata\.labels\.owner\n- \.spec\.podSelector\n- \.spec\.policyTypes$/);
  });

  it('shares fields applied with the same value instead of conflicting', () => {
    const shared = applyConfiguration(base(), policy({ podSelector: {}, policyTypes: ['Ingress'] }), { manager: 'gitops', force: false, apiVersion: GV, time: T2 });
    expect(managers(shared).map((m) => m.manager)).toEqual(['bot', 'gitops']);
    // bot drops policyTypes from its intent: gitops still owns it, so the value stays.
    const after = applyConfiguration(shared, policy({ podSelector: {} }), { manager: 'bot', force: false, apiVersion: GV, time: T2 });
    expect((after.spec as Obj).policyTypes).toEqual(['Ingress']);
  });

  it('takes contested fields over with force', () => {
    const forced = applyConfiguration(base(), policy({ podSelector: {}, policyTypes: ['Egress'] }), { manager: 'human', force: true, apiVersion: GV, time: T2 });
    expect((forced.spec as Obj).policyTypes).toEqual(['Egress']);
    expect(managers(forced)).toEqual([
      { manager: 'bot', operation: 'Apply', fields: ['metadata.labels.owner', 'spec.podSelector'] },
      { manager: 'human', operation: 'Apply', fields: ['spec.podSelector', 'spec.policyTypes'] },
    ]);
  });

  it('ignores status in an applied configuration', () => {
    const applied = { ...policy({ podSelector: {} }), status: { conditions: [{ type: 'Forged' }] } };
    const out = applyConfiguration(undefined, applied, { manager: 'bot', force: false, apiVersion: GV, time: T1 });
    expect(out.status).toBeUndefined();
  });

  it('conflicts with a field an Update (kubectl edit) changed', () => {
    const live = base();
    const edited = structuredClone(live);
    (edited.spec as Obj).ingress = [{}];
    recordUpdate(live, edited, 'kubectl-edit', GV, T2);
    expect(() => applyConfiguration(edited, policy({ podSelector: {}, policyTypes: ['Ingress'], ingress: [] }), { manager: 'bot', force: false, apiVersion: GV, time: T2 })).toThrow(
      /conflict with "kubectl-edit" using networking.k8s.io\/v1: \.spec\.ingress/,
    );
  });
});
