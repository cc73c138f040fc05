// Driving step 4 (Restore Safe State) on the embedded environment: a playbook with short windows,
// carol's out-of-band kubectl edits, the incident up to its restore proposal, waiting for the
// run's statuses and clicking the restore controls on the incident message as an approver would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import { withoutExclusion } from '../../src/containment/exclusion.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/containment/objects.js';
import type { Incident } from '../../src/incident/model.js';
import { buildIndex, connectivity, Conns, type Connection, type LiveObjects } from '../../src/policy/index.js';
import type { RestoreProposal, RestoreRunStatus } from '../../src/restore/run-model.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { actAs, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import { SHOP_GIT_POLICY_DIR } from '../../src/sim/scenarios/shop-git.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { findButton } from '../../src/sim/slack/index.js';
import type { TimelineEvent } from '../../src/timeline/types.js';
import { click, DEMO_CHANNEL, DEMO_USERS, incidentMessageFor, openIncident } from './environment.js';
import { connectionTables } from './connection-tables.js';

export const CAROL = 'carol@shop.example';
type Obj = Record<string, unknown>;

/** The shipped playbook with the restore step's mode and short windows (no traffic window, 1 s watch). */
export function restorePlaybook(approve: 'plan' | 'step' = 'plan', watchWindow = '1s', params: Obj = {}): string {
  const playbook = parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string; params?: Obj }> };
  // Restore tests end with the restore (the hardening step after it has tests of its own).
  playbook.steps = playbook.steps.filter((s) => s.action !== 'harden');
  for (const step of playbook.steps) {
    if (step.action === 'restore') step.params = { ...step.params, approve, trafficWindow: '0s', watchWindow, ...params };
  }
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-restore-playbook-')), 'netpol-incident.yaml');
  writeFileSync(file, toYaml(playbook));
  return file;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `kubectl delete networkpolicy <name> -n <namespace>` as `user`. */
