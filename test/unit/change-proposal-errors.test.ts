// Change proposals, the pure parts: which requests are refused, what git's and the APIs' failures
// become (reason and message, never a token), and the hosts' compare links.
import { describe, expect, it } from 'vitest';
import { ChangeProposalError, type ChangeProposalRequest } from '../../src/git/change-proposal.js';
import { GitExecError } from '../../src/git/exec.js';
import { compareWebUrl } from '../../src/git/propose-changes.js';
import { checkProposalRequest, pathProblem, pushFailure } from '../../src/git/propose-checks.js';
import { apiFailure, readApiToken } from '../../src/git/pull-request.js';

const TOKEN = 'ghp_secretsecret123';
const ctx = { repository: 'shop', url: 'https://github.com/shop/policies.git', branch: 'netpol-responder/x', secrets: [TOKEN] };
const gitFailure = (stderr: string, failure: GitExecError['failure'] = 'exit') => pushFailure(new GitExecError('git push failed (exit 128)', ['push'], stderr, 128, failure), ctx);

describe('push failures', () => {
  it.each([
    ['fatal: Authentication failed for \'https://github.com/shop/policies.git/\'', 'auth', 'git.repositories[shop].auth.tokenFile'],
    ['fatal: could not read Username for \'https://github.com\': terminal prompts disabled', 'auth', 'auth.tokenFile'],
    ['remote: Permission to shop/policies.git denied to bot.\nfatal: unable to access \'https://github.com/shop/policies.git/\': The requested URL returned error: 403', 'auth', 'lacks write access'],
    [
      'remote: error: GH006: Protected branch update failed for refs/heads/netpol-responder/x.\nremote: error: Changes must be made through a pull request.\n ! [remote rejected] abc -> netpol-responder/x (pre-receive hook declined)',
      'protected-branch',
      'protected branch',
    ],
    ['remote: GitLab: You are not allowed to push code to protected branches on this project.\n ! [remote rejected] (pre-receive hook declined)', 'protected-branch', 'protected branch'],
    ['remote: protected branch hook declined\n ! [remote rejected] (pre-receive hook declined)', 'protected-branch', 'netpol-responder/x'],
    [
      " ! [remote rejected] abc -> netpol-responder/x (refusing to allow a Personal Access Token to create or update workflow `.github/workflows/netpol.yaml` without `workflow` scope)",
      'auth',
      'workflow" scope',
    ],
    ['remote: Repository not found.\nfatal: repository \'https://github.com/shop/policies.git/\' not found', 'not-found', 'cannot see it'],
    ['fatal: unable to access \'https://github.com/shop/policies.git/\': Could not resolve host: github.com', 'unreachable', 'could not resolve host'],
    ['fatal: unable to access \'https://github.com/\': Failed to connect to github.com port 443: Connection refused', 'unreachable', 'cannot reach'],
    [' ! [rejected]        abc -> netpol-responder/x (stale info)\nerror: failed to push some refs', 'conflict', 'changed on the remote'],
    ['error: something else entirely', 'other', 'something else entirely'],
  ])('%s', (stderr, reason, text) => {
    const error = gitFailure(stderr);
    expect(error).toBeInstanceOf(ChangeProposalError);
    expect(error.reason).toBe(reason);
    expect(error.message.toLowerCase()).toContain(text.toLowerCase());
  });

  it('a timeout is unreachable; the token never appears, even when git echoes it', () => {
    expect(gitFailure('', 'timeout').reason).toBe('unreachable');
    const error = gitFailure(`fatal: unable to access 'https://x-access-token:${TOKEN}@github.com/': weird ${TOKEN}`);
    expect(error.message).not.toContain(TOKEN);
  });
});

describe('API failures', () => {
  const github = { provider: 'github' as const, apiUrl: 'https://api.github.com', project: 'shop/policies' };
  const gitlab = { provider: 'gitlab' as const, apiUrl: 'https://gitlab.example.com/api/v4', project: 'platform/policies' };
  const api = { repository: 'shop', tokenSetting: 'pullRequests.tokenFile' as const };

  it('401 names the token file; 404 names pullRequests.project', () => {
    expect(apiFailure({ status: 401, message: 'Bad credentials' }, github, api)).toMatchObject({ reason: 'auth', message: expect.stringContaining('git.repositories[shop].pullRequests.tokenFile') });
    expect(apiFailure({ status: 404, message: 'Not Found' }, gitlab, api)).toMatchObject({ reason: 'not-found', message: expect.stringContaining('git.repositories[shop].pullRequests.project') });
  });

  it('403 and 422 with a protected branch, no commits between, an existing request', () => {
    expect(apiFailure({ status: 403, message: 'Resource not accessible by integration' }, github, api).reason).toBe('auth');
    expect(apiFailure({ status: 403, message: 'API rate limit exceeded' }, github, api).reason).toBe('other');
    expect(apiFailure({ status: 422, message: 'Validation Failed: protected branch rules forbid this' }, github, api).reason).toBe('protected-branch');
    expect(apiFailure({ status: 422, message: 'Validation Failed: No commits between main and x' }, github, api)).toMatchObject({ reason: 'conflict', message: expect.stringContaining('no commits between') });
    expect(apiFailure({ status: 409, message: 'Another open merge request already exists for this source branch: !1' }, gitlab, api)).toMatchObject({ reason: 'conflict', message: expect.stringContaining('merge request') });
    expect(apiFailure({ status: 422, message: 'Validation Failed: head invalid' }, github, api).reason).toBe('invalid');
  });

  it('no answer is unreachable; other statuses are other; the token is scrubbed', () => {
    expect(apiFailure({ status: undefined, message: 'connect ECONNREFUSED 127.0.0.1:1' }, github, api)).toMatchObject({ reason: 'unreachable', message: expect.stringContaining('https://api.github.com') });
    expect(apiFailure({ status: 502, message: `bad gateway ${TOKEN}` }, github, api, [TOKEN])).toMatchObject({ reason: 'other', message: expect.not.stringContaining(TOKEN) });
  });

  it('the token file: read, trimmed, refused when empty or not one line', () => {
    const read = (content: string) => () => Buffer.from(content);
    expect(readApiToken('/t', api, read(`${TOKEN}\n`))).toBe(TOKEN);
    expect(() => readApiToken('/t', api, read(''))).toThrow(/pullRequests\.tokenFile \/t must hold the token alone/);
    expect(() => readApiToken('/t', api, read('a b\n'))).toThrow(ChangeProposalError);
    const missing = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };
    expect(() => readApiToken('/t', api, missing)).toThrow(/cannot read git.repositories\[shop\]\.pullRequests\.tokenFile \/t: ENOENT/);
  });
});

