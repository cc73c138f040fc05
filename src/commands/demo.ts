// `netpol-responder demo`: the whole incident on the embedded environment, printed as it happens.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_PLAYBOOK_PATH } from '../config/package-files.js';
import { TrafficCheck } from '../containment/traffic.js';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createLogger, silentLogger } from '../log.js';
import { watchStopSignals } from '../lifecycle/signals.js';
import { RedisServerMissingError, resolveRedis } from '../redis/throwaway.js';
import { collectorHasReadHistory, DEMO_CHANNEL, DEMO_USERS, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../sim/environment.js';
import type { SimMessage } from '../sim/slack/index.js';
import type { Incident } from '../incident/model.js';
import { ALLOW_ALL_EGRESS } from '../sim/scenarios/shop.js';
import { kubectlCreateNetworkPolicy, kubectlPatchNetworkPolicy } from '../sim/kube/act-as.js';
import { DRIFT_REVERT_ACTION } from '../slack/drift-blocks.js';
import { OPEN_INCIDENT_ACTION } from '../slack/anomaly-blocks.js';
import { APPROVE_ACTION } from '../slack/blocks.js';
import { RESTORE_FORCE_ACTION } from '../slack/restore-blocks.js';
import { postmortemFileName } from '../timeline/render.js';
import { openDemoSession } from '../sim/demo-live.js';
import { defaultSessionPath, SESSION_ENV } from '../sim/demo-session.js';
import { parseCommand, usageError } from './spec.js';
import { DEMO } from './specs.js';

/** Who opens the door in the demo's story, as the cluster knows her. */
const DEMO_CAROL = 'carol@shop.example';

/** Who edits a frontend policy by hand in the drift part of the demo. */
const DEMO_DAN = 'dan@shop.example';

/** The demo watches traffic for a few seconds instead of the playbook's 30 s, to stay short. */
const DEMO_TRAFFIC_WINDOW = '5s';
/** Each restore step's traffic window, and the watch window after the lift (15 min in the playbook). */
const DEMO_RESTORE_TRAFFIC_WINDOW = '2s';
const DEMO_WATCH_WINDOW = '2s';
/** The history a workload needs for allow rules in the hardening baseline (24 h in the playbook). */
const DEMO_MIN_HISTORY = '1h';

/** The shipped playbook with the demo's traffic window, in a temp file. */
function demoPlaybook(): string {
  const playbook = parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string; params?: Record<string, unknown> }> };
  for (const step of playbook.steps) {
    if (step.action === 'contain') step.params = { ...step.params, trafficWindow: DEMO_TRAFFIC_WINDOW };
    if (step.action === 'restore') step.params = { ...step.params, trafficWindow: DEMO_RESTORE_TRAFFIC_WINDOW, watchWindow: DEMO_WATCH_WINDOW };
    // The shop's collector has watched 1.5 h of traffic (24 h in the playbook).
    if (step.action === 'harden') step.params = { ...step.params, minHistory: DEMO_MIN_HISTORY };
  }
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-demo-playbook-')), 'netpol-incident.yaml');
  writeFileSync(file, toYaml(playbook));
  return file;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function narrate(line: string): void {
  say(`\n▶ ${line}`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function printConversation(env: EmbeddedEnvironment): () => void {
  const lastText = new Map<string, string>();
  const shownProposal = new Set<string>();
  return env.slack.onMessage((event) => {
    const { message } = event;
    if (event.type === 'posted') say(env.slack.renderMessage(message));
    if (event.type !== 'updated' || message.threadTs) return;
    // The incident message is redrawn on every change: show it whole once the proposal is ready
    // (what the approver reads), then a line whenever its summary changes.
    if (!shownProposal.has(message.ts) && JSON.stringify(message.blocks ?? []).includes(APPROVE_ACTION)) {
      shownProposal.add(message.ts);
      say(env.slack.renderMessage(message));
    } else if (lastText.get(message.ts) !== message.text) {
      say(`    ✎ message updated: ${message.text}`);
    }
    lastText.set(message.ts, message.text);
  });
}

/** What a user can do with the environment left running; the session file lets `demo send` act as Slack. */
function printKeepRunning(env: EmbeddedEnvironment, sessionPath: string): void {
  const kubectl = `kubectl --kubeconfig ${env.kubeconfigPath}`;
  const prefix = sessionPath === defaultSessionPath({ ...process.env, [SESSION_ENV]: '' }) ? '' : `${SESSION_ENV}=${sessionPath} `;
  say('\nThe environment keeps running. Poke the simulated cluster with kubectl, e.g.:');
  say(`  ${kubectl} get networkpolicies -A`);
  say(`  ${kubectl} get netpol allow-db-from-api -n db -o yaml   # managedFields show who changed what`);
  say(`  ${kubectl} auth can-i delete networkpolicies -n db`);
  say('Act in Slack as a demo user (alice is on call; bob and carol approve; mallory may not): `demo send` signs');
  say("the request as Slack would, posts it to the bot and prints the bot's answer:");
  say(`  ${prefix}netpol-responder demo send '/netpol status'`);
  say(`  ${prefix}netpol-responder demo send '/netpol incident api app=payments -- odd egress'`);
  say(`  ${prefix}netpol-responder demo send --click reject --as bob`);
  say(`  ${prefix}netpol-responder demo send --click approve --as mallory`);
  say(`(in a checkout: npx netpol-responder …). Session: ${sessionPath} (bot URL, signing secret, users; mode 600, removed on exit).`);
  say('Press Ctrl-C to stop.');
}

/** Outside incidents: an out-of-band edit raises a drift alert with its connectivity delta; Revert to Git fixes it. */
async function demoDrift(env: EmbeddedEnvironment): Promise<void> {
  narrate(`The next day, ${DEMO_DAN} "fixes" a storefront timeout by hand: kubectl patch lets frontend/allow-web-to-api reach anywhere (egress: [{}]), not in Git.`);
  const editedAt = Date.now();
  await kubectlPatchNetworkPolicy(env.kube, DEMO_DAN, { namespace: 'frontend', name: 'allow-web-to-api' }, { spec: { egress: [{}] } });
  const isFrontendDrift = (m: SimMessage): boolean => !m.threadTs && m.text.startsWith('Drift from Git') && JSON.stringify(m.blocks ?? []).includes('frontend/allow-web-to-api');
  const alert = await waitFor<SimMessage>('the drift alert', () => env.slack.messages(DEMO_CHANNEL).find(isFrontendDrift));
  narrate(`The drift monitor alerted ${Date.now() - editedAt} ms after the edit, with what the edit does to connectivity. @bob (an approver) clicks "Revert to Git".`);
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_REVERT_ACTION });
  const resolved = await waitFor<SimMessage>('the drift to resolve', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && m.text.startsWith('Drift resolved')), 20_000);
  say(env.slack.renderMessage(resolved));
  narrate('Reverted: applied as Git declares it, read back equal to Git, and the engine finds frontend\'s connectivity equal to Git\'s again.');
}

