// `netpol-responder audit <path...>|--live [--format md|json|sarif] [--matched FILE | --flows]
// [--unused-days N]`: the post-incident hardening audit of the NetworkPolicies of manifests or of
// the live cluster (src/audit-report; the cluster and Redis inputs: ./audit-live.ts).
// Exit: 0 after a run (findings do not fail it: the report is for people, lint is for CI gates),
// 1 when a path, the cluster or Redis cannot be read or a manifest is invalid, 2 on bad usage or a
// bad --matched file.
import { readFileSync, statSync } from 'node:fs';
import { auditReport, type MatchedPolicies } from '../audit-report/checks.js';
import { loadClusterwideCilium, type ClusterwideCilium } from '../audit-report/isolation.js';
import { AUDIT_FORMATS, renderJson, renderMarkdown, renderSarif, type LocatedAuditFinding, type LocatedAuditReport } from '../audit-report/render.js';
import { buildIndex, type Issue, type PolicyIndex } from '../policy/index.js';
import { MAX_FILE_BYTES, readManifests, STDIN_PATH } from '../policy/load-files.js';
import { printable } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { locate, toolVersion } from './lint.js';
import { formatIssue, stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usage, type Output, type ParsedCommand } from './spec.js';
import { AUDIT_REPORT } from './specs.js';

export { AUDIT_REPORT };


/** Reads --matched: `{ "ns/name": "2026-11-30T10:00:00Z", ... }`. */
export function parseMatched(text: string): { ok: true; lastMatch: Map<string, Date> } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, message: 'must be a JSON object of "namespace/policy": "ISO 8601 time"' };
  const lastMatch = new Map<string, Date>();
  for (const [key, value] of Object.entries(raw)) {
    const time = typeof value === 'string' ? new Date(value) : undefined;
    if (!time || Number.isNaN(time.getTime())) return { ok: false, message: `"${printable(key, 200)}": ${printable(JSON.stringify(value) ?? String(value), 100)} is not an ISO 8601 time` };
    if (!/^[^/]+\/[^/]+$/.test(key)) return { ok: false, message: `"${printable(key, 200)}" is not namespace/policy` };
    lastMatch.set(key, time);
  }
  return { ok: true, lastMatch };
}

function readMatched(path: string, days: number): { ok: true; matched: MatchedPolicies } | { ok: false; message: string } {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) return { ok: false, message: `--matched ${printable(path, 300)} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: `--matched: ${cannotRead(path, errorCode(error))}` };
  }
  const parsed = parseMatched(text);
  if (!parsed.ok) return { ok: false, message: `--matched ${printable(path, 300)}: ${parsed.message}` };
  return { ok: true, matched: { lastMatch: parsed.lastMatch, now: new Date(), days } };
}

/** What the command line asks for, once its usage is checked. */
interface AuditRequest {
  live: boolean;
  days: number;
  requestTimeoutMs: number;
  matched?: MatchedPolicies;
  flows?: { url: string; prefix: string };
}

const KEY_PREFIX = /^[A-Za-z0-9_-]{1,32}$/;

/** The usage rules between flags; a string is the reason of a usage error (exit 2). */
function checkUsage(values: ParsedCommand<typeof AUDIT_REPORT.flags>['values'], positionals: readonly string[], env: NodeJS.ProcessEnv): AuditRequest | string {
  const live = values.live === true;
  if (live && positionals.length > 0) return `give paths or --live, not both (--live reads the cluster instead of files; got ${printable(positionals.join(' '), 200)})`;
  if (!live && positionals.length === 0) return 'give at least one file or directory, or --live to read the cluster';
  if (!live && values.kubeconfig !== undefined) return '--kubeconfig is for --live (the cluster to read)';
  if (stdinTwice(positionals)) return '"-" (standard input) can be given once';
  const daysText = values['unused-days'] ?? '30';
  const days = /^\d{1,4}$/.test(daysText) ? Number(daysText) : Number.NaN;
  if (!(days >= 1)) return `--unused-days must be a whole number of days from 1 to 9999, not "${printable(daysText, 40)}"`;
  const timeoutText = values['request-timeout'] ?? '10';
  const timeout = /^\d{1,3}$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
  if (!(timeout >= 1 && timeout <= 300)) return `--request-timeout must be a whole number of seconds from 1 to 300, not "${printable(timeoutText, 40)}"`;
  const request: AuditRequest = { live, days, requestTimeoutMs: timeout * 1000 };
  if (values.flows !== true) {
    if (values.redis !== undefined) return '--redis is for --flows (the Redis holding the flow collector\'s snapshot)';
    return request;
  }
  if (values.matched !== undefined) return '--flows and --matched both give the flow matches of the unused-policy check: use one';
  const url = values.redis ?? env.REDIS_URL;
  if (url === undefined || url === '') return "--flows reads the flow collector's snapshot from Redis: give --redis URL or set REDIS_URL";
  if (!/^rediss?:\/\//.test(url)) return `${values.redis !== undefined ? '--redis' : 'REDIS_URL'} must be a redis:// or rediss:// URL, not "${printable(url.replace(/\/\/[^@/]*@/, '//***@'), 100)}"`;
  const prefix = values['redis-prefix'] ?? 'netpol';
  if (!KEY_PREFIX.test(prefix)) return `--redis-prefix must be 1 to 32 letters, digits, "_" or "-" (as redis.keyPrefix), not "${printable(prefix, 40)}"`;
  return { ...request, flows: { url, prefix } };
}

