import { describe, expect, it } from 'vitest';
import { authPlan, shellQuote, sshCommand, TOKEN_HEADER_ENV, type AuthIo } from '../../src/git/auth.js';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { describeGitFailure, scrub } from '../../src/git/errors.js';
import { GitExecError } from '../../src/git/exec.js';
import { commitWebUrl, parseRemoteUrl, redactUrl } from '../../src/git/url.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('commit web links', () => {
  it.each([
    ['https://github.com/shop/policies.git', `https://github.com/shop/policies/commit/${SHA}`],
    ['https://github.com/shop/policies', `https://github.com/shop/policies/commit/${SHA}`],
    ['git@github.com:shop/policies.git', `https://github.com/shop/policies/commit/${SHA}`],
    ['ssh://git@github.com/shop/policies.git', `https://github.com/shop/policies/commit/${SHA}`],
    ['ssh://git@ssh.github.com:443/shop/policies.git', `https://ssh.github.com/shop/policies/commit/${SHA}`],
    ['https://gitlab.com/shop/platform/policies.git', `https://gitlab.com/shop/platform/policies/-/commit/${SHA}`],
    ['git@gitlab.com:shop/platform/policies.git', `https://gitlab.com/shop/platform/policies/-/commit/${SHA}`],
    ['ssh://git@gitlab.shop.example:2222/platform/policies.git', `https://gitlab.shop.example/platform/policies/-/commit/${SHA}`],
    ['https://gitlab.shop.example:8443/platform/policies.git', `https://gitlab.shop.example:8443/platform/policies/-/commit/${SHA}`],
    ['https://bitbucket.org/shop/policies.git', `https://bitbucket.org/shop/policies/commits/${SHA}`],
    ['git@bitbucket.org:shop/policies.git', `https://bitbucket.org/shop/policies/commits/${SHA}`],
  ])('%s', (url, link) => {
    expect(commitWebUrl(url, SHA)).toBe(link);
  });

  it('needs a known host or an explicit provider, a sha and a path', () => {
    expect(commitWebUrl('https://git.shop.example/platform/policies.git', SHA)).toBeUndefined();
    expect(commitWebUrl('https://git.shop.example/platform/policies.git', SHA, 'github')).toBe(`https://git.shop.example/platform/policies/commit/${SHA}`);
    expect(commitWebUrl('file:///srv/policies.git', SHA)).toBeUndefined();
    expect(commitWebUrl('/srv/policies.git', SHA, 'github')).toBeUndefined();
    expect(commitWebUrl('https://github.com/shop/policies.git', 'main; rm -rf')).toBeUndefined();
    expect(commitWebUrl('ext::sh', SHA)).toBeUndefined();
    // Path segments are encoded and a query is dropped: a hostile url cannot inject markup.
    expect(commitWebUrl('https://github.com/shop/<b>x?y=1.git', SHA)).toBe(`https://github.com/shop/%3Cb%3Ex/commit/${SHA}`);
    expect(commitWebUrl('git@github.com:shop/"><script>.git', SHA)).toBe(`https://github.com/shop/%22%3E%3Cscript%3E/commit/${SHA}`);
  });
});

describe('remote urls', () => {
  it('parses the forms git takes', () => {
    expect(parseRemoteUrl('git@github.com:shop/p.git')).toEqual({ transport: 'ssh', host: 'github.com', path: 'shop/p.git' });
    expect(parseRemoteUrl('github.com:shop/p.git')).toEqual({ transport: 'ssh', host: 'github.com', path: 'shop/p.git' });
    expect(parseRemoteUrl('ssh://git@h.example:2222/p.git')).toEqual({ transport: 'ssh', host: 'h.example', port: '2222', path: 'p.git' });
    expect(parseRemoteUrl('/srv/p.git')).toEqual({ transport: 'file', path: '/srv/p.git' });
    expect(parseRemoteUrl('file:///srv/p%20q.git')).toEqual({ transport: 'file', path: '/srv/p q.git' });
    expect(parseRemoteUrl('HTTPS://GitHub.com/shop/p.git')).toEqual({ transport: 'https', host: 'github.com', path: 'shop/p.git' });
    expect(parseRemoteUrl('https://[::1')).toEqual({ error: 'is not a valid URL' });
  });

  it('never shows a token that sits in a URL', () => {
    expect(redactUrl('https://x-access-token:ghp_secret@github.com/shop/p.git')).toBe('https://github.com/shop/p.git');
    expect(redactUrl('https://ghp_secret@github.com/shop/p.git')).toBe('https://github.com/shop/p.git');
    expect(redactUrl('ssh://git:pw@h/p.git')).toBe('ssh://git@h/p.git');
    expect(redactUrl('git@github.com:shop/p.git')).toBe('git@github.com:shop/p.git');
    expect(scrub("fatal: unable to access 'https://u:tok3n@h/p.git/': x tok3n", ['tok3n'])).toBe("fatal: unable to access 'https://h/p.git/': x ***");
  });
});

