// Text from the cluster, its audit log and other detectors reaches Slack escaped: a hostile
// Kubernetes username, user agent, label value or annotation, an incident reason, an Alertmanager
// alert or a Git commit's author and subject cannot mention @channel/@here/a user/a user group, forge a link, or break
// the bot's formatting (bold, italic, strike, code spans and fences). An incident runs through
// contain, trace and validate, the drift monitor alerts the out-of-band change, an anomaly comes
// in by webhook; every message and ephemeral answer the Slack stand-in recorded is checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { actAs } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, startTestEnvironment, waitForPlaybookFinished } from '../helpers/environment.js';
import { alertmanager } from '../helpers/webhook-samples.js';
import { argoCdApplies, learned, traceFromAnomaly } from '../helpers/trace.js';

/** Constructs Slack would act on, each with a marker that shows whether it survived. */
const MENTIONS = ['<!channel>', '<!here>', '<@U0EVIL>', '<!subteam^S0EVIL>', '<http://evil.example'];
const HOSTILE = '<!channel> <!here> <@U0EVIL> <!subteam^S0EVIL|evil> <http://evil.example|click> *PWNB* _PWNI_ ~PWNS~ `PWNC` ```PWNF```';
const HOSTILE_USER = `mallory ${HOSTILE}`;
const HOSTILE_AGENT = `kubectl/v1.30.1 ${HOSTILE}`;
/** A label value may hold `.`, `_` and `-` between alphanumerics: enough for italics. */
const HOSTILE_LABEL = 'x._PWNL_.x';

let env: EmbeddedEnvironment;
let incidentId: string;

/** Every mrkdwn string of a message: its text and every mrkdwn text object in its blocks (and their confirms). */
function mrkdwnOf(message: SimMessage): string[] {
  const out = [message.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks ?? []);
  return out;
}

/** What the bot posted (messages, replies, ephemeral answers), not the stand-in's record of what people typed. */
const botMessages = (e: EmbeddedEnvironment = env): SimMessage[] => e.slack.messages(DEMO_CHANNEL).filter((m) => m.kind === 'message');

/** The hostile constructs left working in one mrkdwn string. */
function survivors(text: string): string[] {
  const found = MENTIONS.filter((m) => text.includes(m));
  // A hostile backtick anywhere could end the bot's code span and start its own.
  for (const marker of ['`PWNC', 'PWNC`', '```PWNF', 'PWNF```']) if (text.includes(marker)) found.push(marker);
  // Inside the bot's own code spans and fences formatting is shown as typed: check outside them.
  const outside = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  for (const marker of ['*PWNB*', '_PWNI_', '~PWNS~', '_PWNL_']) if (outside.includes(marker)) found.push(marker);
  return found;
}

beforeAll(async () => {
  env = await startTestEnvironment({ git: true });
  // mallory (a hostile OIDC username) opens db's egress with kubectl carrying a hostile user agent,
  // on a policy with a hostile label value and annotation.
  const policy = structuredClone(ALLOW_ALL_EGRESS) as { metadata: Record<string, unknown> };
  policy.metadata.labels = { team: HOSTILE_LABEL };
  policy.metadata.annotations = { 'shop.example/note': HOSTILE };
  const out = await actAs(env.kube, {
    user: HOSTILE_USER,
    userAgent: HOSTILE_AGENT,
    method: 'POST',
    path: '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies?fieldManager=kubectl-client-side-apply',
    body: policy,
  });
  expect(out.status).toBe(201);

  const command = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident db -- ${HOSTILE}` });
  incidentId = /Opening incident `([a-z0-9-]+)`/.exec(command.body)![1]!;
  // Evidence is gathered first (slow on a loaded machine): wait for the Approve button.
  const message = await env.slack.waitForMessage((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`NetworkPolicy incident ${incidentId}`) && hasApprovalButtons(m), 60_000);
  const opened = { message };
  await click(env, opened.message, DEMO_USERS.approver.id);
  await waitForPlaybookFinished(env, incidentId, 60_000);
  // The trace's cause names mallory: the thread is brought up to date after the record.
  await env.slack.waitForMessage((m) => m.threadTs === opened.message.ts && m.text.includes('Most likely cause'), 15_000);

  // An Alertmanager alert with hostile labels and annotations.
  const [sample] = alertmanager.alerts;
  const alert = {
    ...alertmanager,
    alerts: [
      {
        ...sample,
        labels: { alertname: `Egress ${HOSTILE}`, namespace: 'api', app: HOSTILE_LABEL, severity: 'critical' },
        annotations: { summary: `summary ${HOSTILE}`, description: HOSTILE },
        startsAt: new Date().toISOString(),
        fingerprint: 'hostile',
      },
    ],
  };
  const posted = await fetch(`http://127.0.0.1:${env.bot!.port}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
    body: JSON.stringify(alert),
  });
  expect(posted.status).toBe(200);
  const anomaly = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && m.text.includes('summary'), 15_000);
  // Opening an incident from it answers ephemerally with the alert's scope, and opens one with its title as the reason.
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: anomaly.ts, actionId: OPEN_INCIDENT_ACTION });
  await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text.startsWith('Opening incident'), 15_000);
  await env.slack.waitForMessage((m) => !m.threadTs && m.ts !== message.ts && m.text.startsWith('NetworkPolicy incident'), 30_000);
  // The drift monitor alerts mallory's out-of-band policy, naming her from the audit log.
  await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Drift from Git') && JSON.stringify(m.blocks ?? []).includes('mallory'), 60_000);
  // `/netpol status` answers with the incident's reason.
  await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `status ${incidentId}` });
  await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.oncall.id && m.text.includes(`Incident \`${incidentId}\``), 10_000);
}, 180_000);
afterAll(() => env?.stop());

