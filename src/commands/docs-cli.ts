// `npm run docs:cli`: rewrites the README's CLI reference (between the cli-reference markers) from
// the commands' specs. `--check` only compares, and exits 1 when the README is out of date (for CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliReference, replaceReference } from './reference.js';
import { COMMAND_SPECS } from './specs.js';

const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url));

function main(check: boolean): number {
  const current = readFileSync(readmePath, 'utf8');
  const wanted = replaceReference(current, cliReference(COMMAND_SPECS));
  if (wanted === current) {
    process.stdout.write('README.md: the CLI reference is up to date\n');
    return 0;
  }
  if (check) {
    process.stderr.write('README.md: the CLI reference differs from the commands\' specs; run `npm run docs:cli`\n');
    return 1;
  }
  writeFileSync(readmePath, wanted);
  process.stdout.write('README.md: CLI reference rewritten\n');
  return 0;
}

process.exitCode = main(process.argv.includes('--check'));