export async function run(argv: string[], out: Output = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommand(AUDIT_REPORT, argv, out);
  if (!parsed.ok) return parsed.exitCode;
  const format = pickFormat(parsed.values.format === 'markdown' ? 'md' : (parsed.values.format ?? 'md'), AUDIT_FORMATS);
  if (!format.ok) {
    out.stderr.write(`${format.message}\n`);
    return 2;
  }
  const request = checkUsage(parsed.values, parsed.positionals, env);
  if (typeof request === 'string') {
    out.stderr.write(`audit: ${request}\n\n${usage(AUDIT_REPORT)}`);
    return 2;
  }
  let matched: MatchedPolicies | undefined;
  if (parsed.values.matched !== undefined) {
    const read = readMatched(parsed.values.matched, request.days);
    if (!read.ok) {
      out.stderr.write(`audit: ${read.message}\n`);
      return 2;
    }
    matched = read.matched;
  }
  // Cluster and Redis clients are loaded only when asked for: an audit of files stays light.
  const live = request.live || request.flows ? await import('./audit-live.js') : undefined;
  let input: { index: PolicyIndex; clusterwide: ClusterwideCilium[]; issues?: Issue[]; server?: string };
  if (live && request.live) {
    const read = await live.readLive({ ...(parsed.values.kubeconfig !== undefined ? { kubeconfig: parsed.values.kubeconfig } : {}), requestTimeoutMs: request.requestTimeoutMs, env });
    if (!read.ok) {
      out.stderr.write(`audit: ${read.message}\n`);
      return 1;
    }
    input = { ...read.input, server: read.server };
  } else {
    const loaded = await loadAuditInput(parsed.positionals, out.stderr);
    if (!loaded) return 1;
    input = loaded;
  }
  let matchedUnavailable: string | undefined;
  if (live && request.flows) {
    const read = await live.readFlows(request.flows.url, request.flows.prefix, input.index, request.days);
    if (!read.ok) {
      out.stderr.write(`audit: ${read.message}\n`);
      return 1;
    }
    out.stderr.write(`audit: ${read.flows.note}\n`);
    matched = read.flows.matched;
    matchedUnavailable = read.flows.unavailable;
  }
  const report = auditReport(input.index, {
    clusterwideCilium: input.clusterwide,
    ...(input.issues ? { issues: input.issues } : {}),
    ...(matched ? { matched } : {}),
    ...(matchedUnavailable !== undefined ? { matchedUnavailable } : {}),
  });
  if (format.format === 'md') out.stdout.write(renderMarkdown(report));
  else if (live && input.server !== undefined) out.stdout.write(format.format === 'json' ? renderJson(report) : live.renderLiveSarif(report, toolVersion(), input.server));
  else {
    const located: LocatedAuditReport = { ...report, findings: locate<LocatedAuditFinding>(report.findings, process.cwd(), parsed.positionals.includes(STDIN_PATH)) };
    out.stdout.write(format.format === 'json' ? renderJson(located) : renderSarif(located, toolVersion(), fallbackFile(located.findings)));
  }
  return 0;
}

/** The first file any finding points at: where SARIF places findings without a file of their own. */
function fallbackFile(findings: readonly LocatedAuditFinding[]): string | undefined {
  return findings.map((f) => f.file).find((f): f is string => f !== undefined);
}

const CCNP = 'CiliumClusterwideNetworkPolicy';

/**
 * loadPaths (policy-input.ts) with CiliumClusterwideNetworkPolicies taken aside: the engine does
 * not model them, the audit's isolation checks read their endpoint selectors (isolation.ts).
 */
async function loadAuditInput(paths: readonly string[], stderr: NodeJS.WritableStream): Promise<{ index: PolicyIndex; clusterwide: ClusterwideCilium[] } | undefined> {
  const read = await readManifests(paths);
  for (const u of read.unreadable) stderr.write(`${cannotRead(u.path, u.code)}\n`);
  if (read.unreadable.length > 0) return undefined;
  const isCcnp = (o: unknown): boolean => typeof o === 'object' && o !== null && (o as { kind?: unknown }).kind === CCNP;
  const ccnp = read.inputs.filter((i) => isCcnp(i.object));
  const { index, issues } = buildIndex(read.inputs.filter((i) => !isCcnp(i.object)));
  const clusterwide = loadClusterwideCilium(
    ccnp.map((i) => i.object),
    (i) => ccnp[i]?.source ?? CCNP,
  );
  const all: Issue[] = [...read.issues, ...issues, ...clusterwide.issues];
  for (const issue of all) stderr.write(`audit: ${formatIssue(issue)}\n`);
  if (all.some((i) => i.severity === 'error')) return undefined;
  if (read.files === 0) {
    stderr.write(`error: no .yaml, .yml or .json files under ${printable(paths.join(', '), 300)}\n`);
    return undefined;
  }
  return { index, clusterwide: clusterwide.policies };
}
