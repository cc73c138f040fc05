// Step "trace" (Trace & Audit): which change opened the door, who made it, whether it was in Git,
// and what it did to connectivity. It reads the change journal (before and after of every change)
// and the audit log (who, with which tool), replays the policy state change by change with the
// engine, checks the anomaly's sample flows in each state, and asks the policy repositories where
// each change came from. It changes nothing.
import { z } from 'zod';
import { durationSchema } from '../../config/duration.js';
import { readScopeLive, servedKinds } from '../../containment/snapshot.js';
import { shareLive } from '../../compute/shared-lists.js';
import { byTimeThenId, type AuditStore } from '../../audit/store.js';
import type { AuditChange } from '../../audit/types.js';
import type { ChangeJournal } from '../../journal/index.js';
import type { JournalEntry } from '../../journal/types.js';
import type { LiveObjects } from '../../policy/index.js';
import { classifyChange, verdictOf, type PolicyRepositories } from '../../git/index.js';
import { computeOffThread } from '../../compute/thread.js';
import { auditLag } from '../../trace/audit-lag.js';
import { isOwnChange, mergeChanges, type TracedChange } from '../../trace/changes.js';
import { withContainmentChanges, type ContainmentRecord } from '../../trace/containment-changes.js';
import { likelyCause, type Probe } from '../../trace/effects.js';
import { escapeMrkdwn } from '../../slack/block-text.js';
import { causeLine, changeRow, fullReport, type ExplainedChange } from '../../trace/render.js';
import { botActor, type TimelineEvent } from '../../timeline/types.js';
import type { StepContext, StepHandler } from './types.js';

export const traceParamsSchema = z
  .object({
    /** How far back before the first anomaly (or the incident's opening) changes are looked at. */
    lookback: durationSchema.default(86_400_000),
    /** How far apart the audit log's and the watcher's clocks may be when matching a change. */
    skewTolerance: durationSchema.default(120_000),
    /** Changes listed in the thread's table; the full list goes in a file. */
    tableRows: z.number().int().min(1).max(50).default(10),
    /**
     * How late the audit log may deliver an event: kube-apiserver's --audit-webhook-batch-max-wait
     * (30 s by default). The step waits up to this for the events of the latest changes; 0: no wait.
     * At most 10 min: past it the step would hold the incident for an audit log that is not coming.
     */
    auditDelay: durationSchema.refine((ms) => ms <= 600_000, 'must be at most 10m').default(30_000),
  })
  .strict();

type TraceParams = z.infer<typeof traceParamsSchema>;

/** Changes classified against Git at most (the most recent first); the rest say so. */
const MAX_GIT_LOOKUPS = 50;
const MAX_QUERY = 10_000;
/** Objects whose Git history is read at the same time. */
const GIT_LANES = 4;

function params(ctx: StepContext): TraceParams {
  return traceParamsSchema.parse(ctx.step.params);
}

/** From the first anomaly (or the opening) minus the lookback, to now. */
function windowOf(ctx: StepContext, firstAnomalyAt: number | undefined, lookback: number): { since: string; until: string } {
  const start = Math.min(firstAnomalyAt ?? Number.POSITIVE_INFINITY, Date.parse(ctx.incident.createdAt));
  return { since: new Date(start - lookback).toISOString(), until: ctx.now().toISOString() };
}

