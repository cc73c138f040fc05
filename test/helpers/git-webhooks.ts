// Push webhook deliveries as GitHub and GitLab send them: the payload layout of their documented
// push (and ping) events, the headers, and GitHub's signature computed here with node:crypto.
import { createHmac, randomUUID } from 'node:crypto';

export const SECRET = 'push-webhook-secret-0123456789';
export const HEAD = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
export const BEFORE = '95790bf891e76fee5e1747ab589903a6a1f80f22';
export const ZERO = '0000000000000000000000000000000000000000';

/** `sha256=<hex>`: the HMAC-SHA256 of the raw body keyed with the secret, as GitHub computes it. */
export function githubSignature(body: string | Buffer, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function githubCommit(id: string, message: string) {
  return {
    id,
    tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
    distinct: true,
    message,
    timestamp: '2026-03-02T10:04:11+01:00',
    url: `https://github.com/shop/policies/commit/${id}`,
    author: { name: 'Alice Admin', email: 'alice@shop.example', username: 'alice' },
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: [],
    removed: [],
    modified: ['frontend/allow-web.yaml'],
  };
}

/** The `repository` object of GitHub's push event (repository webhooks). */
export function githubRepository(fullName = 'shop/policies', host = 'github.com') {
  const [owner = 'shop', name = 'policies'] = fullName.split('/');
  return {
    id: 186853002,
    node_id: 'MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=',
    name,
    full_name: fullName,
    private: true,
    owner: { name: owner, email: null, login: owner, id: 21031067, node_id: 'MDQ6VXNlcjIxMDMxMDY3', avatar_url: `https://avatars.githubusercontent.com/u/21031067?v=4`, type: 'Organization', site_admin: false },
    html_url: `https://${host}/${fullName}`,
    description: 'NetworkPolicies applied by Argo CD',
    fork: false,
    url: `https://${host}/${fullName}`,
    git_url: `git://${host}/${fullName}.git`,
    ssh_url: `git@${host}:${fullName}.git`,
    clone_url: `https://${host}/${fullName}.git`,
    svn_url: `https://${host}/${fullName}`,
    homepage: null,
    size: 12,
    default_branch: 'main',
    master_branch: 'main',
    created_at: 1557933565,
    updated_at: '2026-03-02T09:04:11Z',
    pushed_at: 1772442251,
    visibility: 'private',
  };
}

export function githubPush(options: { ref?: string; after?: string; fullName?: string; host?: string; deleted?: boolean } = {}) {
  const after = options.after ?? HEAD;
  const deleted = options.deleted ?? after === ZERO;
  const commits = deleted ? [] : [githubCommit(after, 'frontend: allow web to reach the API on 8080')];
  const fullName = options.fullName ?? 'shop/policies';
  return {
    ref: options.ref ?? 'refs/heads/main',
    before: BEFORE,
    after,
    repository: githubRepository(fullName, options.host),
    pusher: { name: 'alice', email: 'alice@shop.example' },
    organization: { login: 'shop', id: 21031067 },
    sender: { login: 'alice', id: 6752317, node_id: 'MDQ6VXNlcjY3NTIzMTc=', type: 'User', site_admin: false },
    created: false,
    deleted,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${fullName}/compare/${BEFORE.slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: commits[0] ?? null,
  };
}

export function githubPing() {
  return {
    zen: 'Keep it logically awesome.',
    hook_id: 109948940,
    hook: {
      type: 'Repository',
      id: 109948940,
      name: 'web',
      active: true,
      events: ['push'],
      config: { content_type: 'json', insecure_ssl: '0', url: 'https://netpol.shop.example/webhooks/git' },
      updated_at: '2026-03-02T09:00:00Z',
      created_at: '2026-03-02T09:00:00Z',
    },
    repository: githubRepository(),
    sender: { login: 'alice', id: 6752317, type: 'User' },
  };
}

/** Headers GitHub sends with a delivery, signed over `body`. */
export function githubHeaders(body: string | Buffer, event = 'push', options: { secret?: string; contentType?: string } = {}): Record<string, string> {
  return {
    'content-type': options.contentType ?? 'application/json',
    'user-agent': 'GitHub-Hookshot/7f3c2b1',
    'x-github-delivery': randomUUID(),
    'x-github-event': event,
    'x-github-hook-id': '109948940',
    'x-github-hook-installation-target-id': '186853002',
    'x-github-hook-installation-target-type': 'repository',
    'x-hub-signature': `sha1=${createHmac('sha1', options.secret ?? SECRET).update(body).digest('hex')}`,
    'x-hub-signature-256': githubSignature(body, options.secret),
  };
}

/** GitHub's "application/x-www-form-urlencoded" content type: the JSON in a `payload` field. */
export function githubForm(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** GitLab's push event (project webhooks; system hooks send the same for pushes). */
export function gitlabPush(options: { ref?: string; after?: string; pathWithNamespace?: string; host?: string; objectKind?: string } = {}) {
  const host = options.host ?? 'gitlab.shop.example';
  const path = options.pathWithNamespace ?? 'platform/policies';
  const after = options.after ?? HEAD;
  const deleted = after === ZERO;
  const web = `https://${host}/${path}`;
  const commits = deleted
    ? []
    : [
        {
          id: after,
          message: 'frontend: allow web to reach the API on 8080\n',
          title: 'frontend: allow web to reach the API on 8080',
          timestamp: '2026-03-02T10:04:11+01:00',
          url: `${web}/-/commit/${after}`,
          author: { name: 'Alice Admin', email: 'alice@shop.example' },
          added: [],
          modified: ['frontend/allow-web.yaml'],
          removed: [],
        },
      ];
  return {
    object_kind: options.objectKind ?? 'push',
    event_name: options.objectKind ?? 'push',
    before: BEFORE,
    after,
    ref: options.ref ?? 'refs/heads/main',
    ref_protected: true,
    checkout_sha: deleted ? null : after,
    message: null,
    user_id: 4,
    user_name: 'Alice Admin',
    user_username: 'alice',
    user_email: '',
    user_avatar: 'https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80',
    project_id: 15,
    project: {
      id: 15,
      name: path.split('/').at(-1),
      description: 'NetworkPolicies applied by Flux',
      web_url: web,
      avatar_url: null,
      git_ssh_url: `git@${host}:${path}.git`,
      git_http_url: `${web}.git`,
      namespace: 'Platform',
      visibility_level: 0,
      path_with_namespace: path,
      default_branch: 'main',
      ci_config_path: null,
      homepage: web,
      url: `git@${host}:${path}.git`,
      ssh_url: `git@${host}:${path}.git`,
      http_url: `${web}.git`,
    },
    commits,
    total_commits_count: commits.length,
    push_options: {},
    repository: {
      name: path.split('/').at(-1),
      url: `git@${host}:${path}.git`,
      description: 'NetworkPolicies applied by Flux',
      homepage: web,
      git_http_url: `${web}.git`,
      git_ssh_url: `git@${host}:${path}.git`,
      visibility_level: 0,
    },
  };
}

/** Headers GitLab sends with a delivery; the token is the secret itself (null: no token header). */
export function gitlabHeaders(event = 'Push Hook', token: string | null = SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitLab/17.9.1',
    'x-gitlab-event': event,
    'x-gitlab-instance': 'https://gitlab.shop.example',
    'x-gitlab-webhook-uuid': '2cbb2a42-9e1c-4b33-9c4c-1b0f3c2d0a11',
    'x-gitlab-event-uuid': randomUUID(),
    'idempotency-key': randomUUID(),
    ...(token === null ? {} : { 'x-gitlab-token': token }),
  };
}
