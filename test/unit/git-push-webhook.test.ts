import { describe, expect, it } from 'vitest';
import {
  decideGitWebhook,
  refuseBeforeBody,
  remoteIdentity,
  verifyGitHubSignature,
  verifyGitLabToken,
  type GitWebhookDecision,
  type GitWebhookRules,
} from '../../src/git/push-webhook-decision.js';
import { gitlabHeaders, gitlabPush, githubForm, githubHeaders, githubPing, githubPush, githubSignature, HEAD, SECRET, ZERO } from '../helpers/git-webhooks.js';

const REPOSITORIES = [
  { name: 'shop-policies', url: 'https://github.com/shop/policies.git', branch: 'main' },
  { name: 'platform', url: 'git@gitlab.shop.example:platform/policies.git', branch: 'production' },
];

function decide(headers: Record<string, string>, body: string | Buffer, rules: Partial<GitWebhookRules> = {}): GitWebhookDecision {
  return decideGitWebhook({ headers, body: Buffer.from(body) }, { secret: SECRET, repositories: REPOSITORIES, ...rules });
}

/** A GitHub delivery of `payload`, signed as GitHub signs it. */
function github(payload: unknown, event = 'push', rules: Partial<GitWebhookRules> = {}): GitWebhookDecision {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return decide(githubHeaders(body, event), body, rules);
}

function gitlab(payload: unknown, event = 'Push Hook', rules: Partial<GitWebhookRules> = {}): GitWebhookDecision {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return decide(gitlabHeaders(event), body, rules);
}

const githubMain = { action: 'push', provider: 'github', pushes: [{ repository: 'shop-policies', branch: 'main', commit: HEAD, provider: 'github' }] };

function refusal(decision: GitWebhookDecision): { status: number; error: string } {
  if (decision.action !== 'refuse') throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return { status: decision.status, error: decision.error };
}

function ignored(decision: GitWebhookDecision): string {
  if (decision.action !== 'ignore') throw new Error(`expected an ignored delivery, got ${JSON.stringify(decision)}`);
  return decision.reason;
}

