// The merge request side of ./pull-request.ts, through @gitbeaker/rest. It uses the global fetch
// (gitbeaker takes no fetch of its own); a draft is GitLab's "Draft:" title prefix.
import { Gitlab } from '@gitbeaker/rest';
import type { ResolvedPullRequests } from './config-schema.js';
import { apiFailure, type ApiContext, type ApiFailure, type OpenedRequest, type PullRequestApi } from './pull-request.js';

/** What gitbeaker throws: GitbeakerRequestError (cause.response, cause.description), its timeout error, or fetch's TypeError. */
function gitbeakerFailure(error: unknown): ApiFailure {
  const e = error as { name?: string; message?: string; cause?: { response?: { status?: number }; description?: unknown } };
  const status = e.name === 'GitbeakerRequestError' ? e.cause?.response?.status : undefined;
  if (status === undefined) {
    const cause = (error as { cause?: { message?: string; code?: string } }).cause;
    return { status: undefined, message: [e.message, cause?.code ?? cause?.message].filter(Boolean).join(': ') || String(error) };
  }
  const description = e.cause?.description;
  return { status, message: typeof description === 'string' && description !== '' ? description : (e.message ?? `HTTP ${status}`) };
}

interface MergeRequestBody {
  iid: number;
  web_url: string;
  source_branch: string;
  sha?: string;
}

export function gitlabApi(settings: ResolvedPullRequests, token: string, ctx: ApiContext): PullRequestApi {
  const api = new Gitlab({ host: settings.apiUrl.replace(/\/api\/v4\/?$/, ''), token, queryTimeout: ctx.timeoutMs ?? 30_000 });
  const project = /^\d+$/.test(settings.project) ? Number(settings.project) : settings.project;
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw apiFailure(gitbeakerFailure(error), settings, ctx, [token]);
    }
  };
  const opened = (mr: MergeRequestBody): OpenedRequest => ({ url: mr.web_url, number: mr.iid, ...(mr.sha ? { headSha: mr.sha } : {}) });
  return {
    async check() {
      await call(() => api.Projects.show(project));
    },
    async findOpen(branch) {
      const list = (await call(() => api.MergeRequests.all({ projectId: project, sourceBranch: branch, state: 'opened', perPage: 20, maxPages: 1 }))) as unknown as MergeRequestBody[];
      const found = list.find((mr) => mr.source_branch === branch);
      return found ? opened(found) : undefined;
    },
    async open(request) {
      const title = settings.draft ? `Draft: ${request.title}` : request.title;
      const mr = (await call(() =>
        api.MergeRequests.create(project, request.branch, request.base, title, {
          description: request.body,
          ...(settings.labels.length > 0 ? { labels: settings.labels.join(',') } : {}),
        }),
      )) as unknown as MergeRequestBody;
      return opened(mr);
    },
  };
}
