// What a change proposal may contain, and what a failed push means (pure). The files' paths reach
// git's index and the branch name its command line, so both are checked before git runs; git's
// answers are turned into a ChangeProposalError whose message names the setting to fix.
import { ChangeProposalError, type ChangeProposalRequest } from './change-proposal.js';
import { branchNameSchema } from './config-schema.js';
import { scrub } from './errors.js';
import type { GitExecError } from './exec.js';
import { redactUrl } from './url.js';

export const PROPOSAL_LIMITS = {
  files: 200,
  fileBytes: 1024 * 1024,
  totalBytes: 8 * 1024 * 1024,
  pathLength: 1024,
  titleLength: 200,
  bodyLength: 60_000,
} as const;

export type ProposalLimits = typeof PROPOSAL_LIMITS;

function invalid(message: string): ChangeProposalError {
  return new ChangeProposalError(message, 'invalid');
}

function show(value: string): string {
  return JSON.stringify(value.slice(0, 120));
}

/** Why a file path cannot be written into the repository, or undefined when it can. */
export function pathProblem(path: string, maxLength: number = PROPOSAL_LIMITS.pathLength): string | undefined {
  if (typeof path !== 'string' || path === '') return 'is empty';
  if (path.length > maxLength) return `is longer than ${maxLength} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(path)) return 'contains a control character or a backslash';
  if (path.startsWith('/')) return 'is absolute (it must be relative to the repository root)';
  if (path.startsWith('-') || path.startsWith(':')) return 'starts with "-" or ":"';
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'has an empty, "." or ".." part (it must stay inside the repository, written plainly)';
  if (parts.some((p) => p.toLowerCase() === '.git')) return 'names a .git directory';
  if (path.endsWith('/')) return 'ends with "/"';
  return undefined;
}

/** Throws ChangeProposalError('invalid') when the request cannot be proposed as given. */
export function checkProposalRequest(request: ChangeProposalRequest, limits: ProposalLimits = PROPOSAL_LIMITS): void {
  const branch = branchNameSchema.safeParse(request.branch);
  if (!branch.success) throw invalid(`branch ${show(String(request.branch))} ${branch.error.issues[0]?.message ?? 'is not a valid branch name'}`);
  if (typeof request.title !== 'string' || request.title.trim() === '') throw invalid('the title is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(request.title)) throw invalid('the title must be one line without control characters');
  if (request.title.length > limits.titleLength) throw invalid(`the title is longer than ${limits.titleLength} characters`);
  if (typeof request.body !== 'string' || request.body.length > limits.bodyLength) throw invalid(`the body must be text of at most ${limits.bodyLength} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00\x7f]/.test(request.body)) throw invalid('the body contains a NUL or DEL character');
  if (request.author) {
    const { name, email } = request.author;
    // eslint-disable-next-line no-control-regex
    const bad = (v: unknown): boolean => typeof v !== 'string' || v.trim() === '' || v.length > 200 || /[<>\x00-\x1f\x7f]/.test(v);
    if (bad(name) || bad(email)) throw invalid('the author needs a name and an e-mail address without <, > or control characters');
  }
  const deletions = request.deletions ?? [];
  if (!Array.isArray(request.files) || !Array.isArray(deletions)) throw invalid('files and deletions must be lists');
  if (request.files.length === 0 && deletions.length === 0) throw invalid('there are no files to propose');
  if (request.files.length > limits.files) throw invalid(`${request.files.length} files are more than the ${limits.files} a proposal may hold`);
  const seen = new Set<string>();
  let total = 0;
  for (const file of request.files) {
    const problem = pathProblem(file?.path);
    if (problem) throw invalid(`file path ${show(String(file?.path))} ${problem}`);
    if (seen.has(file.path)) throw invalid(`file ${show(file.path)} is given twice`);
    seen.add(file.path);
    if (typeof file.content !== 'string') throw invalid(`file ${show(file.path)} has no text content`);
    const bytes = Buffer.byteLength(file.content, 'utf8');
    if (bytes > limits.fileBytes) throw invalid(`file ${show(file.path)} is ${bytes} bytes, more than ${limits.fileBytes}`);
    total += bytes;
  }
  if (total > limits.totalBytes) throw invalid(`the files add up to ${total} bytes, more than ${limits.totalBytes}`);
  if (deletions.length > limits.files) throw invalid(`${deletions.length} deletions are more than the ${limits.files} a proposal may hold`);
  const removed = new Set<string>();
  for (const path of deletions) {
    // Checked as the files are: a deletion reaches git's index the same way.
    const problem = pathProblem(path);
    if (problem) throw invalid(`deletion path ${show(String(path))} ${problem}`);
    if (removed.has(path)) throw invalid(`deletion ${show(path)} is given twice`);
    if (seen.has(path)) throw invalid(`${show(path)} is both written and deleted`);
    removed.add(path);
  }
  // A file cannot also be the directory of another (a/b and a/b/c.yaml).
  for (const path of seen) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (seen.has(dir)) throw invalid(`file ${show(dir)} is also the directory of ${show(path)}`);
    }
  }
}

