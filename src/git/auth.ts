// Credentials for one git call. An HTTPS token is read from its file at every fetch (a rotated
// Secret is picked up at once) and handed to git through an environment variable named by
// `--config-env`, git's documented way to keep a value out of the command line that other
// processes can read: the token never appears in an argument, a log line or an error message.
// The header is scoped to the remote's origin and redirects are not followed, so it is sent to
// that server only. SSH uses GIT_SSH_COMMAND with the key, IdentitiesOnly and the host key policy.
import { readFileSync, statSync } from 'node:fs';
import type { GitRepositoryConfig } from './config-schema.js';
import { parseRemoteUrl } from './url.js';

export const TOKEN_HEADER_ENV = 'NETPOL_GIT_AUTH_HEADER';
const MAX_TOKEN_BYTES = 8192;

export interface GitAuthPlan {
  /** Arguments before the subcommand (never a secret). */
  globalArgs: string[];
  /** Environment of the git process (may hold the header: never log it). */
  env: Record<string, string>;
  /** Values to scrub from anything git prints. */
  secrets: string[];
}

export interface AuthIo {
  readFile(path: string): Buffer;
  /** File mode bits (e.g. 0o600). */
  mode(path: string): number;
}

export const fsAuthIo: AuthIo = {
  readFile: (path) => readFileSync(path),
  mode: (path) => statSync(path).mode & 0o777,
};

/** Single quotes for the shell that runs GIT_SSH_COMMAND (paths are already restricted by the schema). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function sshCommand(auth: NonNullable<GitRepositoryConfig['auth']> | undefined): string {
  const parts = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15'];
  if (auth?.sshKeyFile) parts.push('-F', '/dev/null', '-i', shellQuote(auth.sshKeyFile), '-o', 'IdentitiesOnly=yes');
  if (auth) {
    parts.push('-o', `StrictHostKeyChecking=${auth.strictHostKeyChecking}`);
    if (auth.strictHostKeyChecking === 'no') parts.push('-o', 'UserKnownHostsFile=/dev/null');
    else if (auth.knownHostsFile) parts.push('-o', `UserKnownHostsFile=${shellQuote(auth.knownHostsFile)}`);
  }
  return parts.join(' ');
}

/** `Authorization: Basic base64(user:token)`: accepted by GitHub, GitLab and Bitbucket for tokens. */
export function tokenHeader(username: string, token: string): string {
  return `Authorization: Basic ${Buffer.from(`${username}:${token}`, 'utf8').toString('base64')}`;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (error as Error).message;
}

/** What a call to this repository's remote needs, or why it cannot be made (a missing or bad secret). */
export function authPlan(repo: Pick<GitRepositoryConfig, 'url' | 'auth'>, io: AuthIo = fsAuthIo): GitAuthPlan | { error: string } {
  const remote = parseRemoteUrl(repo.url);
  if ('error' in remote) return { error: `url ${remote.error}` };
  const auth = repo.auth;
  if (remote.transport === 'ssh') {
    if (auth?.sshKeyFile) {
      let mode: number;
      try {
        mode = io.mode(auth.sshKeyFile);
        io.readFile(auth.sshKeyFile);
      } catch (error) {
        return { error: `cannot read auth.sshKeyFile ${auth.sshKeyFile}: ${errorText(error)}` };
      }
      if ((mode & 0o077) !== 0) {
        return { error: `auth.sshKeyFile ${auth.sshKeyFile} is readable by others (mode ${mode.toString(8).padStart(4, '0')}): ssh refuses such a key; mount the Secret with defaultMode 0400` };
      }
    }
    return { globalArgs: [], env: { GIT_SSH_COMMAND: sshCommand(auth) }, secrets: [] };
  }
  if (!auth?.tokenFile || (remote.transport !== 'https' && remote.transport !== 'http')) return { globalArgs: [], env: {}, secrets: [] };
  let raw: Buffer;
  try {
    raw = io.readFile(auth.tokenFile);
  } catch (error) {
    return { error: `cannot read auth.tokenFile ${auth.tokenFile}: ${errorText(error)}` };
  }
  if (raw.length > MAX_TOKEN_BYTES) return { error: `auth.tokenFile ${auth.tokenFile} is larger than ${MAX_TOKEN_BYTES} bytes: not a token` };
  const token = raw.toString('utf8').replace(/[\r\n]+$/, '');
  if (token.length === 0) return { error: `auth.tokenFile ${auth.tokenFile} is empty` };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\s]/.test(token)) return { error: `auth.tokenFile ${auth.tokenFile} must hold the token alone, on one line` };
  const origin = `${remote.transport}://${remote.host}${remote.port ? `:${remote.port}` : ''}/`;
  const header = tokenHeader(auth.username, token);
  return {
    globalArgs: [`--config-env=http.${origin}.extraHeader=${TOKEN_HEADER_ENV}`, '-c', 'http.followRedirects=false'],
    env: { [TOKEN_HEADER_ENV]: header },
    secrets: [token, header, header.slice('Authorization: Basic '.length)],
  };
}