/** Where each change came from, judged against the policy repositories (never throws). */
async function classify(git: PolicyRepositories | undefined, changes: ExplainedChange[], since: string): Promise<string | undefined> {
  if (!git || git.list.length === 0) return 'no policy repository is configured (git.repositories): changes are not checked against Git';
  const synced = await Promise.all(git.list.map((r) => r.sync()));
  const failed = synced.map((s, i) => (s.ok ? undefined : `${git.list[i]?.config.name}: ${s.error}`)).filter(Boolean);
  // Git is asked about the changes that did something to the scope (or may have): the suspects.
  const targets = changes.filter((c) => c.relevant && (c.effect?.unknown || (c.effect?.opened.length ?? 0) > 0 || (c.effect?.closed.length ?? 0) > 0)).slice(-MAX_GIT_LOOKUPS);
  // One history per object, read a few objects at a time; each change is judged against it.
  const byObject = new Map<string, ExplainedChange[]>();
  for (const change of targets) byObject.set(change.key, [...(byObject.get(change.key) ?? []), change]);
  const objects = [...byObject.values()];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < objects.length) {
      const group = objects[next++] as ExplainedChange[];
      const first = group[0] as ExplainedChange;
      const annotations = ((first.after ?? first.before)?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
      const key = { kind: first.kind, ...(first.namespace ? { namespace: first.namespace } : {}), name: first.name, ...(annotations ? { annotations } : {}) };
      try {
        const found = await git.locate(key);
        const repository = found?.repository ?? git.list[0];
        if (!repository) continue;
        const trail = await repository.trail(key, since);
        for (const change of group) {
          const actor = { ...(change.via ? { tool: change.via, manager: change.via } : {}), ...(change.actor ? { username: change.actor.split(' as ').at(-1) } : {}), ...(change.actor?.includes(' as ') ? { impersonatedBy: change.actor.split(' as ')[0] } : {}) };
          change.git = verdictOf(classifyChange({ after: change.after, actor, at: change.at, commits: trail.commits, ...(trail.before ? { before: trail.before } : {}) }));
        }
      } catch (error) {
        for (const change of group) change.git = { kind: 'unknown', reason: `the repository could not be read: ${(error as Error).message}` };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(GIT_LANES, objects.length) }, lane));
  return failed.length > 0 ? `Git fetch failed (${failed.join('; ')}): judged against the last good clone` : undefined;
}

/** The containment ledgers that may have patched policies: this incident's and any in force. */
async function containmentRecords(ctx: StepContext): Promise<ContainmentRecord[]> {
  const ledger = ctx.ledger;
  if (!ledger) return [];
  const active = new Set(await ledger.active());
  const ids = new Set([ctx.incident.id, ...active]);
  const loaded = await Promise.all([...ids].map(async (id) => ({ record: await ledger.load(id), inForce: active.has(id) })));
  return loaded.filter((r): r is ContainmentRecord => r.record !== undefined);
}

/** How long the step waits for the watcher to journal what the cluster already shows. */
const CATCH_UP_MS = 5_000;

/**
 * Waits until the journal has recorded the live version of every policy in the scope's namespace
 * (the replay walks back from the live state, so a change not journalled yet would be missed).
 */