/** Step 5: the baseline for db, proven by the engine, approved, and opened as a pull request on the Git host stand-in. */
async function demoHarden(env: EmbeddedEnvironment, incidentId: string, messageTs: string): Promise<Incident> {
  const proposed = await waitFor('the hardening proposal', async () => {
    const now = await env.bot!.store.get(incidentId);
    return now && (now.steps.harden?.status === 'awaiting-approval' || now.status !== 'open') ? now : undefined;
  }, 30_000);
  if (proposed.steps.harden?.status !== 'awaiting-approval') throw new Error(`demo: hardening was not proposed: ${JSON.stringify(proposed.steps.harden ?? proposed.status)}`);
  narrate('The watch window passed quietly. Step 5 proposes a baseline for db from the traffic the collector learned (minus the exfiltration), proven by the policy engine:');
  const shown = await waitFor('the hardening proposal in the message', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.ts === messageTs && JSON.stringify(m.blocks ?? []).includes(`approval.${incidentId}.harden`)));
  say(env.slack.renderMessage(shown));
  narrate('@bob approves: the files go to review as a pull request; the cluster is not changed.');
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs, actionId: APPROVE_ACTION });
  const incident = await waitFor('the end of the incident', async () => {
    const now = await env.bot!.store.get(incidentId);
    return now && now.status !== 'open' ? now : undefined;
  }, 30_000);
  if (incident.status !== 'completed') throw new Error(`demo: the incident ended ${incident.status}: ${JSON.stringify(incident.steps.harden ?? {})}`);
  const pull = env.gitHost?.pulls[0];
  const result = incident.steps.harden?.result as { files?: string[] } | undefined;
  narrate(pull ? `Pull request #${pull.number} opened on the Git host stand-in: ${pull.url} ("${pull.title}", ${result?.files?.length ?? 0} files: the baseline, netpol-tests.yaml, the workload snapshot and the CI workflow running lint, test and diff).` : 'The hardening files are attached to the thread.');
  await waitFor('the closing summary', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.threadTs === messageTs && m.text.includes('closed* after')));
  narrate('Drift monitoring is on for db, and the thread closes with the whole loop: time to contain, cause, restore, hardening.');
  return incident;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(DEMO, argv);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length > 0) return usageError(DEMO, `unexpected argument "${parsed.positionals[0]?.slice(0, 40)}" (to act as a Slack user, it is \`demo send\`)`);
  const values = parsed.values;
  const started = Date.now();
  let redis;
  try {
    redis = await resolveRedis();
  } catch (error) {
    if (error instanceof RedisServerMissingError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = values.verbose ? createLogger({ level: 'info' }) : silentLogger;
  const env = await startEmbeddedEnvironment({ redisUrl: redis.url, keyPrefix: `netpol-demo-${randomBytes(3).toString('hex')}`, logger, flows: true, git: true, gitHost: 'github', playbookPath: demoPlaybook() });
  const stopPrinting = printConversation(env);
  try {
    say('netpol-responder demo: a simulated cluster (namespaces frontend, api, db), Hubble Relay, a Slack stand-in and the bot, all on loopback.');
    say(`  Kubernetes API: ${env.kube.url}   kubeconfig: ${env.kubeconfigPath}`);
    say(`  Hubble Relay:   ${env.hubble?.address}`);
    say(`  Slack Web API:  ${env.slack.apiUrl}   bot: http://127.0.0.1:${env.bot?.port}/slack/events   Redis: ${redis.url}`);

    const collector = env.bot!.collector!;
    await waitFor('the collector to learn the shop’s traffic', () => (collectorHasReadHistory(env) ? true : undefined));
    narrate(`The collector learned the shop's normal traffic from Hubble: ${collector.pipeline.counts.read} flows, ${collector.pipeline.baseline.edgeCount} edges, no alert.`);
    // Saved every minute in the bot; now, so that step 3 tests what the apps need within the demo's minute.
    await collector.snapshot();

    narrate(`To debug a backup job, ${DEMO_CAROL} widens db/allow-db-from-api to every namespace and applies allow-all-egress to namespace db with kubectl (podSelector: {}, egress: [{}]), out of band (neither is in the policy repository), and forgets both…`);
    await kubectlPatchNetworkPolicy(env.kube, DEMO_CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: { ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 5432 }] }] } });
    await kubectlCreateNetworkPolicy(env.kube, DEMO_CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    narrate('…and postgres-0 starts sending data to 203.0.113.66.');
    env.hubble!.triggerIncident();
    const alert = await waitFor<SimMessage>('the anomaly alert', () =>
      env.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && m.text.includes('203.0.113.66') && JSON.stringify(m.blocks ?? []).includes(OPEN_INCIDENT_ACTION)),
    );

    narrate('@alice (on-call) clicks "Open incident" on the alert.');
    await env.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
    const message = await waitFor<SimMessage>('the incident message with approval buttons', () =>
      env.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION)),
    );
    const incidentId = /NetworkPolicy incident ([a-z0-9-]+)/.exec(message.text)?.[1];
    if (!incidentId) throw new Error(`demo: no incident id in "${message.text}"`);

    narrate('@mallory, who is not an approver, clicks Approve: refused, nothing changes.');
    await env.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION });
    await waitFor('the refusal', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.visibleTo === DEMO_USERS.outsider.id) ?? undefined);

    narrate('@bob (security lead, an approver) reviews the proposed containment and its predicted proof, and approves.');
    const clickAt = Date.now();
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION });
    const contained = await waitFor('containment', async () => {
      const current = await env.bot!.store.get(incidentId);
      return current && (current.containment || current.status !== 'open') ? current : undefined;
    });
    if (contained.containment?.status !== 'active' || contained.steps.contain?.status !== 'done') {
      throw new Error(`demo: containment did not hold: ${JSON.stringify(contained.steps)}`);
    }
    const egress = env.kube.get('NetworkPolicy', 'db', ALLOW_ALL_EGRESS.metadata.name) as { spec: { podSelector: unknown } } | undefined;
    narrate(
      `Contained ${Date.now() - clickAt} ms after the click with ${contained.containment.strategy}, and proven by the policy engine: nothing but DNS to kube-dns is open. ` +
        `allow-all-egress is still in db, but no longer selects postgres-0 (its podSelector is now ${JSON.stringify(egress?.spec.podSelector)}).`,
    );

    narrate(`For ${DEMO_TRAFFIC_WINDOW} the flow collector watches postgres-0 on the wire, while its exfiltration attempts go on…`);
    // Flows reach the collector only once it has picked the watch up (within half a second).
    const traffic = new TrafficCheck(env.bot!.redis, env.config.redis.keyPrefix);
    await waitFor('the collector to watch the scope', async () => ((await traffic.readTrafficVerdict(incidentId))?.window.collector ? true : undefined));
    env.hubble!.emitAfterContainment();
    await waitFor('the traffic verdict', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.threadTs === message.ts && m.text.includes('Traffic check')), 30_000);

    const proposed = await waitFor('the restore plan', async () => {
      const now = await env.bot!.store.get(incidentId);
      return now?.steps.restore?.status === 'awaiting-approval' || now?.status !== 'open' ? now : undefined;
    }, 30_000);
    if (proposed?.steps.restore?.status !== 'awaiting-approval') throw new Error(`demo: the restore step was not proposed: ${JSON.stringify(proposed?.steps)}`);
    narrate(`Step 2 traced the cause to ${DEMO_CAROL} (kubectl, out of band); step 3 found both edits missing from Git. Step 4 offers the known-good sources and plans the restore from Git before the cause: ${String(proposed.steps.restore.evidence?.summary ?? '')}. @bob approves the plan.`);
    const restoreAt = Date.now();
    await waitFor('the restore proposal in the message', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(`approval.${incidentId}.restore`)));
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION });
    const stopped = (status: string | undefined): boolean => status === 'watching' || status === 'verify-failed' || status === 'blocked' || status === 'field-conflict';
    // Waits until the run stops for a person or the lift is through (from a round past `after`, so a click's effect is seen).
    const restoreRun = async (what: string, after = -1) =>
      waitFor(what, async () => {
        const now = await env.bot!.store.get(incidentId);
        return now && (now.status !== 'open' || (stopped(now.restore?.status) && (now.restore?.round ?? 0) > after)) ? now : undefined;
      }, 40_000);
    let lifted = await restoreRun('the restore');
    if (lifted.restore?.status === 'field-conflict') {
      narrate(`Step ${lifted.restore.next} stops before writing: ${DEMO_CAROL}'s kubectl patch owns .spec.ingress of allow-db-from-api, and server-side apply will not take another manager's field silently. Forcing is a separate approved choice: @bob clicks Force.`);
      // The incident message is redrawn after the state changes: click once it shows the button.
      await waitFor('the Force button', () => env.slack.messages(DEMO_CHANNEL).find((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(RESTORE_FORCE_ACTION)));
      await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: RESTORE_FORCE_ACTION });
      lifted = await restoreRun('the rest of the restore and the lift', lifted.restore.round);
    }
    narrate(`Restored in ${((Date.now() - restoreAt) / 1000).toFixed(1)} s: ${lifted.restore?.done.length ?? 0} steps, each applied with server-side apply (or deleted with a resourceVersion precondition), read back and verified by object, engine and traffic; then containment was lifted and verified. A ${DEMO_WATCH_WINDOW} watch window follows (15 min in the playbook).`);
    const incident = await demoHarden(env, incidentId, message.ts);

    narrate('@alice exports the postmortem timeline to the incident thread.');
    await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `export ${incidentId} md` });
    await waitFor('the uploaded postmortem', () => env.slack.calls.find((c) => c.method === 'files.completeUploadExternal') ?? undefined);

    const dir = resolve(values.out ?? 'postmortem');
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const format of ['md', 'json', 'html'] as const) {
      const file = join(dir, postmortemFileName(incidentId, format));
      writeFileSync(file, await env.bot!.engine.postmortem(incident, format));
      files.push(file);
    }
    await new Promise((r) => setTimeout(r, 100)); // let the last thread replies print
    narrate(`Postmortem written: ${files.join(', ')}`);

    await demoDrift(env);
    say(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s.`);

    if (values['keep-running']) {
      const session = await openDemoSession(env);
      try {
        printKeepRunning(env, session.path);
        // The handlers stay until exit: a second Ctrl-C during the clean-up below exits at once.
        await watchStopSignals().requested;
      } finally {
        await session.close();
      }
    }
    return 0;
  } finally {
    stopPrinting();
    // The bot first, while its Redis is still up (the throwaway one runs in its own process group, so Ctrl-C did not stop it).
    await env.stop();
    await redis.stop();
  }
}
