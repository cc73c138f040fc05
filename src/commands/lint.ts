// `netpol-responder lint <path...> [--format txt|json]`: exits 1 when any error-level finding
// (or an invalid manifest) is found, so it can gate CI.
import { parseArgs } from 'node:util';
import { lint } from '../policy/index.js';
import { loadPaths } from './policy-input.js';

const USAGE = 'usage: netpol-responder lint <path...> [--format txt|json]\n';

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string', default: 'txt' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0 || (values.format !== 'txt' && values.format !== 'json')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const loaded = await loadPaths(positionals, process.stderr);
  if (!loaded) return 1;
  const findings = lint(loaded.index);
  if (values.format === 'json') {
    process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  } else {
    for (const f of findings) process.stdout.write(`${f.severity.toUpperCase()} ${f.id} ${f.name} ${f.object}: ${f.message}\n  fix: ${f.hint}\n`);
    const count = (s: string): number => findings.filter((f) => f.severity === s).length;
    process.stdout.write(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info\n`);
  }
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}
