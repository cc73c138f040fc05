// Driving helpers for the restore step's robustness tests (test/e2e/restore-robustness.test.ts):
// a playbook with short restore windows, the story's out-of-band edits, waiting for the restore
// run to reach a state, clicking its controls, reading the thread's answers, and a worker child
// process that also reads the policy repository (the restore step plans from Git).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import { flowsKeyPrefix, TrafficWatchRegistry } from '../../src/flows/watch-registry.js';
import type { Incident } from '../../src/incident/model.js';
import { watchIdOf } from '../../src/playbook/restore-runner.js';
import type { RestoreRun, RestoreRunStatus } from '../../src/restore/run-model.js';
import { collectorHasReadHistory, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { containedTraffic } from '../../src/sim/hubble/shop-traffic.js';
import { actAs, kubectlCreateNetworkPolicy, kubectlPatchNetworkPolicy, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { SHOP_GIT_BRANCH, SHOP_GIT_POLICY_DIR } from '../../src/sim/scenarios/shop-git.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import type { TimelineEvent } from '../../src/timeline/types.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, incidentMessageFor, openIncident, waitForContained } from './environment.js';
import type { WorkerProcessOptions } from './worker-process.js';

/** Who edits the cluster out of band in these stories, as the cluster knows her. */
export const CAROL = 'carol@shop.example';

export interface RestoreWindows {
  trafficWindow?: string;
  watchWindow?: string;
  approve?: 'plan' | 'step';
}

/** The shipped playbook with the restore step's windows replaced (in a temp file). */
export function restorePlaybook(windows: RestoreWindows = {}): string {
  const playbook = parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string; params?: Record<string, unknown> }> };
  // Restore tests end with the restore (the hardening step after it has tests of its own).
  playbook.steps = playbook.steps.filter((s) => s.action !== 'harden');
  for (const step of playbook.steps) {
    // The contain step's own traffic window is not what these tests look at.
    if (step.action === 'contain') step.params = { ...step.params, trafficWindow: '1s' };
    if (step.action === 'restore') step.params = { ...step.params, trafficWindow: windows.trafficWindow ?? '0s', watchWindow: windows.watchWindow ?? '1s', ...(windows.approve ? { approve: windows.approve } : {}) };
  }
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-restore-robust-')), 'netpol-incident.yaml');
  writeFileSync(file, toYaml(playbook));
  return file;
}

/** carol opens namespace db's egress with a policy Git does not hold (the plan deletes it). */
export function createAllowAllEgress(env: EmbeddedEnvironment): Promise<void> {
  return kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
}

/** carol widens db/allow-db-from-api with kubectl patch (her manager then owns .spec.ingress). */
export function widenDbIngress(env: EmbeddedEnvironment): Promise<void> {
  return kubectlPatchNetworkPolicy(env.kube, CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: { ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 5432 }] }] } });
}

