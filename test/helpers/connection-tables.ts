// Connectivity as comparable tables, for tests that check a state is no more open than others:
// connections per workload pair, and per workload and outside address probed at every address
// block start any of the lists names (so blocks that differ between states still line up).
import { Conns, type Connection } from '../../src/policy/index.js';

export function connectionTables(lists: Connection[][]): Array<Map<string, Conns>> {
  const probes = new Map<number, Set<bigint>>([
    [4, new Set()],
    [6, new Set()],
  ]);
  for (const list of lists) for (const c of list) for (const e of [c.src, c.dst]) if (e.kind === 'external') probes.get(e.family)?.add(e.start);
  return lists.map((list) => {
    const m = new Map<string, Conns>();
    const add = (key: string, conns: Conns): void => void m.set(key, (m.get(key) ?? Conns.NONE).union(conns));
    for (const c of list) {
      const ext = c.src.kind === 'external' ? c.src : c.dst.kind === 'external' ? c.dst : undefined;
      if (ext?.kind !== 'external') {
        add(`${c.src.id} => ${c.dst.id}`, c.conns);
        continue;
      }
      for (const p of probes.get(ext.family) ?? []) {
        if (p >= ext.start && p <= ext.end) add(c.src.kind === 'external' ? `ip${ext.family}:${p} => ${c.dst.id}` : `${c.src.id} => ip${ext.family}:${p}`, c.conns);
      }
    }
    return m;
  });
}
