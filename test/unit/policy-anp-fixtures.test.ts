// Every AdminNetworkPolicy / BaselineAdminNetworkPolicy case of test/fixtures/netpol-anp (from
// netpol-analyzer) must give exactly its golden connectivity list, as for test/fixtures/netpol.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildIndex, connectivity, formatConnections } from '../../src/policy/index.js';
import { readManifests } from '../../src/policy/load-files.js';
import { expectTouchingAgrees } from '../helpers/connectivity-touching.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'netpol-anp');
const cases = readdirSync(join(root, 'tests')).sort();

describe('netpol-analyzer AdminNetworkPolicy / BaselineAdminNetworkPolicy cases', () => {
  it('finds the fixture cases', () => {
    expect(cases.length).toBe(6);
  });

  for (const name of cases) {
    it(`${name} matches its golden connlist`, async () => {
      const read = await readManifests([join(root, 'tests', name)]);
      expect(read.issues).toEqual([]);
      const { index, issues } = buildIndex(read.inputs);
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
      const actual = formatConnections(connectivity(index), 'txt');
      const expected = readFileSync(join(root, 'expected', `${name}_connlist_output.txt`), 'utf8');
      expect(actual.trimEnd().split('\n')).toEqual(expected.trimEnd().split('\n'));
      expectTouchingAgrees(index, name);
    });
  }
});
