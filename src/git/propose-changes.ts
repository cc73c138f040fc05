// ProposeChanges for the configured policy repositories: check the request, check the host's API
// (token, project) before anything is pushed, push the branch, then find or open the pull or merge
// request. Without a pullRequests section the branch alone is pushed and a compare link given.
import { silentLogger, type Logger } from '../log.js';
import type { AuthIo } from './auth.js';
import { ChangeProposalError, type ChangeProposalOutcome, type ChangeProposalRequest, type ProposeChanges } from './change-proposal.js';
import { resolvePullRequests, type GitRepositoryConfig } from './config-schema.js';
import { pushProposalBranch } from './propose-branch.js';
import { checkProposalRequest, PROPOSAL_LIMITS, type ProposalLimits } from './propose-checks.js';
import { githubApi, readApiToken, type PullRequestApi } from './pull-request.js';
import { gitlabApi } from './pull-request-gitlab.js';
import type { PolicyRepositories } from './repositories.js';
import { parseRemoteUrl, providerOf, type GitProvider } from './url.js';

export interface ChangeProposerOptions {
  logger?: Logger;
  /** The fetch Octokit uses (GitHub); gitbeaker (GitLab) always uses the global one. */
  fetchImpl?: typeof fetch;
  authIo?: AuthIo;
  limits?: ProposalLimits;
  /** Timeout of each call to the Git remote (default 120 s) and to the API (default 30 s). */
  remoteTimeoutMs?: number;
  apiTimeoutMs?: number;
}

/** The proposer for these repositories; undefined when none is configured (the caller attaches the files instead). */
export function createChangeProposer(repositories: PolicyRepositories, options: ChangeProposerOptions = {}): ProposeChanges | undefined {
  if (repositories.list.length === 0) return undefined;
  const logger = (options.logger ?? silentLogger).child({ component: 'change-proposal' });
  // One proposal per branch at a time: a second click waits for the first and then finds its result.
  const running = new Map<string, Promise<unknown>>();

  async function propose(request: ChangeProposalRequest): Promise<ChangeProposalOutcome> {
    checkProposalRequest(request, options.limits ?? PROPOSAL_LIMITS);
    const repository = request.repository === undefined ? repositories.list[0] : repositories.get(request.repository);
    if (!repository) throw new ChangeProposalError(`no repository named ${JSON.stringify(String(request.repository).slice(0, 64))} in git.repositories`, 'not-found');
    const config = repository.config;
    const settings = resolvePullRequests(config);
    if (settings && 'error' in settings) throw new ChangeProposalError(`git.repositories[${config.name}].pullRequests: ${settings.error}`, 'invalid');
    const base = settings?.baseBranch ?? config.branch;

    let api: PullRequestApi | undefined;
    if (settings) {
      const ctx = {
        repository: config.name,
        tokenSetting: config.pullRequests?.tokenFile ? ('pullRequests.tokenFile' as const) : ('auth.tokenFile' as const),
        ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
        ...(options.apiTimeoutMs ? { timeoutMs: options.apiTimeoutMs } : {}),
      };
      const token = readApiToken(settings.tokenFile, ctx, options.authIo?.readFile);
      api = settings.provider === 'github' ? githubApi(settings, token, ctx) : gitlabApi(settings, token, ctx);
      await api.check();
    }
    const pushed = await pushProposalBranch({ config, clonePath: repository.clonePath }, request, {
      baseBranch: base,
      ...(options.remoteTimeoutMs ? { remoteTimeoutMs: options.remoteTimeoutMs } : {}),
      ...(options.authIo ? { authIo: options.authIo } : {}),
    });
    const log = { repository: config.name, branch: pushed.branch, commit: pushed.commit, pushed: pushed.pushed };
    if (!settings || !api) {
      const compareUrl = compareWebUrl(config, base, pushed.branch);
      logger.info(log, 'proposal branch pushed (no pull request configured)');
      const what = pushed.pushed ? `Pushed branch ${pushed.branch}` : `Branch ${pushed.branch} already holds these files`;
      return {
        kind: 'branch',
        branch: pushed.branch,
        commit: pushed.commit,
        base,
        ...(compareUrl ? { compareUrl } : {}),
        note: compareUrl
          ? `${what}; no pull request was opened (git.repositories[${config.name}].pullRequests is not set): open one from the compare link.`
          : `${what}; no pull request was opened (git.repositories[${config.name}].pullRequests is not set) and the host's web front end is unknown, so there is no compare link: open one on the host (or set provider).`,
      };
    }
    const existing = await api.findOpen(pushed.branch);
    const opened = existing ?? (await api.open({ branch: pushed.branch, base, title: request.title.trim(), body: request.body }));
    if (opened.warning) logger.warn({ ...log, url: opened.url, warning: opened.warning }, 'request opened with a problem');
    logger.info({ ...log, url: opened.url, existing: existing !== undefined }, existing ? 'proposal already had an open request' : 'proposal request opened');
    return {
      kind: 'pull-request',
      provider: settings.provider,
      url: opened.url,
      number: opened.number,
      branch: pushed.branch,
      commit: pushed.commit,
      base,
      ...(existing ? { existing: true } : {}),
      ...(opened.warning ? { note: opened.warning } : {}),
    };
  }

  return async (request) => {
    const key = `${request.repository ?? ''}\u0000${String(request.branch)}`;
    const before = running.get(key) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => propose(request));
    running.set(key, mine);
    try {
      return await mine;
    } finally {
      if (running.get(key) === mine) running.delete(key);
    }
  };
}

/**
 * The host's page for opening a request from the branch: GitHub `/compare/<base>...<branch>?expand=1`,
 * GitLab `/-/merge_requests/new?...`, Bitbucket `/pull-requests/new?...`; undefined for an unknown host.
 */
export function compareWebUrl(config: Pick<GitRepositoryConfig, 'url' | 'provider'>, base: string, branch: string): string | undefined {
  const remote = parseRemoteUrl(config.url);
  if ('error' in remote || remote.transport === 'file' || !remote.host) return undefined;
  const provider: GitProvider | undefined = providerOf(remote, config.provider);
  const repoPath = remote.path.replace(/\/+$/, '').replace(/\.git$/, '');
  if (!provider || repoPath === '') return undefined;
  const web = remote.transport === 'https' || remote.transport === 'http';
  const port = web && remote.port ? `:${remote.port}` : '';
  const root = `${remote.transport === 'http' ? 'http' : 'https'}://${remote.host}${port}/${repoPath.split('/').map(encodeURIComponent).join('/')}`;
  const ref = (b: string) => b.split('/').map(encodeURIComponent).join('/');
  switch (provider) {
    case 'github':
      return `${root}/compare/${ref(base)}...${ref(branch)}?expand=1`;
    case 'gitlab':
      return `${root}/-/merge_requests/new?${new URLSearchParams({ 'merge_request[source_branch]': branch, 'merge_request[target_branch]': base }).toString()}`;
    case 'bitbucket':
      return `${root}/pull-requests/new?${new URLSearchParams({ source: branch, dest: base }).toString()}`;
  }
}
