// What a push webhook delivery asks for (pure): GitHub's X-Hub-Signature-256 or GitLab's
// X-Gitlab-Token is verified first, over the raw bytes, before anything of the body is parsed;
// then the push is matched to the configured policy repositories by remote identity and branch.
// The HTTP layer (push-webhook.ts) reads the body and turns the decision into an answer.
import { createHmac } from 'node:crypto';
import { sameDigest, tokenMatches } from '../webhook-token.js';
import { z } from 'zod';
import type { GitRepositoryConfig } from './config-schema.js';
import { parseRemoteUrl } from './url.js';

export const DEFAULT_GIT_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

export type GitPushProvider = 'github' | 'gitlab';

/** A push to the tracked branch of a configured repository. */
export interface GitPush {
  /** The repository's name in the configuration. */
  repository: string;
  branch: string;
  /** The branch's new head. */
  commit?: string;
  provider: GitPushProvider;
}

export type GitWebhookDecision =
  /** One push per configured repository that tracks this remote and branch. */
  | { action: 'push'; provider: GitPushProvider; pushes: GitPush[] }
  | { action: 'ignore'; provider: GitPushProvider; reason: string }
  /** GitHub's ping when the webhook is created. */
  | { action: 'ping'; provider: 'github' }
  | { action: 'refuse'; status: 400 | 401 | 413 | 415; provider?: GitPushProvider; error: string };

export type RefusalStatus = Extract<GitWebhookDecision, { action: 'refuse' }>['status'];

export interface GitWebhookRequest {
  /** Header names in any case, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body: the signature is over these bytes, not over a re-encoded string. */
  body: Uint8Array;
}

export interface GitWebhookRules {
  secret: string;
  repositories: readonly Pick<GitRepositoryConfig, 'name' | 'url' | 'branch'>[];
  maxBodyBytes?: number;
}

type Refusal = Extract<GitWebhookDecision, { action: 'refuse' }>;

const ZERO_SHA = /^0+$/;
const MAX_QUOTED = 200;

export function headerOf(headers: GitWebhookRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
    return value;
  }
  return undefined;
}

/** An attacker-chosen string as it may appear in a reason: quoted, cut, no control characters. */
function quote(text: string): string {
  // Control characters and bidi overrides / invisible marks (which reorder what the reader sees).
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '?');
  return JSON.stringify(clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean);
}

function refuse(status: RefusalStatus, error: string, provider?: GitPushProvider): Refusal {
  return { action: 'refuse', status, error, ...(provider ? { provider } : {}) };
}

/** GitHub's headers win: a request carrying both kinds is held to the HMAC, the stricter proof. */
export function providerOf(headers: GitWebhookRequest['headers']): GitPushProvider | undefined {
  if (['x-github-event', 'x-hub-signature-256', 'x-hub-signature'].some((h) => headerOf(headers, h) !== undefined)) return 'github';
  if (['x-gitlab-event', 'x-gitlab-token'].some((h) => headerOf(headers, h) !== undefined)) return 'gitlab';
  return undefined;
}

/** `sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>`, compared in constant time. */
export function verifyGitHubSignature(body: Uint8Array, signature: string | undefined, secret: string): boolean {
  if (!secret || signature === undefined) return false;
  const hex = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim())?.[1];
  if (!hex) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return sameDigest(Buffer.from(hex, 'hex'), expected);
}

/** GitLab sends the secret itself; compared in constant time over SHA-256 digests (lengths differ). */
export function verifyGitLabToken(token: string | undefined, secret: string): boolean {
  return tokenMatches(token, secret);
}

/**
 * What can be refused from the headers alone, before a byte of the body is read: no or a
 * malformed credential, a wrong GitLab token (GitHub's signature needs the body).
 */
export function refuseBeforeBody(headers: GitWebhookRequest['headers'], secret: string): Refusal | undefined {
  const provider = providerOf(headers);
  if (!secret) return refuse(401, 'no webhook secret is configured', provider);
  if (provider === undefined) return refuse(401, 'neither X-Hub-Signature-256 (GitHub) nor X-Gitlab-Token (GitLab) given');
  if (provider === 'github') {
    const signature = headerOf(headers, 'x-hub-signature-256');
    if (signature === undefined) {
      const legacy = headerOf(headers, 'x-hub-signature') !== undefined;
      return refuse(401, legacy ? 'X-Hub-Signature-256 missing (the SHA-1 X-Hub-Signature is not accepted)' : 'X-Hub-Signature-256 missing', provider);
    }
    if (!/^sha256=[0-9a-fA-F]{64}$/.test(signature.trim())) return refuse(401, 'X-Hub-Signature-256 is not sha256=<64 hex digits>', provider);
    return undefined;
  }
  const token = headerOf(headers, 'x-gitlab-token');
  if (token === undefined || token === '') return refuse(401, 'X-Gitlab-Token missing', provider);
  if (!verifyGitLabToken(token, secret)) return refuse(401, 'X-Gitlab-Token does not match the secret', provider);
  return undefined;
}

