// A Git host stand-in on 127.0.0.1 for tests and the demo: one HTTP server that serves bare
// repositories over Git's smart HTTP (git-http-backend, Basic auth with the token as the password,
// as GitHub and GitLab take it), the GitHub or GitLab REST subset the bot's change proposals call
// (./git-host-api.ts), and protected branches: a pre-receive hook in each bare repository declines
// a push to one with the host's own wording (GitHub's GH006, GitLab's "not allowed to push code to
// protected branches"). It records the pull and merge requests opened, for tests to assert on.
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { runGit } from '../git/exec.js';
import { githubApi, gitlabApi, type ApiState, type HostRepository, type RecordedPullRequest } from './git-host-api.js';
import { serveGitCgi } from './git-host-cgi.js';
import { branchTip } from './git-remote.js';

export type { RecordedPullRequest } from './git-host-api.js';

export interface GitHostOptions {
  flavor: 'github' | 'gitlab';
  /** The token Git (as the Basic password) and the API accept. */
  token: string;
}

export interface GitHost {
  flavor: 'github' | 'gitlab';
  port: number;
  /** `http://127.0.0.1:<port>`: the web front end and the Git remotes' origin. */
  origin: string;
  /** The API's base URL: `<origin>/api/v3` (GitHub, as GitHub Enterprise) or `<origin>/api/v4` (GitLab). */
  apiUrl: string;
  /** The accepted token; change it to make every client's token wrong. */
  token: string;
  /** Serves a bare repository as `project` (`owner/name`, GitLab `group/sub/name`); returns its Git URL. */
  addRepository(project: string, bareDir: string): string;
  /** The Git URL of a project: `<origin>/<project>.git`. */
  gitUrl(project: string): string;
  /** GitLab's numeric id of a project. */
  projectId(project: string): number;
  /** Branch name patterns (shell globs, e.g. `main`, `release/*`) a push may not change. */
  protect(project: string, patterns: string[]): void;
  /** The pull or merge requests opened, oldest first. */
  pulls: RecordedPullRequest[];
  /** A branch's commit in the bare repository (undefined: no such branch). */
  branchTip(project: string, branch: string): Promise<string | undefined>;
  /** The files of a commit or branch: path → content. */
  files(project: string, ref: string): Promise<Record<string, string>>;
  /** Every request: method, path, status. */
  requests: Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

const PROTECTED_LIST = 'netpol-protected-branches';

function preReceiveHook(flavor: 'github' | 'gitlab'): string {
  const decline =
    flavor === 'github'
      ? ['echo "error: GH006: Protected branch update failed for $ref." >&2', 'echo "error: Changes must be made through a pull request." >&2']
      : ['echo "GitLab: You are not allowed to push code to protected branches on this project." >&2'];
  return [
    '#!/bin/sh',
    '# Installed by the Git host stand-in (src/sim/git-host.ts): declines pushes to protected branches.',
    `list="$(pwd)/${PROTECTED_LIST}"`,
    'status=0',
    'while read -r old new ref; do',
    '  [ -f "$list" ] || continue',
    '  while IFS= read -r pattern; do',
    '    [ -n "$pattern" ] || continue',
    '    case "$ref" in',
    `      refs/heads/$pattern) ${decline.join('; ')}; status=1;;`,
    '    esac',
    '  done < "$list"',
    'done',
    'exit $status',
    '',
  ].join('\n');
}

export async function startGitHost(options: GitHostOptions): Promise<GitHost> {
  const sockets = new Set<Socket>();
  const requests: GitHost['requests'] = [];
  const state: ApiState = { origin: '', token: options.token, repositories: [], pulls: [], nextId: 1000 };
  const apiPrefix = options.flavor === 'github' ? '/api/v3' : '/api/v4';
  const server = createServer((req, res) => {
    res.on('finish', () => requests.push({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] as string, status: res.statusCode }));
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `stand-in failure: ${(error as Error).message}` }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === apiPrefix || url.pathname.startsWith(`${apiPrefix}/`)) {
      const path = url.pathname.slice(apiPrefix.length);
      return options.flavor === 'github' ? githubApi(req, res, path, url.searchParams, state) : gitlabApi(req, res, path, url.searchParams, state);
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const repo = state.repositories.find((r) => pathname.startsWith(`/${r.project}.git/`));
    if (!repo) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Repository not found.\n');
      return;
    }
    const user = basicUser(req.headers.authorization, state.token);
    if (user === undefined) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' }).end('Invalid username or password.\n');
      return;
    }
    const rest = pathname.slice(`/${repo.project}.git`.length);
    await serveGitCgi(req, res, { projectRoot: dirname(repo.dir), pathInfo: `/${basename(repo.dir)}${rest}`, query: url.search.slice(1), remoteUser: user });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  state.origin = origin;
  const find = (project: string): HostRepository => {
    const repo = state.repositories.find((r) => r.project === project);
    if (!repo) throw new Error(`the Git host stand-in serves no project ${project}`);
    return repo;
  };
  return {
    flavor: options.flavor,
    port,
    origin,
    apiUrl: `${origin}${apiPrefix}`,
    get token() {
      return state.token;
    },
    set token(value: string) {
      state.token = value;
    },
    addRepository(project, bareDir) {
      if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/.test(project) || project.split('/').includes('..')) throw new Error(`not a project path: ${project}`);
      if (!state.repositories.some((r) => r.project === project)) {
        state.repositories.push({ project, dir: bareDir, id: state.repositories.length + 1, nextNumber: 1 });
        const hook = join(bareDir, 'hooks', 'pre-receive');
        writeFileSync(hook, preReceiveHook(options.flavor));
        chmodSync(hook, 0o755);
      }
      return `${origin}/${project}.git`;
    },
    gitUrl: (project) => `${origin}/${project}.git`,
    projectId: (project) => find(project).id,
    protect(project, patterns) {
      writeFileSync(join(find(project).dir, PROTECTED_LIST), patterns.map((p) => `${p}\n`).join(''));
    },
    pulls: state.pulls,
    branchTip: (project, branch) => branchTip(find(project).dir, branch),
    files: (project, ref) => readFiles(find(project).dir, ref),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A git.repositories entry's fields for a repository served by the stand-in: its url, a token
 * file (written into `secretDir`) and pullRequests at the stand-in's API.
 */
export function gitHostRepository(host: GitHost, project: string, bareDir: string, secretDir: string): { url: string; auth: { tokenFile: string; username: string }; pullRequests: { provider: 'github' | 'gitlab'; apiUrl: string } } {
  const tokenFile = join(secretDir, `git-host-token-${host.port}`);
  writeFileSync(tokenFile, `${host.token}\n`, { mode: 0o400 });
  return {
    url: host.addRepository(project, bareDir),
    auth: { tokenFile, username: host.flavor === 'gitlab' ? 'oauth2' : 'x-access-token' },
    pullRequests: { provider: host.flavor, apiUrl: host.apiUrl },
  };
}

/** The Basic user name when the password is the token (any user name, as the hosts take a token). */
function basicUser(header: string | undefined, token: string): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(colon + 1) !== token) return undefined;
  return decoded.slice(0, colon) || 'token';
}

async function readFiles(dir: string, ref: string): Promise<Record<string, string>> {
  const { stdout } = await runGit(['ls-tree', '-r', '-z', '--end-of-options', ref], { cwd: dir });
  const files: Record<string, string> = {};
  for (const entry of stdout.toString('utf8').split('\u0000')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (!m) continue;
    files[m[2] as string] = (await runGit(['cat-file', 'blob', m[1] as string], { cwd: dir })).stdout.toString('utf8');
  }
  return files;
}