describe('GitHub signatures (X-Hub-Signature-256)', () => {
  const body = JSON.stringify(githubPush());

  it('accepts a push signed with the secret over the raw body', () => {
    expect(github(githubPush())).toEqual(githubMain);
  });

  it('refuses a signature made with another secret, a missing one, and the SHA-1 header alone', () => {
    expect(refusal(decide(githubHeaders(body, 'push', { secret: 'another-secret-0123456789' }), body))).toEqual({ status: 401, error: 'X-Hub-Signature-256 does not match the body (check the secret)' });
    const { 'x-hub-signature-256': _omitted, ...sha1Only } = githubHeaders(body);
    expect(refusal(decide(sha1Only, body))).toEqual({ status: 401, error: 'X-Hub-Signature-256 missing (the SHA-1 X-Hub-Signature is not accepted)' });
    const { 'x-hub-signature': _sha1, ...unsigned } = sha1Only;
    expect(refusal(decide(unsigned, body))).toEqual({ status: 401, error: 'X-Hub-Signature-256 missing' });
    expect(refusal(decide({}, body))).toEqual({ status: 401, error: 'neither X-Hub-Signature-256 (GitHub) nor X-Gitlab-Token (GitLab) given' });
  });

  it.each([
    ['sha1 in the sha256 header', (good: string) => `sha1=${good.slice(7, 47)}`],
    ['sha512', (good: string) => `sha512=${good.slice(7).repeat(2)}`],
    ['no algorithm', (good: string) => good.slice(7)],
    ['one hex digit short', (good: string) => good.slice(0, -1)],
    ['one hex digit more', (good: string) => `${good}0`],
    ['not hex', (good: string) => `sha256=${'z'.repeat(64)}`.slice(0, good.length)],
    ['two signatures joined', (good: string) => `${good}, ${good}`],
    ['empty', () => ''],
  ])('refuses a malformed signature: %s', (_label, mangle) => {
    const headers = { ...githubHeaders(body), 'x-hub-signature-256': mangle(githubSignature(body)) };
    expect(refusal(decide(headers, body)).status).toBe(401);
  });

  it('refuses every delivery while the secret is empty, even one signed with the empty key', () => {
    const headers = { ...githubHeaders(body), 'x-hub-signature-256': githubSignature(body, '') };
    expect(refusal(decide(headers, body, { secret: '' }))).toEqual({ status: 401, error: 'no webhook secret is configured' });
    expect(verifyGitHubSignature(Buffer.from(body), githubSignature(body, ''), '')).toBe(false);
  });

  it('refuses a body changed after signing: another branch, another commit, spacing, one byte appended', () => {
    const headers = githubHeaders(body);
    const tampered = [
      body.replace('"refs/heads/main"', '"refs/heads/evil"'),
      body.replace(HEAD, 'f'.repeat(40)),
      JSON.stringify(JSON.parse(body), null, 2),
      `${body} `,
      body.slice(0, -1),
    ];
    for (const changed of tampered) expect(refusal(decide(headers, changed))).toEqual({ status: 401, error: 'X-Hub-Signature-256 does not match the body (check the secret)' });
  });

  it('verifies before parsing: a wrong signature on garbage is 401, the same garbage signed is 400', () => {
    for (const garbage of ['{"ref":', 'not json at all', Buffer.from([0xff, 0xfe, 0x00, 0x7b])]) {
      expect(refusal(decide({ ...githubHeaders('x'), 'x-github-event': 'push' }, garbage)).status).toBe(401);
      expect(refusal(decide(githubHeaders(garbage), garbage)).status).toBe(400);
    }
    const invalidUtf8 = Buffer.concat([Buffer.from('{"ref":"refs/heads/'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(refusal(decide(githubHeaders(invalidUtf8), invalidUtf8))).toEqual({ status: 400, error: 'body is not valid UTF-8' });
  });

  it('checks the signature over bytes, upper-case hex included, and takes header names in any case', () => {
    const raw = Buffer.from([0x00, 0xff, 0x80, 0x41]);
    expect(verifyGitHubSignature(raw, githubSignature(raw), SECRET)).toBe(true);
    expect(verifyGitHubSignature(raw, githubSignature(raw).toUpperCase().replace('SHA256=', 'sha256='), SECRET)).toBe(true);
    expect(verifyGitHubSignature(raw, undefined, SECRET)).toBe(false);
    const mixedCase = Object.fromEntries(Object.entries(githubHeaders(body)).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase()), v]));
    expect(decide(mixedCase, body)).toEqual(githubMain);
  });

  it('holds a request with GitHub headers to the HMAC even when it carries the right GitLab token', () => {
    const headers = { ...gitlabHeaders(), 'x-github-event': 'push' };
    expect(refusal(decide(headers, body))).toEqual({ status: 401, error: 'X-Hub-Signature-256 missing' });
  });
});

