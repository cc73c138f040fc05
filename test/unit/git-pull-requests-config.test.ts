// git.repositories[].pullRequests: defaults derived from the url, and what is refused.
import { describe, expect, it } from 'vitest';
import { gitRepositorySchema, resolvePullRequests } from '../../src/git/config-schema.js';

const TOKEN = '/var/run/secrets/git/token';

/** An https remote shares its token (auth.tokenFile); an ssh or file one gives the API's own (pullRequests.tokenFile). */
function parse(url: string, pullRequests: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const web = /^https?:/.test(url);
  return gitRepositorySchema.safeParse({ name: 'shop', url, ...(web ? { auth: { tokenFile: TOKEN } } : {}), pullRequests: { ...(web ? {} : { tokenFile: TOKEN }), ...pullRequests }, ...extra });
}

function resolved(url: string, pullRequests: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const parsed = parse(url, pullRequests, extra);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return resolvePullRequests(parsed.data);
}

function refusal(url: string, pullRequests: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const parsed = parse(url, pullRequests, extra);
  expect(parsed.success).toBe(false);
  return parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

describe('pullRequests defaults', () => {
  it('github.com: provider, api.github.com, owner/name from the url, the repo\'s token and branch', () => {
    expect(resolved('https://github.com/shop/policies.git', {}, { branch: 'prod' })).toEqual({
      provider: 'github',
      apiUrl: 'https://api.github.com',
      project: 'shop/policies',
      tokenFile: TOKEN,
      baseBranch: 'prod',
      draft: false,
      labels: [],
    });
  });

  it('GitLab with subgroups, from an ssh url: https://<host>/api/v4', () => {
    expect(resolved('git@gitlab.example.com:platform/net/policies.git', {})).toMatchObject({ provider: 'gitlab', apiUrl: 'https://gitlab.example.com/api/v4', project: 'platform/net/policies' });
  });

  it('GitHub Enterprise (provider given): <origin>/api/v3, keeping an https port', () => {
    expect(resolved('https://git.corp.example:8443/team/policies', { provider: 'github' })).toMatchObject({ apiUrl: 'https://git.corp.example:8443/api/v3', project: 'team/policies' });
  });

  it('the repository\'s provider counts; explicit fields win', () => {
    expect(resolved('https://code.corp.example/a/b.git', {}, { provider: 'gitlab' })).toMatchObject({ provider: 'gitlab', apiUrl: 'https://code.corp.example/api/v4' });
    expect(
      resolved('https://github.com/shop/policies.git', { project: 'shop/other', apiUrl: 'https://api.github.com/', tokenFile: '/secrets/pr-token', baseBranch: 'main', draft: true, labels: ['security'] }),
    ).toEqual({ provider: 'github', apiUrl: 'https://api.github.com', project: 'shop/other', tokenFile: '/secrets/pr-token', baseBranch: 'main', draft: true, labels: ['security'] });
    expect(resolved('https://gitlab.com/a/b.git', { project: '12345' })).toMatchObject({ project: '12345' });
  });

  it('http only on loopback (a stand-in)', () => {
    expect(resolved('http://127.0.0.1:8080/shop/policies.git', { provider: 'gitlab' })).toMatchObject({ apiUrl: 'http://127.0.0.1:8080/api/v4' });
  });

  it('absent: no pull requests', () => {
    const parsed = gitRepositorySchema.parse({ name: 'shop', url: 'https://github.com/a/b.git' });
    expect(resolvePullRequests(parsed)).toBeUndefined();
  });
});

describe('pullRequests refused', () => {
  it('an unknown host without provider', () => {
    expect(refusal('https://code.corp.example/a/b.git', {})).toMatch(/pullRequests\.provider: .*set pullRequests\.provider/);
  });

  it('bitbucket is not a pull request provider here', () => {
    expect(refusal('https://bitbucket.org/a/b.git', {})).toContain('pullRequests.provider');
    expect(refusal('https://github.com/a/b.git', { provider: 'bitbucket' })).toContain('pullRequests.provider');
  });

  it('an http API that is not loopback, credentials or a query in it, a GitLab URL without /api/v4', () => {
    expect(refusal('https://github.com/a/b.git', { apiUrl: 'http://api.example.com' })).toContain('apiUrl must be https');
    expect(refusal('https://github.com/a/b.git', { apiUrl: 'https://user:pw@api.example.com' })).toContain('must not hold credentials');
    expect(refusal('https://github.com/a/b.git', { apiUrl: 'https://api.example.com/?x=1' })).toContain('query');
    expect(refusal('https://gitlab.com/a/b.git', { apiUrl: 'https://gitlab.com/api' })).toContain('/api/v4');
    expect(refusal('https://github.com/a/b.git', { apiUrl: 'not a url' })).toContain('not a valid URL');
  });

  it('a project of the wrong form', () => {
    expect(refusal('https://github.com/a/b.git', { project: 'a/b/c' })).toContain('owner/name');
    expect(refusal('https://github.com/a/b.git', { project: 'a/..' })).toContain('pullRequests.project');
    expect(refusal('https://gitlab.com/a/b.git', { project: 'a/../b' })).toContain('pullRequests.project');
    expect(refusal('https://github.com/just-one-part', {})).toContain('set pullRequests.project');
  });

  it('no token anywhere', () => {
    const parsed = gitRepositorySchema.safeParse({ name: 'shop', url: 'https://github.com/a/b.git', pullRequests: {} });
    expect(parsed.success ? '' : parsed.error.issues[0]?.message).toContain('set pullRequests.tokenFile');
  });

  it('a file url needs provider, apiUrl and project', () => {
    expect(refusal('file:///srv/policies.git', { provider: 'github' })).toContain('pullRequests.apiUrl');
    expect(refusal('file:///srv/policies.git', { provider: 'github', apiUrl: 'https://api.github.com' })).toContain('pullRequests.project');
    expect(resolved('file:///srv/policies.git', { provider: 'github', apiUrl: 'https://api.github.com', project: 'a/b' })).toMatchObject({ project: 'a/b' });
  });

  it('unknown fields, bad labels, a bad base branch, a relative tokenFile', () => {
    expect(refusal('https://github.com/a/b.git', { reviewers: ['x'] })).toMatch(/pullRequests/);
    expect(refusal('https://github.com/a/b.git', { labels: ['a,b'] })).toContain('without commas');
    expect(refusal('https://github.com/a/b.git', { labels: Array.from({ length: 21 }, (_, i) => `l${i}`) })).toMatch(/pullRequests\.labels/);
    expect(refusal('https://github.com/a/b.git', { baseBranch: '--force' })).toContain('pullRequests.baseBranch');
    expect(refusal('https://github.com/a/b.git', { tokenFile: 'token.txt' })).toContain('pullRequests.tokenFile');
    expect(refusal('https://github.com/a/b.git', { draft: 'yes' })).toContain('pullRequests.draft');
  });
});
