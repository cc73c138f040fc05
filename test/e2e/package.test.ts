// The npm package as users get it: `npm pack` (prepack builds dist/), the tarball installed into an
// empty directory, and the installed bin run from a directory that is not the repository. This
// proves `files`, `bin`, the compiled code, the .proto assets and the shipped playbook.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { runProcess, type ProcessResult } from '../helpers/run-process.js';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'netpol');

// The children run as in a user's shell: nothing inherited from an `npm test` parent's config.
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return runProcess(command, args, { cwd, env: { ...userEnv, LOG_LEVEL: 'silent', ...env }, timeoutMs: 120_000 });
}

function succeeded(result: ProcessResult, what: string): void {
  if (result.status !== 0) throw new Error(`${what} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
}

/**
 * The install resolves the package's dependencies to the versions of the repository's lockfile,
 * read from the npm cache that `npm ci` filled. Why a lockfile: `npm ci` fetches tarballs only,
 * never the registry documents (packuments) that resolving a range needs, so a bare
 * `npm install --offline <tarball>` stops with ENOTCACHED at the first dependency.
 */
function consumerLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'netpol-responder-user', dependencies: { 'netpol-responder': spec } },
    'node_modules/netpol-responder': { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'netpol-responder-user', lockfileVersion: 3, requires: true, packages };
}

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(full, out);
    else out.push(full);
  }
  return out;
}

describe('the npm package, packed, installed and run from elsewhere', () => {
  const temp = mkdtempSync(join(tmpdir(), 'netpol-package-'));
  const app = join(temp, 'app');
  const cwd = join(temp, 'elsewhere');
  const installed = join(app, 'node_modules', 'netpol-responder');
  const bin = join(app, 'node_modules', '.bin', 'netpol-responder');
  const timings: string[] = [];

  beforeAll(async () => {
    for (const dir of [join(temp, 'pack'), app, cwd]) mkdirSync(dir);
    let started = Date.now();
    succeeded((await run('npm', ['pack', '--pack-destination', join(temp, 'pack')], root)), 'npm pack');
    timings.push(`pack ${Date.now() - started} ms`);
    const [tarball] = readdirSync(join(temp, 'pack')).filter((f) => f.endsWith('.tgz'));
    const tarballPath = join(temp, 'pack', tarball!);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'netpol-responder-user', private: true, dependencies: { 'netpol-responder': `file:${tarballPath}` } }));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(consumerLock(tarballPath)));
    started = Date.now();
    succeeded((await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarballPath], app)), 'npm install');
    timings.push(`install ${Date.now() - started} ms`);
  }, 240_000);

  afterAll(() => {
    process.stdout.write(`package test: ${timings.join(', ')}\n`);
    rmSync(temp, { recursive: true, force: true });
  });

  it('holds the compiled code with its .proto files, the bin, the playbook and docs, and no sources or tests', () => {
    const files = filesUnder(installed).map((f) => relative(installed, f));
    for (const needed of ['bin/netpol-responder.js', 'dist/cli.js', 'dist/flows/proto/load.js', 'dist/flows/proto/observer.proto', 'dist/flows/proto/flow.proto', 'playbooks/netpol-incident.yaml', 'README.md', 'deploy/kubernetes.yaml']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /^(src|test)\//.test(f) || /\.ts$/.test(f) || /tsconfig|Dockerfile/.test(f))).toEqual([]);
    // tsx is a development tool: the installed package must run without it.
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('--help prints the usage and exits 0', async () => {
    const result = (await run(bin, ['--help'], cwd));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: netpol-responder <command>/);
  });

  it('an unknown command is refused with exit 2', async () => {
    const result = (await run(bin, ['frobnicate'], cwd));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });

  it('analyze prints the golden connectivity list of a netpol-analyzer fixture', async () => {
    const result = (await run(bin, ['analyze', join(fixtures, 'tests', 'ipblockstest')], cwd));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const expected = readFileSync(join(fixtures, 'expected', 'ipblockstest_connlist_output.txt'), 'utf8');
    expect(result.stdout.trimEnd().split('\n')).toEqual(expected.trimEnd().split('\n'));
  });

  it('export finds the shipped playbook by default, and a relative playbook path from the cwd', async () => {
    const env = { REDIS_URL: testRedisUrl() };
    const prefix = uniquePrefix('package');
    writeFileSync(join(cwd, 'default.yaml'), `redis:\n  keyPrefix: ${prefix}\n`);
    const byDefault = (await run(bin, ['export', 'no-such-incident', '--config', 'default.yaml'], cwd, env));
    expect(byDefault.stderr).toBe(`no incident with id "no-such-incident" (key prefix "${prefix}")\n`);
    expect(byDefault.status).toBe(1);

    writeFileSync(join(cwd, 'mine.yaml'), readFileSync(join(root, 'playbooks', 'netpol-incident.yaml')));
    writeFileSync(join(cwd, 'relative.yaml'), `redis:\n  keyPrefix: ${prefix}\nplaybook:\n  path: mine.yaml\n`);
    expect((await run(bin, ['export', 'no-such-incident', '--config', 'relative.yaml'], cwd, env)).stderr).toContain('no incident with id');

    writeFileSync(join(cwd, 'missing.yaml'), `redis:\n  keyPrefix: ${prefix}\nplaybook:\n  path: playbooks/netpol-incident.yaml\n`);
    const missing = (await run(bin, ['export', 'no-such-incident', '--config', 'missing.yaml'], cwd, env));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('playbooks/netpol-incident.yaml: cannot read the file');
    expect(missing.stderr).not.toContain('no incident with id');
  });

  it('demo plays the whole incident (flows from the Hubble stand-in over gRPC) and writes the postmortem to the cwd', async () => {
    const result = (await run(bin, ['demo'], cwd, { REDIS_URL: '' }));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/The collector learned the shop's normal traffic from Hubble: \d+ flows/);
    expect(result.stdout).toContain(`Postmortem written: ${join(cwd, 'postmortem')}`);
    expect(readdirSync(join(cwd, 'postmortem')).sort()).toEqual([expect.stringMatching(/\.html$/), expect.stringMatching(/\.json$/), expect.stringMatching(/\.md$/)]);
    // The whole loop (contain, trace, validate, restore and the lift, drift) in under a minute; slack for a busy machine.
  }, 90_000);
});
