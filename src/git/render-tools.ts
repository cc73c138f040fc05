// The rendering tools (kubectl kustomize, kustomize build, helm template): found on PATH and run
// with an argument array (never a shell), a small clean environment, a timeout and a cap on what
// they may print. A tool that is missing, fails, hangs or floods is a result, never a throw.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface ToolRun {
  /** Absolute path of the executable. */
  file: string;
  args: string[];
  cwd: string;
  /** The whole environment of the tool (nothing else is passed). */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
}

export type ToolResult = { ok: true; stdout: string; stderr: string } | { ok: false; failure: 'exit' | 'timeout' | 'output-limit' | 'spawn'; message: string; stderr: string };

const MAX_STDERR = 64 * 1024;

/**
 * The executable `name` in the directories of `pathEnv`, or undefined. Relative entries (".", "")
 * are skipped: they would resolve against the working directory, which holds repository content.
 */
export function findTool(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(':')) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface KustomizeTool {
  file: string;
  /** How the tool is named in messages. */
  label: 'kubectl kustomize' | 'kustomize build';
  args(dir: string): string[];
}

/** kubectl (its built-in kustomize) when on PATH, else the kustomize binary. */
export function kustomizeTool(pathEnv: string | undefined): KustomizeTool | undefined {
  const kubectl = findTool('kubectl', pathEnv);
  if (kubectl) return { file: kubectl, label: 'kubectl kustomize', args: (dir) => ['kustomize', dir] };
  const kustomize = findTool('kustomize', pathEnv);
  if (kustomize) return { file: kustomize, label: 'kustomize build', args: (dir) => ['build', dir] };
  return undefined;
}

/** Runs the tool; resolves with its output or why it failed. */
export function runTool(run: ToolRun): Promise<ToolResult> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      // Its own process group, so a timeout also ends what the tool started (helm plugins, git for remote bases).
      child = spawn(run.file, run.args, { cwd: run.cwd, env: run.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      resolve({ ok: false, failure: 'spawn', message: `cannot run ${run.file}: ${(error as Error).message}`, stderr: '' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failed: Extract<ToolResult, { ok: false }> | undefined;
    const fail = (failure: 'timeout' | 'output-limit', message: string): void => {
      if (failed) return;
      failed = { ok: false, failure, message, stderr };
      killGroup(child.pid);
    };
    const timer = setTimeout(() => fail('timeout', `gave no answer within ${Math.round(run.timeoutMs / 1000)} s`), run.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > run.maxOutputBytes) return fail('output-limit', `printed more than ${run.maxOutputBytes} bytes`);
      chunks.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, failure: 'spawn', message: `cannot run ${run.file}: ${error.message}`, stderr });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failed) return resolve({ ...failed, stderr });
      if (code !== 0) return resolve({ ok: false, failure: 'exit', message: `failed (${code === null ? `signal ${signal}` : `exit ${code}`})`, stderr });
      resolve({ ok: true, stdout: Buffer.concat(chunks, size).toString('utf8'), stderr });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The environment a tool gets: PATH, a private HOME and TMPDIR, C locale; proxies pass through. */
export function toolEnv(pathEnv: string | undefined, home: string, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: pathEnv ?? '', HOME: home, TMPDIR: home, LANG: 'C', LC_ALL: 'C' };
  for (const key of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
    const value = parent[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * The first lines of a tool's error, readable: the private directory it ran in is replaced by
 * nothing (paths become repository paths), and kubectl's log prefix and "command failed" wrapper go.
 */
export function toolMessage(text: string, workDir: string, maxLines = 3, maxChars = 600): string {
  const withSlash = workDir.endsWith('/') ? workDir : `${workDir}/`;
  const lines = text
    .split(withSlash)
    .join('')
    .split(workDir)
    .join('.')
    .split('\n')
    .map((line) =>
      line
        .replace(/^[EWI]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] /, '')
        .replace(/^"command failed" err="(.*)"$/, '$1')
        .replace(/^Error: /, '')
        .trim(),
    )
    .filter((line) => line !== '' && !/^# Warning:/.test(line) && !/^Usage:/.test(line));
  const out = lines.slice(0, maxLines).join(' | ');
  return out.length > maxChars ? `${out.slice(0, maxChars)}…` : out;
}
