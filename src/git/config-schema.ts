// The `git` section of the configuration: the policy repositories the bot keeps a clone of.
// Validation is strict because these values reach the git command line and GIT_SSH_COMMAND.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { durationSchema } from '../config/duration.js';
import { GIT_PROVIDERS, isLoopbackHost, parseRemoteUrl, providerOf, type GitProvider, type RemoteUrl } from './url.js';

export const DEFAULT_GIT_DIR = join(tmpdir(), 'netpol-responder-git');
export const DEFAULT_FETCH_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

/** Paths of mounted Secrets and known_hosts files: absolute, no characters a shell or ssh would split on. */
const secretPath = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._/@+-]*$/, 'must be an absolute path of letters, digits and . _ - / @ +')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** A branch name git and the hosts accept, and that cannot be taken for an option or a revision range. */
export const branchNameSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._/-]+$/, 'must be a branch name of letters, digits and . _ - /')
  .refine((b) => !b.startsWith('-') && !b.startsWith('/') && !b.endsWith('/') && !b.endsWith('.') && !b.endsWith('.lock'), 'is not a valid branch name')
  .refine((b) => !b.includes('..') && !b.includes('//') && !b.split('/').some((part) => part.startsWith('.')), 'is not a valid branch name');

/** A directory inside the repository, relative to its root; normalised (no "./", no trailing "/"). */
const repoPath = z
  .string()
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .refine((p) => !/[\x00-\x1f\x7f\\]/.test(p), 'must not contain control characters or backslashes')
  .refine((p) => !p.startsWith('/'), 'must be relative to the repository root, not absolute')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." (it must stay inside the repository)')
  .refine((p) => !p.startsWith('-') && !p.startsWith(':'), 'must not start with "-" or ":"')
  .transform((p) => normaliseRepoPath(p));

export function normaliseRepoPath(p: string): string {
  const parts = p.split('/').filter((part) => part !== '' && part !== '.');
  return parts.join('/');
}

/** A file inside the repository (a Helm values file): helm splits `-f` on commas, so none. */
const repoFile = repoPath.refine((p) => p !== '', 'must name a file inside the repository').refine((p) => !p.includes(','), 'must not contain a comma (helm splits -f on commas)');

const dnsLabel = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower-case letters, digits, "-")');

/** A chart in the repository rendered with `helm template` into the desired state. */
const helmChartSchema = z
  .object({
    /** The chart's directory (holding Chart.yaml), relative to the repository root. */
    chart: repoPath.refine((p) => p !== '', 'must name the chart directory inside the repository'),
    releaseName: dnsLabel(53),
    /** The release namespace: objects the chart leaves without one are put there, as `helm install` does. */
    namespace: dnsLabel(63),
    /** Values files relative to the repository root, given to helm in this order (later ones win). */
    values: z.array(repoFile).max(20).default([]),
  })
  .strict();

const authSchema = z
  .object({
    /** File holding an HTTPS token (a mounted Secret); read at every fetch, so a rotated token is used at once. */
    tokenFile: secretPath.optional(),
    /** User name sent with the token (GitHub: x-access-token, GitLab: oauth2, Bitbucket: x-token-auth). */
    username: z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, 'must be 1-128 letters, digits or . _ @ + -').default('x-access-token'),
    /** Private key for ssh remotes (a mounted Secret with defaultMode 0400). */
    sshKeyFile: secretPath.optional(),
    /** known_hosts file with the server's host key. */
    knownHostsFile: secretPath.optional(),
    /** ssh's StrictHostKeyChecking: yes (default: the host key must be in knownHostsFile), accept-new, or no. */
    strictHostKeyChecking: z.enum(['yes', 'accept-new', 'no']).default('yes'),
  })
  .strict()
  .refine((a) => !(a.tokenFile && a.sshKeyFile), 'give either tokenFile (https) or sshKeyFile (ssh), not both');

const GITHUB_PROJECT = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
const GITLAB_PROJECT = /^(\d{1,12}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}){1,20})$/;

