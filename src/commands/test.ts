// `netpol-responder test <path...> --cases netpol-tests.yaml [--format txt|json|junit]`: runs a
// repository's network test cases against its manifests, for CI. Flags and usage: TEST in
// ./specs.ts. Exit: 0 all pass, 1 a case fails or errors, 2 usage, a bad cases file or bad manifests.
import { readFileSync, statSync } from 'node:fs';
import { NET_TEST_LIMITS, NetTestFileError, parseTestCases, type NetTestCase } from '../nettest/cases.js';
import { formatResults, NET_TEST_FORMATS } from '../nettest/format.js';
import { runCases } from '../nettest/run.js';
import { STDIN_PATH } from '../policy/load-files.js';
import { printable, printableLines } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { loadPaths, stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usageError, type Output } from './spec.js';
import { TEST } from './specs.js';

function readCases(path: string): { ok: true; cases: NetTestCase[] } | { ok: false; message: string } {
  let text: string;
  try {
    const size = statSync(path).size;
    // Checked before reading: a huge file is refused without holding it in memory.
    if (size > NET_TEST_LIMITS.maxFileBytes) return { ok: false, message: `${printable(path, 300)}: the file is ${(size / 1024 / 1024).toFixed(1)} MiB; at most ${NET_TEST_LIMITS.maxFileBytes / 1024 / 1024} MiB is read` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: cannotRead(path, errorCode(error)) };
  }
  try {
    return { ok: true, cases: parseTestCases(text, path).cases };
  } catch (error) {
    if (error instanceof NetTestFileError) return { ok: false, message: error.message };
    throw error;
  }
}

export async function run(argv: string[], out: Output = process): Promise<number> {
  const parsed = parseCommand(TEST, argv, out);
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals } = parsed;
  const format = pickFormat(values.format ?? 'txt', NET_TEST_FORMATS);
  if (!format.ok) return usageError(TEST, format.message, out);
  if (values.cases === undefined) return usageError(TEST, '--cases FILE is required (the netpol-tests.yaml to run)', out);
  if (values.cases === STDIN_PATH) return usageError(TEST, '--cases needs a file: standard input ("-") is for the manifests', out);
  if (positionals.length === 0) return usageError(TEST, 'give at least one path (a file, a directory or "-")', out);
  if (stdinTwice(positionals)) return usageError(TEST, '"-" (standard input) can be given once', out);

  const read = readCases(values.cases);
  if (!read.ok) {
    out.stderr.write(`${printableLines(read.message)}\n`);
    return 2;
  }
  const loaded = await loadPaths(positionals, out.stderr, undefined, undefined, values.strict === true);
  // Exit 1 means "a case failed" to CI: manifests that cannot be used are a bad input, 2.
  if (!loaded) return 2;
  const results = runCases(loaded.index, read.cases);
  out.stdout.write(formatResults(results, format.format, { suite: values.cases }));
  return results.every((r) => r.pass) ? 0 : 1;
}
