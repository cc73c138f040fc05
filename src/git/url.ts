// Remote URLs (pure): which forms are accepted, how they are shown without secrets, and the web
// link of a commit on GitHub, GitLab and Bitbucket.

export type RemoteTransport = 'https' | 'http' | 'ssh' | 'file';
export type GitProvider = 'github' | 'gitlab' | 'bitbucket';
export const GIT_PROVIDERS: readonly GitProvider[] = ['github', 'gitlab', 'bitbucket'];

export interface RemoteUrl {
  transport: RemoteTransport;
  /** Host name (no port, no user); absent for file remotes. */
  host?: string;
  /** Port as written, for http(s) and ssh:// forms. */
  port?: string;
  /** The repository path without leading slash (e.g. `org/repo.git`), or the absolute path of a file remote. */
  path: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Parses a remote URL as git would take it; returns a reason when the form is refused. */
export function parseRemoteUrl(url: string): RemoteUrl | { error: string } {
  if (url.length === 0) return { error: 'must not be empty' };
  if (url.length > 2048) return { error: 'is longer than 2048 characters' };
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(url)) return { error: 'must not contain spaces or control characters' };
  if (url.startsWith('-')) return { error: 'must not start with "-"' };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) return parseSchemeUrl(url, scheme);
  if (url.includes('::')) return { error: 'uses a transport that is not supported (https, http, ssh and file are)' };
  if (url.startsWith('/')) return { transport: 'file', path: url };
  // scp-like ssh: [user@]host:path (a slash before the colon would make it a local path).
  const scp = /^(?:([^@/:]+)@)?([^@/:]+):(.+)$/.exec(url);
  if (scp) return { transport: 'ssh', host: (scp[2] as string).toLowerCase(), path: (scp[3] as string).replace(/^\/+/, '') };
  return { error: 'must be an https://, http://, ssh:// or file:// URL, user@host:path, or an absolute path' };
}

function parseSchemeUrl(url: string, scheme: string): RemoteUrl | { error: string } {
  if (scheme !== 'https' && scheme !== 'http' && scheme !== 'ssh' && scheme !== 'file') {
    return { error: `uses the transport "${scheme}", which is not supported (https, http, ssh and file are)` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: 'is not a valid URL' };
  }
  if (scheme === 'file') {
    if (parsed.host !== '') return { error: 'file:// URLs must name a local path (file:///srv/repo.git)' };
    return { transport: 'file', path: decodeURIComponent(parsed.pathname) };
  }
  if (parsed.password !== '' || (scheme !== 'ssh' && parsed.username !== '')) return { error: 'must not hold a user name, password or token: put the token in auth.tokenFile' };
  if (parsed.hostname === '') return { error: 'must name a host' };
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '');
  if (path === '') return { error: 'must name a repository path' };
  return { transport: scheme, host: parsed.hostname.toLowerCase(), ...(parsed.port ? { port: parsed.port } : {}), path };
}

export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && (LOOPBACK.has(host) || /^127(\.\d{1,3}){3}$/.test(host));
}

/**
 * The URL as it may appear in messages and logs: user info is dropped from http(s) URLs (a token
 * can hide there), an ssh URL keeps its user name but never a password.
 */
export function redactUrl(url: string): string {
  return url.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/@\s]*)@/g, (_m, scheme: string, info: string) =>
    scheme.toLowerCase() === 'ssh://' && info !== '' ? `${scheme}${info.split(':')[0]}@` : scheme,
  );
}

/** Which web front end serves a remote, from its host unless the config says. */
export function providerOf(remote: RemoteUrl, explicit?: GitProvider): GitProvider | undefined {
  if (explicit) return explicit;
  const host = remote.host ?? '';
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github';
  if (host === 'bitbucket.org') return 'bitbucket';
  if (host === 'gitlab.com' || /(^|[.-])gitlab([.-]|$)/.test(host)) return 'gitlab';
  return undefined;
}

/**
 * The web page of a commit, e.g. `git@github.com:org/repo.git` → `https://github.com/org/repo/commit/<sha>`;
 * GitLab `/-/commit/<sha>`, Bitbucket `/commits/<sha>`. Undefined for hosts we cannot tell.
 */
export function commitWebUrl(url: string, sha: string, explicit?: GitProvider): string | undefined {
  const remote = parseRemoteUrl(url);
  if ('error' in remote || remote.transport === 'file' || !remote.host) return undefined;
  const provider = providerOf(remote, explicit);
  if (!provider || !/^[0-9a-f]{7,64}$/.test(sha)) return undefined;
  const repoPath = remote.path.replace(/\/+$/, '').replace(/\.git$/, '');
  if (repoPath === '') return undefined;
  // An ssh port is not the web server's; an https one is.
  const port = remote.transport === 'https' || remote.transport === 'http' ? (remote.port ? `:${remote.port}` : '') : '';
  const scheme = remote.transport === 'http' ? 'http' : 'https';
  const base = `${scheme}://${remote.host}${port}/${repoPath.split('/').map(encodeURIComponent).join('/')}`;
  switch (provider) {
    case 'github':
      return `${base}/commit/${sha}`;
    case 'gitlab':
      return `${base}/-/commit/${sha}`;
    case 'bitbucket':
      return `${base}/commits/${sha}`;
  }
}