/** Where generated policy files are proposed: a pull request (GitHub) or merge request (GitLab) on a pushed branch. */
const pullRequestsSchema = z
  .object({
    /** The host's API (default: from the url's host, as for commit links; else required). */
    provider: z.enum(['github', 'gitlab']).optional(),
    /** The API's base URL (default https://api.github.com, https://<host>/api/v3 for GitHub Enterprise, https://<host>/api/v4 for GitLab). */
    apiUrl: z.string().max(2048).optional(),
    /** GitHub `owner/name`, GitLab `group/sub/name` or the numeric id (default: the url's path without .git). */
    project: z.string().max(1024).optional(),
    /** File holding the API token (default: auth.tokenFile, the token the branch is pushed with). */
    tokenFile: secretPath.optional(),
    /** The branch the request targets (default: the repository's branch). */
    baseBranch: branchNameSchema.optional(),
    /** Open it as a draft (GitHub draft pull request, GitLab "Draft:" title). */
    draft: z.boolean().default(false),
    /** Labels put on it (they must exist on GitHub; GitLab creates them). */
    labels: z
      .array(
        z
          .string()
          .min(1)
          .max(100)
          // eslint-disable-next-line no-control-regex
          .refine((l) => !/[\x00-\x1f\x7f,]/.test(l) && l.trim() === l, 'must be a label without commas, control characters or surrounding spaces'),
      )
      .max(20)
      .optional(),
  })
  .strict();

/** The pullRequests section with every default filled in (resolvePullRequests). */
export interface ResolvedPullRequests {
  provider: 'github' | 'gitlab';
  /** Without a trailing slash. */
  apiUrl: string;
  project: string;
  tokenFile: string;
  baseBranch: string;
  draft: boolean;
  labels: string[];
}

/**
 * The pullRequests section of a repository with its defaults, or why it cannot be used. The
 * schema runs this at load time, so a loaded configuration always resolves.
 */
export function resolvePullRequests(
  repo: Pick<GitRepositoryConfig, 'url' | 'branch' | 'provider' | 'auth'> & { pullRequests?: PullRequestsConfig | undefined },
): ResolvedPullRequests | { error: string; path: string } | undefined {
  const pr = repo.pullRequests;
  if (!pr) return undefined;
  const remote = parseRemoteUrl(repo.url);
  if ('error' in remote) return { error: `url ${remote.error}`, path: 'url' };
  const derived = providerOf(remote, repo.provider);
  const provider = pr.provider ?? (derived === 'github' || derived === 'gitlab' ? derived : undefined);
  if (!provider) return { error: `the host ${remote.host ?? '(a local path)'} is not known as GitHub or GitLab: set pullRequests.provider`, path: 'provider' };
  const apiUrl = pr.apiUrl ?? defaultApiUrl(provider, remote);
  if (!apiUrl) return { error: 'no API URL can be derived from a file or ssh url without a host: set pullRequests.apiUrl', path: 'apiUrl' };
  const apiProblem = checkApiUrl(apiUrl, provider);
  if (apiProblem) return { error: apiProblem, path: 'apiUrl' };
  const project = pr.project ?? (remote.transport === 'file' ? undefined : remote.path.replace(/\/+$/, '').replace(/\.git$/, ''));
  if (!project) return { error: 'the project cannot be derived from a file url: set pullRequests.project', path: 'project' };
  if (!(provider === 'github' ? GITHUB_PROJECT : GITLAB_PROJECT).test(project) || project.split('/').some((p) => p === '.' || p === '..')) {
    const form = provider === 'github' ? 'owner/name' : 'group/name (subgroups allowed) or a numeric id';
    return { error: `project "${project.slice(0, 100)}" is not a ${provider === 'github' ? 'GitHub' : 'GitLab'} project (${form})${pr.project ? '' : ': set pullRequests.project'}`, path: 'project' };
  }
  const tokenFile = pr.tokenFile ?? repo.auth?.tokenFile;
  if (!tokenFile) return { error: 'the API needs a token: set pullRequests.tokenFile (or auth.tokenFile)', path: 'tokenFile' };
  return { provider, apiUrl: apiUrl.replace(/\/+$/, ''), project, tokenFile, baseBranch: pr.baseBranch ?? repo.branch, draft: pr.draft, labels: pr.labels ?? [] };
}

function defaultApiUrl(provider: 'github' | 'gitlab', remote: RemoteUrl): string | undefined {
  if (!remote.host || remote.transport === 'file') return undefined;
  // An ssh port is not the web server's; an http(s) one is, and loopback http stays http (stand-ins).
  const web = remote.transport === 'http' || remote.transport === 'https';
  const origin = `${remote.transport === 'http' ? 'http' : 'https'}://${remote.host}${web && remote.port ? `:${remote.port}` : ''}`;
  if (provider === 'gitlab') return `${origin}/api/v4`;
  return remote.host === 'github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
}

