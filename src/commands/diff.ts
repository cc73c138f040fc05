// `netpol-responder diff <before...> -- <after...>`: connections the change opened and closed.
import { parseArgs } from 'node:util';
import { diffConnectivity, formatDiff } from '../policy/index.js';
import { loadPaths } from './policy-input.js';

const USAGE = 'usage: netpol-responder diff [--format txt|json] <before-path...> -- <after-path...>\n';

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, tokens: true, options: { format: { type: 'string', default: 'txt' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  // Everything after `--` is a positional for parseArgs; its token index splits before/after.
  const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
  const positional = parsed.tokens.filter((t) => t.kind === 'positional');
  const before = positional.filter((t) => terminator && t.index < terminator.index).map((t) => t.value);
  const after = positional.filter((t) => terminator && t.index > terminator.index).map((t) => t.value);
  const format = parsed.values.format;
  if (!terminator || before.length === 0 || after.length === 0 || (format !== 'txt' && format !== 'json')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const a = await loadPaths(before, process.stderr, 'before');
  const b = await loadPaths(after, process.stderr, 'after');
  if (!a || !b) return 1;
  const diff = diffConnectivity(a.index, b.index);
  if (format === 'json') {
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
    process.stdout.write(`${JSON.stringify(plain, null, 2)}\n`);
  } else {
    process.stdout.write(formatDiff(diff) || 'No connectivity changes.\n');
  }
  return 0;
}
