import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError } from '../../src/config/load.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };

function withGit(git: unknown) {
  return buildConfig({ ...minimal, git }, env);
}

function problemsOf(git: unknown): string[] {
  try {
    withGit(git);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const repo = (extra: Record<string, unknown> = {}) => ({ name: 'shop', url: 'https://github.com/shop/network-policies.git', ...extra });

describe('the git section', () => {
  it('is optional, and fills defaults for a repository', () => {
    expect(buildConfig(minimal, env).git).toBeUndefined();
    const config = withGit({ repositories: [repo()] });
    expect(config.git).toEqual({
      dir: join(tmpdir(), 'netpol-responder-git'),
      maxFileBytes: 1024 * 1024,
      fetchTimeout: 120_000,
      repositories: [{ name: 'shop', url: 'https://github.com/shop/network-policies.git', branch: 'main', paths: [''], fetchInterval: 60_000 }],
    });
  });

  it('takes every field: paths normalised, durations, token and ssh auth', () => {
    const config = withGit({
      dir: '/var/lib/netpol-responder/git',
      maxFileBytes: 65536,
      fetchTimeout: '30s',
      repositories: [
        repo({ branch: 'release/2026', paths: ['./policies/', 'clusters/prod//netpol', '.'], fetchInterval: '5m', auth: { tokenFile: '/var/run/secrets/git/token', username: 'oauth2' }, provider: 'gitlab' }),
        { name: 'infra', url: 'git@github.com:shop/infra.git', auth: { sshKeyFile: '/etc/git-ssh/id_ed25519', knownHostsFile: '/etc/git-ssh/known_hosts', strictHostKeyChecking: 'accept-new' } },
        { name: 'local', url: 'file:///srv/git/policies.git' },
        { name: 'loop', url: 'http://127.0.0.1:8080/policies.git', auth: { tokenFile: '/tmp/t' } },
      ],
    });
    const [first, second] = config.git?.repositories ?? [];
    expect(first).toMatchObject({ branch: 'release/2026', paths: ['policies', 'clusters/prod/netpol', ''], fetchInterval: 300_000, auth: { tokenFile: '/var/run/secrets/git/token', username: 'oauth2', strictHostKeyChecking: 'yes' }, provider: 'gitlab' });
    expect(second?.auth).toEqual({ sshKeyFile: '/etc/git-ssh/id_ed25519', knownHostsFile: '/etc/git-ssh/known_hosts', strictHostKeyChecking: 'accept-new', username: 'x-access-token' });
    expect(config.git?.fetchTimeout).toBe(30_000);
  });

  it.each([
    [{ repositories: [repo({ url: 'ext::sh -c touch% /tmp/pwned' })] }, 'git.repositories.0.url: must not contain spaces or control characters'],
    [{ repositories: [repo({ url: 'ext::sh' })] }, 'git.repositories.0.url: uses a transport that is not supported (https, http, ssh and file are)'],
    [{ repositories: [repo({ url: 'fd::3' })] }, 'git.repositories.0.url: uses a transport that is not supported (https, http, ssh and file are)'],
    [{ repositories: [repo({ url: 'ftp://example.com/x.git' })] }, 'git.repositories.0.url: uses the transport "ftp", which is not supported (https, http, ssh and file are)'],
    [{ repositories: [repo({ url: '-oProxyCommand=touch' })] }, 'git.repositories.0.url: must not start with "-"'],
    [{ repositories: [repo({ url: 'https://x-access-token:ghp_secret@github.com/shop/p.git' })] }, 'git.repositories.0.url: must not hold a user name, password or token: put the token in auth.tokenFile'],
    [{ repositories: [repo({ url: 'https://ghp_secret@github.com/shop/p.git' })] }, 'git.repositories.0.url: must not hold a user name, password or token: put the token in auth.tokenFile'],
    [{ repositories: [repo({ url: 'policies.git' })] }, 'git.repositories.0.url: must be an https://, http://, ssh:// or file:// URL, user@host:path, or an absolute path'],
    [{ repositories: [repo({ url: 'https://github.com/' })] }, 'git.repositories.0.url: must name a repository path'],
    [{ repositories: [repo({ url: 'file://server/share/x.git' })] }, 'git.repositories.0.url: file:// URLs must name a local path (file:///srv/repo.git)'],
    [{ repositories: [repo({ url: '' })] }, 'git.repositories.0.url: must not be empty'],
    [{ repositories: [repo({ url: `https://h/${'a'.repeat(3000)}` })] }, 'git.repositories.0.url: is longer than 2048 characters'],
    [{ repositories: [repo({ branch: 'main..evil' })] }, 'git.repositories.0.branch: is not a valid branch name'],
    [{ repositories: [repo({ branch: '--upload-pack=x' })] }, 'git.repositories.0.branch: must be a branch name of letters, digits and . _ - /'],
    [{ repositories: [repo({ branch: '-x' })] }, 'git.repositories.0.branch: is not a valid branch name'],
    [{ repositories: [repo({ branch: 'a b' })] }, 'git.repositories.0.branch: must be a branch name of letters, digits and . _ - /'],
    [{ repositories: [repo({ branch: 'x.lock' })] }, 'git.repositories.0.branch: is not a valid branch name'],
    [{ repositories: [repo({ paths: ['../secrets'] })] }, 'git.repositories.0.paths.0: must not contain ".." (it must stay inside the repository)'],
    [{ repositories: [repo({ paths: ['policies', 'a/../../b'] })] }, 'git.repositories.0.paths.1: must not contain ".." (it must stay inside the repository)'],
    [{ repositories: [repo({ paths: ['/etc'] })] }, 'git.repositories.0.paths.0: must be relative to the repository root, not absolute'],
    [{ repositories: [repo({ paths: ['-x'] })] }, 'git.repositories.0.paths.0: must not start with "-" or ":"'],
    [{ repositories: [repo({ paths: [':(glob)**'] })] }, 'git.repositories.0.paths.0: must not start with "-" or ":"'],
    [{ repositories: [repo({ paths: ['a\nb'] })] }, 'git.repositories.0.paths.0: must not contain control characters or backslashes'],
    [{ repositories: [repo({ paths: [] })] }, 'git.repositories.0.paths: Too small: expected array to have >=1 items'],
    [{ repositories: [repo({ auth: { tokenFile: 'token.txt' } })] }, 'git.repositories.0.auth.tokenFile: must be an absolute path of letters, digits and . _ - / @ +'],
    [{ repositories: [repo({ auth: { tokenFile: '/run/$(reboot)' } })] }, 'git.repositories.0.auth.tokenFile: must be an absolute path of letters, digits and . _ - / @ +'],
    [{ repositories: [repo({ auth: { tokenFile: '/run/../etc/shadow' } })] }, 'git.repositories.0.auth.tokenFile: must not contain ".."'],
    [{ repositories: [repo({ url: 'git@github.com:shop/p.git', auth: { tokenFile: '/t' } })] }, 'git.repositories.0.auth.tokenFile: a token is only sent over https (the url is not https)'],
    [{ repositories: [repo({ url: 'http://git.shop.example/p.git', auth: { tokenFile: '/t' } })] }, 'git.repositories.0.auth.tokenFile: a token is only sent over https (the url is not https)'],
    [{ repositories: [repo({ auth: { sshKeyFile: '/k' } })] }, 'git.repositories.0.auth.sshKeyFile: only used with an ssh url (ssh://… or git@host:path)'],
    [{ repositories: [repo({ auth: { knownHostsFile: '/k' } })] }, 'git.repositories.0.auth.knownHostsFile: only used with an ssh url (ssh://… or git@host:path)'],
    [{ repositories: [repo({ url: 'git@h:p.git', auth: { sshKeyFile: "/k'; rm -rf /'" } })] }, 'git.repositories.0.auth.sshKeyFile: must be an absolute path of letters, digits and . _ - / @ +'],
    [{ repositories: [repo({ url: 'git@h:p.git', auth: { tokenFile: '/t', sshKeyFile: '/k' } })] }, 'git.repositories.0.auth: give either tokenFile (https) or sshKeyFile (ssh), not both'],
    [{ repositories: [repo({ url: 'git@h:p.git', auth: { sshKeyFile: '/k', strictHostKeyChecking: 'maybe' } })] }, 'git.repositories.0.auth.strictHostKeyChecking: Invalid option: expected one of "yes"|"accept-new"|"no"'],
    [{ repositories: [repo({ auth: { tokenFile: '/t', username: 'a b' } })] }, 'git.repositories.0.auth.username: must be 1-128 letters, digits or . _ @ + -'],
    [{ repositories: [repo({ auth: { password: 'x' } })] }, 'git.repositories.0.auth: Unrecognized key: "password"'],
    [{ repositories: [repo({ fetchInterval: '1s' })] }, 'git.repositories.0.fetchInterval: must be between 5s and 24h'],
    [{ repositories: [repo({ fetchInterval: 'often' })] }, 'git.repositories.0.fetchInterval: must be a duration like 30s, 15m, 2h or 7d'],
    [{ repositories: [repo({ fetchInterval: 60 })] }, 'git.repositories.0.fetchInterval: Invalid input: expected string, received number'],
    [{ repositories: [repo({ provider: 'gitea' })] }, 'git.repositories.0.provider: Invalid option: expected one of "github"|"gitlab"|"bitbucket"'],
    [{ repositories: [repo({ name: 'Shop_Policies' })] }, 'git.repositories.0.name: must be a DNS-1123 label (lower-case letters, digits, "-")'],
    [{ repositories: [repo(), repo()] }, 'git.repositories.1.name: duplicate repository name "shop"'],
    [{ repositories: [repo({ depth: 1 })] }, 'git.repositories.0: Unrecognized key: "depth"'],
    [{ repositories: Array.from({ length: 21 }, (_, i) => repo({ name: `r${i}` })) }, 'git.repositories: Too big: expected array to have <=20 items'],
    [{ dir: 'clones\u0000' }, 'git.dir: must not contain control characters'],
    [{ dir: '' }, 'git.dir: Too small: expected string to have >=1 characters'],
    [{ maxFileBytes: 10 }, 'git.maxFileBytes: Too small: expected number to be >=1024'],
    [{ fetchTimeout: '0s' }, 'git.fetchTimeout: must be between 1s and 30m'],
    [{ repository: [] }, 'git: Unrecognized key: "repository"'],
    ['yes', 'git: Invalid input: expected object, received string'],
  ])('refuses %j with the field path', (git, problem) => {
    expect(problemsOf(git)).toContain(problem);
  });
});

describe('the helm charts of a repository', () => {
  const chart = (extra: Record<string, unknown> = {}) => ({ chart: 'charts/web', releaseName: 'web', namespace: 'shop', ...extra });

  it('are optional; paths are normalised and values default to none', () => {
    expect(withGit({ repositories: [repo()] }).git?.repositories[0]?.helm).toBeUndefined();
    const config = withGit({ repositories: [repo({ helm: [chart({ chart: './charts/web/', values: ['values/prod.yaml', './values//extra.yaml'] }), chart({ releaseName: 'api', namespace: 'api' })] })] });
    expect(config.git?.repositories[0]?.helm).toEqual([
      { chart: 'charts/web', releaseName: 'web', namespace: 'shop', values: ['values/prod.yaml', 'values/extra.yaml'] },
      { chart: 'charts/web', releaseName: 'api', namespace: 'api', values: [] },
    ]);
    // The same release name in another namespace is another release.
    expect(withGit({ repositories: [repo({ helm: [chart(), chart({ namespace: 'staging' })] })] }).git?.repositories[0]?.helm).toHaveLength(2);
  });

  it.each([
    [chart({ chart: '../outside' }), 'git.repositories.0.helm.0.chart: must not contain ".." (it must stay inside the repository)'],
    [chart({ chart: '/srv/charts/web' }), 'git.repositories.0.helm.0.chart: must be relative to the repository root, not absolute'],
    [chart({ chart: '--post-renderer=/bin/sh' }), 'git.repositories.0.helm.0.chart: must not start with "-" or ":"'],
    [chart({ chart: '.' }), 'git.repositories.0.helm.0.chart: must name the chart directory inside the repository'],
    [chart({ chart: 'charts\nweb' }), 'git.repositories.0.helm.0.chart: must not contain control characters or backslashes'],
    [chart({ releaseName: 'Web_1' }), 'git.repositories.0.helm.0.releaseName: must be a DNS-1123 label (lower-case letters, digits, "-")'],
    [chart({ releaseName: '-f' }), 'git.repositories.0.helm.0.releaseName: must be a DNS-1123 label (lower-case letters, digits, "-")'],
    [chart({ releaseName: 'r'.repeat(54) }), 'git.repositories.0.helm.0.releaseName: Too big: expected string to have <=53 characters'],
    [chart({ namespace: 'shop; rm -rf /' }), 'git.repositories.0.helm.0.namespace: must be a DNS-1123 label (lower-case letters, digits, "-")'],
    [chart({ namespace: 'n'.repeat(64) }), 'git.repositories.0.helm.0.namespace: Too big: expected string to have <=63 characters'],
    [chart({ namespace: undefined }), 'git.repositories.0.helm.0.namespace: Invalid input: expected string, received undefined'],
    [chart({ values: ['a.yaml,b.yaml'] }), 'git.repositories.0.helm.0.values.0: must not contain a comma (helm splits -f on commas)'],
    [chart({ values: ['/etc/passwd'] }), 'git.repositories.0.helm.0.values.0: must be relative to the repository root, not absolute'],
    [chart({ values: ['ok.yaml', '../../secrets.yaml'] }), 'git.repositories.0.helm.0.values.1: must not contain ".." (it must stay inside the repository)'],
    [chart({ values: ['./'] }), 'git.repositories.0.helm.0.values.0: must name a file inside the repository'],
    [chart({ values: 'prod.yaml' }), 'git.repositories.0.helm.0.values: Invalid input: expected array, received string'],
    [chart({ values: Array.from({ length: 21 }, (_, i) => `v${i}.yaml`) }), 'git.repositories.0.helm.0.values: Too big: expected array to have <=20 items'],
    [chart({ set: { image: 'x' } }), 'git.repositories.0.helm.0: Unrecognized key: "set"'],
  ])('refuses the chart %j with the field path', (entry, problem) => {
    expect(problemsOf({ repositories: [repo({ helm: [entry] })] })).toContain(problem);
  });

  it('refuses a release given twice, too many charts, and a helm that is not a list', () => {
    expect(problemsOf({ repositories: [repo({ helm: [chart(), chart({ chart: 'other' })] })] })).toContain('git.repositories.0.helm.1.releaseName: duplicate release "web" in namespace "shop"');
    expect(problemsOf({ repositories: [repo({ helm: Array.from({ length: 21 }, (_, i) => chart({ releaseName: `r${i}` })) })] })).toContain(
      'git.repositories.0.helm: Too big: expected array to have <=20 items',
    );
    expect(problemsOf({ repositories: [repo({ helm: chart() })] })).toContain('git.repositories.0.helm: Invalid input: expected array, received object');
  });
});