/** A reason the API URL is refused: the token goes there, so https (http only on loopback), no credentials. */
function checkApiUrl(apiUrl: string, provider: 'github' | 'gitlab'): string | undefined {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return 'apiUrl is not a valid URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) return 'apiUrl must be https (the token is sent there; http only on loopback)';
  if (url.username || url.password) return 'apiUrl must not hold credentials: the token comes from pullRequests.tokenFile';
  if (url.search || url.hash) return 'apiUrl must not have a query or a fragment';
  if (provider === 'gitlab' && !/\/api\/v4\/?$/.test(url.pathname)) return 'a GitLab apiUrl ends with /api/v4';
  return undefined;
}

export const gitRepositorySchema = z
  .object({
    /** Short name of the repository, used in messages and for its clone's directory. */
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower-case letters, digits, "-")').max(63),
    url: z.string().superRefine((url, ctx) => {
      const parsed = parseRemoteUrl(url);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
    }),
    branch: branchNameSchema.default('main'),
    /** Directories (relative to the repository root) holding the manifests; default: the whole repository. */
    paths: z.array(repoPath).min(1).max(100).default(['']),
    auth: authSchema.optional(),
    /** How often the clone is fetched. */
    fetchInterval: durationSchema
      .refine((ms) => ms >= 5000 && ms <= 86_400_000, 'must be between 5s and 24h')
      .default(DEFAULT_FETCH_INTERVAL_MS),
    /** The web front end for commit links when the host does not tell (GitHub Enterprise, self-hosted GitLab). */
    provider: z.enum(GIT_PROVIDERS as [GitProvider, ...GitProvider[]]).optional(),
    /** Helm charts of the repository, rendered with `helm template` (helm must be on PATH). */
    helm: z
      .array(helmChartSchema)
      .max(20)
      .superRefine((charts, ctx) => {
        const seen = new Set<string>();
        charts.forEach((chart, index) => {
          const release = `${chart.namespace}/${chart.releaseName}`;
          if (seen.has(release)) ctx.addIssue({ code: 'custom', path: [index, 'releaseName'], message: `duplicate release "${chart.releaseName}" in namespace "${chart.namespace}"` });
          seen.add(release);
        });
      })
      .optional(),
    /** Open a pull request (GitHub) or merge request (GitLab) for proposed files; without it the branch alone is pushed. */
    pullRequests: pullRequestsSchema.optional(),
  })
  .strict()
  .superRefine((repo, ctx) => {
    const resolved = resolvePullRequests(repo);
    if (resolved && 'error' in resolved && resolved.path !== 'url') ctx.addIssue({ code: 'custom', path: ['pullRequests', resolved.path], message: resolved.error });
    const remote = parseRemoteUrl(repo.url);
    if ('error' in remote || !repo.auth) return;
    if (repo.auth.tokenFile && !(remote.transport === 'https' || (remote.transport === 'http' && isLoopbackHost(remote.host)))) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'tokenFile'], message: 'a token is only sent over https (the url is not https)' });
    }
    if ((repo.auth.sshKeyFile || repo.auth.knownHostsFile) && remote.transport !== 'ssh') {
      ctx.addIssue({ code: 'custom', path: ['auth', repo.auth.sshKeyFile ? 'sshKeyFile' : 'knownHostsFile'], message: 'only used with an ssh url (ssh://… or git@host:path)' });
    }
  });

export const gitSchema = z
  .object({
    /** Where the clones are kept; must be writable (a volume in a pod with a read-only root filesystem). */
    // eslint-disable-next-line no-control-regex
    dir: z.string().min(1).max(1024).regex(/^[^\x00-\x1f\x7f]+$/, 'must not contain control characters').default(DEFAULT_GIT_DIR),
    repositories: z
      .array(gitRepositorySchema)
      .max(20)
      .default([])
      .superRefine((repos, ctx) => {
        const seen = new Set<string>();
        repos.forEach((repo, index) => {
          if (seen.has(repo.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate repository name "${repo.name}"` });
          seen.add(repo.name);
        });
      }),
    /** Files larger than this are not read (they are listed as skipped). */
    maxFileBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(DEFAULT_MAX_FILE_BYTES),
    /** A fetch that takes longer is abandoned (the last good clone keeps serving). */
    fetchTimeout: durationSchema.refine((ms) => ms >= 1000 && ms <= 1_800_000, 'must be between 1s and 30m').default(DEFAULT_FETCH_TIMEOUT_MS),
  })
  .strict();

export type GitConfig = z.infer<typeof gitSchema>;
export type GitRepositoryConfig = z.infer<typeof gitRepositorySchema>;
export type GitAuthConfig = z.infer<typeof authSchema>;
export type HelmChartConfig = z.infer<typeof helmChartSchema>;
export type PullRequestsConfig = z.infer<typeof pullRequestsSchema>;
