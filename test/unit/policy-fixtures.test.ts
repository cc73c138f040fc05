// Every netpol-analyzer case in test/fixtures/netpol must give exactly its golden
// connectivity list (text, byte for byte after trailing-newline normalisation).
// Where a golden file may differ from a real cluster (not from the API semantics), the engine
// still follows the golden file and docs/policy-engine.md says why: ipBlocks never match pod IPs
// (ipblockstest*), hostNetwork pods are treated as policy-enforced (ipblockstest*: calico-node-tier,
// ibm-keepalived-watcher, ibm-kube-fluentd-with-tier; lint NP023 flags this), unscheduled pods
// take part (core_pods_without_host_ip), and unisolated pods are printed with IPv4 ranges only.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildIndex, connectivity, formatConnections } from '../../src/policy/index.js';
import { readManifests } from '../../src/policy/load-files.js';
import { expectTouchingAgrees } from '../helpers/connectivity-touching.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'netpol');
const cases = readdirSync(join(root, 'tests')).sort();

describe('netpol-analyzer fixture cases', () => {
  it('finds the fixture cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(14);
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
