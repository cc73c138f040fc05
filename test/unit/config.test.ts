import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, loadConfig } from '../../src/config/load.js';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import { pipelineOptionsOf } from '../../src/config/pipeline-options.js';
import { FlowPipeline } from '../../src/flows/pipeline.js';
import { DEFAULT_LANE_SLOTS } from '../../src/queue/jobs.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function writeTemp(text: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-config-'));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, text);
  return path;
}

describe('configuration', () => {
  it('fills defaults for a minimal file', () => {
    const config = buildConfig(minimal, env);
    expect(config.redis.keyPrefix).toBe('netpol');
    expect(config.roles).toEqual(['web', 'worker', 'watcher']);
    expect(config.kube.botNamespace).toBe('netpol-responder');
    expect(config.playbook.path).toBe(DEFAULT_PLAYBOOK_PATH);
    expect(config.secrets.slackBotToken).toBe('xoxb-123-abc');
    expect(config.secrets.slackAppToken).toBeUndefined();
  });

  it('accepts the shipped example configuration (deploy/netpol-responder.example.yaml)', () => {
    const config = loadConfig(join(import.meta.dirname, '../../deploy/netpol-responder.example.yaml'), env);
    expect(config.roles).toEqual(['web', 'worker', 'watcher', 'collector']);
    expect(config.collector?.source).toMatchObject({ kind: 'hubble-relay', address: 'hubble-relay.kube-system.svc:80' });
    expect(config.collector?.learningPeriod).toBe(3_600_000);
    expect(config.collector?.dismissFor).toBe(7 * 86_400_000);
    expect(config.slack.alertsChannel).toBe('C0123NETALERTS');
    expect(config.metrics).toEqual({ port: 9464, host: '0.0.0.0' });
  });

  it('maps the collector section onto the flow pipeline: thresholds, baseline bounds, learning period, cooldown', () => {
    const collector = {
      source: { kind: 'jsonl-file', path: '/var/run/cilium/hubble/events.log' },
      learningPeriod: '2h',
      cooldown: '5m',
      detectors: { fanOut: { minDistinct: 80 }, newEastWestEdge: { enabled: false } },
      baseline: { bucket: '30s', halfLife: '3d', fanoutWindow: '10s', maxWorkloads: 1000, clusterDomains: ['cluster.local', 'corp.internal'] },
    };
    const options = pipelineOptionsOf(buildConfig({ ...minimal, collector }, env).collector);
    expect(options).toEqual({
      baseline: { learningPeriodMs: 7_200_000, bucketMs: 30_000, halfLifeMs: 3 * 86_400_000, fanoutWindowMs: 10_000, maxWorkloads: 1000, clusterDomains: ['cluster.local', 'corp.internal'] },
      detectors: { fanOut: { minDistinct: 80 }, newEastWestEdge: { enabled: false } },
      cooldownMs: 300_000,
    });
    const pipeline = new FlowPipeline(options);
    expect(pipeline.detectors.fanOut).toEqual({ enabled: true, minDistinct: 80, peakFactor: 3 });
    expect(pipeline.detectors.newEastWestEdge.enabled).toBe(false);
    expect(pipeline.baseline.options).toMatchObject({ bucketMs: 30_000, maxWorkloads: 1000, maxEdgesTotal: 2_000_000 });
    // Without a collector section: the defaults.
    expect(pipelineOptionsOf(undefined)).toEqual({ baseline: {}, detectors: {} });
  });

  it('reads secrets from the environment only', () => {
    const config = buildConfig(minimal, { ...env, SLACK_APP_TOKEN: 'xapp-1', REDIS_URL: 'redis://127.0.0.1:1', KUBECONFIG: '/k' });
    expect(config.secrets.slackAppToken).toBe('xapp-1');
    expect(config.redisUrl).toBe('redis://127.0.0.1:1');
    expect(config.kubeconfigPath).toBe('/k');
  });

  it.each([
    [{ slack: { approvers: { users: ['bob'] } } }, 'slack.approvers.users.0: must be a Slack user id'],
    [{ slack: { approvers: {} } }, 'slack.approvers: at least one approver'],
    [{ ...minimal, worker: { concurrency: 0 } }, 'worker.concurrency:'],
    [{ ...minimal, worker: { proposalConcurrency: 0 } }, 'worker.proposalConcurrency:'],
    [{ ...minimal, worker: { backgroundConcurrency: 1.5 } }, 'worker.backgroundConcurrency:'],
    [{ ...minimal, worker: { backgroundConcurrency: 'all' } }, 'worker.backgroundConcurrency:'],
    [{ ...minimal, roles: ['web', 'janitor'] }, 'roles.1:'],
    [{ ...minimal, redis: { keyPrefix: 'a:b' } }, 'redis.keyPrefix: letters'],
    [{ ...minimal, kube: { botNamespace: 'Bad_NS' } }, 'kube.botNamespace: must be a DNS-1123 label'],
    [{ ...minimal, surprise: true }, '(root): Unrecognized key: "surprise"'],
    [{ slack: { ...minimal.slack, port: 70000 } }, 'slack.port:'],
    [{ ...minimal, metrics: { port: 70000 } }, 'metrics.port:'],
    [{ ...minimal, collector: { source: { kind: 'jsonl-file', path: '/f' }, detectors: { volumeSpike: { madFactor: -1 } } } }, 'collector.detectors.volumeSpike.madFactor:'],
    [{ ...minimal, collector: { source: { kind: 'jsonl-file', path: '/f' }, baseline: { historyBuckets: 2 } } }, 'collector.baseline.historyBuckets:'],
    [{ ...minimal, collector: { source: { kind: 'jsonl-file', path: '/f' }, baseline: { halfLife: 'forever' } } }, 'collector.baseline.halfLife: must be a duration'],
    [{ ...minimal, metrics: { host: '127.0.0.1' } }, 'metrics.port:'],
    [{ ...minimal, metrics: { port: 9464, path: '/m' } }, 'metrics: Unrecognized key: "path"'],
    [{}, 'slack:'],
  ])('reports a bad field with its path and reason (%#)', (document, expected) => {
    const problems = problemsOf(() => buildConfig(document, env));
    expect(problems.join('\n')).toContain(expected);
  });

  it('reads the git push webhook secret, off without it', () => {
    expect(buildConfig(minimal, env).secrets.gitWebhookSecret).toBeUndefined();
    const config = buildConfig(minimal, { ...env, NETPOL_GIT_WEBHOOK_SECRET: 'a-git-webhook-secret-0123' });
    expect(config.secrets.gitWebhookSecret).toBe('a-git-webhook-secret-0123');
    // A secret of its own: not taken from the other webhook tokens.
    expect(buildConfig(minimal, { ...env, NETPOL_WEBHOOK_TOKEN: 'alertmanager-token-0123', NETPOL_AUDIT_WEBHOOK_TOKEN: 'audit-token-0123456789' }).secrets.gitWebhookSecret).toBeUndefined();
  });

  it.each(['', 'short', '15-characters-x'])('refuses a git push webhook secret shorter than 16 characters (%j)', (secret) => {
    expect(problemsOf(() => buildConfig(minimal, { ...env, NETPOL_GIT_WEBHOOK_SECRET: secret }))).toEqual(['env NETPOL_GIT_WEBHOOK_SECRET: must be at least 16 characters']);
  });

  it('reports bad or missing secrets as env problems, together with file problems', () => {
    const problems = problemsOf(() => buildConfig({}, { SLACK_BOT_TOKEN: 'xoxp-user-token', REDIS_URL: 'http://x' }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^slack:/),
        expect.stringMatching(/^env SLACK_BOT_TOKEN: must be a bot token/),
        expect.stringMatching(/^env SLACK_SIGNING_SECRET:/),
        expect.stringMatching(/^env REDIS_URL: must be a redis:\/\//),
      ]),
    );
  });

  it('loads a YAML file', () => {
    const path = writeTemp('slack:\n  approvers:\n    users: [U0APPROVER]\n    usergroups: [S0ONCALL]\nworker:\n  concurrency: 2\n');
    const config = loadConfig(path, env);
    expect(config.worker.concurrency).toBe(2);
    expect([config.worker.proposalConcurrency, config.worker.backgroundConcurrency]).toEqual([DEFAULT_LANE_SLOTS.proposals, DEFAULT_LANE_SLOTS.background]);
    expect(config.slack.approvers.usergroups).toEqual(['S0ONCALL']);
  });

  it('names the file for unreadable, malformed, non-mapping and oversized files', () => {
    expect(problemsOf(() => loadConfig('/nonexistent/config.yaml', env))[0]).toMatch(/cannot read the file/);
    expect(problemsOf(() => loadConfig(writeTemp('slack: [unclosed'), env))[0]).toMatch(/not valid YAML/);
    expect(problemsOf(() => loadConfig(writeTemp('- a\n- b\n'), env))[0]).toMatch(/expected a mapping/);
    expect(problemsOf(() => loadConfig(writeTemp(Buffer.alloc(2 * 1024 * 1024, 'a')), env))[0]).toMatch(/larger than 1 MiB/);
    const error = (() => {
      try {
        loadConfig('/nonexistent/config.yaml', env);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toContain('/nonexistent/config.yaml');
  });

  it('refuses a YAML alias bomb', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(problemsOf(() => loadConfig(writeTemp(bomb), env))[0]).toMatch(/not valid YAML/);
  });
});