export interface PushContext {
  /** The repository's name in git.repositories. */
  repository: string;
  url: string;
  branch: string;
  secrets: string[];
}

const AUTH = /Authentication failed|returned error: 401|could not read Username|could not read Password|terminal prompts disabled|Invalid username or password|HTTP Basic: Access denied/i;
const WORKFLOW_SCOPE = /refusing to allow an? (Personal Access Token|OAuth App|GitHub App)[^\n]*workflow/i;
const FORBIDDEN = /returned error: 403|Permission to \S+ denied|You are not allowed to push code to this project|write access to repository not granted/i;
const PROTECTED = /GH006|Protected branch update failed|not allowed to push code to protected branches|protected branch/i;
const NOT_FOUND = /returned error: 404|repository '[^']*' not found|Repository not found|does not appear to be a git repository|The project you were looking for could not be found/i;
const UNREACHABLE = /Could not resolve host|Could not resolve hostname|Connection refused|Failed to connect|Connection timed out|No route to host|Network is unreachable|Operation timed out|Empty reply from server|Connection reset|the remote end hung up|SSL certificate problem|certificate verify failed/i;
const STALE = /stale info|\(fetch first\)|non-fast-forward|failed to update ref|cannot lock ref/i;

/** A failed git call against the remote (ls-remote, fetch, push) as a ChangeProposalError; never holds a secret. */
export function pushFailure(error: GitExecError, ctx: PushContext): ChangeProposalError {
  const where = redactUrl(ctx.url);
  const tokenFile = `git.repositories[${ctx.repository}].auth.tokenFile`;
  if (error.failure === 'timeout') return new ChangeProposalError(`${where}: ${scrub(error.message, ctx.secrets)}`, 'unreachable');
  if (error.failure !== 'exit') return new ChangeProposalError(scrub(error.message, ctx.secrets), 'other');
  const stderr = scrub(error.stderr, ctx.secrets);
  // The protected-branch decline comes through a hook: check it before the generic failures it may echo.
  if (PROTECTED.test(stderr)) {
    return new ChangeProposalError(`${where}: the server refused the push to branch ${ctx.branch}: it is a protected branch (only pull requests may change it); give the proposal a branch name that is not protected`, 'protected-branch');
  }
  if (WORKFLOW_SCOPE.test(stderr)) {
    return new ChangeProposalError(`${where}: GitHub refused to let the token in ${tokenFile} create or update a workflow file (.github/workflows): it needs the "workflow" scope (a GitHub App: the workflows permission)`, 'auth');
  }
  if (AUTH.test(stderr)) return new ChangeProposalError(`${where}: the server refused the credentials (401): check ${tokenFile} and auth.username`, 'auth');
  if (FORBIDDEN.test(stderr)) return new ChangeProposalError(`${where}: the server refused the push (403): the token in ${tokenFile} lacks write access to this repository`, 'auth');
  if (NOT_FOUND.test(stderr)) return new ChangeProposalError(`${where}: the repository does not exist at this url, or the token in ${tokenFile} cannot see it`, 'not-found');
  if (UNREACHABLE.test(stderr)) return new ChangeProposalError(`${where}: cannot reach the remote (${(UNREACHABLE.exec(stderr)?.[0] ?? 'connection failed').toLowerCase()})`, 'unreachable');
  if (STALE.test(stderr)) return new ChangeProposalError(`${where}: branch ${ctx.branch} changed on the remote while it was being pushed; try again`, 'conflict');
  const fatal = stderr
    .split('\n')
    .map((l) => l.replace(/^remote:\s*/, '').trim())
    .filter((l) => /^(fatal|error):/.test(l))
    .pop();
  return new ChangeProposalError(`${where}: ${fatal ?? scrub(error.message, ctx.secrets)}`.slice(0, 500), 'other');
}
