// Cross-check for ConnectivityOptions.touching: the connectivity limited to some workloads must
// equal the whole connectivity filtered to the connections from or to them, line for line.
import { expect } from 'vitest';
import { connectivity, formatConnections, type ConnectivityOptions, type PolicyIndex } from '../../src/policy/index.js';

const VARIANTS: ConnectivityOptions[] = [{}, { externalRanges: 'merged' }, { external: false }, { only: { protocol: 'TCP', port: 80 } }];

/** Each workload alone, the first and last together, none, and an unknown id. */
function subsets(ids: string[]): string[][] {
  const out = ids.map((id) => [id]);
  if (ids.length > 1) out.push([ids[0] as string, ids.at(-1) as string]);
  out.push([], ['no-such/workload[Deployment]']);
  return out;
}

export function expectTouchingAgrees(index: PolicyIndex, label: string): void {
  for (const options of VARIANTS) {
    const whole = connectivity(index, options);
    for (const touching of subsets(index.workloads.map((w) => w.id))) {
      const set = new Set(touching);
      const expected = formatConnections(whole.filter((c) => set.has(c.src.id) || set.has(c.dst.id)), 'txt');
      const actual = formatConnections(connectivity(index, { ...options, touching }), 'txt');
      expect(actual, `${label}, ${JSON.stringify(options)}, touching ${touching.join(' ')}`).toBe(expected);
    }
  }
}
