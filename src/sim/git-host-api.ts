// The REST subsets of GitHub (/api/v3, as GitHub Enterprise serves it) and GitLab (/api/v4) that
// the bot's proposals call through Octokit and gitbeaker: the project, its open pull or merge
// requests for a branch, opening one, and labels. Bodies are checked with zod; errors have the
// real APIs' statuses and shapes (401 bad credentials, 404, 400 unparsable JSON, 422 / 409).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { runGit } from '../git/exec.js';
import { branchTip } from './git-remote.js';

export const MAX_API_BODY_BYTES = 1024 * 1024;

export interface HostRepository {
  /** `owner/name` (GitHub) or `group/sub/name` (GitLab). */
  project: string;
  /** The bare repository. */
  dir: string;
  /** GitLab's numeric project id. */
  id: number;
  /** The next pull request number / merge request iid. */
  nextNumber: number;
}

/** A pull or merge request the stand-in opened, as a test asserts on it. */
export interface RecordedPullRequest {
  provider: 'github' | 'gitlab';
  project: string;
  number: number;
  id: number;
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
  labels: string[];
  /** The head branch's commit when it was opened. */
  headSha: string;
  url: string;
  state: 'open' | 'closed';
}

export interface ApiState {
  origin: string;
  token: string;
  repositories: HostRepository[];
  pulls: RecordedPullRequest[];
  nextId: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The JSON body: 413 when too large, `parseError` (400) when not JSON. */
async function readJson(req: IncomingMessage, parseError: unknown): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_API_BODY_BYTES) throw new HttpError(413, { message: 'Request body too large' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_API_BODY_BYTES) throw new HttpError(413, { message: 'Request body too large' });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, parseError);
  }
}

async function commitsAhead(dir: string, base: string, head: string): Promise<number> {
  const { stdout } = await runGit(['rev-list', '--count', `${base}..${head}`], { cwd: dir });
  return Number(stdout.toString('utf8').trim());
}

function findRepository(state: ApiState, project: string): HostRepository | undefined {
  return state.repositories.find((r) => r.project === project || String(r.id) === project);
}

const ghCreatePull = z
  .object({
    title: z.string().min(1).max(256),
    head: z.string().min(1).max(255),
    base: z.string().min(1).max(255),
    body: z.string().max(65_536).nullable().optional(),
    draft: z.boolean().optional(),
    maintainer_can_modify: z.boolean().optional(),
  })
  .strict();
const ghLabels = z.object({ labels: z.array(z.string().min(1).max(100)).max(100) }).strict();

function githubPull(pr: RecordedPullRequest): Record<string, unknown> {
  const [owner] = pr.project.split('/');
  return {
    id: pr.id,
    number: pr.number,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    draft: pr.draft,
    html_url: pr.url,
    head: { ref: pr.head, sha: pr.headSha, label: `${owner}:${pr.head}` },
    base: { ref: pr.base },
    labels: pr.labels.map((name) => ({ name })),
  };
}