export async function kubectlDeleteNetworkPolicy(env: EmbeddedEnvironment, user: string, namespace: string, name: string): Promise<void> {
  const out = await actAs(env.kube, { user, userAgent: USER_AGENTS.kubectl, method: 'DELETE', path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/${name}` });
  if (out.status >= 300) throw new Error(`kubectl delete as ${user} failed: ${out.status} ${JSON.stringify(out.body).slice(0, 300)}`);
}

/** The journal must hold an object before it is changed, or its before-state is unknown. */
export async function journalHolds(env: EmbeddedEnvironment, namespace: string, names: string[]): Promise<void> {
  for (const name of names) await until(`the journal to hold ${namespace}/${name}`, () => env.bot!.journal.versionOf('NetworkPolicy', namespace, name));
}

/** A policy as Git's branch head declares it (the shop's repository, read with git). */
export function gitPolicy(env: EmbeddedEnvironment, namespace: string, name: string): Obj {
  const path = env.git!.pathOf(namespace, name);
  if (!path) throw new Error(`Git holds no ${namespace}/${name}`);
  return parseYaml(execFileSync('git', ['-C', env.git!.remoteDir, 'show', `HEAD:${path}`], { encoding: 'utf8' })) as Obj;
}

/** What a restore must make equal: the spec, and the labels and annotations the owner wrote. */
export function normalised(object: unknown): Obj | undefined {
  if (!object) return undefined;
  const o = object as { metadata: { name: string; namespace: string; labels?: Obj; annotations?: Obj }; spec: Obj };
  const annotations = Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'));
  return { name: o.metadata.name, namespace: o.metadata.namespace, labels: o.metadata.labels ?? {}, annotations, spec: o.spec };
}

export function livePolicy(env: EmbeddedEnvironment, namespace: string, name: string): Obj | undefined {
  return normalised(env.kube.get('NetworkPolicy', namespace, name));
}

/** Opens an incident on db's postgres, approves containment, and waits for the restore proposal. */
export async function untilRestoreProposed(env: EmbeddedEnvironment): Promise<{ incidentId: string; message: SimMessage; proposal: RestoreProposal }> {
  const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- exfiltration to 203.0.113.66');
  await click(env, message, DEMO_USERS.approver.id);
  const incident = await until('the restore proposal', async () => {
    const now = await env.bot!.store.get(incidentId);
    return now?.steps.restore?.status === 'awaiting-approval' || (now && now.status !== 'open') ? now : undefined;
  }, 30_000);
  if (incident.steps.restore?.status !== 'awaiting-approval') throw new Error(`the restore was not proposed: ${JSON.stringify(incident.steps)}`);
  const proposal = incident.steps.restore.evidence as unknown as RestoreProposal;
  // The message is redrawn after the record: wait for the proposal's Approve under it.
  const shown = await env.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes('Restore to a known-good state'), 10_000);
  return { incidentId, message: shown, proposal };
}

/** Waits until the run is in one of `statuses` (or the incident ended), past round `after`. */
export async function waitForRun(env: EmbeddedEnvironment, incidentId: string, statuses: RestoreRunStatus[], after = -1, timeoutMs = 30_000): Promise<Incident> {
  return until(`the restore to be ${statuses.join(' or ')}`, async () => {
    const now = await env.bot!.store.get(incidentId);
    if (!now) return undefined;
    if (now.status !== 'open') return now;
    const run = now.restore;
    return run && statuses.includes(run.status) && run.round > after ? now : undefined;
  }, timeoutMs);
}

export async function waitForEnd(env: EmbeddedEnvironment, incidentId: string): Promise<Incident> {
  return until('the end of the incident', async () => {
    const now = await env.bot!.store.get(incidentId);
    return now && now.status !== 'open' ? now : undefined;
  }, 30_000);
}

/**
 * Clicks a restore control on the incident message once Slack shows it for the run as it is now
 * (the button's value names the current plan and step). `value` overrides what is sent.
 */
export async function clickRestore(env: EmbeddedEnvironment, incidentId: string, actionId: string, userId: string = DEMO_USERS.approver.id, value?: string) {
  const run = (await env.bot!.store.require(incidentId)).restore;
  if (!run) throw new Error(`incident ${incidentId} has no restore run`);
  const current = `${incidentId}:${run.planId}:${run.next}`;
  const message = await until(`the ${actionId} button for step ${run.next}`, () => {
    const m = incidentMessageFor(env, incidentId);
    const found = m && findButton(m, actionId);
    return found && found.element.value === current ? m : undefined;
  }, 10_000);
  const before = env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId).length;
  const result = await env.driver!.clickButton({ userId, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId, ...(value !== undefined ? { value } : {}) });
  if (result.status !== 200) throw new Error(`click ${actionId}: ${result.status} ${result.body}`);
  // The decision's answer comes back as an ephemeral message to the clicker.
  const reply = await until(`the answer to ${actionId}`, () => env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId)[before], 10_000);
  return reply.text;
}

export async function timeline(env: EmbeddedEnvironment, incidentId: string, type?: string): Promise<TimelineEvent[]> {
  const events = await env.bot!.store.timeline(incidentId);
  return type ? events.filter((e) => e.type === type) : events;
}

/** The postmortem's "## Restore" section (Markdown), up to the next top-level section. */
export async function restoreSection(env: EmbeddedEnvironment, incidentId: string): Promise<string> {
  const md = await env.bot!.engine.postmortem(await env.bot!.store.require(incidentId), 'md');
  const start = md.indexOf('## Restore');
  if (start < 0) throw new Error('the postmortem has no Restore section');
  const next = md.indexOf('\n## ', start + 3);
  return md.slice(start, next < 0 ? undefined : next);
}

/** Every policy Git's branch head declares in `namespace` (policies/<namespace>/*.yaml). */
export function gitPolicies(env: EmbeddedEnvironment, namespace: string): Obj[] {
  const dir = `${SHOP_GIT_POLICY_DIR}/${namespace}/`;
  const files = execFileSync('git', ['-C', env.git!.remoteDir, 'ls-tree', '--name-only', 'HEAD', dir], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.yaml'));
  return files.map((f) => parseYaml(execFileSync('git', ['-C', env.git!.remoteDir, 'show', `HEAD:${f}`], { encoding: 'utf8' })) as Obj);
}

const POLICY_LISTS = { networkPolicies: 'NetworkPolicy', adminNetworkPolicies: 'AdminNetworkPolicy', baselineAdminNetworkPolicies: 'BaselineAdminNetworkPolicy', ciliumNetworkPolicies: 'CiliumNetworkPolicy' } as const;

function listOrNone(env: EmbeddedEnvironment, kind: string): Obj[] {
  try {
    return env.kube.list(kind) as unknown as Obj[];
  } catch {
    return []; // a kind this cluster does not serve
  }
}

/** The simulated API's objects as the engine reads them, without the bot's containment (its objects dropped, its exclusion taken out). */
export function liveWithoutContainment(env: EmbeddedEnvironment): LiveObjects {
  const ours = (o: Obj): boolean => (o.metadata as { labels?: Record<string, string> }).labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
  const clean = (o: Obj): Obj => {
    const spec = o.spec as Obj | undefined;
    return spec && 'podSelector' in spec ? { ...o, spec: { ...spec, podSelector: withoutExclusion(spec.podSelector) } } : o;
  };
  const out: Record<string, Obj[]> = { namespaces: listOrNone(env, 'Namespace'), pods: listOrNone(env, 'Pod') };
  for (const [list, kind] of Object.entries(POLICY_LISTS)) out[list] = listOrNone(env, kind).filter((o) => !ours(o)).map(clean);
  return out as LiveObjects;
}

/** `state` with the NetworkPolicies of `namespace` replaced by `policies`. */
export function withNamespacePolicies(state: LiveObjects, namespace: string, policies: Obj[]): LiveObjects {
  const others = (state.networkPolicies ?? []).filter((p) => (p as { metadata: { namespace?: string } }).metadata.namespace !== namespace);
  return { ...state, networkPolicies: [...others, ...policies] };
}

export function connectionsOf(state: LiveObjects): Connection[] {
  return connectivity(buildIndex(state).index);
}

/** The connections `state` opens that none of `ends` opens (empty: the state is no more open than them). */
export function openBeyond(state: Connection[], ends: Connection[][]): string[] {
  const [t, ...others] = connectionTables([state, ...ends]) as [Map<string, Conns>, ...Array<Map<string, Conns>>];
  const out: string[] = [];
  for (const [key, conns] of t) {
    const extra = conns.subtract(others.reduce((u, o) => u.union(o.get(key) ?? Conns.NONE), Conns.NONE));
    if (!extra.isEmpty()) out.push(`${key} : ${extra.toString()}`);
  }
  return out.sort();
}

/** Types `/netpol restore <text>` as `userId` and returns the bot's ephemeral answer. */
export async function typeRestore(env: EmbeddedEnvironment, text: string, userId: string = DEMO_USERS.approver.id): Promise<string> {
  const before = env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId).length;
  const result = await env.driver!.slashCommand({ userId, channelId: DEMO_CHANNEL, text: `restore ${text}` });
  if (result.status !== 200) throw new Error(`/netpol restore: ${result.status} ${result.body}`);
  const reply = await until('the answer to /netpol restore', () => env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId)[before], 10_000);
  return reply.text;
}
