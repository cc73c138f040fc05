// `netpol-responder analyze <path...> [--format txt|json|csv|md|dot] [--explain SRC DST [--port P] [--protocol TCP]]`
// Lists allowed connections between workloads and external ranges, or explains one connection.
import { parseArgs } from 'node:util';
import { allowed, connectivity, explainDecision, FORMATS, formatConnections, PROTOCOLS, QueryError, type Format, type Protocol } from '../policy/index.js';
import { loadPaths } from './policy-input.js';

const USAGE = `usage: netpol-responder analyze <path...> [--format txt|json|csv|md|dot] [--port N --protocol TCP|UDP|SCTP] [--merge-external]
       netpol-responder analyze <path...> --explain SRC DST [--port N|name] [--protocol TCP|UDP|SCTP]
SRC/DST: namespace/name (pod or workload), namespace/name[Kind], or an IP address.
--merge-external joins adjacent external address blocks that have the same connections.
`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'txt' },
        explain: { type: 'boolean', default: false },
        port: { type: 'string' },
        protocol: { type: 'string', default: 'TCP' },
        'merge-external': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const format = values.format as Format;
  if (!FORMATS.includes(format)) {
    process.stderr.write(`unknown format "${values.format}" (txt, json, csv, md, dot)\n`);
    return 2;
  }
  const protocol = values.protocol.toUpperCase() as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    process.stderr.write(`unknown protocol "${values.protocol}" (TCP, UDP, SCTP)\n`);
    return 2;
  }
  const paths = values.explain ? positionals.slice(0, -2) : positionals;
  if (paths.length === 0 || (values.explain && positionals.length < 3)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const loaded = await loadPaths(paths, process.stderr);
  if (!loaded) return 1;
  if (values.explain) {
    const [src, dst] = positionals.slice(-2) as [string, string];
    if (values.port === undefined) {
      process.stderr.write('--explain needs --port (a number or a port name)\n');
      return 2;
    }
    try {
      const decision = allowed(loaded.index, src, dst, /^\d+$/.test(values.port) ? Number(values.port) : values.port, protocol);
      process.stdout.write(format === 'json' ? `${JSON.stringify(decision, null, 2)}\n` : explainDecision(decision));
      return 0;
    } catch (error) {
      if (error instanceof QueryError) {
        process.stderr.write(`error: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  }
  let only: { protocol: Protocol; port: number } | undefined;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 1 || port > 65535) {
      process.stderr.write(`--port must be a number 1-65535 when listing connections\n`);
      return 2;
    }
    only = { protocol, port };
  }
  const externalRanges = values['merge-external'] ? 'merged' : 'policy-blocks';
  process.stdout.write(formatConnections(connectivity(loaded.index, { externalRanges, ...(only ? { only } : {}) }), format));
  return 0;
}
