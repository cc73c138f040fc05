// Automatic response: rule matching (first match, protected namespaces) and the config that
// defines the rules and their limit, including malformed and hostile values.
import { describe, expect, it } from 'vitest';
import { describeRefusal } from '../../src/anomaly/auto-limit.js';
import { decideAutoResponse, protectedRuleProblems, ruleMatches, type AutoContainRule } from '../../src/anomaly/auto-rules.js';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import type { Anomaly } from '../../src/flows/types.js';
import { silentLogger } from '../../src/log.js';
import { startBot } from '../../src/runtime.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };

function anomaly(overrides: Partial<Anomaly> = {}, namespace = 'db'): Anomaly {
  return {
    id: 'a@1',
    kind: 'new-external-egress',
    severity: 'high',
    title: 't',
    workload: { namespace, name: 'postgres', kind: 'StatefulSet' },
    scope: { namespace, podSelector: { app: 'postgres' }, reason: 'r' },
    baseline: { metric: 'm', expected: 0, observed: 1, unit: 'u', description: 'd' },
    evidence: [],
    dedupeKey: 'k',
    firstSeen: 1,
    lastSeen: 1,
    origin: 'flows',
    details: {},
    ...overrides,
  };
}

const none = new Set<string>();

describe('automatic response rules', () => {
  it('matches on every criterion a rule sets, and only those', () => {
    expect(ruleMatches({ kinds: ['new-external-egress'], maxDuration: 1 }, anomaly())).toBe(true);
    expect(ruleMatches({ kinds: ['fan-out', 'volume-spike'], maxDuration: 1 }, anomaly())).toBe(false);
    expect(ruleMatches({ minSeverity: 'high', maxDuration: 1 }, anomaly())).toBe(true);
    expect(ruleMatches({ minSeverity: 'critical', maxDuration: 1 }, anomaly())).toBe(false);
    expect(ruleMatches({ minSeverity: 'low', maxDuration: 1 }, anomaly({ severity: 'low' }))).toBe(true);
    expect(ruleMatches({ minSeverity: 'medium', maxDuration: 1 }, anomaly({ severity: 'low' }))).toBe(false);
    expect(ruleMatches({ namespaces: ['db'], maxDuration: 1 }, anomaly())).toBe(true);
    expect(ruleMatches({ namespaces: ['api'], maxDuration: 1 }, anomaly())).toBe(false);
    // All criteria must hold.
    expect(ruleMatches({ kinds: ['new-external-egress'], minSeverity: 'critical', namespaces: ['db'], maxDuration: 1 }, anomaly())).toBe(false);
    expect(ruleMatches({ kinds: ['new-external-egress'], minSeverity: 'high', namespaces: ['db'], maxDuration: 1 }, anomaly())).toBe(true);
  });

  it('an empty rule matches nothing (it would contain every anomaly)', () => {
    expect(ruleMatches({ maxDuration: 1 }, anomaly({ severity: 'critical' }))).toBe(false);
  });

  it('uses the namespace of the suggested scope', () => {
    const crossing = anomaly({ workload: { namespace: 'api', name: 'x', kind: '' } }, 'db');
    expect(ruleMatches({ namespaces: ['db'], maxDuration: 1 }, crossing)).toBe(true);
    expect(ruleMatches({ namespaces: ['api'], maxDuration: 1 }, crossing)).toBe(false);
  });

  it('the first matching rule decides, with its strategy and time box', () => {
    const rules: AutoContainRule[] = [
      { kinds: ['fan-out'], maxDuration: 60_000 },
      { minSeverity: 'high', strategy: 'cilium', maxDuration: 120_000 },
      { minSeverity: 'low', maxDuration: 900_000 },
    ];
    expect(decideAutoResponse(rules, anomaly(), none)).toEqual({ kind: 'contain', rule: 1, strategy: 'cilium', maxDuration: 120_000 });
    expect(decideAutoResponse(rules, anomaly({ kind: 'fan-out', severity: 'low' }), none)).toEqual({ kind: 'contain', rule: 0, maxDuration: 60_000 });
    expect(decideAutoResponse(rules, anomaly({ severity: 'low' }), none)).toEqual({ kind: 'contain', rule: 2, maxDuration: 900_000 });
    expect(decideAutoResponse(rules.slice(0, 2), anomaly({ severity: 'medium' }), none)).toEqual({ kind: 'none' });
    expect(decideAutoResponse([], anomaly({ severity: 'critical' }), none)).toEqual({ kind: 'none' });
  });

  it('never contains a protected namespace, whatever the rule says', () => {
    const rules: AutoContainRule[] = [{ namespaces: ['kube-system'], maxDuration: 60_000 }, { minSeverity: 'low', maxDuration: 60_000 }];
    const protectedSet = new Set(['kube-system', 'netpol-responder']);
    expect(decideAutoResponse(rules, anomaly({}, 'kube-system'), protectedSet)).toEqual({ kind: 'protected', rule: 0, namespace: 'kube-system' });
    expect(decideAutoResponse(rules, anomaly({}, 'netpol-responder'), protectedSet)).toEqual({ kind: 'protected', rule: 1, namespace: 'netpol-responder' });
    expect(decideAutoResponse(rules, anomaly({}, 'db'), protectedSet)).toMatchObject({ kind: 'contain', rule: 1 });
  });

  it('never contains without a bounded time box, even from rules built in code', () => {
    for (const maxDuration of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 25 * 3_600_000]) {
      expect(decideAutoResponse([{ minSeverity: 'low', maxDuration }], anomaly(), none)).toEqual({ kind: 'none' });
    }
  });

  it('names a rule that lists a protected namespace, for start-up', () => {
    const problems = protectedRuleProblems([{ namespaces: ['db'], maxDuration: 1 }, { namespaces: ['api', 'kube-system'], maxDuration: 1 }], new Set(['kube-system']));
    expect(problems).toEqual([expect.stringMatching(/^anomalies\.autoContain\.1\.namespaces: `kube-system` is a protected namespace/)]);
    expect(protectedRuleProblems([{ minSeverity: 'low', maxDuration: 1 }], new Set(['kube-system']))).toEqual([]);
  });

  it('describes a refusal by the limit as people read it', () => {
    const base = { allowed: false as const, namespace: 'db', count: 3, max: 3, retryAt: Date.UTC(2026, 0, 1, 12, 0, 0) };
    expect(describeRefusal({ ...base, limit: 'namespace', windowMs: 3_600_000 })).toBe('3 per hour in `db` already; the next is allowed after 2026-01-01T12:00:00.000Z');
    expect(describeRefusal({ ...base, limit: 'total', max: 5, windowMs: 1_800_000 })).toMatch(/^5 per 30 minutes across all namespaces already/);
    expect(describeRefusal({ ...base, limit: 'total', windowMs: 86_400_000 })).toMatch(/^3 per day /);
    expect(describeRefusal({ ...base, limit: 'total', windowMs: 1500 })).toMatch(/^3 per 1500 ms /);
  });
});

