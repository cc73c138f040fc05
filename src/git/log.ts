// `git log` output for one file (pure): the format we ask for and its parser. Fields are
// NUL-separated and read by count, so no subject, name or path can be mistaken for a separator.

export interface GitPerson {
  name: string;
  email: string;
}

export type FileChange = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'type-changed';

export interface GitCommit {
  sha: string;
  author: GitPerson;
  committer: GitPerson;
  /** Committer time (when it landed), ISO UTC. */
  time: string;
  /** Author time, ISO UTC (a rebase keeps it, so it can be older than `time`). */
  authorTime: string;
  subject: string;
  /** The commit's web page on GitHub, GitLab or Bitbucket, when the remote is one of them. */
  url?: string;
  /** The file's path in this commit (it changes across renames). */
  path?: string;
  /** What this commit did to the file. */
  change?: FileChange;
  /** The path before, for a rename or copy. */
  previousPath?: string;
}

export const LOG_FORMAT = '%x1e%H%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%aI%x00%s';
const HEADER_FIELDS = 8;

const CHANGES: Record<string, FileChange> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed', C: 'copied', T: 'type-changed' };

function iso(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

/** Parses `git log -z --name-status --format=LOG_FORMAT` output, newest first as git prints it. */
export function parseLog(output: Buffer | string): GitCommit[] {
  const tokens = (typeof output === 'string' ? output : output.toString('utf8')).split('\u0000');
  const commits: GitCommit[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i] as string;
    const start = first.indexOf('\u001e');
    const sha = start >= 0 ? first.slice(start + 1) : '';
    if (!/^[0-9a-f]{40,64}$/.test(sha) || i + HEADER_FIELDS > tokens.length) {
      i += 1;
      continue;
    }
    const [, an, ae, cn, ce, cI, aI, subject] = tokens.slice(i, i + HEADER_FIELDS) as string[];
    const commit: GitCommit = {
      sha,
      author: { name: an ?? '', email: ae ?? '' },
      committer: { name: cn ?? '', email: ce ?? '' },
      time: iso(cI ?? ''),
      authorTime: iso(aI ?? ''),
      subject: subject ?? '',
    };
    i += HEADER_FIELDS;
    // Name-status entries follow until the next record: "M", path | "R100", old, new.
    while (i < tokens.length && !(tokens[i] as string).includes('\u001e')) {
      const status = (tokens[i] as string).trim();
      const letter = status.charAt(0);
      const change = CHANGES[letter];
      if (!change) {
        i += 1;
        continue;
      }
      if (letter === 'R' || letter === 'C') {
        commit.previousPath = tokens[i + 1];
        commit.path = tokens[i + 2];
        i += 3;
      } else {
        commit.path = tokens[i + 1];
        i += 2;
      }
      commit.change = change;
    }
    commits.push(commit);
  }
  return commits;
}

/**
 * `git log --follow` may jump to a look-alike file: a new policy file much like an existing one
 * is reported as a copy of it, and the older commits are the other file's. The chain stops where
 * the file was created (a copy is an addition) or where the path stops matching.
 */
export function followChain(commits: GitCommit[]): GitCommit[] {
  const chain: GitCommit[] = [];
  let expected: string | undefined;
  for (const commit of commits) {
    if (expected !== undefined && commit.path !== undefined && commit.path !== expected) break;
    if (commit.change === 'copied') {
      const { previousPath: _source, ...rest } = commit;
      chain.push({ ...rest, change: 'added' });
      break;
    }
    chain.push(commit);
    if (commit.path !== undefined) expected = commit.change === 'renamed' ? commit.previousPath : commit.path;
  }
  return chain;
}
