// The scheduled audit's pure parts: the Slack summary (escaping of cluster names), the run
// history's comparison and damaged-input handling, the config section, the scheduled time of a job.
import { describe, expect, it } from 'vitest';
import { auditReport, type AuditReport } from '../../src/audit-report/checks.js';
import { AUDIT_REPORT_DEFAULTS, auditReportSchema, cronProblem } from '../../src/audit-report/config-schema.js';
import { compareRuns, parseStoredRun, summarize, type AuditDelta } from '../../src/audit-report/history.js';
import { scheduledTime } from '../../src/audit-report/schedule.js';
import { auditSummaryMessage, codeText } from '../../src/audit-report/slack-blocks.js';
import { fileConfigSchema } from '../../src/config/schema.js';
import { netpol, ns, pod } from '../helpers/policy.js';

const RUN_AT = new Date('2026-11-30T09:00:00Z');
const NONE: AuditDelta = { newFindings: [], resolved: [], scoreChanges: [] };

function report(objects: unknown[]): AuditReport {
  return auditReport(objects.map((object, i) => ({ object, source: `t#${i}` })));
}

const open = (): unknown[] => [ns('shop'), pod('shop', 'web-1', { app: 'web' }), netpol('shop', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] })];
const closed = (): unknown[] => [ns('shop'), pod('shop', 'web-1', { app: 'web' }), netpol('shop', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })];
const texts = (m: { blocks: Array<Record<string, unknown>> }): string => JSON.stringify(m.blocks);

describe('auditSummaryMessage', () => {
  it('totals, the lowest scores, and a first run that is the baseline', () => {
    const r = report(open());
    const m = auditSummaryMessage({ report: r, delta: NONE, runAt: RUN_AT, flows: 'Unused policies not judged: no snapshot' });
    expect(m.text).toBe(`NetworkPolicy audit: ${r.findings.length} findings in 1 namespaces`);
    const t = texts(m);
    expect(t).toContain('Scheduled NetworkPolicy audit* (2026-11-30 09:00 UTC)');
    expect(t).toContain(`*${r.findings.length} findings*`);
    expect(t).toMatch(/Lowest scores\*\\n• `shop` \*\d+\*\/100/);
    expect(t).toContain('No previous run to compare with');
    expect(t).toContain('Unused policies not judged: no snapshot');
    expect(t).toContain('unused-policy: flow matches are not known');
  });

  it('names the cluster when given one (several clusters), escaped and cut like every name', () => {
    const r = report(open());
    const m = auditSummaryMessage({ report: r, delta: NONE, runAt: RUN_AT, cluster: 'eu-west' });
    expect(m.text).toBe(`NetworkPolicy audit of cluster eu-west: ${r.findings.length} findings in 1 namespaces`);
    expect(texts(m)).toContain('Scheduled NetworkPolicy audit* of cluster `eu-west` (2026-11-30 09:00 UTC)');
    const hostile = auditSummaryMessage({ report: r, delta: NONE, runAt: RUN_AT, cluster: '<!here>`\u202e' + 'x'.repeat(100) });
    expect(texts(hostile)).not.toContain('<!here>');
    expect(texts(hostile)).not.toContain('\u202e');
    expect(hostile.text).not.toContain('<!here>');
    expect(hostile.text.length).toBeLessThan(200);
  });

  it('new and resolved findings and score changes against the previous run; no change says so', () => {
    const before = summarize(report(open()), 1);
    const after = summarize(report(closed()), 2);
    const delta = compareRuns(before, after);
    expect(delta.previousRunAt).toBe(1);
    expect(delta.resolved.map((f) => f.ruleId)).toContain('audit/no-default-deny');
    expect(delta.newFindings.map((f) => f.object)).toEqual([]);
    expect(delta.scoreChanges).toEqual([{ namespace: 'shop', before: before.scores[0]!.score, after: after.scores[0]!.score }]);
    const t = texts(auditSummaryMessage({ report: report(closed()), delta, runAt: RUN_AT }));
    expect(t).toMatch(/Resolved since the previous run: \d+/);
    expect(t).toContain('`Namespace shop` no-default-deny');
    expect(t).toMatch(/Score changes\*\\n• `shop` \d+ → 100/);
    expect(t).toContain(`(was ${before.scores[0]!.score})`);
    const same = compareRuns(after, summarize(report(closed()), 3));
    expect(same).toEqual({ previousRunAt: 2, newFindings: [], resolved: [], scoreChanges: [] });
    expect(texts(auditSummaryMessage({ report: report(closed()), delta: same, runAt: RUN_AT }))).toContain('No change since the previous run (1970-01-01 00:00 UTC)');
  });

  it('lists at most eight findings per section, then how many more', () => {
    const findings = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, ruleId: 'audit/selects-no-pod', level: 'note', object: `NetworkPolicy a/p${i}`, message: 'm' }));
    const t = texts(auditSummaryMessage({ report: report(closed()), delta: { previousRunAt: 1, newFindings: findings, resolved: [], scoreChanges: [] }, runAt: RUN_AT }));
    expect(t).toContain('New since the previous run: 12');
    expect(t).toContain('a/p7');
    expect(t).not.toContain('a/p8`');
    expect(t).toContain('… and 4 more');
  });

  it('names from the cluster cannot mention, link, leave their code span or flood the message', () => {
    const hostile = '<!channel> <https://evil.example|click> `*bold*` \u0007';
    expect(codeText(hostile)).toBe("`&lt;!channel&gt; &lt;https://evil.example|click&gt; '*bold*' \\x07`");
    const finding = { key: 'x', ruleId: 'audit/unselected-pods', level: 'warning', object: `Namespace ${hostile}${'x'.repeat(5000)}`, message: 'm' };
    const r = report(closed());
    const m = auditSummaryMessage({
      report: { ...r, scores: [{ namespace: hostile, score: 10, pods: 1, policies: 0 }], checks: [{ id: 'audit/unused-policy', run: false, reason: '<!here> reason' }] },
      delta: { previousRunAt: 1, newFindings: [finding], resolved: [], scoreChanges: [{ namespace: hostile, before: 50, after: 10 }] },
      runAt: RUN_AT,
      flows: '<@U123> flows',
    });
    const t = texts(m);
    expect(t).not.toMatch(/<!|<@|<https/);
    expect(t).toContain('&lt;!channel&gt;');
    expect(t).toContain('&lt;!here&gt; reason');
    for (const b of m.blocks as Array<{ text?: { text: string } }>) expect((b.text?.text.length ?? 0) <= 3000).toBe(true);
    expect(t.length).toBeLessThan(8000);
  });
});