describe('GitHub events and bodies', () => {
  it('answers the ping, ignores events other than push, and needs X-GitHub-Event', () => {
    expect(github(githubPing(), 'ping')).toEqual({ action: 'ping', provider: 'github' });
    expect(ignored(github({ action: 'opened' }, 'pull_request'))).toBe('event "pull_request" is not a push');
    expect(ignored(github({ ref: 'v1', ref_type: 'tag' }, 'create'))).toBe('event "create" is not a push');
    const body = JSON.stringify(githubPush());
    expect(refusal(decide({ ...githubHeaders(body), 'x-github-event': '' }, body))).toEqual({ status: 400, error: 'X-GitHub-Event missing' });
  });

  it('reads the form content type (payload=<json>), signed over the raw form body', () => {
    const form = githubForm(githubPush());
    expect(form.startsWith('payload=%7B%22ref%22')).toBe(true);
    expect(decide(githubHeaders(form, 'push', { contentType: 'application/x-www-form-urlencoded' }), form)).toEqual(githubMain);
    // The signature is over the form, not over the JSON inside it.
    const json = JSON.stringify(githubPush());
    expect(refusal(decide({ ...githubHeaders(json, 'push', { contentType: 'application/x-www-form-urlencoded' }) }, form)).status).toBe(401);
  });

  it.each([
    ['no payload field', 'data=%7B%7D', 'form body needs exactly one payload field'],
    ['two payload fields', `${githubForm(githubPush())}&${githubForm(githubPush({ ref: 'refs/heads/evil' }))}`, 'form body needs exactly one payload field'],
    ['a payload that is not JSON', 'payload=%7Bref', 'payload is not valid JSON'],
    ['an empty body', '', 'form body needs exactly one payload field'],
  ])('refuses a form body with %s', (_label, form, error) => {
    expect(refusal(decide(githubHeaders(form, 'push', { contentType: 'application/x-www-form-urlencoded' }), form))).toEqual({ status: 400, error });
  });

  it('takes JSON with a charset or without a content type, and refuses other content types with 415', () => {
    const body = JSON.stringify(githubPush());
    expect(decide(githubHeaders(body, 'push', { contentType: 'application/json; charset=utf-8' }), body)).toEqual(githubMain);
    const { 'content-type': _ct, ...untyped } = githubHeaders(body);
    expect(decide(untyped, body)).toEqual(githubMain);
    expect(refusal(decide(githubHeaders(body, 'push', { contentType: 'text/plain' }), body))).toEqual({ status: 415, error: 'content type "text/plain" is not supported: send application/json' });
  });

  const push = githubPush();
  const repository = push.repository;
  it.each([
    ['an array', [push], /^payload is not a JSON object$/],
    ['null', null, /^payload is not a JSON object$/],
    ['a string', 'refs/heads/main', /^payload is not a JSON object$/],
    ['no ref', { ...push, ref: undefined }, /ref: /],
    ['a numeric ref', { ...push, ref: 7 }, /ref: /],
    ['an empty ref', { ...push, ref: '' }, /ref: /],
    ['a ref with a newline', { ...push, ref: 'refs/heads/main\nforged log line' }, /ref: must not contain control characters/],
    ['a ref of 2000 characters', { ...push, ref: `refs/heads/${'a'.repeat(2000)}` }, /ref: /],
    ['no after', { ...push, after: undefined }, /after: /],
    ['an after that is a branch name', { ...push, after: 'main' }, /after: must be a commit id of 40 or 64 hex digits/],
    ['an after of 39 hex digits', { ...push, after: HEAD.slice(1) }, /after: must be a commit id/],
    ['an after with a shell word', { ...push, after: `${HEAD.slice(0, 30)};rm -rf /` }, /after: must be a commit id/],
    ['no repository', { ...push, repository: undefined }, /repository: /],
    ['a repository without any URL', { ...push, repository: { full_name: 'shop/policies' } }, /repository: needs clone_url, ssh_url or html_url/],
    ['a numeric clone_url', { ...push, repository: { ...repository, clone_url: 5 } }, /repository\.clone_url: /],
    ['a clone_url of 3000 characters', { ...push, repository: { ...repository, clone_url: `https://github.com/${'a'.repeat(3000)}` } }, /repository\.clone_url: /],
    ['a string for deleted', { ...push, deleted: 'yes' }, /deleted: /],
  ])('refuses a push payload with %s (400, naming the field)', (_label, payload, error) => {
    const decision = refusal(github(JSON.stringify(payload)));
    expect(decision.status).toBe(400);
    expect(decision.error).toMatch(error);
  });

  it('accepts a 64-digit (SHA-256 repository) commit id and lower-cases a commit id', () => {
    const sha256 = 'ab'.repeat(32);
    expect(github(githubPush({ after: sha256 }))).toMatchObject({ action: 'push', pushes: [{ commit: sha256 }] });
    expect(github(githubPush({ after: HEAD.toUpperCase() }))).toMatchObject({ action: 'push', pushes: [{ commit: HEAD }] });
  });
});

