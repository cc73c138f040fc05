// One scheduled audit run: the live cluster (and the collector's flows when it has a snapshot)
// audited, compared with the previous run, stored under the run's scheduled time, and posted to
// Slack once: a summary message and the full Markdown report in its thread.
import type { RedisClient } from '../redis/connect.js';
import { readLiveObjects, servedKinds } from '../containment/snapshot.js';
import type { KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import { buildIndex, type Issue, type PolicyIndex } from '../policy/index.js';
import type { ChatGateway } from '../slack/chat.js';
import { auditReport, type MatchedPolicies } from './checks.js';
import { readLearnedFlows } from './flow-input.js';
import { AuditHistory, compareRuns, summarize } from './history.js';
import { loadClusterwideCilium, type ClusterwideCilium } from './isolation.js';
import { matchFlows } from './matched.js';
import { renderMarkdown } from './render.js';
import { auditSummaryMessage } from './slack-blocks.js';

export interface ScheduledAuditDeps {
  cluster: Pick<KubeGateway, 'objects' | 'discoverKinds'>;
  redis: RedisClient;
  /** redis.keyPrefix of the configuration (the collector's snapshot lives under it too). */
  prefix: string;
  chat: Pick<ChatGateway, 'postMessage' | 'uploadFile'>;
  channel: string;
  unusedDays: number;
  logger: Logger;
  /** Wall clock for the unused-policy window (default Date.now). */
  now?: () => number;
  /** The cluster audited, named in the message and the report's file name when the bot serves several. */
  clusterName?: string;
}

export type ScheduledAuditOutcome = { posted: true; ts: string; findings: number; newFindings: number; resolved: number } | { posted: false; reason: string };

/** What the audit reads from the live cluster; the loader's issues (the CCNPs' included) become invalid-input findings. */
export interface LiveAuditInput {
  index: PolicyIndex;
  issues: Issue[];
  clusterwide: ClusterwideCilium[];
}

/** Namespaces, pods and every policy kind the cluster serves (shared with `netpol-responder audit --live`). */
export async function readLiveAuditInput(cluster: Pick<KubeGateway, 'objects' | 'discoverKinds'>): Promise<LiveAuditInput> {
  const served = servedKinds(await cluster.discoverKinds());
  const [live, clusterwideItems] = await Promise.all([
    readLiveObjects(cluster, served),
    // The engine does not model CCNPs; the audit's isolation checks read them (isolation.ts).
    served.ciliumNetworkPolicy ? cluster.objects('CiliumClusterwideNetworkPolicy').list().then((l) => l.items as unknown[]) : Promise.resolve([]),
  ]);
  const { index, issues } = buildIndex(live);
  const clusterwide = loadClusterwideCilium(clusterwideItems);
  return { index, issues: [...issues, ...clusterwide.issues], clusterwide: clusterwide.policies };
}

/** The unused-policy input: flow matches when the collector has a snapshot, else why not; `note` says which in one line. */
export interface FlowMatches {
  matched?: MatchedPolicies;
  unavailable?: string;
  note: string;
}

/** The collector's learned flows (its snapshot under `prefix`) matched against the policies (shared with `audit --flows`). */
export async function matchLearnedFlows(redis: RedisClient, prefix: string, index: PolicyIndex, now: number, unusedDays: number): Promise<FlowMatches> {
  const flows = await readLearnedFlows(redis, prefix, now);
  if (!flows.ok) return { unavailable: flows.reason, note: `Unused policies not judged: ${flows.reason}` };
  const m = matchFlows(index, flows.edges);
  const matched: MatchedPolicies = { lastMatch: m.lastMatch, now: new Date(now), days: unusedDays, ...(flows.startedAt !== undefined ? { observedSince: new Date(flows.startedAt) } : {}) };
  const since = flows.startedAt !== undefined ? `, learning since ${new Date(flows.startedAt).toISOString().slice(0, 10)}` : '';
  return { matched, note: `Unused policies judged on ${m.matchedEdges} learned flows (snapshot of ${new Date(flows.savedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC${since})` };
}

export async function runScheduledAudit(deps: ScheduledAuditDeps, runAt: number): Promise<ScheduledAuditOutcome> {
  const { redis, prefix, logger } = deps;
  const log = logger.child({ auditRun: new Date(runAt).toISOString() });
  const history = new AuditHistory(redis, prefix);
  const { index, issues, clusterwide } = await readLiveAuditInput(deps.cluster);
  const flows = await matchLearnedFlows(redis, prefix, index, deps.now?.() ?? Date.now(), deps.unusedDays);
  const flowsNote = flows.note;
  const report = auditReport(index, { issues, clusterwideCilium: clusterwide, ...(flows.matched ? { matched: flows.matched } : {}), ...(flows.unavailable !== undefined ? { matchedUnavailable: flows.unavailable } : {}) });

  const run = summarize(report, runAt);
  const previous = await history.previous(runAt);
  if (previous.run === undefined && previous.damaged !== undefined) log.warn({ previousRun: previous.damaged }, 'the stored previous audit report is damaged: compared with none');
  const delta = compareRuns(previous.run, run);
  await history.save(run);

  if (!(await history.claimPost(runAt))) {
    log.info('this run was already posted (or is being posted): not posting again');
    return { posted: false, reason: 'already posted' };
  }
  let ts: string;
  try {
    ts = await deps.chat.postMessage(deps.channel, auditSummaryMessage({ report, delta, runAt: new Date(runAt), flows: flowsNote, ...(deps.clusterName ? { cluster: deps.clusterName } : {}) }));
  } catch (error) {
    await history.releasePost(runAt);
    throw error;
  }
  await history.markPosted(runAt, ts);
  try {
    const day = new Date(runAt).toISOString().slice(0, 10);
    await deps.chat.uploadFile({ channel: deps.channel, threadTs: ts, filename: `netpol-audit-${deps.clusterName ? `${deps.clusterName}-` : ''}${day}.md`, content: renderMarkdown(report), comment: 'The full audit report.' });
  } catch (error) {
    // The summary is out; a retry would not post it again, so the missing file is only logged.
    log.warn({ err: error }, 'uploading the full audit report failed');
  }
  log.info({ findings: report.findings.length, newFindings: delta.newFindings.length, resolved: delta.resolved.length }, 'scheduled audit posted');
  return { posted: true, ts, findings: report.findings.length, newFindings: delta.newFindings.length, resolved: delta.resolved.length };
}
