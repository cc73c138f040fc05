// analyze / diff inputs as real child processes: standard input (YAML, JSON, kubectl's List),
// pipes and process substitution, several paths, and bad input: malformed, hostile (binary,
// control characters, huge lines) and oversized, each with its clear message and exit code.
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cases = join(root, 'test', 'fixtures', 'netpol', 'tests');
const tmp = mkdtempSync(join(tmpdir(), 'netpol-cli-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Result = { code: number; stdout: string; stderr: string };

/** Runs the CLI; `stdin` is text to write, or a file descriptor to hand over as the child's stdin. */
function cli(args: string[], stdin?: string | number, shell?: string): Promise<Result> {
  return new Promise((resolve) => {
    const [cmd, argv] = shell ? ['/bin/bash', ['-c', shell]] : [process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args]];
    const child = execFile(cmd, argv, { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    // The CLI may refuse oversized input and exit before reading it all: a closed pipe is expected.
    child.stdin?.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    if (typeof stdin === 'number') {
      // execFile has no stdio option: pipe the descriptor's content in.
      const data = readFileSync(stdin);
      child.stdin?.end(data);
    } else {
      child.stdin?.end(stdin ?? '');
    }
  });
}

function file(name: string, text: string | Buffer): string {
  const path = join(tmp, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** The text of a fixture case as one multi-document YAML stream, as `kubectl get -o yaml` users pipe it. */
function caseAsYaml(name: string): string {
  return readdirSync(join(cases, name))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(cases, name, f), 'utf8'))
    .join('\n---\n');
}

const controlCharacters = (text: string): string[] => [...text].filter((c) => (c < ' ' && c !== '\n' && c !== '\t') || (c >= '\u007f' && c <= '\u009f'));

describe('analyze -: manifests from standard input', () => {
  it('multi-document YAML gives what the directory gives', async () => {
    const fromDir = await cli(['analyze', join(cases, 'ipblockstest')]);
    const fromStdin = await cli(['analyze', '-'], caseAsYaml('ipblockstest'));
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromDir.stdout);
  });

  it("JSON, including kubectl's List, and mixed with paths", async () => {
    const pod = (ns: string, name: string, app: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, labels: { app } }, spec: { containers: [{ name: 'c' }] } });
    const list = { apiVersion: 'v1', kind: 'List', items: [pod('x', 'a', 'a'), pod('x', 'b', 'b')] };
    const deny = file('deny.yaml', 'kind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n');
    const r = await cli(['analyze', deny, '-', '--format', 'json'], JSON.stringify(list, null, 2));
    expect(r.code).toBe(0);
    const conns = JSON.parse(r.stdout) as { src: string; dst: string }[];
    expect(conns.map((c) => `${c.src} ${c.dst}`).sort()).toEqual(['x/a[Pod] 0.0.0.0-255.255.255.255[External]', 'x/b[Pod] 0.0.0.0-255.255.255.255[External]']);
  });

  it('a pipe or process substitution is read as a file, whatever its name', async () => {
    const stream = file('stream.txt', caseAsYaml('ipblockstest'));
    const r = await cli([], undefined, `'${process.execPath}' --import tsx src/cli.ts analyze <(cat '${stream}')`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe((await cli(['analyze', join(cases, 'ipblockstest')])).stdout);
  });

  it('"-" given twice is bad usage', async () => {
    const r = await cli(['analyze', '-', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^"-" \(standard input\) can be given once\n\nusage: netpol-responder analyze /);
  });
});

describe('analyze and diff: bad input', () => {
  it('malformed YAML and JSON on stdin name stdin and the line; nothing is printed on stdout', async () => {
    const yaml = await cli(['analyze', '-'], 'kind: Namespace\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: [\n');
    expect(yaml.code).toBe(1);
    expect(yaml.stdout).toBe('');
    expect(yaml.stderr).toMatch(/^error: stdin#2: invalid YAML at line \d+/);
    const json = await cli(['analyze', '-'], '{"kind": "Pod",');
    expect(json.code).toBe(1);
    expect(json.stderr).toMatch(/^error: stdin: invalid JSON: /);
    const notObjects = await cli(['analyze', '-'], '[1, 2, 3]');
    expect(notObjects.code).toBe(1);
    expect(notObjects.stderr).toContain('not a Kubernetes object');
  });

  it('empty standard input is an error, not an empty result', async () => {
    const r = await cli(['analyze', '-'], '  \n\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: stdin: nothing was read from standard input\n');
  });

  it('binary data is refused with a message that holds no control character', async () => {
    const bytes = Buffer.alloc(8192);
    let x = 11;
    for (let i = 0; i < bytes.length; i++) bytes[i] = x = (x * 1103515245 + 12345) & 0xff;
    for (const r of [await cli(['analyze', file('blob.yaml', bytes)]), await cli(['analyze', '-'], bytes.toString('latin1'))]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: [^\n]*(invalid YAML|invalid JSON|not a Kubernetes object)/);
      expect(controlCharacters(r.stderr)).toEqual([]);
    }
  });

  it('control characters in names are escaped in the text outputs and the messages', async () => {
    const evil = 'kind: Pod\nmetadata: {name: "a\\e[2J\\u202eb", namespace: x, labels: {app: a}}\nspec: {containers: [{name: c}]}\n';
    const analyze = await cli(['analyze', '-'], evil);
    expect(analyze.code).toBe(0);
    expect(controlCharacters(analyze.stdout)).toEqual([]);
    expect(analyze.stdout).not.toContain('\u202e');
    expect(analyze.stdout).toContain('x/a\\x1b[2J\\u202eb[Pod]');
    const diff = await cli(['diff', file('empty-ns.yaml', 'kind: Namespace\nmetadata: {name: x}\n'), '--', '-'], evil);
    expect(diff.code).toBe(0);
    expect(controlCharacters(diff.stdout)).toEqual([]);
    expect(diff.stdout).toContain('x/a\\x1b[2J\\u202eb[Pod]');
    const badPath = await cli(['analyze', join(tmp, 'no\u001b[31mpe')]);
    expect(badPath.stderr).toBe(`cannot read ${join(tmp, 'no\\x1b[31mpe')}: no such file\n`);
  });

  it('a huge line (a 20 MB label value) is read and refused by the manifest checks, not by a crash', async () => {
    const r = await cli(['analyze', '-'], `kind: Pod\nmetadata: {name: p, namespace: x, labels: {app: "${'v'.repeat(20 * 1024 * 1024)}"}}\nspec: {containers: [{name: c}]}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr.length).toBeLessThan(5_000);
    expect(r.stderr).toMatch(/^error: stdin \(Pod x\/p\): label value "v+…\n$/);
  }, 60_000);

  it('oversized input: a file or standard input over 64 MB is refused quickly, without reading it all', async () => {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 65 * 1024 * 1024);
    const started = Date.now();
    const r = await cli(['analyze', big]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${big}: larger than 64 MB\n`);
    const fd = openSync(big, 'r');
    try {
      const piped = await cli(['analyze', '-'], fd);
      expect(piped.code).toBe(1);
      expect(piped.stderr).toBe('error: stdin: larger than 64 MB\n');
    } finally {
      closeSync(fd);
    }
    const diff = await cli(['diff', join(cases, 'ipblockstest'), '--', big]);
    expect(diff.code).toBe(1);
    expect(diff.stderr).toBe(`after: error: ${big}: larger than 64 MB\n`);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
