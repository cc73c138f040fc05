// A Git smart-HTTP server on 127.0.0.1 for tests: git's own git-http-backend (CGI, src/sim/git-host-cgi.ts) behind a Node
// server that demands `Authorization: Basic` with a token, as GitHub or GitLab do. It records the
// requests (method, path, the Authorization header seen) so tests can check what git sent.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serveGitCgi } from '../../src/sim/git-host-cgi.js';

export interface GitHttpServer {
  port: number;
  /** URL of a repository under the project root, e.g. `http://127.0.0.1:1234/shop.git`. */
  url(repo: string): string;
  /** Accepted `user:token` (Basic); undefined: no auth asked. */
  credentials: { username: string; token: string } | undefined;
  requests: Array<{ method: string; path: string; authorization?: string }>;
  close(): Promise<void>;
}

export async function startGitHttpServer(projectRoot: string, credentials?: { username: string; token: string }): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const sockets = new Set<Socket>();
  const state: { credentials: GitHttpServer['credentials'] } = { credentials };
  const server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const expected = state.credentials ? `Basic ${Buffer.from(`${state.credentials.username}:${state.credentials.token}`).toString('base64')}` : undefined;
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    await serveGitCgi(req, res, { projectRoot, pathInfo: decodeURIComponent(url.pathname), query: url.search.slice(1) });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    get credentials() {
      return state.credentials;
    },
    set credentials(value) {
      state.credentials = value;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