describe('hostile text from the cluster and other detectors reaches Slack escaped', () => {
  it('the hostile values did reach Slack, escaped (so the check below looks at them)', () => {
    const texts = botMessages().flatMap(mrkdwnOf);
    const cause = texts.find((t) => t.includes('Most likely cause'));
    // The trace names mallory from the audit log, with her user agent; the reason is in the thread.
    // mallory's username in a code span: mentions and links escaped, her backticks unable to end it.
    expect(cause).toContain('`mallory &lt;!channel&gt;');
    expect(cause).toContain('\u02CBPWNC\u02CB');
    expect(texts.find((t) => t.includes('Incident opened for'))).toContain('&lt;@U0EVIL&gt;');
    expect(texts.some((t) => t.includes('Drift from Git') || t.includes('mallory'))).toBe(true);
    expect(texts.some((t) => t.startsWith('Anomaly') && t.includes('summary'))).toBe(true);
    expect(texts.join('\n')).toContain('evil.example');
  });

  it('no message, reply or ephemeral answer lets a mention, a link or formatting through', () => {
    const found: string[] = [];
    for (const message of botMessages()) {
      for (const text of mrkdwnOf(message)) {
        const left = survivors(text);
        if (left.length > 0) found.push(`${left.join(' ')} in ${message.threadTs ? 'a reply' : message.visibleTo ? 'an ephemeral answer' : 'a message'}: ${text.slice(0, 300)}`);
      }
    }
    expect(found).toEqual([]);
  });
});

// A hostile commit in the policy repository, applied by Argo CD: the trace names its author and
// subject (the GitOps apply's commit), so both reach Slack. Git itself drops `<` and `>` from names.
describe('a hostile Git commit author and subject reach Slack escaped', () => {
  let gitEnv: EmbeddedEnvironment | undefined;
  afterAll(() => gitEnv?.stop());

  it('the trace shows the commit, escaped, and no message lets a construct through', async () => {
    gitEnv = await startTestEnvironment({ flows: true, git: true });
    await learned(gitEnv);
    const bad = await gitEnv.git!.addBadCommit({ authorName: 'eve *PWNB* _PWNI_ `PWNC` @channel', message: `db: open egress ${HOSTILE}\n\nbody ${HOSTILE}` });
    await argoCdApplies(gitEnv, bad);
    const { thread } = await traceFromAnomaly(gitEnv);
    const cause = thread.find((t) => t.includes('Most likely cause'));
    // The commit did reach the cause line, its subject escaped.
    expect(cause).toContain(`GitOps apply of commit ${bad.sha.slice(0, 8)}`);
    expect(cause).toContain('db: open egress &lt;!channel&gt;');
    expect(cause).toContain('eve \u2217PWNB\u2217 \u02CDPWNI\u02CD \u02CBPWNC\u02CB');
    const found = botMessages(gitEnv).flatMap((m) => mrkdwnOf(m).flatMap((text) => survivors(text).map((left) => `${left}: ${text.slice(0, 300)}`)));
    expect(found).toEqual([]);
  }, 120_000);
});
