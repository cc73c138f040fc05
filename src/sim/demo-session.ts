// The session file of a running `demo --keep-running`: where the bot listens, the signing secret it
// checks, the channel and users of the stand-in workspace, and the demo's desk (demo-desk.ts). It
// lets `demo send` in another terminal act as Slack. It holds a secret, so it lives in a directory
// only this user can enter, is written 0600, is refused when anyone else could have written or read
// it, and is removed when the demo stops.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const SESSION_ENV = 'NETPOL_DEMO_SESSION';
/** A session file is tiny; anything bigger is not one. */
const MAX_SESSION_BYTES = 64 * 1024;

const sessionSchema = z
  .object({
    version: z.literal(1),
    pid: z.number().int().positive(),
    startedAt: z.string(),
    botUrl: z.url().refine((u) => /^http:\/\/127\.0\.0\.1:\d+\//.test(u), 'the bot must be on 127.0.0.1'),
    signingSecret: z.string().min(8).max(200),
    channel: z.string().regex(/^[CGD][A-Z0-9]{2,20}$/),
    /** Handle → Slack user id, e.g. alice → U0ALICE. */
    users: z.record(z.string().regex(/^[a-z0-9._-]{1,40}$/), z.string().regex(/^[UW][A-Z0-9]{2,20}$/)),
    desk: z.object({ url: z.url().refine((u) => u.startsWith('http://127.0.0.1:'), 'the desk must be on 127.0.0.1'), token: z.string().regex(/^[0-9a-f]{32,128}$/) }),
  })
  .strict();

export type DemoSession = z.infer<typeof sessionSchema>;

export class SessionError extends Error {}

/** NETPOL_DEMO_SESSION, else <runtime or temp dir>/netpol-responder-<uid>/demo-session.json. */
export function defaultSessionPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env[SESSION_ENV]) return env[SESSION_ENV];
  const base = env.XDG_RUNTIME_DIR || tmpdir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(base, `netpol-responder-${uid}`, 'demo-session.json');
}

function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, '0');
}

/** The file's directory must be ours, a real directory, and closed to group and others. */
function checkPrivateDir(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new SessionError(`refusing ${dir}: it is not a directory (a symbolic link?)`);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) throw new SessionError(`refusing ${dir}: it belongs to another user (uid ${stat.uid})`);
  if ((stat.mode & 0o077) !== 0) throw new SessionError(`refusing ${dir}: group or others can use it (mode ${modeText(stat.mode)}); it must be 700`);
}

/** Writes the session (0600, atomically) and returns a function that removes it if it is still ours. */
export function writeSession(path: string, session: DemoSession): () => void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivateDir(dir);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(sessionSchema.parse(session), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, path);
  return () => {
    // Another demo may have taken the path since: leave its file alone.
    try {
      if (readSession(path).desk.token === session.desk.token) rmSync(path, { force: true });
    } catch {
      // already gone or not readable: nothing of ours to remove
    }
  };
}

export function readSession(path: string): DemoSession {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    throw new SessionError(`no demo session at ${path}: start \`netpol-responder demo --keep-running\` first (it prints the session path; set ${SESSION_ENV} or --session to use another)`);
  }
  if (!stat.isFile()) throw new SessionError(`refusing ${path}: it is not a regular file`);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) throw new SessionError(`refusing ${path}: it belongs to another user (uid ${stat.uid})`);
  if ((stat.mode & 0o077) !== 0) throw new SessionError(`refusing ${path}: group or others can read or write it (mode ${modeText(stat.mode)}); a demo writes it 600`);
  if (stat.size > MAX_SESSION_BYTES) throw new SessionError(`refusing ${path}: ${stat.size} bytes is not a demo session`);
  checkPrivateDir(dirname(path));
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SessionError(`${path} is not a demo session (not JSON: ${(error as Error).message.slice(0, 120)})`);
  }
  const parsed = sessionSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SessionError(`${path} is not a demo session (${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'})`);
  }
  return parsed.data;
}

/** Whether the process that wrote the session still runs (signal 0 only checks). */
export function sessionProcessAlive(session: DemoSession): boolean {
  try {
    process.kill(session.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
