// Opening the pull request (GitHub, through Octokit) or merge request (GitLab, ./pull-request-gitlab.ts)
// on a pushed proposal branch; a re-run finds the one already open for the branch. An API's
// refusal becomes a ChangeProposalError naming the setting to fix, never holding the token.
import { readFileSync } from 'node:fs';
import { Octokit } from '@octokit/rest';
import { ChangeProposalError } from './change-proposal.js';
import type { ResolvedPullRequests } from './config-schema.js';

export interface OpenedRequest {
  url: string;
  number: number;
  /** The head commit the host reports (absent when it does not say). */
  headSha?: string;
  /** Something that went wrong after the request was opened (its labels). */
  warning?: string;
}

export interface OpenRequest {
  branch: string;
  base: string;
  title: string;
  body: string;
}

/** One host's API for one project. */
export interface PullRequestApi {
  /** Token and project are good: called before anything is pushed. */
  check(): Promise<void>;
  /** The open request whose head is this branch. */
  findOpen(branch: string): Promise<OpenedRequest | undefined>;
  open(request: OpenRequest): Promise<OpenedRequest>;
}

export interface ApiContext {
  /** The repository's name in git.repositories. */
  repository: string;
  /** Where the token comes from, for messages: `pullRequests.tokenFile` or `auth.tokenFile`. */
  tokenSetting: 'pullRequests.tokenFile' | 'auth.tokenFile';
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

const MAX_TOKEN_BYTES = 8192;

/** The API token from its file (read at every proposal: a rotated Secret is used at once). */
export function readApiToken(path: string, ctx: Pick<ApiContext, 'repository' | 'tokenSetting'>, read: (path: string) => Buffer = readFileSync): string {
  const setting = `git.repositories[${ctx.repository}].${ctx.tokenSetting}`;
  let raw: Buffer;
  try {
    raw = read(path);
  } catch (error) {
    throw new ChangeProposalError(`cannot read ${setting} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, 'auth');
  }
  const token = raw.subarray(0, MAX_TOKEN_BYTES + 1).toString('utf8').replace(/[\r\n]+$/, '');
  // eslint-disable-next-line no-control-regex
  if (raw.length > MAX_TOKEN_BYTES || token === '' || /[\x00-\x1f\x7f\s]/.test(token)) throw new ChangeProposalError(`${setting} ${path} must hold the token alone, on one line`, 'auth');
  return token;
}

export interface ApiFailure {
  /** HTTP status; undefined: no answer (connection refused, DNS, timeout). */
  status: number | undefined;
  /** The host's message (or the transport error's). */
  message: string;
}

/** An API's refusal as a ChangeProposalError (pure). */
export function apiFailure(failure: ApiFailure, settings: Pick<ResolvedPullRequests, 'provider' | 'apiUrl' | 'project'>, ctx: Pick<ApiContext, 'repository' | 'tokenSetting'>, secrets: string[] = []): ChangeProposalError {
  const host = settings.provider === 'github' ? 'GitHub' : 'GitLab';
  const kind = settings.provider === 'github' ? 'pull request' : 'merge request';
  const setting = (key: string) => `git.repositories[${ctx.repository}].${key}`;
  let said = failure.message.replace(/\s+/g, ' ').trim().slice(0, 300);
  for (const secret of secrets) if (secret.length >= 4) said = said.split(secret).join('***');
  const status = failure.status;
  if (status === undefined) return new ChangeProposalError(`cannot reach the ${host} API at ${settings.apiUrl}: ${said}`, 'unreachable');
  if (status === 401) return new ChangeProposalError(`the ${host} API at ${settings.apiUrl} refused the token (401): check ${setting(ctx.tokenSetting)}`, 'auth');
  if (/protected branch/i.test(said)) return new ChangeProposalError(`the ${host} API refused the ${kind}: a protected branch is in the way (${said})`, 'protected-branch');
  if (status === 404) {
    return new ChangeProposalError(`the ${host} project ${settings.project} was not found at ${settings.apiUrl} (404): check ${setting('pullRequests.project')}, and that the token in ${setting(ctx.tokenSetting)} can see it`, 'not-found');
  }
  if (status === 403) {
    if (/rate limit/i.test(said)) return new ChangeProposalError(`the ${host} API's rate limit is exhausted: try again later (${said})`, 'other');
    return new ChangeProposalError(`the ${host} API refused to open the ${kind} (403): the token in ${setting(ctx.tokenSetting)} lacks the permission (${said})`, 'auth');
  }
  if (/no commits between/i.test(said)) return new ChangeProposalError(`the ${host} API sees no commits between the base branch and the proposal's branch: there is nothing to review (${said})`, 'conflict');
  if (status === 409 || /already exists/i.test(said)) return new ChangeProposalError(`the ${host} API says a ${kind} for this branch already exists (${said})`, 'conflict');
  if (status === 422 || status === 400) return new ChangeProposalError(`the ${host} API refused the ${kind} (${status}): ${said}`, 'invalid');
  return new ChangeProposalError(`the ${host} API failed (${status}): ${said}`, 'other');
}

/** What Octokit's RequestError carries: a status, and the host's message in the response body. */
function octokitFailure(error: unknown): ApiFailure {
  const e = error as { status?: number; message?: string; response?: { data?: unknown } };
  if (e.response === undefined) return { status: undefined, message: e.message ?? String(error) };
  const data = e.response.data as { message?: unknown; errors?: Array<{ message?: unknown; code?: unknown; field?: unknown }> } | undefined;
  const details = (data?.errors ?? []).map((d) => (typeof d.message === 'string' ? d.message : [d.field, d.code].filter((v) => typeof v === 'string').join(' '))).filter((m) => m !== '');
  const message = [typeof data?.message === 'string' ? data.message : e.message, ...details].filter(Boolean).join(': ');
  return { status: e.status, message: message || `HTTP ${e.status}` };
}

export function githubApi(settings: ResolvedPullRequests, token: string, ctx: ApiContext): PullRequestApi {
  const [owner, repo] = settings.project.split('/') as [string, string];
  const octokit = new Octokit({
    auth: token,
    baseUrl: settings.apiUrl,
    userAgent: 'netpol-responder',
    request: { ...(ctx.fetchImpl ? { fetch: ctx.fetchImpl } : {}) },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const signal = () => AbortSignal.timeout(ctx.timeoutMs ?? 30_000);
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw apiFailure(octokitFailure(error), settings, ctx, [token]);
    }
  };
  return {
    async check() {
      await call(() => octokit.rest.repos.get({ owner, repo, request: { signal: signal() } }));
    },
    async findOpen(branch) {
      const { data } = await call(() => octokit.rest.pulls.list({ owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 10, request: { signal: signal() } }));
      const found = data.find((pr) => pr.head.ref === branch);
      return found ? { url: found.html_url, number: found.number, headSha: found.head.sha } : undefined;
    },
    async open(request) {
      const { data } = await call(() =>
        octokit.rest.pulls.create({ owner, repo, head: request.branch, base: request.base, title: request.title, body: request.body, draft: settings.draft, request: { signal: signal() } }),
      );
      const opened: OpenedRequest = { url: data.html_url, number: data.number, headSha: data.head.sha };
      // Labels are an issue's, set by a second call: the request is open either way, so a failure is a warning.
      if (settings.labels.length > 0) {
        try {
          await call(() => octokit.rest.issues.addLabels({ owner, repo, issue_number: data.number, labels: settings.labels, request: { signal: signal() } }));
        } catch (error) {
          opened.warning = `the labels were not set: ${(error as Error).message}`;
        }
      }
      return opened;
    },
  };
}