describe('stored runs', () => {
  it('round-trips, and anything damaged is undefined', () => {
    const run = summarize(report(open()), 42);
    expect(parseStoredRun(JSON.stringify(run))).toEqual(run);
    for (const bad of ['', '{', 'null', '[]', '{"version":2}', JSON.stringify({ ...run, runAt: 'x' }), JSON.stringify({ ...run, scores: [{ namespace: 1 }] }), JSON.stringify({ ...run, findings: [null] }), JSON.stringify({ ...run, totals: null })]) {
      expect(parseStoredRun(bad)).toBeUndefined();
    }
  });

  it('without a previous run there is nothing new or resolved; namespaces that appear or go are score changes', () => {
    const a = summarize(report(open()), 1);
    expect(compareRuns(undefined, a)).toEqual({ newFindings: [], resolved: [], scoreChanges: [] });
    const b = summarize(report([...open(), ns('extra'), pod('extra', 'p', {})]), 2);
    expect(compareRuns(a, b).scoreChanges).toEqual([{ namespace: 'extra', after: b.scores.find((s) => s.namespace === 'extra')!.score }]);
    expect(compareRuns(b, a).scoreChanges).toEqual([{ namespace: 'extra', before: b.scores.find((s) => s.namespace === 'extra')!.score }]);
  });

  it('keeps long messages and huge namespaces bounded', () => {
    const long = 'n'.repeat(63);
    const r = report([ns(long), pod(long, 'p'.repeat(253), {}), netpol(long, 'q'.repeat(253), { podSelector: { matchLabels: { a: 'b' } } })]);
    const run = summarize(r, 1);
    for (const f of run.findings) expect(f.message.length).toBeLessThanOrEqual(300);
  });
});

describe('auditReport config', () => {
  it('defaults: weekly on Monday 09:00 UTC, enabled, channel from Slack settings', () => {
    expect(AUDIT_REPORT_DEFAULTS).toEqual({ enabled: true, schedule: '0 9 * * 1', timeZone: 'UTC', unusedDays: 30 });
    const parsed = fileConfigSchema.parse({ slack: { approvers: { users: ['U0123ABCD'] } } });
    expect(parsed.auditReport).toEqual(AUDIT_REPORT_DEFAULTS);
  });

  it('accepts 5- and 6-field patterns in a known time zone', () => {
    expect(auditReportSchema.parse({ schedule: '30 7 * * 1-5', timeZone: 'Europe/Berlin', channel: 'C0AUDIT' })).toMatchObject({ schedule: '30 7 * * 1-5', timeZone: 'Europe/Berlin', channel: 'C0AUDIT' });
    expect(cronProblem('*/5 * * * * *', 'UTC')).toBeUndefined();
  });

  it('refuses bad patterns, time zones, channels and unknown keys with a message', () => {
    const issues = (input: unknown): string[] => {
      const r = auditReportSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ schedule: '61 * * * *' })).toEqual([expect.stringMatching(/^schedule: "61 \* \* \* \*" is not a valid cron pattern/)]);
    expect(issues({ schedule: 'every monday' })).toEqual([expect.stringMatching(/^schedule: "every monday" has 2 fields/)]);
    expect(issues({ schedule: '* * * * * * *' })).toEqual([expect.stringMatching(/has 7 fields/)]);
    expect(issues({ timeZone: 'Mars/Olympus' })).toEqual(['timeZone: is not a time zone this runtime knows (e.g. UTC, Europe/Berlin)']);
    expect(issues({ channel: '#audit' })).toEqual(['channel: must be a Slack channel id like C0123ABCD']);
    expect(issues({ schedule: 'x'.repeat(300) })[0]).toMatch(/^schedule: /);
    expect(issues({ cron: '* * * * *' })[0]).toMatch(/Unrecognized key/);
    expect(issues({ unusedDays: 0 })[0]).toMatch(/^unusedDays/);
  });
});

describe('scheduledTime', () => {
  it('the scheduler time of the job, from its options or its id', () => {
    expect(scheduledTime({ id: 'repeat:audit-report:1764493200000', opts: { prevMillis: 1764493200000 }, timestamp: 5 })).toBe(1764493200000);
    expect(scheduledTime({ id: 'repeat:audit-report:1764493200000', opts: {}, timestamp: 5 })).toBe(1764493200000);
    expect(scheduledTime({ id: 'other', opts: {}, timestamp: 5 })).toBe(5);
  });
});