const io = (files: Record<string, { content?: string; mode?: number }>): AuthIo => ({
  readFile(path) {
    const f = files[path];
    if (!f || f.content === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return Buffer.from(f.content);
  },
  mode(path) {
    const f = files[path];
    if (!f) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return f.mode ?? 0o400;
  },
});

const repo = (url: string, auth?: Record<string, unknown>) => gitRepositorySchema.parse({ name: 'r', url, ...(auth ? { auth } : {}) });

describe('credentials for a git call', () => {
  it('puts an https token in an environment variable named by --config-env, scoped to the remote, never in an argument', () => {
    const plan = authPlan(repo('https://github.com:443/shop/p.git', { tokenFile: '/s/token' }), io({ '/s/token': { content: 'ghp_abc123\n' } }));
    if ('error' in plan) throw new Error(plan.error);
    expect(plan.globalArgs).toEqual([`--config-env=http.https://github.com/.extraHeader=${TOKEN_HEADER_ENV}`, '-c', 'http.followRedirects=false']);
    expect(plan.globalArgs.join(' ')).not.toContain('ghp_abc123');
    expect(plan.env).toEqual({ [TOKEN_HEADER_ENV]: `Authorization: Basic ${Buffer.from('x-access-token:ghp_abc123').toString('base64')}` });
    expect(plan.secrets).toContain('ghp_abc123');
  });

  it('keeps a non-default port in the header scope and uses the configured user name', () => {
    const plan = authPlan(repo('https://gitlab.shop.example:8443/p.git', { tokenFile: '/t', username: 'oauth2' }), io({ '/t': { content: 'glpat-x' } }));
    if ('error' in plan) throw new Error(plan.error);
    expect(plan.globalArgs[0]).toBe(`--config-env=http.https://gitlab.shop.example:8443/.extraHeader=${TOKEN_HEADER_ENV}`);
    expect(Buffer.from((plan.env[TOKEN_HEADER_ENV] as string).split(' ').pop() as string, 'base64').toString()).toBe('oauth2:glpat-x');
  });

  it.each([
    [{}, 'cannot read auth.tokenFile /t: no such file'],
    [{ '/t': { content: '' } }, 'auth.tokenFile /t is empty'],
    [{ '/t': { content: '\n\n' } }, 'auth.tokenFile /t is empty'],
    [{ '/t': { content: 'a b' } }, 'auth.tokenFile /t must hold the token alone, on one line'],
    [{ '/t': { content: 'tok\r\nX-Evil: 1\n' } }, 'auth.tokenFile /t must hold the token alone, on one line'],
    [{ '/t': { content: 'x'.repeat(9000) } }, 'auth.tokenFile /t is larger than 8192 bytes: not a token'],
  ])('refuses a bad token file %#', (files, error) => {
    expect(authPlan(repo('https://h/p.git', { tokenFile: '/t' }), io(files))).toEqual({ error });
  });

  it('builds GIT_SSH_COMMAND with the key, IdentitiesOnly and the host key policy', () => {
    const plan = authPlan(repo('git@github.com:shop/p.git', { sshKeyFile: '/s/id', knownHostsFile: '/s/known_hosts' }), io({ '/s/id': { content: 'k', mode: 0o400 } }));
    expect(plan).toEqual({
      globalArgs: [],
      env: { GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o ConnectTimeout=15 -F /dev/null -i '/s/id' -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/s/known_hosts'" },
      secrets: [],
    });
    expect(sshCommand(repo('git@h:p', { sshKeyFile: '/k', strictHostKeyChecking: 'no' }).auth)).toBe(
      "ssh -o BatchMode=yes -o ConnectTimeout=15 -F /dev/null -i '/k' -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
    );
    // Without auth: the user's ssh setup, but never a prompt.
    expect(authPlan(repo('git@h:p'), io({}))).toEqual({ globalArgs: [], env: { GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o ConnectTimeout=15' }, secrets: [] });
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it('refuses an ssh key others can read, or one that is missing', () => {
    expect(authPlan(repo('git@h:p', { sshKeyFile: '/k' }), io({ '/k': { content: 'k', mode: 0o644 } }))).toEqual({
      error: 'auth.sshKeyFile /k is readable by others (mode 0644): ssh refuses such a key; mount the Secret with defaultMode 0400',
    });
    expect(authPlan(repo('git@h:p', { sshKeyFile: '/k' }), io({}))).toEqual({ error: 'cannot read auth.sshKeyFile /k: no such file' });
  });

  it('needs nothing for a remote without auth', () => {
    expect(authPlan(repo('https://github.com/shop/p.git'), io({}))).toEqual({ globalArgs: [], env: {}, secrets: [] });
    expect(authPlan(repo('file:///srv/p.git'), io({}))).toEqual({ globalArgs: [], env: {}, secrets: [] });
  });
});

describe('why a fetch failed', () => {
  const fail = (stderr: string, failure: GitExecError['failure'] = 'exit') => describeGitFailure(new GitExecError('git fetch failed (exit 128)', [], stderr, 128, failure), { url: 'https://u:tok3n-secret@h.example/p.git', branch: 'main', secrets: ['tok3n-secret'] });

  it.each([
    ["fatal: unable to access 'https://h.example/p.git/': Could not resolve host: h.example", 'cannot resolve host h.example (DNS)'],
    ['ssh: Could not resolve hostname h.example: Name or service not known', 'cannot resolve host h.example (DNS)'],
    ["fatal: Authentication failed for 'https://h.example/p.git/'", 'the server refused the credentials (401): check auth.tokenFile and its username'],
    ["fatal: could not read Username for 'https://h.example': terminal prompts disabled", 'the server refused the credentials (401): check auth.tokenFile and its username'],
    ["fatal: unable to access 'https://h.example/p.git/': The requested URL returned error: 403", 'the server refused access (403): the token lacks read access to this repository'],
    ["remote: Repository not found.\nfatal: repository 'https://h.example/p.git/' not found", 'the repository does not exist at this url, or the credentials cannot see it'],
    ['git@h.example: Permission denied (publickey).', 'the ssh server refused the key (publickey): check auth.sshKeyFile and the deploy key'],
    ['Host key verification failed.', "ssh host key verification failed: add the server's key to auth.knownHostsFile"],
    ["fatal: couldn't find remote ref refs/heads/main", 'branch main does not exist on the remote'],
    ["fatal: unable to access 'https://h.example/p.git/': Failed to connect to h.example port 443: Connection refused", 'cannot connect to the remote (connection refused or timed out)'],
    ['error: RPC failed; curl 56 Recv failure: Connection reset by peer\nfatal: early EOF', 'the remote closed the connection during the fetch'],
    ["fatal: unable to access 'https://h.example/': SSL certificate problem: self-signed certificate", "the server's TLS certificate is not trusted"],
    ["fatal: transport 'ext' not allowed", 'transport ext is not allowed'],
    ['fatal: something new with tok3n-secret in it', 'fatal: something new with *** in it'],
  ])('%s', (stderr, reason) => {
    expect(fail(stderr)).toBe(`https://h.example/p.git: ${reason}`);
  });

  it('says when git gave no answer, and when git cannot run', () => {
    expect(describeGitFailure(new GitExecError('git fetch gave no answer within 120 s', [], '', null, 'timeout'), { url: 'https://h/p.git', branch: 'main', secrets: [] })).toBe('https://h/p.git: git fetch gave no answer within 120 s');
    expect(describeGitFailure(new GitExecError('cannot run git: spawn git ENOENT', [], '', null, 'spawn'), { url: 'https://h/p.git', branch: 'main', secrets: [] })).toBe('cannot run git: spawn git ENOENT');
  });
});
