// The restore step's pure parts: its parameters (defaults, and malformed or hostile values refused
// with the path), the cause step 2 found, the restore scope, the numbered plan lines, and the
// anomaly dedupe key the watch window listens for.
import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/incident/model.js';
import { dedupeKeyOf, watchIdOf } from '../../src/playbook/restore-runner.js';
import { causeOf, restoreNamespaces, restoreParams, restoreStep } from '../../src/playbook/steps/restore.js';
import type { RestorePlan, RestoreStep } from '../../src/restore/plan.js';
import { liftLine, stepLine } from '../../src/restore/propose.js';

function incident(results: Record<string, Record<string, unknown> | undefined>, namespace = 'db'): Incident {
  return {
    stepOrder: Object.keys(results),
    steps: Object.fromEntries(Object.entries(results).map(([id, result]) => [id, { status: 'done', approvals: [], attempts: 1, reminders: 0, ...(result ? { result } : {}) }])),
    scope: { namespace },
  } as unknown as Incident;
}

describe('restore step parameters', () => {
  it('defaults: the whole plan approved once, 30 s traffic window, 15 min watch window, 2 min for a GitOps sync', () => {
    expect(restoreParams(undefined)).toEqual({ approve: 'plan', trafficWindow: 30_000, watchWindow: 900_000, syncTimeout: 120_000, namespaces: [] });
    expect(restoreParams({ approve: 'step', trafficWindow: '0s', watchWindow: '1h', syncTimeout: '10s', namespaces: ['api'] })).toEqual({ approve: 'step', trafficWindow: 0, watchWindow: 3_600_000, syncTimeout: 10_000, namespaces: ['api'] });
  });

  it.each([
    [{ approve: 'all' }, 'approve'],
    [{ trafficWindow: 'soon' }, 'trafficWindow'],
    [{ watchWindow: -5 }, 'watchWindow'],
    [{ syncTimeout: 'whenever' }, 'syncTimeout'],
    [{ namespaces: [''] }, 'namespaces'],
    [{ namespaces: Array.from({ length: 51 }, (_, i) => `ns${i}`) }, 'namespaces'],
    [{ namespaces: ['x'.repeat(254)] }, 'namespaces'],
    [{ unknownKey: true }, ''],
  ])('refuses %j with the path', (params, path) => {
    const problems = restoreStep.validateParams(params);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.map((p) => p.path.join('.')).join(' ')).toContain(path);
  });

  it('accepts the shipped values', () => {
    expect(restoreStep.validateParams({ approve: 'plan', trafficWindow: '30s', watchWindow: '15m' })).toEqual([]);
  });
});

describe('the cause and the restore scope', () => {
  it('the cause is the trace step result; malformed causes are ignored', () => {
    expect(causeOf(incident({ contain: {}, trace: { cause: { key: 'NetworkPolicy/db/allow-all-egress', at: '2026-12-01T10:00:00Z' } } }))).toEqual({ key: 'NetworkPolicy/db/allow-all-egress', at: '2026-12-01T10:00:00Z' });
    expect(causeOf(incident({ trace: { cause: null } }))).toBeNull();
    expect(causeOf(incident({ trace: { cause: { key: 42, at: 'x' } } }))).toBeNull();
    expect(causeOf(incident({ trace: { cause: 'NetworkPolicy/db/x' } }))).toBeNull();
    expect(causeOf(incident({ trace: undefined }))).toBeNull();
  });

  it("the incident's namespace, the cause's, and the playbook's extra ones, once each", () => {
    const i = incident({}, 'api');
    expect(restoreNamespaces(i, { key: 'NetworkPolicy/db/allow-all-egress' }, [])).toEqual(['api', 'db']);
    expect(restoreNamespaces(i, { key: 'NetworkPolicy/api/x' }, ['api', 'frontend'])).toEqual(['api', 'frontend']);
    // A cluster-scoped cause (Kind/name) adds no namespace.
    expect(restoreNamespaces(i, { key: 'AdminNetworkPolicy/deny-egress' }, [])).toEqual(['api']);
    expect(restoreNamespaces(i, null, [])).toEqual(['api']);
  });
});

describe('plan lines', () => {
  const step = (over: Partial<RestoreStep>): RestoreStep => ({ n: 1, action: 'delete', key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress' }, kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress', before: null, after: null, effect: 'restricts', opened: [], closed: ['a', 'b'], diff: [], ...over }) as RestoreStep;

  it('numbered, with the action, object, effect, delta and the dry run', () => {
    expect(stepLine(step({}), 'dry run ok')).toBe('1. delete `NetworkPolicy db/allow-all-egress` — restricts (closes 2) · dry run ok');
    expect(stepLine(step({ n: 2, action: 'update', effect: 'mixed', opened: ['x'], closed: ['y'] }))).toBe('2. update `NetworkPolicy db/allow-all-egress` — mixed (opens 1, closes 1)');
    expect(stepLine(step({ n: 3, action: 'create', effect: 'neutral', closed: [] }))).toBe('3. create `NetworkPolicy db/allow-all-egress` — neutral (no connectivity change)');
  });

  it('the lift is always the last line', () => {
    expect(liftLine({ steps: [step({}), step({ n: 2 })], containment: [{}, {}] } as unknown as RestorePlan)).toBe("3. lift containment (2 objects of the bot's), verified, then the watch window");
    expect(liftLine({ steps: [], containment: [] } as unknown as RestorePlan)).toBe('1. lift containment, verified, then the watch window');
  });
});

describe('watch window keys', () => {
  it('the dedupe key is the anomaly id without its @first-seen', () => {
    expect(dedupeKeyOf('external-ip:db/postgres:203.0.113.66@1736940601000')).toBe('external-ip:db/postgres:203.0.113.66');
    expect(dedupeKeyOf('a@b@123')).toBe('a@b');
    expect(dedupeKeyOf('no-at')).toBe('no-at');
    expect(dedupeKeyOf('@123')).toBe('@123');
  });

  it('traffic watch ids stay within 63 characters', () => {
    expect(watchIdOf('20261201-abc123', 2, 5)).toBe('20261201-abc123.r2.5');
    expect(watchIdOf('x'.repeat(80), 1, 1)).toHaveLength(63);
  });
});
