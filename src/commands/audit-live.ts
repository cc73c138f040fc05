// The inputs of `netpol-responder audit` that are not files: the live cluster of a kubeconfig (read
// as the scheduled audit reads it, src/audit-report/scheduled.ts) and the flow collector's learned
// flows in Redis. Every failure is one line that names the fix; the caller exits 1 with it.
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { matchLearnedFlows, readLiveAuditInput, type FlowMatches, type LiveAuditInput } from '../audit-report/scheduled.js';
import { renderSarif, type LocatedAuditReport } from '../audit-report/render.js';
import { KubeApiError } from '../kube/errors.js';
import { KubeConfigError } from '../kube/config.js';
import { createKubeGateway, loadKubeConfig } from '../kube/index.js';
import type { PolicyIndex } from '../policy/index.js';
import { printable } from '../printable.js';
import { connectRedis, disconnectRedis, redactUrl, RedisUnreachableError } from '../redis/connect.js';
import { errorCode, plainReason } from './file-errors.js';

// Where loadKubeConfig (src/kube/config.ts) finds the pod's service account.
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** Bound on reading the snapshot once Redis is connected (a command waits while Redis reconnects). */
const REDIS_READ_TIMEOUT_MS = 30_000;

export type Failure = { ok: false; message: string };

export interface LiveOptions {
  /** --kubeconfig; else $KUBECONFIG, else ~/.kube/config, else the pod's service account. */
  kubeconfig?: string;
  /** Bound on each API request (a page of a list is one): past it the API counts as unreachable. */
  requestTimeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export type LiveRead = { ok: true; input: LiveAuditInput; server: string } | Failure;

function firstLine(text: string): string {
  return printable(text.split('\n')[0] ?? '', 400);
}

function messageOf(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}

/** The kubeconfig as the bot loads it, with --kubeconfig and a missing ~/.kube/config named plainly. */
function kubeConfigFor(opts: LiveOptions): { ok: true; kc: KubeConfig } | Failure {
  const explicit = opts.kubeconfig;
  if (explicit !== undefined) {
    if (!existsSync(explicit)) return { ok: false, message: `kubeconfig file not found: ${printable(explicit, 300)} (--kubeconfig): give the path of a readable kubeconfig` };
    try {
      accessSync(explicit, constants.R_OK);
    } catch (error) {
      return { ok: false, message: `cannot read the kubeconfig ${printable(explicit, 300)} (--kubeconfig): ${plainReason(errorCode(error))}` };
    }
  } else if (!opts.env.KUBECONFIG && !(opts.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN))) {
    // client-node would otherwise fall back to http://localhost:8080, and report a connection refused.
    const home = join(homedir(), '.kube', 'config');
    if (!existsSync(home)) return { ok: false, message: `no kubeconfig: KUBECONFIG is not set and ${printable(home, 300)} does not exist; give --kubeconfig FILE or set KUBECONFIG` };
  }
  try {
    return { ok: true, kc: loadKubeConfig({ ...(explicit !== undefined ? { kubeconfigPath: explicit } : {}), env: opts.env }) };
  } catch (error) {
    if (!(error instanceof KubeConfigError)) throw error;
    const message = explicit !== undefined ? error.message.replace('Point KUBECONFIG at a valid kubeconfig.', 'Give --kubeconfig a valid kubeconfig.') : error.message;
    return { ok: false, message: firstLine(message) };
  }
}

/**
 * Every request of `kc` (discovery, each page of each list) aborted after `ms`: a server that
 * accepts connections but never answers, or an address nothing answers on, fails in bounded time.
 */
function withRequestTimeout(kc: KubeConfig, ms: number): { timedOut: () => boolean } {
  let fired = false;
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await apply(context);
    const signal = AbortSignal.timeout(ms);
    signal.addEventListener('abort', () => (fired = true), { once: true });
    context.setSignal(signal);
  };
  return { timedOut: () => fired };
}