describe('request checks', () => {
  const ok: ChangeProposalRequest = { branch: 'netpol-responder/harden-1', title: 'Harden', body: 'Why', files: [{ path: 'policies/a.yaml', content: 'a: 1\n' }] };
  const refused = (extra: Partial<ChangeProposalRequest>) => {
    try {
      checkProposalRequest({ ...ok, ...extra });
    } catch (error) {
      expect(error).toBeInstanceOf(ChangeProposalError);
      expect((error as ChangeProposalError).reason).toBe('invalid');
      return (error as Error).message;
    }
    throw new Error('not refused');
  };

  it('a good request passes', () => {
    expect(() => checkProposalRequest(ok)).not.toThrow();
  });

  it('paths', () => {
    expect(pathProblem('policies/a.yaml')).toBeUndefined();
    expect(pathProblem('a/./b')).toContain('"."');
    expect(pathProblem('a//b')).toContain('empty');
    expect(pathProblem('a/b/')).toBeDefined();
    expect(pathProblem('x/.GIT/config')).toContain('.git');
    expect(pathProblem('a\\b')).toContain('backslash');
    expect(pathProblem('a\u007fb')).toContain('control');
    expect(pathProblem(':a')).toContain('":"');
    expect(pathProblem('x'.repeat(1025))).toContain('longer');
  });

  it('files: duplicates, a file that is another\'s directory, sizes, non-text', () => {
    expect(refused({ files: [ok.files[0]!, ok.files[0]!] })).toContain('twice');
    expect(refused({ files: [{ path: 'a', content: '' }, { path: 'a/b.yaml', content: '' }] })).toContain('also the directory');
    expect(refused({ files: Array.from({ length: 9 }, (_, i) => ({ path: `f${i}`, content: 'x'.repeat(1024 * 1024) })) })).toContain('add up to');
    expect(refused({ files: [{ path: 'a', content: 42 as unknown as string }] })).toContain('no text content');
  });

  it('title, body, author, branch', () => {
    expect(refused({ title: '  ' })).toContain('empty');
    expect(refused({ title: 'x'.repeat(201) })).toContain('longer');
    expect(refused({ body: 'a\u0000b' })).toContain('NUL');
    expect(refused({ author: { name: 'Eve <evil>', email: 'e@x' } })).toContain('author');
    expect(refused({ branch: 'a..b' })).toContain('branch');
    expect(refused({ branch: '' })).toContain('branch');
  });
});

describe('compare links', () => {
  it('GitHub, GitLab and Bitbucket, from https and ssh urls', () => {
    expect(compareWebUrl({ url: 'git@github.com:shop/policies.git' }, 'main', 'netpol-responder/x')).toBe('https://github.com/shop/policies/compare/main...netpol-responder/x?expand=1');
    expect(compareWebUrl({ url: 'https://gitlab.com/platform/net/policies.git' }, 'main', 'b')).toBe(
      'https://gitlab.com/platform/net/policies/-/merge_requests/new?merge_request%5Bsource_branch%5D=b&merge_request%5Btarget_branch%5D=main',
    );
    expect(compareWebUrl({ url: 'https://bitbucket.org/shop/policies.git' }, 'main', 'b')).toBe('https://bitbucket.org/shop/policies/pull-requests/new?source=b&dest=main');
    expect(compareWebUrl({ url: 'https://code.corp.example:8443/a/b.git', provider: 'gitlab' }, 'main', 'b')).toMatch(/^https:\/\/code\.corp\.example:8443\/a\/b\/-\/merge_requests\/new\?/);
  });

  it('undefined for an unknown host or a file url', () => {
    expect(compareWebUrl({ url: 'https://code.corp.example/a/b.git' }, 'main', 'b')).toBeUndefined();
    expect(compareWebUrl({ url: 'file:///srv/policies.git', provider: 'github' }, 'main', 'b')).toBeUndefined();
  });
});
