// Credentials end to end with the real git CLI: a token against a smart-HTTP server on loopback
// (git's own git-http-backend behind Basic auth), and an ssh remote through a stand-in `ssh` on
// PATH that records its command line and runs git-upload-pack locally (no sshd on this machine).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { PolicyRepository } from '../../src/git/repository.js';
import { createBareRepository, writeHistory } from '../../src/sim/git-remote.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-git-auth-'));
const projects = join(root, 'projects');
const secrets = join(root, 'secrets');
const TOKEN = 'ghp_0123456789abcdefSECRET';
let head: string;
let server: GitHttpServer;

beforeAll(async () => {
  mkdirSync(secrets, { mode: 0o700 });
  await createBareRepository(join(projects, 'shop.git'));
  [head] = (await writeHistory(join(projects, 'shop.git'), [
    { author: { name: 'Erin', email: 'erin@shop.example' }, time: '2026-03-01T09:00:00Z', message: 'deny', files: { 'policies/deny.yaml': 'kind: NetworkPolicy\nmetadata: {name: deny, namespace: db}\nspec: {podSelector: {}}\n' } },
  ])) as [string];
  server = await startGitHttpServer(projects, { username: 'x-access-token', token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
function tokenRepo(url: string, token: string | null, username?: string): PolicyRepository {
  const file = join(secrets, `token-${++count}`);
  if (token !== null) writeFileSync(file, `${token}\n`, { mode: 0o400 });
  const config = gitRepositorySchema.parse({ name: `auth-${count}`, url, paths: ['policies'], auth: { tokenFile: file, ...(username ? { username } : {}) } });
  return new PolicyRepository(config, { dir: join(root, 'clones') });
}

describe('an HTTPS token (tokenFile)', () => {
  it('is sent as Basic auth to the remote, and only there', async () => {
    const before = server.requests.length;
    const repo = tokenRepo(server.url('shop.git'), TOKEN);
    expect(await repo.sync()).toEqual({ ok: true, head, changed: true });
    const seen = server.requests.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => r.authorization === `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`)).toBe(true);
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'deny' })).toMatchObject({ path: 'policies/deny.yaml' });
  });

  it('a wrong token: a clear reason without the token, and nothing changes', async () => {
    const repo = tokenRepo(server.url('shop.git'), 'ghp_wrongwrongwrong');
    const result = await repo.sync();
    expect(result).toEqual({ ok: false, error: `${server.url('shop.git')}: the server refused the credentials (401): check auth.tokenFile and its username` });
    expect(JSON.stringify(result)).not.toContain('wrongwrong');
    expect(JSON.stringify(repo.status())).not.toContain('wrongwrong');
    expect(repo.head()).toBeUndefined();
    // A wrong user name with the right token is refused as well.
    expect(await tokenRepo(server.url('shop.git'), TOKEN, 'oauth2').sync()).toMatchObject({ ok: false, error: expect.stringContaining('(401)') });
  });

  it('is read again at every fetch: a rotated Secret works without a restart', async () => {
    const repo = tokenRepo(server.url('shop.git'), TOKEN);
    expect(await repo.sync()).toMatchObject({ ok: true });
    const file = join(secrets, `token-${count}`);
    server.credentials = { username: 'x-access-token', token: 'ghp_rotated_9876543210' };
    try {
      expect(await repo.sync()).toMatchObject({ ok: false, head });
      chmodSync(file, 0o600);
      writeFileSync(file, 'ghp_rotated_9876543210');
      expect(await repo.sync()).toEqual({ ok: true, head, changed: false });
    } finally {
      server.credentials = { username: 'x-access-token', token: TOKEN };
    }
  });

  it('a missing, empty or multi-line token file is named, and git is not run', async () => {
    const before = server.requests.length;
    const missing = tokenRepo(server.url('shop.git'), null);
    expect(await missing.sync()).toEqual({ ok: false, error: `${server.url('shop.git')}: cannot read auth.tokenFile ${join(secrets, `token-${count}`)}: no such file` });
    expect(await tokenRepo(server.url('shop.git'), '').sync()).toMatchObject({ ok: false, error: expect.stringMatching(/auth.tokenFile .* is empty$/) });
    expect(await tokenRepo(server.url('shop.git'), `${TOKEN}\nX-Injected: 1`).sync()).toMatchObject({ ok: false, error: expect.stringMatching(/must hold the token alone, on one line$/) });
    expect(server.requests.length).toBe(before);
  });

  it('a closed loopback port with a token: unreachable, and the token appears nowhere', async () => {
    const closed = await startGitHttpServer(projects);
    const url = closed.url('shop.git');
    await closed.close();
    const repo = tokenRepo(url, TOKEN);
    const result = await repo.sync();
    expect(result).toEqual({ ok: false, error: `${url}: cannot connect to the remote (connection refused or timed out)` });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});

describe('an ssh key (sshKeyFile)', () => {
  const bin = join(root, 'bin');
  const log = join(root, 'ssh-args.log');
  const key = join(secrets, 'id_ed25519');
  const knownHosts = join(secrets, 'known_hosts');
  let savedPath: string | undefined;

  beforeAll(() => {
    mkdirSync(bin);
    // Stands in for OpenSSH: records its arguments, then runs the remote command (git-upload-pack '<path>') here.
    writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\nfor last; do :; done\nexec sh -c "$last"\n`, { mode: 0o755 });
    writeFileSync(key, '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o400 });
    writeFileSync(knownHosts, 'git.shop.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE\n');
    savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  });
  afterAll(() => {
    process.env.PATH = savedPath;
  });

  it('passes the key with IdentitiesOnly and the host key policy to ssh, and fetches', async () => {
    const config = gitRepositorySchema.parse({
      name: 'ssh-shop',
      url: `git@git.shop.example:${join(projects, 'shop.git')}`,
      paths: ['policies'],
      auth: { sshKeyFile: key, knownHostsFile: knownHosts },
    });
    const repo = new PolicyRepository(config, { dir: join(root, 'clones') });
    expect(await repo.sync()).toEqual({ ok: true, head, changed: true });
    const args = readFileSync(log, 'utf8').split('\n');
    expect(args).toEqual(
      expect.arrayContaining(['-F', '/dev/null', '-i', key, 'IdentitiesOnly=yes', 'BatchMode=yes', 'StrictHostKeyChecking=yes', `UserKnownHostsFile=${knownHosts}`, 'git@git.shop.example']),
    );
    expect(args.indexOf(key)).toBe(args.indexOf('-i') + 1);
  });

  it('refuses a key file others can read, as ssh would, with the fix', async () => {
    const open = join(secrets, 'id_open');
    writeFileSync(open, 'key', { mode: 0o644 });
    chmodSync(open, 0o644);
    const config = gitRepositorySchema.parse({ name: 'ssh-open', url: 'ssh://git@127.0.0.1:1/shop.git', auth: { sshKeyFile: open } });
    expect(await new PolicyRepository(config, { dir: join(root, 'clones') }).sync()).toEqual({
      ok: false,
      error: `ssh://git@127.0.0.1:1/shop.git: auth.sshKeyFile ${open} is readable by others (mode 0644): ssh refuses such a key; mount the Secret with defaultMode 0400`,
    });
  });

  it('reports what the real ssh says about an unreachable server', async () => {
    process.env.PATH = savedPath; // the real ssh
    try {
      const config = gitRepositorySchema.parse({ name: 'ssh-closed', url: 'ssh://git@127.0.0.1:1/shop.git', auth: { sshKeyFile: key, strictHostKeyChecking: 'no' } });
      expect(await new PolicyRepository(config, { dir: join(root, 'clones') }).sync()).toEqual({
        ok: false,
        error: 'ssh://git@127.0.0.1:1/shop.git: cannot connect to the remote (connection refused or timed out)',
      });
    } finally {
      process.env.PATH = `${bin}:${savedPath ?? ''}`;
    }
  });
});
