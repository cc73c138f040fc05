// lint's `namespaces` option (an incident's validation lints its own namespace of a large
// cluster): exactly the findings a whole-cluster lint gives for those namespaces and for none,
// annotations honoured and reported as before, and a config entry never called unused for a
// match it may have in a namespace left out.
import { describe, expect, it } from 'vitest';
import { lint, type LintFinding } from '../../src/policy/lint.js';
import { buildLintConfig, type LintConfig } from '../../src/policy/lint-config.js';
import { IGNORE_ANNOTATION } from '../../src/policy/lint-suppress.js';
import { index, netpol } from '../helpers/policy.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = { kind?: string; metadata: { namespace?: string; name: string; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

function config(document: unknown): LintConfig {
  const r = buildLintConfig(document, 'lint.yaml');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

/** A cluster with findings of several families: exposure, void policies, annotations used, unused and malformed. */
function cluster(seed: number): Obj[] {
  const objects = syntheticCluster({ pods: 600, policiesPerPod: 0.5, openNamespaces: 0.3, seed }) as Obj[];
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  policies.forEach((p, i) => {
    if (i % 7 === 0) p.metadata.annotations = { [IGNORE_ANNOTATION]: 'NP011: DNS comes from the node' };
    if (i % 11 === 0) p.metadata.annotations = { [IGNORE_ANNOTATION]: 'NP031: kept on purpose; NP020: for later' };
    if (i % 13 === 0) p.metadata.annotations = { [IGNORE_ANNOTATION]: 'not a rule' };
  });
  const namespaces = [...new Set(policies.map((p) => p.metadata.namespace as string))];
  // Two equivalent allow-alls next to a deny-all: the later one is void.
  for (const ns of namespaces.slice(0, 2)) {
    objects.push(netpol(ns, 'allow-all-a', { podSelector: {}, ingress: [{}] }) as Obj, netpol(ns, 'allow-all-b', { podSelector: {}, ingress: [{}] }) as Obj);
  }
  return objects;
}

const inScope = (f: LintFinding, namespaces: readonly string[]): boolean => f.namespace === undefined || namespaces.includes(f.namespace);
const isConfigUnused = (f: LintFinding): boolean => f.id === 'NP041' && f.namespace === undefined;

describe('lint of some namespaces', () => {
  it.each([1, 2, 3])('gives the whole-cluster findings of those namespaces and of none (seed %i)', (seed) => {
    const objects = cluster(seed);
    const idx = index(objects);
    const lintConfig = config({ ignore: [{ rule: 'NP002', namespace: 'ns-1', reason: 'migrating' }, { rule: 'NP011', reason: 'node-local DNS' }, { rule: 'NP030', namespace: 'nowhere', reason: 'gone' }] });
    const whole = lint(idx, { config: lintConfig });
    const namespaces = [...new Set(objects.map((o) => (o.kind === 'Namespace' ? o.metadata.name : o.metadata.namespace)).filter((n): n is string => n !== undefined))];
    expect([...new Set(whole.map((f) => f.id))]).toEqual(expect.arrayContaining(['NP010', 'NP031', 'NP040', 'NP041']));
    for (const chosen of [[namespaces[0] as string], [namespaces[1] as string, namespaces[4] as string], ['no-such-namespace']]) {
      const part = lint(idx, { config: lintConfig, namespaces: chosen });
      expect(part).toEqual(whole.filter((f) => inScope(f, chosen) && !isConfigUnused(f)));
    }
    // Every namespace's findings together are the cluster's (but for the config's unused entries).
    const byNamespace = namespaces.flatMap((ns) => lint(idx, { config: lintConfig, namespaces: [ns] }).filter((f) => f.namespace !== undefined));
    expect(byNamespace.length).toBe(whole.filter((f) => f.namespace !== undefined).length);
  });

  it('a config entry that matches in a namespace left out is not called unused', () => {
    const objects = [netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }), netpol('b', 'egress', { podSelector: {}, policyTypes: ['Egress'] })];
    const lintConfig = config({ ignore: [{ rule: 'NP011', namespace: 'b', reason: 'DNS by the node' }] });
    // Whole: the entry is used in b. Only a: the b finding is not worked out, and neither is the entry reported.
    expect(lint(index(objects), { config: lintConfig }).filter((f) => f.id === 'NP041')).toEqual([]);
    expect(lint(index(objects), { config: lintConfig, namespaces: ['a'] }).filter((f) => f.id === 'NP041' || f.namespace === 'b')).toEqual([]);
    // An annotation of the namespace linted that matches nothing is still reported.
    const annotated = { ...netpol('a', 'quiet', { podSelector: {}, policyTypes: ['Ingress'] }), metadata: { namespace: 'a', name: 'quiet', annotations: { [IGNORE_ANNOTATION]: 'NP011: none here' } } };
    expect(lint(index([...objects, annotated]), { namespaces: ['a'] }).filter((f) => f.id === 'NP041').map((f) => f.policy)).toEqual(['quiet']);
  });

  it('an empty list keeps only the findings of no namespace', () => {
    const objects = [netpol('a', 'deny', { podSelector: {}, policyTypes: ['Egress'] }), { kind: 'Namespace', metadata: { name: 'open' } }];
    expect(lint(index(objects)).length).toBeGreaterThan(0);
    expect(lint(index(objects), { namespaces: [] })).toEqual([]);
  });
});