/** `/repos/...` below /api/v3 (the prefix removed). */
export async function githubApi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, state: ApiState): Promise<void> {
  const auth = req.headers.authorization ?? '';
  if (auth !== `token ${state.token}` && auth !== `Bearer ${state.token}`) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
  const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
  const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  const repo = m ? findRepository(state, `${decodeURIComponent(m[1] as string)}/${decodeURIComponent(m[2] as string)}`) : undefined;
  if (!m || !repo) return send(res, 404, notFound);
  const [owner, name] = repo.project.split('/') as [string, string];
  const rest = m[3] ?? '';
  const method = req.method ?? 'GET';
  try {
    if (rest === '' && method === 'GET') {
      return send(res, 200, { id: repo.id, name, full_name: repo.project, owner: { login: owner }, default_branch: 'main', html_url: `${state.origin}/${repo.project}`, permissions: { pull: true, push: true } });
    }
    if (rest === '/pulls' && method === 'GET') {
      const wanted = query.get('state') ?? 'open';
      const head = query.get('head');
      const list = state.pulls.filter((p) => p.provider === 'github' && p.project === repo.project && (wanted === 'all' || p.state === wanted) && (head === null || head === `${owner}:${p.head}` || head === p.head));
      return send(res, 200, list.map(githubPull));
    }
    if (rest === '/pulls' && method === 'POST') {
      const parsed = ghCreatePull.safeParse(await readJson(req, { message: 'Problems parsing JSON', status: '400' }));
      if (!parsed.success) return send(res, 422, { message: 'Invalid request.', errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), status: '422' });
      const head = parsed.data.head.startsWith(`${owner}:`) ? parsed.data.head.slice(owner.length + 1) : parsed.data.head;
      const [headSha, baseSha] = [await branchTip(repo.dir, head), await branchTip(repo.dir, parsed.data.base)];
      const invalid = (field: string, message?: string) => send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field, code: 'invalid', ...(message ? { message } : {}) }], status: '422' });
      if (!headSha) return invalid('head');
      if (!baseSha) return invalid('base');
      if (state.pulls.some((p) => p.provider === 'github' && p.project === repo.project && p.state === 'open' && p.head === head && p.base === parsed.data.base)) {
        return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }], status: '422' });
      }
      if ((await commitsAhead(repo.dir, baseSha, headSha)) === 0) {
        return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${parsed.data.base} and ${head}` }], status: '422' });
      }
      const number = repo.nextNumber++;
      const pr: RecordedPullRequest = {
        provider: 'github',
        project: repo.project,
        number,
        id: state.nextId++,
        title: parsed.data.title,
        body: parsed.data.body ?? '',
        head,
        base: parsed.data.base,
        draft: parsed.data.draft ?? false,
        labels: [],
        headSha,
        url: `${state.origin}/${repo.project}/pull/${number}`,
        state: 'open',
      };
      state.pulls.push(pr);
      return send(res, 201, githubPull(pr));
    }
    const labels = /^\/issues\/(\d+)\/labels$/.exec(rest);
    if (labels && method === 'POST') {
      const pr = state.pulls.find((p) => p.provider === 'github' && p.project === repo.project && p.number === Number(labels[1]));
      if (!pr) return send(res, 404, notFound);
      const parsed = ghLabels.safeParse(await readJson(req, { message: 'Problems parsing JSON', status: '400' }));
      if (!parsed.success) return send(res, 422, { message: 'Invalid request.', status: '422' });
      pr.labels = [...new Set([...pr.labels, ...parsed.data.labels])];
      return send(res, 200, pr.labels.map((n, i) => ({ id: i + 1, name: n })));
    }
    return send(res, 404, notFound);
  } catch (error) {
    if (error instanceof HttpError) return send(res, error.status, error.body);
    throw error;
  }
}

const glCreateMr = z
  .object({
    source_branch: z.string().min(1).max(255),
    target_branch: z.string().min(1).max(255),
    title: z.string().min(1).max(255),
    description: z.string().max(1_048_576).optional(),
    labels: z.union([z.string().max(4096), z.array(z.string().max(255)).max(100)]).optional(),
    remove_source_branch: z.boolean().optional(),
    squash: z.boolean().optional(),
  })
  .strict();

function gitlabMr(pr: RecordedPullRequest, projectId: number): Record<string, unknown> {
  return {
    id: pr.id,
    iid: pr.number,
    project_id: projectId,
    state: pr.state === 'open' ? 'opened' : 'closed',
    title: pr.title,
    description: pr.body,
    draft: pr.draft,
    source_branch: pr.head,
    target_branch: pr.base,
    sha: pr.headSha,
    labels: pr.labels,
    web_url: pr.url,
  };
}

/** `/projects/...` below /api/v4 (the prefix removed); `:id` is the numeric id or the URL-encoded path. */
export async function gitlabApi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, state: ApiState): Promise<void> {
  const bearer = req.headers.authorization;
  if (req.headers['private-token'] !== state.token && bearer !== `Bearer ${state.token}`) return send(res, 401, { message: '401 Unauthorized' });
  const m = /^\/projects\/([^/]+)(\/.*)?$/.exec(path);
  let project = '';
  try {
    project = m ? decodeURIComponent(m[1] as string) : '';
  } catch {
    // a malformed escape: no such project
  }
  const repo = findRepository(state, project);
  if (!m || !repo) return send(res, 404, { message: '404 Project Not Found' });
  const rest = m[2] ?? '';
  const method = req.method ?? 'GET';
  try {
    if (rest === '' && method === 'GET') {
      return send(res, 200, { id: repo.id, path_with_namespace: repo.project, default_branch: 'main', web_url: `${state.origin}/${repo.project}` });
    }
    if (rest === '/merge_requests' && method === 'GET') {
      const wanted = query.get('state') ?? 'all';
      const source = query.get('source_branch');
      const list = state.pulls.filter(
        (p) => p.provider === 'gitlab' && p.project === repo.project && (wanted === 'all' || (wanted === 'opened' ? p.state === 'open' : p.state === 'closed')) && (source === null || p.head === source),
      );
      return send(res, 200, list.map((p) => gitlabMr(p, repo.id)));
    }
    if (rest === '/merge_requests' && method === 'POST') {
      const parsed = glCreateMr.safeParse(await readJson(req, { error: 'The provided content-type or body is not valid JSON' }));
      if (!parsed.success) return send(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}`).join(', ') });
      const { source_branch: head, target_branch: base } = parsed.data;
      const [headSha, baseSha] = [await branchTip(repo.dir, head), await branchTip(repo.dir, base)];
      if (!headSha || !baseSha) return send(res, 422, { message: [`${!headSha ? 'Source' : 'Target'} branch does not exist`] });
      const open = state.pulls.find((p) => p.provider === 'gitlab' && p.project === repo.project && p.state === 'open' && p.head === head && p.base === base);
      if (open) return send(res, 409, { message: [`Another open merge request already exists for this source branch: !${open.number}`] });
      const number = repo.nextNumber++;
      const labels = typeof parsed.data.labels === 'string' ? parsed.data.labels.split(',').map((l) => l.trim()).filter(Boolean) : (parsed.data.labels ?? []);
      const pr: RecordedPullRequest = {
        provider: 'gitlab',
        project: repo.project,
        number,
        id: state.nextId++,
        title: parsed.data.title,
        body: parsed.data.description ?? '',
        head,
        base,
        draft: /^(draft:|\[draft\]|\(draft\))/i.test(parsed.data.title),
        labels,
        headSha,
        url: `${state.origin}/${repo.project}/-/merge_requests/${number}`,
        state: 'open',
      };
      state.pulls.push(pr);
      return send(res, 201, gitlabMr(pr, repo.id));
    }
    return send(res, 404, { message: '404 Not Found' });
  } catch (error) {
    if (error instanceof HttpError) return send(res, error.status, error.body);
    throw error;
  }
}
