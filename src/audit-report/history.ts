// The scheduled audits' history in Redis: each run's summary keyed by the scheduled time, so the
// next run can say what is new, what was resolved and how scores moved, and a retried job finds
// its own run (and whether it was posted) instead of posting twice.
import type { RedisClient } from '../redis/connect.js';
import type { AuditFinding, AuditReport } from './checks.js';

export interface StoredFinding {
  /** Identity across runs: rule, object, direction (as the SARIF fingerprint). */
  key: string;
  ruleId: string;
  level: string;
  object: string;
  namespace?: string;
  message: string;
}

export interface StoredRun {
  version: 1;
  /** The scheduled time of the run (epoch ms). */
  runAt: number;
  totals: AuditReport['totals'];
  scores: Array<{ namespace: string; score: number }>;
  findings: StoredFinding[];
  /** Findings beyond MAX_STORED_FINDINGS, not kept (the comparison then ignores them). */
  truncated: number;
}

export interface AuditDelta {
  previousRunAt?: number;
  newFindings: StoredFinding[];
  resolved: StoredFinding[];
  /** Namespaces whose score changed, appeared (before undefined) or went away (after undefined). */
  scoreChanges: Array<{ namespace: string; before?: number; after?: number }>;
}

const MAX_STORED_FINDINGS = 50_000;
const MAX_MESSAGE = 300;
const KEEP_RUNS = 12;

export function findingKey(f: Pick<AuditFinding, 'ruleId' | 'object' | 'direction' | 'message'>): string {
  return `${f.ruleId}\u0000${f.object}\u0000${f.direction ?? ''}${f.ruleId === 'audit/invalid-input' ? `\u0000${f.message}` : ''}`;
}

export function summarize(report: AuditReport, runAt: number): StoredRun {
  const findings = report.findings.slice(0, MAX_STORED_FINDINGS).map((f) => ({
    key: findingKey(f),
    ruleId: f.ruleId,
    level: f.level,
    object: f.object,
    ...(f.namespace !== undefined ? { namespace: f.namespace } : {}),
    message: f.message.slice(0, MAX_MESSAGE),
  }));
  return { version: 1, runAt, totals: report.totals, scores: report.scores.map((s) => ({ namespace: s.namespace, score: s.score })), findings, truncated: Math.max(0, report.findings.length - MAX_STORED_FINDINGS) };
}

/** A stored run as read back; undefined when it is damaged (the caller logs it and compares with nothing). */
export function parseStoredRun(text: string): StoredRun | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Partial<StoredRun>;
  if (r.version !== 1 || typeof r.runAt !== 'number' || !Array.isArray(r.scores) || !Array.isArray(r.findings) || typeof r.totals !== 'object' || r.totals === null) return undefined;
  const scoresOk = r.scores.every((s) => typeof s === 'object' && s !== null && typeof s.namespace === 'string' && typeof s.score === 'number');
  const findingsOk = r.findings.every((f) => typeof f === 'object' && f !== null && typeof f.key === 'string' && typeof f.object === 'string' && typeof f.message === 'string' && typeof f.ruleId === 'string');
  return scoresOk && findingsOk ? (r as StoredRun) : undefined;
}

export function compareRuns(previous: StoredRun | undefined, current: StoredRun): AuditDelta {
  if (!previous) return { newFindings: [], resolved: [], scoreChanges: [] };
  const before = new Set(previous.findings.map((f) => f.key));
  const after = new Set(current.findings.map((f) => f.key));
  const scoresBefore = new Map(previous.scores.map((s) => [s.namespace, s.score]));
  const scoresAfter = new Map(current.scores.map((s) => [s.namespace, s.score]));
  const scoreChanges: AuditDelta['scoreChanges'] = [];
  for (const ns of [...new Set([...scoresBefore.keys(), ...scoresAfter.keys()])].sort()) {
    const b = scoresBefore.get(ns);
    const a = scoresAfter.get(ns);
    if (b !== a) scoreChanges.push({ namespace: ns, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) });
  }
  return {
    previousRunAt: previous.runAt,
    newFindings: current.findings.filter((f) => !before.has(f.key)),
    resolved: previous.findings.filter((f) => !after.has(f.key)),
    scoreChanges,
  };
}

export type PreviousRun = { run: StoredRun } | { run: undefined; damaged?: number };

export class AuditHistory {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(...parts: string[]): string {
    return [this.prefix, 'audit-report', ...parts].join(':');
  }

  /** The latest run scheduled before `runAt`; a damaged one counts as none (its time is returned for the log). */
  async previous(runAt: number): Promise<PreviousRun> {
    const [latest] = await this.redis.zrevrangebyscore(this.key('runs'), `(${runAt}`, '-inf', 'LIMIT', 0, 1);
    if (latest === undefined) return { run: undefined };
    const text = await this.redis.get(this.key('run', latest));
    const run = text === null ? undefined : parseStoredRun(text);
    return run ? { run } : { run: undefined, damaged: Number(latest) };
  }

  /** Stores the run (again, on a retry: the same key), keeping the latest KEEP_RUNS. */
  async save(run: StoredRun): Promise<void> {
    await this.redis.multi().set(this.key('run', String(run.runAt)), JSON.stringify(run)).zadd(this.key('runs'), run.runAt, String(run.runAt)).exec();
    const old = await this.redis.zrange(this.key('runs'), 0, -(KEEP_RUNS + 1));
    if (old.length > 0) await this.redis.multi().zrem(this.key('runs'), ...old).del(...old.map((t) => this.key('run', t))).exec();
  }

  /**
   * Claims the Slack post of a run: true for the first caller only. The claim is released when
   * the post fails (nothing reached Slack, a retry may post); a process dying mid-post keeps it,
   * so a retry does not post twice (at most once: a missed weekly summary beats a duplicate).
   */
  async claimPost(runAt: number): Promise<boolean> {
    return (await this.redis.set(this.key('posted', String(runAt)), 'claimed', 'EX', 30 * 86_400, 'NX')) === 'OK';
  }

  async releasePost(runAt: number): Promise<void> {
    await this.redis.del(this.key('posted', String(runAt)));
  }

  async markPosted(runAt: number, ts: string): Promise<void> {
    await this.redis.set(this.key('posted', String(runAt)), `posted ${ts}`, 'EX', 30 * 86_400);
  }
}