/** One line for a failed read of the cluster: what happened and what to change. */
export function describeKubeFailure(error: unknown, server: string, timeoutMs: number, timedOut: boolean): string {
  const at = `the Kubernetes API at ${printable(server, 200)}`;
  if (!(error instanceof KubeApiError)) return `cannot use ${at}: ${messageOf(error)}`;
  if (error.status === 0) {
    if (timedOut) return `${at} did not answer within ${timeoutMs / 1000} s: check that the cluster is up and reachable from here (VPN, proxy), or raise --request-timeout`;
    return `cannot reach ${at} (${messageOf(error)}): check the server address of the kubeconfig's cluster and that the cluster is up`;
  }
  if (error.status === 401) return `${at} refused the kubeconfig's credentials (401 Unauthorized): log in again, or check the token or client certificate of the current context's user`;
  if (error.status === 403) {
    // The apiserver's own words name the user; explainKubeError's addition speaks of the bot's RBAC.
    const said = messageOf(error.cause instanceof KubeApiError ? error.cause : error);
    const p = error.missingPermission;
    if (!p) return `${at} refused a request (403 Forbidden: ${said}): grant the kubeconfig's user read access to namespaces, pods and the policy kinds`;
    const group = p.group === '' ? '"" (core)' : `"${p.group}"`;
    const what = `${p.resource}${p.group ? `.${p.group}` : ''}${p.namespace ? ` in namespace ${p.namespace}` : ' cluster-wide'}`;
    return `${at} forbids the kubeconfig's user to ${p.verb} ${what} (403 Forbidden: ${said}): grant it verb "${p.verb}" on resource "${p.resource}" in apiGroup ${group}, cluster-wide, with a ClusterRole bound to that user`;
  }
  return `${at} answered HTTP ${error.status} ${error.reason}: ${messageOf(error)}`;
}

/** Namespaces, pods and every policy kind the cluster of the kubeconfig serves. */
export async function readLive(opts: LiveOptions): Promise<LiveRead> {
  const config = kubeConfigFor(opts);
  if (!config.ok) return config;
  const server = config.kc.getCurrentCluster()?.server ?? '(no server)';
  const deadline = withRequestTimeout(config.kc, opts.requestTimeoutMs);
  try {
    return { ok: true, input: await readLiveAuditInput(createKubeGateway(config.kc)), server };
  } catch (error) {
    return { ok: false, message: describeKubeFailure(error, server, opts.requestTimeoutMs, deadline.timedOut()) };
  }
}

/** The collector's snapshot under `prefix` matched against the policies; no snapshot is not a failure (flows.unavailable says why). */
export async function readFlows(url: string, prefix: string, index: PolicyIndex, unusedDays: number, now = Date.now()): Promise<{ ok: true; flows: FlowMatches } | Failure> {
  let redis;
  try {
    redis = await connectRedis(url, 5000);
  } catch (error) {
    if (error instanceof RedisUnreachableError) return { ok: false, message: error.message.replace('set REDIS_URL to a reachable Redis', 'point --redis or REDIS_URL at a reachable Redis') };
    throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_READ_TIMEOUT_MS / 1000} s`)), REDIS_READ_TIMEOUT_MS);
  });
  try {
    return { ok: true, flows: await Promise.race([matchLearnedFlows(redis, prefix, index, now, unusedDays), silent]) };
  } catch (error) {
    return { ok: false, message: `cannot read the flow collector's snapshot from Redis at ${redactUrl(url)}: ${messageOf(error)}` };
  } finally {
    clearTimeout(timer);
    disconnectRedis(redis);
  }
}

/** `Kind ns/name` (a finding's object) as a relative path: `Kind/ns/name`. */
function objectPath(object: string): string {
  return object
    .replace(' ', '/')
    .split('/')
    // Kubernetes refuses "." and ".." as names; an invalid object's could still be one.
    .map((s) => (s === '.' || s === '..' || s === '' ? '_' : s))
    .join('/');
}

/** The cluster as a SARIF base URI: `kubernetes://<API server host>/`. */
function clusterBase(server: string): string {
  try {
    return `kubernetes://${new URL(server).host}/`;
  } catch {
    return 'kubernetes://cluster/';
  }
}

export const LIVE_URI_BASE = 'KUBERNETES';

/**
 * SARIF for live objects: no file holds them, so each result is located at `Kind/ns/name`
 * relative to the uriBaseId KUBERNETES, which the run resolves to `kubernetes://<API server>/`.
 */
export function renderLiveSarif(report: LocatedAuditReport, version: string, server: string): string {
  const located: LocatedAuditReport = { ...report, findings: report.findings.map((f) => ({ ...f, file: objectPath(f.object), line: 1 })) };
  const log = JSON.parse(renderSarif(located, version)) as {
    runs: Array<{ originalUriBaseIds?: object; results: Array<{ locations?: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string } } }> }> }>;
  };
  for (const run of log.runs) {
    run.originalUriBaseIds = { [LIVE_URI_BASE]: { uri: clusterBase(server), description: { text: 'The live cluster the audit read (its API server).' } } };
    for (const result of run.results) for (const location of result.locations ?? []) location.physicalLocation.artifactLocation.uriBaseId = LIVE_URI_BASE;
  }
  return `${JSON.stringify(log, null, 2)}\n`;
}