/**
 * The identity of a remote, the same for every way of writing it: host (no port, no user) and
 * path, lower-cased, without trailing slashes or `.git`. So `https://GitHub.com/Shop/Policies`,
 * `ssh://git@github.com:22/shop/policies.git` and `git@github.com:shop/policies.git` are one.
 * Paths are compared without case because GitHub and GitLab resolve them so; a file remote has
 * no identity a push could name.
 */
export function remoteIdentity(url: string): string | undefined {
  const remote = parseRemoteUrl(url);
  if ('error' in remote || remote.transport === 'file' || !remote.host) return undefined;
  const path = remote.path
    .split('/')
    .filter((part) => part !== '')
    .join('/')
    .replace(/\.git$/i, '');
  if (path === '') return undefined;
  return `${remote.host}/${path}`.toLowerCase();
}

const refSchema = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .refine((ref) => !/[\x00-\x1f\x7f]/.test(ref), 'must not contain control characters');
const shaSchema = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, 'must be a commit id of 40 or 64 hex digits')
  .transform((sha) => sha.toLowerCase());
const urlField = z.string().max(2048).optional();

const githubPushSchema = z.object({
  ref: refSchema,
  after: shaSchema,
  deleted: z.boolean().optional(),
  repository: z
    .object({ clone_url: urlField, ssh_url: urlField, html_url: urlField, full_name: z.string().max(512).optional() })
    .refine((r) => r.clone_url !== undefined || r.ssh_url !== undefined || r.html_url !== undefined, 'needs clone_url, ssh_url or html_url'),
});

const gitlabProjectSchema = z
  .object({
    git_http_url: urlField,
    git_ssh_url: urlField,
    web_url: urlField,
    http_url: urlField,
    ssh_url: urlField,
    path_with_namespace: z.string().max(512).optional(),
  })
  .refine((p) => p.git_http_url !== undefined || p.git_ssh_url !== undefined || p.web_url !== undefined, 'needs git_http_url, git_ssh_url or web_url');

const gitlabPushSchema = z.object({
  ref: refSchema,
  after: shaSchema,
  checkout_sha: shaSchema.nullable().optional(),
  project: gitlabProjectSchema,
});

const gitlabKindSchema = z.object({ object_kind: z.string().max(64).optional(), event_name: z.string().max(64).optional() });

interface PushFacts {
  provider: GitPushProvider;
  ref: string;
  commit: string;
  deleted: boolean;
  /** Every identity the payload gives for the pushed repository. */
  identities: Set<string>;
  /** How the pushed repository is named in reasons. */
  label: string;
}

function identitiesOf(urls: (string | undefined)[], path: string | undefined): Set<string> {
  const identities = new Set<string>();
  const hosts = new Set<string>();
  for (const url of urls) {
    if (url === undefined) continue;
    const identity = remoteIdentity(url);
    if (identity === undefined) continue;
    identities.add(identity);
    hosts.add(identity.split('/')[0] as string);
  }
  // The "owner/name" the payload states, on each host its URLs name.
  const named = path === undefined ? undefined : path.split('/').filter((p) => p !== '').join('/');
  if (named) for (const host of hosts) identities.add(`${host}/${named}`.toLowerCase());
  return identities;
}