describe('hostile sizes', () => {
  it('refuses a body over the limit with 413 before computing anything, but a bad credential first with 401', () => {
    const big = JSON.stringify({ ...githubPush(), padding: 'x'.repeat(2048) });
    expect(refusal(github(big, 'push', { maxBodyBytes: 1024 }))).toEqual({ status: 413, error: 'body larger than 1024 bytes' });
    expect(refusal(decide({ ...githubHeaders(big), 'x-hub-signature-256': 'sha1=0' }, big, { maxBodyBytes: 1024 })).status).toBe(401);
    expect(refusal(decide(gitlabHeaders('Push Hook', 'wrong-token-0123456789'), big, { maxBodyBytes: 1024 })).status).toBe(401);
    expect(refusal(gitlab(big, 'Push Hook', { maxBodyBytes: 1024 })).status).toBe(413);
    // Exactly at the limit is accepted.
    expect(github(big, 'push', { maxBodyBytes: Buffer.byteLength(big) })).toMatchObject({ action: 'push' });
  });

  it('answers deeply nested and very wide JSON inside the limit with 400 or an ignore, never a crash', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(refusal(github(deep, 'push', { maxBodyBytes: 1024 * 1024 })).status).toBe(400);
    const deepObject = `{"ref":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    expect(refusal(github(deepObject, 'push', { maxBodyBytes: 1024 * 1024 })).status).toBe(400);
    const manyCommits = { ...githubPush(), commits: Array.from({ length: 3000 }, (_, i) => ({ id: i.toString(16).padStart(40, '0'), message: 'x' })) };
    expect(github(manyCommits, 'push')).toEqual(githubMain);
  });

  it('cuts and quotes what a sender chose before it reaches a reason', () => {
    const event = `evil\n${'e'.repeat(10_000)}`;
    const reason = ignored(github({}, event));
    expect(reason.length).toBeLessThan(260);
    expect(reason).not.toMatch(/\n/);
    expect(reason.startsWith('event "evil?eeee')).toBe(true);
  });
});

describe('matching the push to the configured repositories', () => {
  it.each([
    ['https://github.com/shop/policies.git', 'github.com/shop/policies'],
    ['https://github.com/shop/policies', 'github.com/shop/policies'],
    ['https://github.com/shop/policies/', 'github.com/shop/policies'],
    ['https://GitHub.com/Shop/Policies.GIT', 'github.com/shop/policies'],
    ['https://github.com:443/shop/policies.git', 'github.com/shop/policies'],
    ['git@github.com:shop/policies.git', 'github.com/shop/policies'],
    ['github.com:shop/policies', 'github.com/shop/policies'],
    ['ssh://git@github.com/shop/policies.git', 'github.com/shop/policies'],
    ['ssh://git@ssh.github.com:443/shop/policies.git', 'ssh.github.com/shop/policies'],
    ['git@gitlab.shop.example:platform/network/policies.git', 'gitlab.shop.example/platform/network/policies'],
    ['https://gitlab.shop.example//platform//policies.git', 'gitlab.shop.example/platform/policies'],
  ])('%s is %s', (url, identity) => {
    expect(remoteIdentity(url)).toBe(identity);
  });

  it.each(['file:///srv/policies.git', '/srv/policies.git', 'https://github.com/', 'git://github.com/shop/policies.git', 'https://user:pw@github.com/shop/p.git', ''])('%j has no identity', (url) => {
    expect(remoteIdentity(url)).toBeUndefined();
  });

  it.each([
    ['https://github.com/shop/policies.git'],
    ['https://github.com/shop/policies'],
    ['git@github.com:shop/policies.git'],
    ['ssh://git@github.com/shop/policies.git'],
    ['ssh://git@github.com:22/shop/policies'],
    ['https://GITHUB.COM/SHOP/POLICIES/'],
  ])('a GitHub push matches the repository configured as %s', (url) => {
    const repositories = [{ name: 'shop-policies', url, branch: 'main' }];
    expect(github(githubPush(), 'push', { repositories })).toEqual(githubMain);
  });

  it.each([
    ['another repository of the owner', 'https://github.com/shop/policies-old.git'],
    ['another owner', 'https://github.com/other/policies.git'],
    ['another host', 'https://gitlab.com/shop/policies.git'],
    ['a longer path', 'https://github.com/shop/policies/extra.git'],
    ['a local clone', 'file:///srv/shop/policies.git'],
  ])('a GitHub push does not match %s', (_label, url) => {
    const repositories = [{ name: 'other', url, branch: 'main' }];
    expect(ignored(github(githubPush(), 'push', { repositories }))).toBe('repository "shop/policies" is not configured');
  });

  it('matches a GitHub Enterprise repository by its full_name on the host of its URLs', () => {
    const repositories = [{ name: 'ghe', url: 'git@github.shop.example:Net/Policies.git', branch: 'main' }];
    const payload = githubPush({ host: 'github.shop.example', fullName: 'net/policies' });
    expect(github(payload, 'push', { repositories })).toMatchObject({ action: 'push', pushes: [{ repository: 'ghe' }] });
  });

  it('ignores a push to another branch, naming the one followed; branch names are case-sensitive', () => {
    expect(ignored(github(githubPush({ ref: 'refs/heads/feature/open-db' })))).toBe('branch "feature/open-db" is not tracked (the configuration follows main)');
    expect(ignored(github(githubPush({ ref: 'refs/heads/Main' })))).toBe('branch "Main" is not tracked (the configuration follows main)');
  });

  it('follows a branch with slashes', () => {
    const repositories = [{ name: 'release', url: 'https://github.com/shop/policies', branch: 'release/2026.03' }];
    expect(github(githubPush({ ref: 'refs/heads/release/2026.03' }), 'push', { repositories })).toMatchObject({ action: 'push', pushes: [{ repository: 'release', branch: 'release/2026.03' }] });
  });

  it('ignores tags, other refs and the deletion of the tracked branch', () => {
    expect(ignored(github(githubPush({ ref: 'refs/tags/v1.2.0' })))).toBe('a tag push, not a branch');
    expect(ignored(github(githubPush({ ref: 'refs/pull/12/head' })))).toBe('ref "refs/pull/12/head", not a branch');
    expect(ignored(github(githubPush({ after: ZERO })))).toBe('branch "main" was deleted');
    expect(ignored(github(githubPush({ deleted: true })))).toBe('branch "main" was deleted');
  });

  it('hands one push to each configured repository that follows the remote and branch', () => {
    const repositories = [
      { name: 'prod', url: 'https://github.com/shop/policies.git', branch: 'main' },
      { name: 'prod-ssh', url: 'git@github.com:shop/policies.git', branch: 'main' },
      { name: 'staging', url: 'https://github.com/shop/policies.git', branch: 'staging' },
    ];
    const decision = github(githubPush(), 'push', { repositories });
    expect(decision).toEqual({
      action: 'push',
      provider: 'github',
      pushes: [
        { repository: 'prod', branch: 'main', commit: HEAD, provider: 'github' },
        { repository: 'prod-ssh', branch: 'main', commit: HEAD, provider: 'github' },
      ],
    });
    expect(ignored(github(githubPush({ ref: 'refs/heads/dev' }), 'push', { repositories }))).toBe('branch "dev" is not tracked (the configuration follows main, staging)');
  });
});

describe('GitLab (X-Gitlab-Token)', () => {
  const production = gitlabPush({ ref: 'refs/heads/production' });
  const pushed = { action: 'push', provider: 'gitlab', pushes: [{ repository: 'platform', branch: 'production', commit: HEAD, provider: 'gitlab' }] };

  it('accepts a push hook with the secret as token', () => {
    expect(gitlab(production)).toEqual(pushed);
  });

  it.each([
    ['missing', null, 'X-Gitlab-Token missing'],
    ['empty', '', 'X-Gitlab-Token missing'],
    ['wrong', 'wrong-token-0123456789abc', 'X-Gitlab-Token does not match the secret'],
    ['the secret with a suffix', `${SECRET}x`, 'X-Gitlab-Token does not match the secret'],
    ['the secret cut short', SECRET.slice(0, -1), 'X-Gitlab-Token does not match the secret'],
    ['the secret in upper case', SECRET.toUpperCase(), 'X-Gitlab-Token does not match the secret'],
    ['the secret with a space', ` ${SECRET}`, 'X-Gitlab-Token does not match the secret'],
  ])('refuses a token that is %s', (_label, token, error) => {
    const body = JSON.stringify(production);
    const headers = gitlabHeaders('Push Hook', token);
    expect(refusal(decide(headers, body))).toEqual({ status: 401, error });
    expect(refuseBeforeBody(headers, SECRET)).toMatchObject({ status: 401, error });
  });

  it('refuses every token while the secret is empty', () => {
    expect(refusal(decide(gitlabHeaders('Push Hook', ''), JSON.stringify(production), { secret: '' })).status).toBe(401);
    expect(verifyGitLabToken('', '')).toBe(false);
    expect(verifyGitLabToken(SECRET, SECRET)).toBe(true);
  });

  it('is refused from the headers alone before the body is read; GitHub needs the body', () => {
    expect(refuseBeforeBody(gitlabHeaders(), SECRET)).toBeUndefined();
    expect(refuseBeforeBody(githubHeaders('{}'), SECRET)).toBeUndefined();
    expect(refuseBeforeBody(githubHeaders('{}'), 'another-secret-0123456789')).toBeUndefined();
  });

  it('takes pushes from system hooks and ignores their other events, tag pushes and other hooks', () => {
    expect(gitlab(production, 'System Hook')).toEqual(pushed);
    expect(ignored(gitlab({ event_name: 'repository_update', changes: [{ before: HEAD, after: HEAD, ref: 'refs/heads/production' }] }, 'System Hook'))).toBe('object_kind "repository_update" is not a push');
    expect(ignored(gitlab({ event_name: 'project_create', name: 'x' }, 'System Hook'))).toBe('object_kind "project_create" is not a push');
    expect(ignored(gitlab(gitlabPush({ ref: 'refs/tags/v1', objectKind: 'tag_push' }), 'Tag Push Hook'))).toBe('a tag push, not a branch');
    expect(ignored(gitlab({ object_kind: 'merge_request' }, 'Merge Request Hook'))).toBe('event "Merge Request Hook" is not a push');
    expect(refusal(decide(gitlabHeaders(''), JSON.stringify(production)))).toEqual({ status: 400, error: 'X-Gitlab-Event missing' });
  });

  it('ignores another branch, another project and a deleted branch', () => {
    expect(ignored(gitlab(gitlabPush()))).toBe('branch "main" is not tracked (the configuration follows production)');
    expect(ignored(gitlab(gitlabPush({ ref: 'refs/heads/production', pathWithNamespace: 'platform/other' })))).toBe('repository "platform/other" is not configured');
    expect(ignored(gitlab(gitlabPush({ ref: 'refs/heads/production', host: 'gitlab.com' })))).toBe('repository "platform/policies" is not configured');
    expect(ignored(gitlab(gitlabPush({ ref: 'refs/heads/production', after: ZERO })))).toBe('branch "production" was deleted');
  });

  it('matches a subgroup project by https, ssh or scp-like URL, and takes checkout_sha, else after', () => {
    for (const url of ['https://gitlab.shop.example/platform/network/policies.git', 'ssh://git@gitlab.shop.example:2222/platform/network/policies.git', 'git@gitlab.shop.example:platform/network/policies']) {
      const repositories = [{ name: 'net', url, branch: 'main' }];
      expect(gitlab(gitlabPush({ pathWithNamespace: 'platform/network/policies' }), 'Push Hook', { repositories })).toMatchObject({ action: 'push', pushes: [{ repository: 'net' }] });
    }
    const other = 'c'.repeat(40);
    expect(gitlab({ ...production, checkout_sha: other })).toMatchObject({ pushes: [{ commit: other }] });
    expect(gitlab({ ...production, checkout_sha: null })).toMatchObject({ pushes: [{ commit: HEAD }] });
  });

  const { project } = production;
  it.each([
    ['no project', { ...production, project: undefined }, /project: /],
    ['a project without URLs', { ...production, project: { path_with_namespace: 'platform/policies' } }, /project: needs git_http_url, git_ssh_url or web_url/],
    ['a numeric git_http_url', { ...production, project: { ...project, git_http_url: 1 } }, /project\.git_http_url: /],
    ['no ref', { ...production, ref: undefined }, /ref: /],
    ['an after that is not a commit id', { ...production, after: 'HEAD' }, /after: must be a commit id/],
    ['a checkout_sha that is not a commit id', { ...production, checkout_sha: 'abc' }, /checkout_sha: must be a commit id/],
    ['a numeric object_kind', { ...production, object_kind: 1 }, /object_kind: /],
    ['an array', [production], /^payload is not a JSON object$/],
    ['broken JSON', '{"object_kind":"push",', /^payload is not valid JSON$/],
  ])('refuses a push hook with %s (400)', (_label, payload, error) => {
    const decision = refusal(gitlab(typeof payload === 'string' ? payload : JSON.stringify(payload)));
    expect(decision.status).toBe(400);
    expect(decision.error).toMatch(error);
  });

  it("does not take GitHub's form content type from GitLab", () => {
    const form = githubForm(production);
    expect(refusal(decide({ ...gitlabHeaders(), 'content-type': 'application/x-www-form-urlencoded' }, form)).status).toBe(415);
  });
});
