// `netpol-responder diff <before...> -- <after...>`: the connections a change opens and closes.
// Flags and usage: DIFF in ./specs.ts.
import { printableLines } from '../printable.js';
import { diffConnectivity, formatDiff, type ConnectivityDiff } from '../policy/index.js';
import { loadPaths, stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usageError } from './spec.js';
import { DIFF } from './specs.js';

function diffJson(diff: ConnectivityDiff): string {
  const plain = diff.changes.map((c) => ({
    kind: c.kind,
    src: c.src,
    dst: c.dst,
    before: c.before.toString(),
    after: c.after.toString(),
    opened: c.opened.toString(),
    closed: c.closed.toString(),
    ...(c.workloadsOnlyIn ? { workloadsOnlyIn: c.workloadsOnlyIn } : {}),
  }));
  return `${JSON.stringify(plain, null, 2)}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(DIFF, argv);
  if (!parsed.ok) return parsed.exitCode;
  const format = pickFormat(parsed.values.format ?? 'txt', ['txt', 'json'] as const);
  if (!format.ok) return usageError(DIFF, format.message);
  const { before, after } = parsed;
  if (after === undefined) return usageError(DIFF, 'put "--" between the before and the after paths');
  if (before.length === 0 || after.length === 0) return usageError(DIFF, `no ${before.length === 0 ? 'before' : 'after'} path: each side of "--" needs at least one`);
  if (stdinTwice([...before, ...after])) return usageError(DIFF, '"-" (standard input) can be given once, for one side');

  // Both sides are read before giving up, so one run reports the problems of both.
  const strict = parsed.values.strict === true;
  const a = await loadPaths(before, process.stderr, 'before', undefined, strict);
  const b = await loadPaths(after, process.stderr, 'after', undefined, strict);
  if (!a || !b) return 1;
  const diff = diffConnectivity(a.index, b.index);
  // Names come from the manifests: in text nothing in them may drive the terminal.
  process.stdout.write(format.format === 'json' ? diffJson(diff) : printableLines(formatDiff(diff) || 'No connectivity changes.\n'));
  return 0;
}