async function caughtUp(journal: ChangeJournal, live: LiveObjects, namespace: string): Promise<boolean> {
  const policies = (live.networkPolicies ?? []) as Array<{ metadata?: { namespace?: string; name?: string; resourceVersion?: string } }>;
  const wanted = policies.filter((p) => p.metadata?.namespace === namespace && p.metadata.name && p.metadata.resourceVersion);
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const versions = await Promise.all(wanted.map((p) => journal.versionOf('NetworkPolicy', namespace, p.metadata!.name!)));
    // Caught up: the journal holds the live version (or a later one, from a cluster rebuilt since).
    const current = (v: string | undefined, liveVersion: string): boolean => v !== undefined && (v === liveVersion || (/^\d+$/.test(v) && /^\d+$/.test(liveVersion) && BigInt(v) > BigInt(liveVersion)));
    if (versions.every((v, i) => current(v, wanted[i]!.metadata!.resourceVersion!))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How often the audit log is read again while its latest events are awaited. */
const AUDIT_POLL_MS = 250;

/**
 * The window's audit events, once those of the latest changes have arrived or cannot any more
 * (trace/audit-lag.ts): the apiserver sends them in batches, up to `auditDelay` late.
 */
async function settledAudit(ctx: StepContext, store: AuditStore, window: { since: string; until: string }, journal: readonly JournalEntry[], records: readonly ContainmentRecord[], own: (c: TracedChange) => boolean, p: TraceParams, limits: string[]): Promise<AuditChange[]> {
  const byId = new Map((await store.query({ ...window, limit: MAX_QUERY })).map((a) => [a.auditID, a]));
  const mine = records.find((r) => r.record.meta.incidentId === ctx.incident.id)?.record;
  const containment = mine ? { startedAt: mine.meta.startedAt, created: mine.created } : undefined;
  const until = Date.parse(window.until);
  const inWindow = (): AuditChange[] => [...byId.values()].filter((a) => Date.parse(a.at) <= until).sort(byTimeThenId);
  // Bounded by the real time waited too: a clock that stands still (or jumps back) cannot hold the step.
  const started = Date.now();
  const lookedAt = ctx.now().getTime();
  for (;;) {
    const lag = auditLag({ lookedAt, delayMs: p.auditDelay, audit: [...byId.values()], changes: () => mergeChanges(journal, inWindow(), { skewToleranceMs: p.skewTolerance }).changes, own, ...(containment ? { containment } : {}) });
    const pending = lag.unpaired.length > 0 || lag.containmentPending;
    if (!pending) return inWindow();
    const now = ctx.now().getTime();
    const waited = Date.now() - started;
    if (lag.until <= now || waited >= p.auditDelay) {
      const what = lag.containmentPending ? 'this containment' : `${lag.unpaired.length} recent change${lag.unpaired.length === 1 ? '' : 's'}`;
      limits.push(`the audit log had not delivered the events of ${what} after ${Math.round(waited / 1000)} s: their actors come from managedFields (the apiserver's audit batches may be later still, or its audit policy may leave these writes out)`);
      return inWindow();
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(10, Math.min(AUDIT_POLL_MS, lag.until - now))));
    // Only the latest events are read again (the window may hold 100k), a little past the window
    // for an apiserver whose clock runs ahead: its containment events are still a sign.
    const recent = await store.query({ since: new Date(ctx.now().getTime() - p.auditDelay - p.skewTolerance).toISOString(), until: new Date(ctx.now().getTime() + p.skewTolerance).toISOString(), limit: MAX_QUERY });
    for (const a of recent) byId.set(a.auditID, a);
  }
}

export const traceStep: StepHandler = {
  action: 'trace',

  validateParams(raw) {
    const parsed = traceParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare(ctx) {
    const p = params(ctx);
    return { summary: `Tracing the changes of the last ${Math.round(p.lookback / 3_600_000)} h before the incident: change journal, audit log and Git` };
  },

  async execute(ctx) {
    const p = params(ctx);
    const anomalies = (await ctx.anomalies?.forIncident(ctx.incident)) ?? [];
    // When the bot raised the anomaly, on its own clock (the flow source may keep another time).
    const firsts = anomalies.map((a) => (a.raisedAt ? Date.parse(a.raisedAt) : undefined)).filter((t): t is number => typeof t === 'number' && Number.isFinite(t));
    const firstAnomalyAt = firsts.length > 0 ? Math.min(...firsts) : undefined;
    const probes: Probe[] = anomalies.flatMap((a) => a.probes ?? []);
    const limits: string[] = [];
    const { namespace, labelSelector } = ctx.incident.scope;
    // The scope's namespace fresh, the watched view elsewhere: fifty incidents tracing at once
    // listed the whole cluster fifty times (and copied it to a thread as often).
    const live = await readScopeLive(ctx.cluster, servedKinds(await ctx.cluster.discoverKinds()), namespace, ctx.clusterView);
    if (ctx.journal) {
      // Without a watcher there is nothing to wait for: the journal holds what it recorded before.
      if (!(await ctx.journal.watched())) limits.push('no watcher is journalling changes now (the watcher role): the latest changes may be missing');
      else if (!(await caughtUp(ctx.journal, live, namespace))) limits.push('the change journal lags behind the cluster: the latest changes may be missing');
    }
    const window = windowOf(ctx, firstAnomalyAt, p.lookback);
    // The watcher's first list of objects created before the window is not a change in it: left
    // out in Redis (below they are dropped anyway), so that on a cluster the watcher met within the
    // lookback they neither travel nor fill the query's limit ahead of the window's real changes.
    const withoutSightings = { createdBefore: window.since, afterMs: p.skewTolerance };
    const journal = ctx.journal ? await ctx.journal.query({ ...window, limit: MAX_QUERY, withoutSightings }) : [];
    if (!ctx.journal) limits.push('no change journal (the watcher role): only the audit log');
    // The bot's own containment and lift are replayed (they are part of the state) but never suspects.
    const own = (c: TracedChange): boolean => isOwnChange(c, ctx.settings.fieldManager);
    const records = await containmentRecords(ctx);
    const audit = ctx.audit ? await settledAudit(ctx, ctx.audit, window, journal, records, own, p, limits) : [];
    // The bot's own writes prove the audit log flows but say nothing about anyone else; counting
    // them made the note depend on whether the containment's batch had arrived yet.
    if (!audit.some((a) => a.tool !== 'netpol-responder')) limits.push('no audit events in the window: actors come from managedFields, which is weaker evidence (see deploy/audit-policy.yaml)');
    const all = mergeChanges(journal, audit, { skewToleranceMs: p.skewTolerance });
    // Objects the watcher first saw when it started, created before the window: not changes in it.
    const merged = { ...all, changes: all.changes.filter((c) => !(c.firstSighting && c.at < window.since)) };
    const changes = withContainmentChanges(merged.changes, records, live, own, ctx.settings.fieldManager);
    // Seconds of CPU when many changes touch the scope of a large cluster: off the main thread.
    const scope = { namespace, ...(labelSelector ? { labelSelector } : {}) };
    const effected = (await computeOffThread('changeEffects', { live: shareLive(live), changes, scope, probes, ignored: changes.map(own) })) as ExplainedChange[];
    const relevant = effected.filter((c) => c.relevant);
    const gitNote = await classify(ctx.git, relevant, window.since);
    if (gitNote) limits.push(gitNote);
    const cause = likelyCause(relevant, firstAnomalyAt);
    const scopeName = `${namespace}/${ctx.incident.scope.selector ?? '*'}`;
    const at = ctx.now().toISOString();
    const others = relevant.filter((c) => c !== cause?.change).reverse();
    const events: TimelineEvent[] = [];
    const headline = cause
      ? `*Most likely cause:* ${causeLine(cause, scopeName)}`
      : relevant.length > 0
        ? `No change in the window explains the anomaly; ${relevant.length} change${relevant.length === 1 ? '' : 's'} touched the scope (listed below).`
        : `No change to policies or namespace labels touching the scope between ${window.since} and ${window.until}.`;
    events.push({
      at,
      type: 'trace.cause',
      actor: botActor,
      step: ctx.step.id,
      summary: [headline, ...limits.map((l) => `_${l}_`)].join('\n'),
      data: { window, cause: cause ? { key: cause.change.key, at: cause.change.at, confidence: cause.confidence, why: cause.why, auditIDs: cause.change.auditIDs, git: (cause.change as ExplainedChange).git ?? null } : null, limits },
    });
    if (others.length > 0) {
      const rows = others.slice(0, p.tableRows).map((c) => `• ${changeRow(c, scopeName)}`);
      if (others.length > p.tableRows) rows.push(`… and ${others.length - p.tableRows} more (in the attached file)`);
      events.push({ at, type: 'trace.changes', actor: botActor, step: ctx.step.id, summary: `*Other changes touching the scope (${others.length}):*\n${rows.join('\n')}` });
    }
    if (merged.refused.length > 0) {
      const lines = merged.refused.slice(0, 5).map((r) => `• ${r.at.slice(11, 19)} ${escapeMrkdwn(r.impersonatedUser ? `${r.user.username} as ${r.impersonatedUser.username}` : r.user.username)} ${r.verb} ${r.objectRef.namespace ? `${r.objectRef.namespace}/` : ''}${r.objectRef.name ?? r.objectRef.resource}: ${r.responseStatus.code}`);
      events.push({ at, type: 'trace.changes', actor: botActor, step: ctx.step.id, summary: `*Refused attempts (${merged.refused.length}):*\n${lines.join('\n')}` });
    }
    const report = fullReport(relevant, scopeName);
    return {
      result: {
        summary: cause
          ? `Cause (${cause.confidence} confidence): ${causeLine(cause, scopeName).split(' at ')[0]}`
          : `Traced: ${relevant.length} change${relevant.length === 1 ? '' : 's'} touched the scope, none explains the anomaly`,
        window,
        cause: cause ? { key: cause.change.key, at: cause.change.at, confidence: cause.confidence, why: cause.why } : null,
        changes: relevant.slice(-100).map((c) => ({
          key: c.key,
          at: c.at,
          verb: c.verb,
          actor: c.actor ?? null,
          via: c.via ?? null,
          evidence: c.evidence,
          auditIDs: c.auditIDs,
          git: c.git ?? null,
          opened: c.effect?.opened ?? [],
          closed: c.effect?.closed ?? [],
          opensAnomaly: (c.effect?.opensProbes.length ?? 0) > 0,
        })),
        refused: merged.refused.length,
        limits,
      },
      events,
      // Attached exactly when the table says so: without a cause every change is in the table's count.
      ...(others.length > p.tableRows ? { files: [{ filename: `trace-${ctx.incident.id}.txt`, content: report, comment: `Every change touching the scope, ${window.since} to ${window.until}` }] } : {}),
    };
  },
};
