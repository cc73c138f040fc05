// Why a fetch failed, in one line a person can act on (pure). git runs with LANG=C, so its
// messages are stable; anything secret is scrubbed before the line leaves this module.
import type { GitExecError } from './exec.js';
import { redactUrl } from './url.js';

export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  // user info in any URL git echoes back (user:token@host)
  return redactUrl(out);
}

const RULES: Array<{ test: RegExp; reason: (m: RegExpExecArray, ctx: { url: string; branch: string }) => string }> = [
  { test: /Could not resolve host:\s*'?([^'\s]+)/i, reason: (m) => `cannot resolve host ${m[1]} (DNS)` },
  { test: /Could not resolve hostname ([^\s:]+)/i, reason: (m) => `cannot resolve host ${m[1]} (DNS)` },
  { test: /(Authentication failed|returned error: 401|terminal prompts disabled|could not read Username)/i, reason: () => 'the server refused the credentials (401): check auth.tokenFile and its username' },
  { test: /returned error: 403/i, reason: () => 'the server refused access (403): the token lacks read access to this repository' },
  { test: /returned error: 404|repository '[^']*' not found|does not appear to be a git repository|not a git repository/i, reason: () => 'the repository does not exist at this url, or the credentials cannot see it' },
  { test: /Permission denied \(publickey/i, reason: () => 'the ssh server refused the key (publickey): check auth.sshKeyFile and the deploy key' },
  { test: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i, reason: () => 'ssh host key verification failed: add the server\'s key to auth.knownHostsFile' },
  { test: /UNPROTECTED PRIVATE KEY FILE|bad permissions/i, reason: () => 'ssh refused the key file: its permissions are too open (mount it with defaultMode 0400)' },
  { test: /couldn't find remote ref|Couldn't find remote ref/i, reason: (_m, ctx) => `branch ${ctx.branch} does not exist on the remote` },
  { test: /Connection refused|Failed to connect|Connection timed out|No route to host|Network is unreachable|Operation timed out/i, reason: () => 'cannot connect to the remote (connection refused or timed out)' },
  { test: /Empty reply from server|Recv failure|Connection reset|early EOF|unexpected disconnect|the remote end hung up/i, reason: () => 'the remote closed the connection during the fetch' },
  { test: /SSL certificate problem|server certificate verification failed|certificate verify failed/i, reason: () => 'the server\'s TLS certificate is not trusted' },
  { test: /transport '([^']+)' not allowed/i, reason: (m) => `transport ${m[1]} is not allowed` },
];

/** One line for a failed git call against the remote of `url`. */
export function describeGitFailure(error: GitExecError, ctx: { url: string; branch: string; secrets: string[] }): string {
  const where = redactUrl(ctx.url);
  if (error.failure === 'timeout') return `${where}: ${error.message}`;
  if (error.failure === 'spawn') return error.message;
  if (error.failure === 'output-limit') return `${where}: ${error.message}`;
  const stderr = scrub(error.stderr, ctx.secrets);
  for (const rule of RULES) {
    const match = rule.test.exec(stderr);
    if (match) return `${where}: ${rule.reason(match, ctx)}`;
  }
  const fatal = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(fatal|error):/.test(l))
    .pop();
  return `${where}: ${fatal ?? error.message}`.slice(0, 500);
}
