// Git's smart HTTP protocol served by git's own git-http-backend (CGI): what the Git host stand-in
// (./git-host.ts) and the tests' plain Git server (test/helpers/git-http.ts) put behind their auth.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface CgiRequest {
  /** The directory the repositories are under (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** The path below it, e.g. `/shop.git/info/refs` (decoded). */
  pathInfo: string;
  /** The query without "?". */
  query: string;
  /** Set for an authenticated request: git-http-backend then also serves pushes (receive-pack). */
  remoteUser?: string;
}

/** Runs one request through git-http-backend and writes its answer. */
export async function serveGitCgi(req: IncomingMessage, res: ServerResponse, cgi: CgiRequest): Promise<void> {
  const child = spawn(GIT_HTTP_BACKEND, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: cgi.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: cgi.pathInfo,
      QUERY_STRING: cgi.query,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: '127.0.0.1',
      ...(cgi.remoteUser ? { REMOTE_USER: cgi.remoteUser } : {}),
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.stdin.on('error', () => undefined); // the backend may answer before reading all of the body
  req.pipe(child.stdin);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  const out = Buffer.concat(chunks);
  const crlf = out.indexOf('\r\n\r\n');
  const split = crlf >= 0 ? crlf : out.indexOf('\n\n');
  const sepLength = crlf >= 0 ? 4 : 2;
  const headerText = out.subarray(0, Math.max(split, 0)).toString('utf8');
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of headerText.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
    else headers[name] = value;
  }
  res.writeHead(status, headers);
  res.end(split >= 0 ? out.subarray(split + sepLength) : out);
}
