// Renderers for connectivity lists (pure). txt/json/csv follow the netpol-analyzer conventions:
// `SRC => DST : CONNS`, lines sorted, workloads as namespace/name[Kind], externals as ranges.
import type { Connection } from './connectivity.js';

export const FORMATS = ['txt', 'json', 'csv', 'md', 'dot'] as const;
export type Format = (typeof FORMATS)[number];

function sortedLines(connections: readonly Connection[]): Array<{ src: string; dst: string; conn: string }> {
  return connections
    .map((c) => ({ src: c.src.id, dst: c.dst.id, conn: c.conns.toString() }))
    .sort((a, b) => {
      const x = `${a.src} => ${a.dst} : ${a.conn}`;
      const y = `${b.src} => ${b.dst} : ${b.conn}`;
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function dotId(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function formatConnections(connections: readonly Connection[], format: Format): string {
  const lines = sortedLines(connections);
  switch (format) {
    case 'txt':
      return lines.map((l) => `${l.src} => ${l.dst} : ${l.conn}`).join('\n') + (lines.length > 0 ? '\n' : '');
    case 'json':
      return `${JSON.stringify(lines, null, 2)}\n`;
    case 'csv':
      return ['src,dst,conn', ...lines.map((l) => [l.src, l.dst, l.conn].map(csvField).join(','))].join('\n') + '\n';
    case 'md':
      return ['| src | dst | conn |', '|-----|-----|------|', ...lines.map((l) => `| ${l.src} | ${l.dst} | ${l.conn} |`)].join('\n') + '\n';
    case 'dot': {
      const nodes = new Map<string, boolean>();
      for (const c of connections) {
        nodes.set(c.src.id, c.src.kind === 'external');
        nodes.set(c.dst.id, c.dst.kind === 'external');
      }
      const out = ['digraph connectivity {'];
      for (const [id, external] of [...nodes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        out.push(`  ${dotId(id)} [shape=${external ? 'box' : 'ellipse'}${external ? ', style=dashed' : ''}];`);
      }
      for (const l of lines) out.push(`  ${dotId(l.src)} -> ${dotId(l.dst)} [label=${dotId(l.conn)}];`);
      out.push('}');
      return out.join('\n') + '\n';
    }
  }
  return '';
}
