// `netpol-responder analyze`: lists allowed connections between workloads and external ranges, or
// explains one connection. Flags and usage: ANALYZE in ./specs.ts.
import { printable, printableLines } from '../printable.js';
import { allowed, connectivity, explainDecision, FORMATS, formatConnections, PROTOCOLS, QueryError, type Protocol } from '../policy/index.js';
import { loadPaths, stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usageError } from './spec.js';
import { ANALYZE } from './specs.js';

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(ANALYZE, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals } = parsed;
  const format = pickFormat(values.format ?? 'txt', FORMATS);
  if (!format.ok) return usageError(ANALYZE, format.message);
  const protocol = (values.protocol ?? 'TCP').toUpperCase() as Protocol;
  if (!PROTOCOLS.includes(protocol)) return usageError(ANALYZE, `--protocol: unknown protocol "${values.protocol}" (valid: ${PROTOCOLS.join(', ')})`);
  const paths = values.explain ? positionals.slice(0, -2) : positionals;
  if (paths.length === 0) return usageError(ANALYZE, values.explain ? '--explain needs the paths, then SRC and DST' : 'give at least one path (a file, a directory or "-")');
  if (stdinTwice(paths)) return usageError(ANALYZE, '"-" (standard input) can be given once');
  if (values.explain && values.port === undefined) return usageError(ANALYZE, '--explain needs --port (a number or a port name)');
  let only: { protocol: Protocol; port: number } | undefined;
  if (!values.explain && values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d{1,5}$/.test(values.port) || port < 1 || port > 65535) return usageError(ANALYZE, `--port must be a number 1-65535 when listing connections (got "${values.port}")`);
    only = { protocol, port };
  }

  const loaded = await loadPaths(paths, process.stderr, undefined, undefined, values.strict === true);
  if (!loaded) return 1;
  if (values.explain) {
    const [src, dst] = positionals.slice(-2) as [string, string];
    const port = values.port as string;
    try {
      const decision = allowed(loaded.index, src, dst, /^\d+$/.test(port) ? Number(port) : port, protocol);
      process.stdout.write(format.format === 'json' ? `${JSON.stringify(decision, null, 2)}\n` : printableLines(explainDecision(decision)));
      return 0;
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      process.stderr.write(`error: ${printable(error.message, 500)}\n`);
      return 2;
    }
  }
  const externalRanges = values['merge-external'] ? 'merged' : 'policy-blocks';
  const text = formatConnections(connectivity(loaded.index, { externalRanges, ...(only ? { only } : {}) }), format.format);
  // Names come from the manifests: in text formats nothing in them may drive the terminal.
  process.stdout.write(format.format === 'json' ? text : printableLines(text));
  return 0;
}