/** carol deletes a policy Git holds (the plan creates it again). */
export async function deletePolicy(env: EmbeddedEnvironment, namespace: string, name: string): Promise<void> {
  const out = await actAs(env.kube, { user: CAROL, userAgent: USER_AGENTS.kubectl, method: 'DELETE', path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/${name}` });
  if (out.status >= 300) throw new Error(`kubectl delete as ${CAROL} failed: ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
}

export async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens an incident on namespace db, approves containment as bob, and waits for the restore proposal. */
export async function containAndPropose(env: EmbeddedEnvironment, reason: string): Promise<{ incidentId: string; message: SimMessage; incident: Incident }> {
  const { incidentId, message } = await openIncident(env, `incident db -- ${reason}`);
  return { incidentId, ...(await proposeAfterContain(env, incidentId, message)) };
}

async function proposeAfterContain(env: EmbeddedEnvironment, incidentId: string, message: SimMessage): Promise<{ message: SimMessage; incident: Incident }> {
  await click(env, message, DEMO_USERS.approver.id);
  await waitForContained(env, incidentId, 20_000);
  const incident = await waitUntil('the restore proposal', async () => {
    const now = await env.bot!.store.get(incidentId);
    if (now && now.status !== 'open') throw new Error(`incident ${incidentId} ended ${now.status} before the restore was proposed`);
    return now?.steps.restore?.status === 'awaiting-approval' ? now : undefined;
  }, 30_000);
  // Slack is brought up to date after the record: wait for the proposal under the message.
  const proposed = await waitUntil('the restore proposal in Slack', () => {
    const now = incidentMessageFor(env, incidentId);
    return now && hasApprovalButtons(now) && JSON.stringify(now.blocks ?? []).includes('Restore to a known-good state') ? now : undefined;
  });
  return { message: proposed, incident };
}

/** Waits until the restore run is in `status` with a round past `after` (so a click's own effect is seen). */
export function waitForRun(env: EmbeddedEnvironment, incidentId: string, status: RestoreRunStatus, after = -1, timeoutMs = 30_000): Promise<RestoreRun> {
  return waitUntil(`the restore of ${incidentId} to be ${status}`, async () => {
    const now = await env.bot!.store.get(incidentId);
    if (now && now.status !== 'open') throw new Error(`incident ${incidentId} ended ${now.status}; the restore was ${now.restore?.status ?? 'not started'}`);
    const run = now?.restore;
    return run && run.status === status && run.round > after ? run : undefined;
  }, timeoutMs);
}

export async function waitForIncident(env: EmbeddedEnvironment, incidentId: string, status: Incident['status'], timeoutMs = 30_000): Promise<Incident> {
  return waitUntil(`incident ${incidentId} to be ${status}`, async () => {
    const now = await env.bot!.store.get(incidentId);
    return now?.status === status ? now : undefined;
  }, timeoutMs);
}

export async function eventsOf(env: EmbeddedEnvironment, incidentId: string, type: TimelineEvent['type']): Promise<TimelineEvent[]> {
  return (await env.bot!.store.timeline(incidentId)).filter((e) => e.type === type);
}

/** Clicks a control under the incident message as `userId`; resolves with the ephemeral answer's text. */
export async function clickControl(env: EmbeddedEnvironment, incidentId: string, actionId: string, userId: string): Promise<string> {
  // Slack is redrawn right after the record changes: the button may be a moment behind.
  const message = await waitUntil(`a ${actionId} button under the incident message of ${incidentId}`, () => (buttonsOf(env, incidentId).includes(actionId) ? incidentMessageFor(env, incidentId) : undefined), 10_000);
  const seen = new Set(env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId).map((m) => m.ts));
  await env.driver!.clickButton({ userId, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId });
  const answer = await env.slack.waitForMessage((m) => m.visibleTo === userId && !seen.has(m.ts), 15_000);
  return answer.text;
}

/** The buttons under the incident message now: action id → label. */
export function buttonLabels(env: EmbeddedEnvironment, incidentId: string): Record<string, string> {
  const message = incidentMessageFor(env, incidentId);
  const labels: Record<string, string> = {};
  JSON.stringify(message?.blocks ?? [], (_key, value: unknown) => {
    const button = value as { type?: unknown; action_id?: unknown; text?: { text?: unknown } } | null;
    if (button && button.type === 'button' && typeof button.action_id === 'string') labels[button.action_id] = String(button.text?.text ?? '');
    return value;
  });
  return labels;
}

/** The action ids of the buttons under the incident message now. */
export function buttonsOf(env: EmbeddedEnvironment, incidentId: string): string[] {
  return Object.keys(buttonLabels(env, incidentId));
}

/** The text of the bot's replies in the incident's thread. */
export function threadText(env: EmbeddedEnvironment, incidentId: string): string {
  const message = incidentMessageFor(env, incidentId);
  if (!message) return '';
  return env.slack
    .messages(DEMO_CHANNEL)
    .filter((m) => m.threadTs === message.ts && m.visibleTo === undefined)
    .map((m) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`)
    .join('\n');
}

/** What an owner sees of a policy: spec, labels and annotations (server bookkeeping aside). */
export function ownerView(env: EmbeddedEnvironment, namespace: string, name: string): { spec: unknown; labels: unknown; annotations: unknown } | undefined {
  const object = env.kube.get('NetworkPolicy', namespace, name) as { spec?: unknown; metadata: { labels?: unknown; annotations?: unknown } } | undefined;
  return object ? structuredClone({ spec: object.spec, labels: object.metadata.labels ?? {}, annotations: object.metadata.annotations ?? {} }) : undefined;
}

type PolicyView = { spec: unknown; labels: unknown; annotations: unknown };

/** Every NetworkPolicy of `namespace` as its owner sees it, by name. */
export function liveViews(env: EmbeddedEnvironment, namespace: string): Record<string, PolicyView> {
  return Object.fromEntries(env.kube.list('NetworkPolicy', namespace).map((p) => String(p.metadata?.name ?? '')).map((name) => [name, ownerView(env, namespace, name) as PolicyView]));
}

/** The policies Git declares for `namespace` (the shop's), the same way. */
export function gitViews(namespace: string): Record<string, PolicyView> {
  const objects = shopPolicyObjects() as Array<{ metadata: { name: string; namespace: string; labels?: unknown; annotations?: unknown }; spec: unknown }>;
  return Object.fromEntries(objects.filter((o) => o.metadata.namespace === namespace).map((o) => [o.metadata.name, { spec: o.spec, labels: o.metadata.labels ?? {}, annotations: o.metadata.annotations ?? {} }]));
}

export function resourceVersionOf(env: EmbeddedEnvironment, namespace: string, name: string): string | undefined {
  return (env.kube.get('NetworkPolicy', namespace, name) as { metadata: { resourceVersion?: string } } | undefined)?.metadata.resourceVersion;
}

export interface PolicyWrite {
  verb: string;
  user: string;
  /** The answer's status; 0 when the server never answered (its client died while it waited). */
  code: number;
  /** The object's resourceVersion in the answer (absent for a delete or a failure). */
  resourceVersion?: string;
}

/** Writes (not dry runs) to one NetworkPolicy, as the simulated apiserver's audit log has them (from entry `since`), in order. */
export function writesTo(env: EmbeddedEnvironment, namespace: string, name: string, since = 0): PolicyWrite[] {
  return env.kube.auditEvents
    .slice(since)
    .filter((e) => {
      const ref = e.objectRef;
      if (ref?.resource !== 'networkpolicies' || ref.namespace !== namespace || !/^(create|update|patch|delete)$/.test(e.verb) || e.requestURI.includes('dryRun=')) return false;
      const created = (e.requestObject as { metadata?: { name?: string } } | undefined)?.metadata?.name;
      return ref.name === name || (e.verb === 'create' && created === name);
    })
    .map((e) => {
      const rv = (e.responseObject as { kind?: string; metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
      return { verb: e.verb, user: e.user.username, code: e.responseStatus.code, ...(e.verb !== 'delete' && rv ? { resourceVersion: rv } : {}) };
    });
}

/** A worker config like test/helpers/worker-process.ts writes, plus the policy repository (the restore plans from Git). */
export function writeRestoreWorkerConfig(env: EmbeddedEnvironment, options: WorkerProcessOptions = {}): string {
  const { slack, redis, playbook, kube, worker } = env.config;
  // The config file form of the environment's repository (the parsed config holds durations in ms).
  const git = env.git ? { dir: env.git.dir, repositories: [{ name: env.git.name, url: env.git.remoteUrl, branch: SHOP_GIT_BRANCH, paths: [SHOP_GIT_POLICY_DIR] }] } : undefined;
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-restore-worker-')), 'config.yaml');
  writeFileSync(
    file,
    toYaml({
      slack: { approvers: slack.approvers, apiUrl: slack.apiUrl },
      redis,
      playbook,
      kube: { ...kube, ...options.kube },
      worker: { ...worker, ...options.worker },
      ...(git ? { git } : {}),
      roles: ['worker'],
      log: { level: options.logLevel ?? 'info' },
    }),
  );
  return file;
}

/** A worker child process, resolved once it has started; its log (info level) goes to a file of its own. */
export async function startRestoreWorker(env: EmbeddedEnvironment, configFile: string): Promise<{ child: ChildProcess; logFile: string }> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'netpol-restore-worker-log-')), 'worker.log');
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--config', configFile], { env: { ...process.env, ...env.env }, stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  const started = (): boolean => readFileSync(logFile, 'utf8').includes('"msg":"netpol-responder started"');
  await waitUntil(`worker ${child.pid} to start`, () => {
    if (child.exitCode !== null) throw new Error(`worker ${child.pid} exited with ${child.exitCode} (log: ${logFile})`);
    return started();
  }, 60_000);
  return { child, logFile };
}
/** Waits until the collector learned the shop's normal traffic, and saves the baseline the restore reads. */
export async function learnShopTraffic(env: EmbeddedEnvironment): Promise<void> {
  await waitUntil("the collector to read the relay's history", () => collectorHasReadHistory(env), 30_000);
  await env.bot!.collector!.snapshot();
}

/**
 * During the traffic window of the step the run is verifying (traffic-wait), the relay reports
 * postgres-0's DNS to kube-dns dropped: an edge the baseline learned and known-good allows (the
 * quarantine keeps DNS too). Published once the collector holds the step's watch. Returns the flows.
 */
export async function dropDnsDuringStep(env: EmbeddedEnvironment, incidentId: string, run: RestoreRun, flows = 6): Promise<number> {
  const registry = new TrafficWatchRegistry(env.bot!.redis, flowsKeyPrefix(env.config.redis.keyPrefix));
  // The window was registered in the round before the one that set traffic-wait.
  const id = watchIdOf(incidentId, run.next, run.round - 1);
  await waitUntil(`the collector to hold watch ${id}`, async () => (await registry.read(id))?.claimedAt != null);
  const dns = containedTraffic({ start: env.hubble!.flowNow + 1000, spacingMs: 20, droppedExfil: 0, droppedIngress: 0, dns: flows });
  env.hubble!.relay.publish(dns.map((r) => ({ ...r, flow: { ...r.flow, verdict: 'DROPPED', drop_reason: 133, drop_reason_desc: 'POLICY_DENIED', event_type: { type: 1 } } })));
  return dns.length;
}

/** The demo's way in: the relay shows the exfiltration, alice opens the incident from the alert, bob approves containment. */
export async function openFromAnomaly(env: EmbeddedEnvironment): Promise<{ incidentId: string; message: SimMessage; incident: Incident }> {
  env.hubble!.triggerIncident();
  const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.includes('203.0.113.66') && JSON.stringify(m.blocks ?? []).includes(OPEN_INCIDENT_ACTION), 20_000);
  await env.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
  const opened = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && hasApprovalButtons(m), 20_000);
  const incidentId = /NetworkPolicy incident ([a-z0-9-]+)/.exec(opened.text)?.[1];
  if (!incidentId) throw new Error(`no incident id in "${opened.text}"`);
  return { incidentId, ...(await proposeAfterContain(env, incidentId, opened)) };
}

/** The anomaly fires again: the desk raises a new one with the same dedupe key (what the collector does after its cooldown). */
export async function refire(env: EmbeddedEnvironment, anomalyId: string, dedupeKey?: string): Promise<string> {
  const original = (await env.bot!.anomalies.get(anomalyId))?.anomaly;
  if (!original) throw new Error(`no anomaly ${anomalyId}`);
  const key = dedupeKey ?? original.dedupeKey;
  const later = original.lastSeen + 60_000;
  const id = `${key}@${later}`;
  await env.bot!.desk!.raise({ ...original, id, dedupeKey: key, firstSeen: later, lastSeen: later });
  return id;
}
