// Secrets never reach a log line or a Slack message. One whole incident, carol's out-of-band policy
// contained, restored away and hardened with a pull request on the GitHub stand-in, runs on the
// embedded environment with the product's logger (createLogger: its redaction on) writing raw lines
// here, with every secret the bot holds set to a known value: the Slack bot token and signing
// secret, both webhook tokens, the Git host token (read from its token file), the kubeconfig's
// bearer token and the password in the Redis URL (an ACL user on the test Redis). Error paths that
// log are walked too: a webhook and the audit webhook with a wrong token, a webhook with the right
// token and a bad body, a Slack request with a bad signature, and the hardening's push and pull
// request with a revoked Git token. Then every log line, every Slack message (text, blocks,
// uploaded files) and every argument the bot sent to the Slack API are searched for each secret as
// written, URL-encoded and in base64 (Basic auth's `user:token` included). The search itself is
// shown able to fail in test/unit/secret-scan.test.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../src/log.js';
import { collectorHasReadHistory, GIT_HOST_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { formEncode, signSlackRequest } from '../../src/sim/slack/index.js';
import { DEMO_CHANNEL, DEMO_USERS, startTestEnvironment } from '../helpers/environment.js';
import { decideUntilClosed, hardenApprovalMessage, hardenPlaybook, untilHardenProposed } from '../helpers/harden-e2e.js';
import { testRedis, testRedisUrl } from '../helpers/redis.js';
import { until } from '../helpers/restore.js';
import { findSecrets, lineCollector, type Secret } from '../helpers/secret-scan.js';

type Obj = Record<string, unknown>;

const REDIS_USER = `netpol-secrets-${randomBytes(3).toString('hex')}`;
const REDIS_PASSWORD = `redis-pw-${randomBytes(12).toString('hex')}`;
const admin = testRedis();

let env: EmbeddedEnvironment | undefined;
afterAll(async () => {
  await env?.stop();
  await admin.call('ACL', 'DELUSER', REDIS_USER).catch(() => undefined);
  admin.disconnect();
});

/** The test Redis with a user that needs REDIS_PASSWORD (Redis 6+ ACL); undefined when the server has no ACL. */
async function passwordRedisUrl(): Promise<string | undefined> {
  try {
    await admin.call('ACL', 'SETUSER', REDIS_USER, 'reset', 'on', `>${REDIS_PASSWORD}`, '~*', '&*', '+@all');
  } catch {
    return undefined;
  }
  const url = new URL(testRedisUrl());
  url.username = REDIS_USER;
  url.password = REDIS_PASSWORD;
  return url.toString();
}

async function post(path: string, headers: Record<string, string>, body: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${env!.bot!.port}${path}`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  return response.status;
}

describe('secrets are never logged nor posted', () => {
  it('a whole incident with known secrets, and the error paths that log, leave no secret in any log line or Slack message', async () => {
    const { stream, lines } = lineCollector();
    const redisUrl = await passwordRedisUrl();
    // A Redis without ACL users (before 6) or one that refuses ACL SETUSER: the Redis password is not part of the run.
    if (!redisUrl) console.warn('the test Redis does not take ACL SETUSER: the Redis URL password is not checked');
    const logger = createLogger({ level: 'debug' }, stream);
    env = await startTestEnvironment({ git: true, gitHost: 'github', flows: true, playbookPath: hardenPlaybook(), startBot: false, logger, ...(redisUrl ? { redisUrl } : {}) });
    const e = env;
    await e.startBot({ drift: { ...e.config.drift, enabled: false } });
    if (redisUrl) expect(await e.bot!.redis.call('ACL', 'WHOAMI')).toBe(REDIS_USER);

    const kubeconfig = parseYaml(readFileSync(e.kubeconfigPath, 'utf8')) as { users: Array<{ user: { token: string } }> };
    const secrets: Secret[] = [
      { name: 'SLACK_BOT_TOKEN', value: e.env.SLACK_BOT_TOKEN! },
      { name: 'SLACK_APP_TOKEN (held by the stand-in)', value: e.slack.appToken },
      { name: 'SLACK_SIGNING_SECRET', value: e.env.SLACK_SIGNING_SECRET! },
      { name: 'NETPOL_WEBHOOK_TOKEN', value: e.env.NETPOL_WEBHOOK_TOKEN! },
      { name: 'NETPOL_AUDIT_WEBHOOK_TOKEN', value: e.env.NETPOL_AUDIT_WEBHOOK_TOKEN! },
      { name: 'Git host token (token file)', value: GIT_HOST_TOKEN, basicUsers: ['x-access-token', 'oauth2', 'token'] },
      { name: 'kubeconfig bearer token', value: kubeconfig.users[0]!.user.token },
      ...(redisUrl ? [{ name: 'Redis password', value: REDIS_PASSWORD, basicUsers: [REDIS_USER] }] : []),
    ];
    // The values are the ones the bot runs with.
    expect(e.config.secrets).toMatchObject({ slackBotToken: e.env.SLACK_BOT_TOKEN, slackSigningSecret: e.env.SLACK_SIGNING_SECRET, webhookToken: e.env.NETPOL_WEBHOOK_TOKEN, auditWebhookToken: e.env.NETPOL_AUDIT_WEBHOOK_TOKEN });
    if (redisUrl) expect(e.config.redisUrl).toContain(REDIS_PASSWORD);
    const repository = e.config.git!.repositories[0] as Obj & { auth: { tokenFile: string } };
    expect(readFileSync(repository.auth.tokenFile, 'utf8').trim()).toBe(GIT_HOST_TOKEN);
    for (const secret of secrets) expect(secret.value.length, secret.name).toBeGreaterThanOrEqual(16);

    // Error paths that log, before the incident.
    const alert = JSON.stringify({ version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'X', namespace: 'db' }, annotations: {}, startsAt: new Date().toISOString() }] });
    expect(await post('/webhooks/alertmanager', { 'content-type': 'application/json', authorization: 'Bearer wrong-webhook-token-0000' }, alert)).toBe(401);
    expect(await post('/webhooks/falcosidekick', { 'content-type': 'application/json', 'x-netpol-token': 'wrong-webhook-token-0000' }, '{}')).toBe(401);
    expect(await post('/webhooks/alertmanager', { 'content-type': 'application/json', authorization: `Bearer ${e.env.NETPOL_WEBHOOK_TOKEN}` }, `{"token":"${e.env.NETPOL_WEBHOOK_TOKEN}", not json`)).toBe(400);
    expect(await post('/webhooks/k8s-audit', { 'content-type': 'application/json', authorization: 'Bearer wrong-audit-token-0000' }, '{"kind":"EventList","items":[]}')).toBe(401);
    const fields = e.driver!.slashCommandFields({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'help' }, `${e.slack.baseUrl}/response/none`);
    const body = formEncode({ ...fields, token: e.env.NETPOL_WEBHOOK_TOKEN! });
    const ts = Math.floor(Date.now() / 1000);
    const badSignature = await post('/slack/events', { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest('not-the-signing-secret', ts, body) }, body);
    expect(badSignature).toBe(401);

    // The incident, to the hardening, whose delivery the Git host refuses: the token was revoked.
    await until('the collector to read the shop’s history', () => (collectorHasReadHistory(e) ? true : undefined), 30_000);
    e.hubble!.triggerIncident();
    await until('the exfiltration anomaly', async () => ((await e.bot!.anomalies.recent('db', new Date(0))).some((r) => r.anomaly.title.includes('203.0.113.66')) ? true : undefined), 30_000);
    await e.bot!.collector!.snapshot();
    const { incidentId } = await untilHardenProposed(e);
    e.gitHost!.token = 'revoked-token-0000000000';
    const done = await decideUntilClosed(e, await hardenApprovalMessage(e, incidentId), incidentId);
    expect(done.status).toBe('completed');
    expect((done.steps.harden!.result as Obj).delivery).toMatchObject({ kind: 'attached', error: { reason: 'auth' } });
    await until('the files in the thread', () => (e.slack.messages(DEMO_CHANNEL).some((m) => (m.files ?? []).some((f) => f.name === 'PULL_REQUEST.md')) ? true : undefined), 10_000);

    // The logs did tell the story, errors included (so an empty scan means something).
    const text = lines.join('\n');
    for (const msg of ['webhook refused', 'audit webhook: missing or wrong token', 'incident opened', 'step completed']) expect(text, msg).toContain(`"msg":"${msg}`);
    expect(lines.some((l) => l.includes('signature mismatch')), 'the bad signature, logged by the receiver through the same logger').toBe(true);
    expect(lines.some((l) => l.includes(incidentId) && /"level":(40|50)/.test(l)), 'a warning or error about the incident').toBe(true);

    const messages = e.slack.messages().map((m) => ({ where: `Slack message ${m.channel}/${m.ts}`, text: JSON.stringify({ ...m, files: m.files?.map((f) => ({ ...f, content: f.content?.toString('utf8') })) }) }));
    const files = [...e.slack.workspace.files.values()].map((f) => ({ where: `uploaded file ${f.name}`, text: f.content?.toString('utf8') ?? '' }));
    const calls = e.slack.calls.map((c) => ({ where: `Slack ${c.kind} ${c.method}`, text: JSON.stringify(c.args) }));
    expect(messages.length).toBeGreaterThan(5);
    expect(files.some((f) => f.where.endsWith('PULL_REQUEST.md'))).toBe(true);
    const scanned = [...lines.map((l, i) => ({ where: `log line ${i + 1}`, text: l })), ...messages, ...files, ...calls];
    // Armed: the same scan finds every secret where it is known to be.
    expect(new Set(findSecrets([{ where: 'the secrets', text: JSON.stringify(secrets) }], secrets).map((h) => h.secret)).size).toBe(secrets.length);
    expect(findSecrets(scanned, secrets)).toEqual([]);
  }, 240_000);
});