function decodeUtf8(body: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** The JSON document of the body: `application/json`, or GitHub's form type with `payload=<json>`. */
function jsonOf(body: Uint8Array, contentType: string | undefined, provider: GitPushProvider): { document: unknown } | Refusal {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = decodeUtf8(body);
  if (text === undefined) return refuse(400, 'body is not valid UTF-8', provider);
  let json: string;
  if (type === 'application/json' || type === '') json = text;
  else if (type === 'application/x-www-form-urlencoded' && provider === 'github') {
    const payloads = new URLSearchParams(text).getAll('payload');
    if (payloads.length !== 1) return refuse(400, 'form body needs exactly one payload field', provider);
    json = payloads[0] as string;
  } else return refuse(415, `content type ${quote(type)} is not supported: send application/json`, provider);
  try {
    const document: unknown = JSON.parse(json);
    if (typeof document !== 'object' || document === null || Array.isArray(document)) return refuse(400, 'payload is not a JSON object', provider);
    return { document };
  } catch {
    return refuse(400, 'payload is not valid JSON', provider);
  }
}

function shapeProblem(error: z.ZodError, provider: GitPushProvider): Refusal {
  const issues = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return refuse(400, `payload lacks what a push event has: ${issues.join('; ')}`, provider);
}

function githubFacts(headers: GitWebhookRequest['headers'], body: Uint8Array): PushFacts | Exclude<GitWebhookDecision, { action: 'push' }> {
  const event = headerOf(headers, 'x-github-event');
  if (event === undefined || event === '') return refuse(400, 'X-GitHub-Event missing', 'github');
  if (event === 'ping') return { action: 'ping', provider: 'github' };
  if (event !== 'push') return { action: 'ignore', provider: 'github', reason: `event ${quote(event)} is not a push` };
  const json = jsonOf(body, headerOf(headers, 'content-type'), 'github');
  if (!('document' in json)) return json;
  const parsed = githubPushSchema.safeParse(json.document);
  if (!parsed.success) return shapeProblem(parsed.error, 'github');
  const { ref, after, deleted, repository } = parsed.data;
  return {
    provider: 'github',
    ref,
    commit: after,
    deleted: deleted === true || ZERO_SHA.test(after),
    identities: identitiesOf([repository.clone_url, repository.ssh_url, repository.html_url], repository.full_name),
    label: repository.full_name ?? repository.html_url ?? repository.clone_url ?? repository.ssh_url ?? '?',
  };
}

function gitlabFacts(headers: GitWebhookRequest['headers'], body: Uint8Array): PushFacts | Exclude<GitWebhookDecision, { action: 'push' }> {
  const event = headerOf(headers, 'x-gitlab-event');
  if (event === undefined || event === '') return refuse(400, 'X-Gitlab-Event missing', 'gitlab');
  if (event === 'Tag Push Hook') return { action: 'ignore', provider: 'gitlab', reason: 'a tag push, not a branch' };
  if (event !== 'Push Hook' && event !== 'System Hook') return { action: 'ignore', provider: 'gitlab', reason: `event ${quote(event)} is not a push` };
  const json = jsonOf(body, headerOf(headers, 'content-type'), 'gitlab');
  if (!('document' in json)) return json;
  const kind = gitlabKindSchema.safeParse(json.document);
  if (!kind.success) return shapeProblem(kind.error, 'gitlab');
  // A system hook carries every kind of instance event; only its pushes matter here.
  const objectKind = kind.data.object_kind ?? kind.data.event_name;
  if (objectKind !== 'push') return { action: 'ignore', provider: 'gitlab', reason: `object_kind ${quote(objectKind ?? '(none)')} is not a push` };
  const parsed = gitlabPushSchema.safeParse(json.document);
  if (!parsed.success) return shapeProblem(parsed.error, 'gitlab');
  const { ref, after, checkout_sha, project } = parsed.data;
  const deleted = ZERO_SHA.test(after);
  return {
    provider: 'gitlab',
    ref,
    commit: deleted ? after : (checkout_sha ?? after),
    deleted,
    identities: identitiesOf([project.git_http_url, project.git_ssh_url, project.web_url, project.http_url, project.ssh_url], project.path_with_namespace),
    label: project.path_with_namespace ?? project.web_url ?? project.git_http_url ?? project.git_ssh_url ?? '?',
  };
}

function matchPush(facts: PushFacts, repositories: GitWebhookRules['repositories']): GitWebhookDecision {
  const { provider } = facts;
  const sameRemote = repositories.filter((repo) => {
    const identity = remoteIdentity(repo.url);
    return identity !== undefined && facts.identities.has(identity);
  });
  if (sameRemote.length === 0) return { action: 'ignore', provider, reason: `repository ${quote(facts.label)} is not configured` };
  if (!facts.ref.startsWith('refs/heads/')) {
    const what = facts.ref.startsWith('refs/tags/') ? 'a tag push' : `ref ${quote(facts.ref)}`;
    return { action: 'ignore', provider, reason: `${what}, not a branch` };
  }
  const branch = facts.ref.slice('refs/heads/'.length);
  const tracking = sameRemote.filter((repo) => repo.branch === branch);
  if (tracking.length === 0) {
    const tracked = [...new Set(sameRemote.map((repo) => repo.branch))].join(', ');
    return { action: 'ignore', provider, reason: `branch ${quote(branch)} is not tracked (the configuration follows ${tracked})` };
  }
  if (facts.deleted) return { action: 'ignore', provider, reason: `branch ${quote(branch)} was deleted` };
  return { action: 'push', provider, pushes: tracking.map((repo) => ({ repository: repo.name, branch, commit: facts.commit, provider })) };
}

/** The decision for one delivery. Verification comes first: nothing of an unverified body is parsed. */
export function decideGitWebhook(request: GitWebhookRequest, rules: GitWebhookRules): GitWebhookDecision {
  const early = refuseBeforeBody(request.headers, rules.secret);
  if (early) return early;
  const provider = providerOf(request.headers) as GitPushProvider;
  const limit = rules.maxBodyBytes ?? DEFAULT_GIT_WEBHOOK_MAX_BODY_BYTES;
  if (request.body.byteLength > limit) return refuse(413, `body larger than ${limit} bytes`, provider);
  if (provider === 'github' && !verifyGitHubSignature(request.body, headerOf(request.headers, 'x-hub-signature-256'), rules.secret)) {
    return refuse(401, 'X-Hub-Signature-256 does not match the body (check the secret)', provider);
  }
  const facts = provider === 'github' ? githubFacts(request.headers, request.body) : gitlabFacts(request.headers, request.body);
  if (!('identities' in facts)) return facts;
  return matchPush(facts, rules.repositories);
}
