import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../../src/config/load.js';
import { configProblems } from '../../helpers/config-problems.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };

const problemsOf = (document: unknown, environment: Record<string, string> = env): string[] => configProblems(document, environment);

describe('the audit section', () => {
  it('has defaults, the webhook off and no log file', () => {
    const config = buildConfig(minimal, env);
    expect(config.audit).toEqual({ retention: { maxAge: 30 * 86_400_000, maxEntries: 10_000 }, maxStoredBytes: 262_144, webhook: { maxBodyBytes: 32 * 1024 * 1024 } });
    expect(config.secrets.auditWebhookToken).toBeUndefined();
  });

  it('reads durations, the log file with its defaults, and the webhook token', () => {
    const config = buildConfig({ ...minimal, audit: { retention: { maxAge: '7d', maxEntries: 500 }, logFile: { path: '/var/log/kubernetes/audit/audit.log' } } }, { ...env, NETPOL_AUDIT_WEBHOOK_TOKEN: 'a-long-enough-audit-token' });
    expect(config.audit.retention).toEqual({ maxAge: 7 * 86_400_000, maxEntries: 500 });
    expect(config.audit.logFile).toEqual({ path: '/var/log/kubernetes/audit/audit.log', history: true, pollInterval: 1000, maxLineBytes: 4 * 1024 * 1024 });
    expect(config.secrets.auditWebhookToken).toBe('a-long-enough-audit-token');
  });

  it('names each bad field with the reason, all at once', () => {
    const problems = problemsOf(
      {
        ...minimal,
        audit: {
          retention: { maxAge: '10s', maxEntries: 5 },
          maxStoredBytes: 1e12,
          webhook: { maxBodyBytes: -1, extra: true },
          logFile: { path: '', pollInterval: '2 seconds' },
          nonsense: 1,
        },
      },
      { ...env, NETPOL_AUDIT_WEBHOOK_TOKEN: 'short' },
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'audit.retention.maxAge: must be between 1m and 400d',
        expect.stringMatching(/^audit\.retention\.maxEntries: /),
        expect.stringMatching(/^audit\.maxStoredBytes: /),
        expect.stringMatching(/^audit\.webhook\.maxBodyBytes: /),
        expect.stringMatching(/^audit\.webhook: .*extra/),
        expect.stringMatching(/^audit\.logFile\.path: /),
        'audit.logFile.pollInterval: must be a duration like 30s, 15m, 2h or 7d',
        expect.stringMatching(/^audit: .*nonsense/),
        'env NETPOL_AUDIT_WEBHOOK_TOKEN: must be at least 16 characters',
      ]),
    );
  });
});
