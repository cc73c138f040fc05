// Runs the git CLI: an argument array (never a shell), a clean environment, a timeout and a cap
// on what it may print. Every git call of the bot goes through here.
import { spawn } from 'node:child_process';

export const GIT_BINARY = 'git';

export interface GitRunOptions {
  /** The repository (a bare clone) or working directory. */
  cwd?: string;
  /** Extra environment for this call only (auth, ssh command); merged over the base environment. */
  env?: Record<string, string>;
  /** Arguments placed before the subcommand (e.g. --config-env=...). */
  globalArgs?: string[];
  timeoutMs?: number;
  /** stdout beyond this many bytes kills git and fails the call. */
  maxOutputBytes?: number;
  /** Written to git's stdin, then stdin is closed. */
  input?: string | Buffer;
}

export interface GitRunResult {
  stdout: Buffer;
  stderr: string;
}

export class GitExecError extends Error {
  constructor(
    message: string,
    readonly args: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
    /** 'exit' (git failed), 'timeout', 'output-limit', 'spawn' (git could not start). */
    readonly failure: 'exit' | 'timeout' | 'output-limit' | 'spawn',
  ) {
    super(message);
    this.name = 'GitExecError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

/**
 * The environment every git call gets: nothing from the user's or system git config (no url
 * rewrites, helpers or hooks we did not choose), no prompts, C locale so messages are stable for
 * the error classifier, and only the transports we support. Proxy variables pass through.
 */
export function baseGitEnv(parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    PATH: parent.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: parent.HOME ?? '/nonexistent',
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_ALLOW_PROTOCOL: 'https:http:ssh:file',
  };
  for (const key of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'TMPDIR']) {
    const value = parent[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Runs git and resolves with its output; rejects with a GitExecError on any failure. */
export function runGit(args: string[], options: GitRunOptions = {}): Promise<GitRunResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const fullArgs = [...(options.globalArgs ?? []), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(GIT_BINARY, fullArgs, {
      cwd: options.cwd,
      env: { ...baseGitEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a timeout also ends the ssh or remote helper it started.
      detached: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: GitExecError | undefined;
    const fail = (error: GitExecError): void => {
      if (failure) return;
      failure = error;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => fail(new GitExecError(`git ${args[0]} gave no answer within ${Math.round(timeoutMs / 1000)} s`, fullArgs, stderr, null, 'timeout')), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutput) {
        fail(new GitExecError(`git ${args[0]} printed more than ${maxOutput} bytes`, fullArgs, stderr, null, 'output-limit'));
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all of stdin
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new GitExecError(`cannot run git: ${error.message}`, fullArgs, stderr, null, 'spawn'));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) return reject(new GitExecError(`git ${args[0]} failed (exit ${code})`, fullArgs, stderr, code, 'exit'));
      resolve({ stdout: Buffer.concat(chunks, size), stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
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
