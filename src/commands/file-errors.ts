// One wording for "this path cannot be read", whichever command meets it: `cannot read <path>:
// <reason>`, the reason in plain words rather than an errno code or Node's stack-flavoured message.
import { printable } from '../printable.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'input/output error',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  EAGAIN: 'not ready (a non-blocking file)',
  EBUSY: 'busy',
  EINVAL: 'not a readable file',
};

/** The reason for an errno code, e.g. ENOENT → "no such file"; an unknown code stays as it is. */
export function plainReason(code: string): string {
  return REASONS[code] ?? code;
}

export function cannotRead(path: string, code: string): string {
  return `cannot read ${printable(path, 300)}: ${plainReason(code)}`;
}

/** The errno code of a failed file operation, or the error's message when it has none. */
export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : String(error));
}