function problemsOf(anomalies: unknown): string[] {
  try {
    buildConfig({ ...minimal, anomalies }, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('anomalies.autoContain configuration', () => {
  it('is off by default, with the limit at 3 per namespace and 3 in total per hour', () => {
    const config = buildConfig(minimal, env);
    expect(config.anomalies.autoContain).toEqual([]);
    expect(config.anomalies.autoContainLimit).toEqual({ perNamespace: 3, total: 3, window: 3_600_000 });
    // A partial section keeps the other defaults.
    const partial = buildConfig({ ...minimal, anomalies: { autoContainLimit: { total: 10 } } }, env);
    expect(partial.anomalies.autoContainLimit).toEqual({ perNamespace: 3, total: 10, window: 3_600_000 });
    expect(partial.anomalies.recentWindow).toBe(3_600_000);
  });

  it('reads rules with every field, and defaults the time box to 15 minutes', () => {
    const config = buildConfig(
      {
        ...minimal,
        anomalies: {
          autoContain: [
            { kinds: ['new-external-egress', 'fan-out'], minSeverity: 'high', namespaces: ['db', 'api'], strategy: 'networkpolicy-exclusive', maxDuration: '30m' },
            { minSeverity: 'critical' },
          ],
          autoContainLimit: { perNamespace: 2, total: 4, window: '30m' },
        },
      },
      env,
    );
    expect(config.anomalies.autoContain).toEqual([
      { kinds: ['new-external-egress', 'fan-out'], minSeverity: 'high', namespaces: ['db', 'api'], strategy: 'networkpolicy-exclusive', maxDuration: 1_800_000 },
      { minSeverity: 'critical', maxDuration: 900_000 },
    ]);
    expect(config.anomalies.autoContainLimit).toEqual({ perNamespace: 2, total: 4, window: 1_800_000 });
  });

  it('refuses a time box that is zero, too long, negative or not a duration, naming the field', () => {
    const at = (maxDuration: unknown) => problemsOf({ autoContain: [{ minSeverity: 'high', maxDuration }] });
    const bounded = 'anomalies.autoContain.0.maxDuration: must be more than 0 and at most 24h: automatic containment is always time-boxed';
    expect(at('0s')).toEqual([bounded]);
    expect(at('25h')).toEqual([bounded]);
    expect(at('2d')).toEqual([bounded]);
    expect(at(`${'9'.repeat(400)}d`)).toEqual([bounded]);
    expect(at('-1m')).toEqual(['anomalies.autoContain.0.maxDuration: must be a duration like 30s, 15m, 2h or 7d']);
    expect(at('15')).toEqual(['anomalies.autoContain.0.maxDuration: must be a duration like 30s, 15m, 2h or 7d']);
    expect(at(900)).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.maxDuration: /)]);
    expect(at(null)).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.maxDuration: /)]);
    expect(buildConfig({ ...minimal, anomalies: { autoContain: [{ minSeverity: 'high', maxDuration: '24h' }] } }, env).anomalies.autoContain[0]?.maxDuration).toBe(86_400_000);
  });

  it('refuses a rule that would match everything, unknown kinds, severities, strategies and fields', () => {
    expect(problemsOf({ autoContain: [{}] })).toEqual(['anomalies.autoContain.0: a rule needs at least one of kinds, minSeverity or namespaces (to match every anomaly, say minSeverity: low)']);
    expect(problemsOf({ autoContain: [{ maxDuration: '5m' }] })).toHaveLength(1);
    expect(problemsOf({ autoContain: [{ kinds: ['exfiltration'] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.kinds\.0: Invalid option: expected one of "new-external-egress"\|/)]);
    expect(problemsOf({ autoContain: [{ kinds: [] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.kinds: /)]);
    expect(problemsOf({ autoContain: [{ minSeverity: 'severe' }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.minSeverity: Invalid option: expected one of "low"\|"medium"\|"high"\|"critical"/)]);
    expect(problemsOf({ autoContain: [{ minSeverity: 'HIGH' }] })).toHaveLength(1);
    expect(problemsOf({ autoContain: [{ minSeverity: 'high', strategy: 'drop-everything' }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.strategy: Invalid option/)]);
    expect(problemsOf({ autoContain: [{ minSeverity: 'high', approval: 'none' }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0: Unrecognized key: "approval"/)]);
    expect(problemsOf({ autoContain: { minSeverity: 'high' } })).toEqual([expect.stringMatching(/^anomalies\.autoContain: /)]);
    expect(problemsOf({ autoContain: 'yes' })).toEqual([expect.stringMatching(/^anomalies\.autoContain: /)]);
  });

  it('refuses namespaces that are not namespace names (hostile or oversized)', () => {
    expect(problemsOf({ autoContain: [{ namespaces: ['DB'] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.namespaces\.0: must be a DNS-1123 label/)]);
    expect(problemsOf({ autoContain: [{ namespaces: ['db', '*'] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.namespaces\.1: /)]);
    expect(problemsOf({ autoContain: [{ namespaces: ['a'.repeat(64)] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.namespaces\.0: /)]);
    expect(problemsOf({ autoContain: [{ namespaces: ['db\n- kube-system'] }] })).toHaveLength(1);
    expect(problemsOf({ autoContain: [{ namespaces: [] }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.namespaces: /)]);
    expect(problemsOf({ autoContain: [{ namespaces: Array.from({ length: 1001 }, (_, i) => `ns-${i}`) }] })).toEqual([expect.stringMatching(/^anomalies\.autoContain\.0\.namespaces: /)]);
  });

  it('stops start-up, before anything is opened, when a rule names a protected namespace', async () => {
    for (const namespace of ['kube-system', 'netpol-responder']) {
      const config = buildConfig({ ...minimal, anomalies: { autoContain: [{ namespaces: ['db', namespace] }] } }, { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
      await expect(startBot({ config, logger: silentLogger })).rejects.toThrow(`anomalies.autoContain.0.namespaces: \`${namespace}\` is a protected namespace`);
    }
  });

  it('refuses more than 50 rules', () => {
    expect(problemsOf({ autoContain: Array.from({ length: 51 }, () => ({ minSeverity: 'high' })) })).toEqual([expect.stringMatching(/^anomalies\.autoContain: /)]);
  });

  it('refuses limits that are not small positive integers or a sane window', () => {
    const limit = (value: unknown) => problemsOf({ autoContainLimit: value });
    expect(limit({ perNamespace: 0 })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit\.perNamespace: /)]);
    expect(limit({ perNamespace: 1.5 })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit\.perNamespace: /)]);
    expect(limit({ total: -3 })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit\.total: /)]);
    expect(limit({ total: 1e9 })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit\.total: /)]);
    expect(limit({ total: '3' })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit\.total: /)]);
    expect(limit({ window: '0s' })).toEqual(['anomalies.autoContainLimit.window: must be between 1s and 7d']);
    expect(limit({ window: '500ms' })).toEqual(['anomalies.autoContainLimit.window: must be between 1s and 7d']);
    expect(limit({ window: '8d' })).toEqual(['anomalies.autoContainLimit.window: must be between 1s and 7d']);
    expect(limit({ window: 'hourly' })).toEqual(['anomalies.autoContainLimit.window: must be a duration like 30s, 15m, 2h or 7d']);
    expect(limit({ perHour: 3 })).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit: Unrecognized key: "perHour"/)]);
    expect(limit(null)).toEqual([expect.stringMatching(/^anomalies\.autoContainLimit: /)]);
  });
});
