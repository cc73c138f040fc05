// One file of a policy repository at its head (e.g. the netpol-tests.yaml the validate step runs):
// read from the bare clone by revision, never from a work tree.
import { readRevisions } from './objects.js';
import type { PolicyRepository } from './repository.js';

export type RepositoryFile = { found: true; text: string; commit: string } | { found: false; reason: string };

const MAX_BYTES = 1024 * 1024;

export async function readRepositoryFile(repository: PolicyRepository, path: string, maxBytes = MAX_BYTES): Promise<RepositoryFile> {
  // eslint-disable-next-line no-control-regex
  if (path === '' || path.startsWith('/') || path.split('/').includes('..') || /[\x00-\x1f]/.test(path)) return { found: false, reason: `not a path inside the repository: ${JSON.stringify(path).slice(0, 100)}` };
  const commit = repository.head();
  if (!commit) return { found: false, reason: `${repository.config.name} is not synced yet` };
  const [blob] = await readRevisions(repository.clonePath, [`${commit}:${path}`], maxBytes, 30_000);
  return blob ? { found: true, text: blob.toString('utf8'), commit } : { found: false, reason: `${path} is not in ${repository.config.name} at ${commit.slice(0, 8)} (or larger than ${maxBytes} bytes)` };
}
