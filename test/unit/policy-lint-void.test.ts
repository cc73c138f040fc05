// NP031 void-policy and the selector implication it rests on; a randomised cross-check against
// the engine: removing every reported policy part changes no connection, even for pods added
// after the lint ran.
import { describe, expect, it } from 'vitest';
import { connectivity, formatConnections, lint, loadObjects, PolicyIndex, type ClusterObjects } from '../../src/policy/index.js';
import { selectorImplies, selectsNothing } from '../../src/policy/selector-implies.js';
import { parseSelector, type Selector } from '../../src/policy/selectors.js';
import { seededRandom } from '../../src/sim/random.js';
import { index, netpol, ns, pod } from '../helpers/policy.js';

function sel(raw: unknown): Selector {
  const s = parseSelector(raw);
  if (typeof s === 'string') throw new Error(s);
  return s;
}
const ml = (labels: Record<string, string>) => ({ matchLabels: labels });
const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });

describe('selectorImplies', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [{}, {}, true],
    [ml({ app: 'web' }), {}, true],
    [{}, ml({ app: 'web' }), false],
    [ml({ app: 'web', env: 'prod' }), ml({ app: 'web' }), true],
    [ml({ app: 'web' }), ml({ app: 'web', env: 'prod' }), false],
    [ml({ app: 'web' }), expr('app', 'In', ['web', 'api']), true],
    [expr('app', 'In', ['web', 'api']), ml({ app: 'web' }), false],
    [ml({ app: 'web' }), expr('app', 'Exists'), true],
    [expr('app', 'Exists'), ml({ app: 'web' }), false],
    [ml({ app: 'web' }), expr('app', 'NotIn', ['api']), true],
    [ml({ app: 'web' }), expr('app', 'NotIn', ['web']), false],
    [expr('app', 'NotIn', ['a', 'b']), expr('app', 'NotIn', ['a']), true],
    [expr('app', 'NotIn', ['a']), expr('app', 'NotIn', ['a', 'b']), false],
    [expr('app', 'NotIn', ['a']), expr('app', 'In', ['b']), false],
    [expr('app', 'DoesNotExist'), expr('app', 'NotIn', ['a']), true],
    [expr('app', 'DoesNotExist'), expr('app', 'Exists'), false],
    [expr('app', 'NotIn', ['a']), expr('app', 'DoesNotExist'), false],
    [ml({ tier: 'x' }), expr('app', 'DoesNotExist'), false],
    [ml({ tier: 'x' }), expr('app', 'NotIn', ['a']), false],
    [ml({ app: 'b' }), expr('app', 'NotIn', ['a']), true],
    [{ matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['b'] }] }, ml({ zzz: 'q' }), true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }, { key: 'app', operator: 'NotIn', values: ['a'] }] }, expr('app', 'Exists'), true],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }, { key: 'app', operator: 'NotIn', values: ['a'] }] }, ml({ app: 'b' }), true],
  ];
  for (const [a, b, want] of cases) {
    it(`${JSON.stringify(a)} ⇒ ${JSON.stringify(b)} is ${want}`, () => expect(selectorImplies(sel(a), sel(b))).toBe(want));
  }

  it('a contradictory selector selects nothing', () => {
    expect(selectsNothing(sel({ matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }))).toBe(true);
    expect(selectsNothing(sel(expr('app', 'NotIn', ['a'])))).toBe(false);
  });
});

const voids = (objects: unknown[]): string[] =>
  lint(index(objects))
    .filter((f) => f.id === 'NP031')
    .map((f) => f.object);

describe('NP031 void-policy', () => {
  const denyWeb = netpol('a', 'web-deny-all', { podSelector: ml({ app: 'web' }), ingress: [] });
  const allowWeb = netpol('a', 'web-allow-all', { podSelector: ml({ app: 'web' }), ingress: [{}] });

  it('a deny-all next to an allow-all is void, and the message names the allow and explains additivity', () => {
    const findings = lint(index([denyWeb, allowWeb])).filter((f) => f.id === 'NP031');
    expect(findings.map((f) => f.object)).toEqual(['a/web-deny-all ingress']);
    expect(findings[0]?.message).toContain('a/web-allow-all');
    expect(findings[0]?.message).toMatch(/additive/);
    expect(findings[0]?.hint).toMatch(/delete a\/web-allow-all/);
    expect(findings[0]).toMatchObject({ severity: 'warning', namespace: 'a', policy: 'web-deny-all' });
    // In either order; the allow-all itself is never void.
    expect(voids([allowWeb, denyWeb])).toEqual(['a/web-deny-all ingress']);
  });

  it('a namespace default-deny next to a namespace allow-all is void', () => {
    expect(voids([netpol('a', 'deny', { podSelector: {} }), netpol('a', 'allow', { podSelector: {}, ingress: [{}] })])).toEqual(['a/deny ingress']);
    expect(voids([netpol('a', 'deny', { podSelector: { matchLabels: null } }), netpol('a', 'allow', { podSelector: { matchLabels: null }, ingress: [{ from: [] }] })])).toEqual(['a/deny ingress']);
    expect(voids([netpol('a', 'deny', { podSelector: {}, policyTypes: ['Egress'] }), netpol('a', 'allow', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] })])).toEqual(['a/deny egress']);
  });

  it('a namespace default-deny next to narrower namespace-wide allows is the baseline, not void', () => {
    const deny = netpol('a', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const sameNamespace = netpol('a', 'same-namespace', { podSelector: { matchLabels: null }, ingress: [{ from: [{ podSelector: {} }] }] });
    const dns = netpol('a', 'dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    expect(voids([deny, sameNamespace, dns])).toEqual([]);
  });

  it('a normal default-deny plus specific allows is not flagged (with or without pods)', () => {
    const policies = [
      netpol('a', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      netpol('a', 'web', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: ml({ app: 'api' }) }], ports: [{ port: 80 }] }] }),
      netpol('a', 'db', { podSelector: ml({ app: 'db' }), ingress: [{ from: [{ podSelector: ml({ app: 'web' }) }], ports: [{ port: 5432 }] }] }),
      netpol('a', 'dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }),
    ];
    expect(voids(policies)).toEqual([]);
    // Every pod of the input has its own allow policy: the default-deny still guards pods added later.
    expect(voids([ns('a'), pod('a', 'w', { app: 'web' }), pod('a', 'd', { app: 'db' }), ...policies])).toEqual([]);
  });

  it('narrower selectors are voided by broader ones, not the reverse', () => {
    const denyProd = netpol('a', 'deny-prod', { podSelector: ml({ app: 'web', env: 'prod' }) });
    expect(voids([denyProd, allowWeb])).toEqual(['a/deny-prod ingress']);
    const allowProd = netpol('a', 'allow-prod', { podSelector: ml({ app: 'web', env: 'prod' }), ingress: [{}] });
    expect(voids([denyWeb, allowProd])).toEqual([]);
  });

  it('an allow covered by a broader allow is void; a partly covered one is not', () => {
    const narrow = netpol('a', 'narrow', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: ml({ app: 'api' }) }], ports: [{ port: 80 }] }] });
    const broad = netpol('a', 'broad', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] });
    expect(voids([narrow, broad])).toEqual(['a/narrow ingress']);
    const otherPort = netpol('a', 'other', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: ml({ app: 'api' }) }], ports: [{ port: 443 }] }] });
    expect(voids([narrow, otherPort])).toEqual([]);
    const twoPeers = netpol('a', 'two', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: ml({ app: 'api' }) }, { ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] }] });
    expect(voids([twoPeers, broad])).toEqual([]);
  });

  it('peers and address blocks may be covered by several rules and policies together', () => {
    const p = netpol('a', 'p', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { podSelector: ml({ app: 'x' }) }], ports: [{ port: 80 }] }] });
    const lo = netpol('a', 'lo', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/9' } }] }] });
    const hi = netpol('a', 'hi', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.128.0.0/9' } }, { podSelector: {} }] }] });
    const findings = lint(index([p, lo, hi])).filter((f) => f.id === 'NP031');
    expect(findings.map((f) => f.object)).toEqual(['a/p ingress']);
    expect(findings[0]?.message).toContain('a/lo, a/hi');
    expect(voids([p, lo])).toEqual([]);
  });

  it('of two equivalent policies only the later one is reported', () => {
    const a = netpol('a', 'first', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: {} }] }] });
    const b = netpol('a', 'second', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: {} }] }] });
    expect(voids([a, b])).toEqual(['a/second ingress']);
    expect(voids([b, a])).toEqual(['a/first ingress']);
  });

  it('deny-alls next to deny-alls are only redundant: not reported', () => {
    expect(voids([netpol('a', 'd1', { podSelector: {} }), netpol('a', 'd2', { podSelector: {} }), netpol('a', 'd3', { podSelector: ml({ app: 'x' }) })])).toEqual([]);
  });

  it('per direction, within one namespace', () => {
    const both = netpol('a', 'both', { podSelector: ml({ app: 'web' }), policyTypes: ['Ingress', 'Egress'], ingress: [{ ports: [{ port: 80 }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    const openIn = netpol('a', 'open-in', { podSelector: {}, ingress: [{}] });
    expect(voids([both, openIn])).toEqual(['a/both ingress']);
    expect(voids([both, netpol('b', 'open-in', { podSelector: {}, ingress: [{}] })])).toEqual([]);
    const egressDeny = netpol('a', 'foo-deny-egress', { podSelector: ml({ app: 'foo' }), policyTypes: ['Egress'] });
    const external = netpol('a', 'foo-deny-external-egress', {
      podSelector: ml({ app: 'foo' }),
      policyTypes: ['Egress'],
      egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }, { to: [{ namespaceSelector: {} }] }],
    });
    expect(voids([egressDeny, external])).toEqual(['a/foo-deny-egress egress']);
  });

  it('named ports: covered by the same name or by every port of the protocol', () => {
    const named = netpol('a', 'named', { podSelector: ml({ app: 'web' }), ingress: [{ ports: [{ port: 'http' }] }] });
    const cover = (ports: unknown) => voids([named, netpol('a', 'q', { podSelector: {}, ingress: [{ ports }] })]);
    expect(cover([{ port: 'http' }])).toEqual(['a/named ingress']);
    expect(cover([{ protocol: 'TCP' }])).toEqual(['a/named ingress']);
    expect(cover([{ port: 80 }])).toEqual([]);
    expect(cover([{ port: 'http', protocol: 'UDP' }])).toEqual([]);
  });

  it('own-namespace pods against namespace selectors, with the namespace labels known', () => {
    const p = netpol('a', 'p', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: ml({ app: 'x' }) }], ports: [{ port: 80 }] }] });
    // q allows more ports than p, so only p can be void.
    const q = (nsSel: unknown) => netpol('a', 'q', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ namespaceSelector: nsSel, podSelector: ml({ app: 'x' }) }] }] });
    expect(voids([p, q(ml({ 'kubernetes.io/metadata.name': 'a' }))])).toEqual(['a/p ingress']);
    expect(voids([p, q(ml({ team: 't' }))])).toEqual([]);
    expect(voids([ns('a', { team: 't' }), p, q(ml({ team: 't' }))])).toEqual(['a/p ingress']);
    // And the other way: a namespace selector pinned to the own namespace is covered by a pod peer.
    const pinned = netpol('a', 'pinned', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ namespaceSelector: ml({ 'kubernetes.io/metadata.name': 'a' }), podSelector: ml({ app: 'x' }) }], ports: [{ port: 80 }] }] });
    const pods = netpol('a', 'pods', { podSelector: ml({ app: 'web' }), ingress: [{ from: [{ podSelector: expr('app', 'Exists') }] }] });
    expect(voids([pinned, pods])).toEqual(['a/pinned ingress']);
  });

  it('a policy whose selector can match nothing is left to NP020', () => {
    const never = netpol('a', 'never', { podSelector: { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] } });
    expect(voids([never, netpol('a', 'open', { podSelector: {}, ingress: [{}] })])).toEqual([]);
  });
});

// ---- randomised cross-check against the engine -----------------------------------------------

const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b'];

function randomObjects(seed: number): { policies: unknown[]; pods: unknown[]; laterPods: unknown[]; namespaces: unknown[] } {
  const r = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const labels = (): Record<string, string> => Object.fromEntries(KEYS.filter(() => r() < 0.6).map((k) => [k, pick(VALUES)]));
  const selector = (): Record<string, unknown> => {
    const x = r();
    if (x < 0.35) return {};
    if (x < 0.75) return { matchLabels: labels() };
    const op = pick(['In', 'NotIn', 'Exists', 'DoesNotExist']);
    return { matchExpressions: [{ key: pick(KEYS), operator: op, ...(op === 'In' || op === 'NotIn' ? { values: [pick(VALUES)] } : {}) }] };
  };
  const peer = (): Record<string, unknown> => {
    const x = r();
    if (x < 0.4) return { podSelector: selector() };
    if (x < 0.7) return { namespaceSelector: selector(), podSelector: selector() };
    return { ipBlock: pick([{ cidr: '10.0.0.0/8' }, { cidr: '10.0.0.0/9' }, { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }]) };
  };
  const rule = (): Record<string, unknown> => ({
    ...(r() < 0.3 ? {} : { from: [peer(), ...(r() < 0.3 ? [peer()] : [])] }),
    ...(r() < 0.4 ? {} : { ports: [pick([{ port: 80 }, { port: 443 }, { port: 53, protocol: 'UDP' }, { port: 'http' }, { protocol: 'TCP' }])] }),
  });
  const namespaces = ['n0', 'n1'].map((name) => ({ kind: 'Namespace', metadata: { name, labels: labels() } }));
  const policies: unknown[] = [];
  for (let i = 0; i < 6; i++) {
    const types = pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
    const rules = (): unknown[] => Array.from({ length: Math.floor(r() * 3) }, rule);
    const ingress = rules();
    const egress = rules().map((x) => {
      const { from, ...rest } = x as { from?: unknown };
      return from === undefined ? rest : { ...rest, to: from };
    });
    policies.push(netpol(pick(['n0', 'n0', 'n1']), `p${i}`, { podSelector: selector(), policyTypes: types, ingress, egress }));
  }
  const podsOf = (prefix: string, n: number): unknown[] =>
    Array.from({ length: n }, (_, i) => ({ kind: 'Pod', metadata: { namespace: pick(['n0', 'n1']), name: `${prefix}${i}`, labels: labels() }, spec: { containers: [{ name: 'c', ports: r() < 0.5 ? [{ name: 'http', containerPort: 8080 }] : [] }] } }));
  return { policies, pods: podsOf('p', 5), laterPods: podsOf('later', 8), namespaces };
}

function list(objects: ClusterObjects): string {
  // Merged ranges: removing a rule's ipBlock changes how addresses are split into blocks, not what is allowed.
  return formatConnections(connectivity(new PolicyIndex(objects), { externalRanges: 'merged' }), 'txt');
}

describe('NP031 against the engine (random clusters)', () => {
  it('removing the reported parts changes no connection, also for pods added after the lint', () => {
    let reported = 0;
    let withRules = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { policies, pods, laterPods, namespaces } = randomObjects(seed);
      const linted = lint(index([...namespaces, ...pods, ...policies])).filter((f) => f.id === 'NP031');
      if (linted.length === 0) continue;
      reported += linted.length;
      withRules += linted.filter((f) => f.message.startsWith('changes nothing')).length;
      const full = loadObjects([...namespaces, ...pods, ...laterPods, ...policies].map((object, i) => ({ object, source: `r#${i}` })));
      const pruned: ClusterObjects = {
        ...full,
        policies: full.policies.map((p) => {
          const gone = (d: string): boolean => linted.some((f) => f.namespace === p.namespace && f.policy === p.name && f.object.endsWith(` ${d}`));
          return {
            ...p,
            ...(gone('ingress') ? { affectsIngress: false, ingress: [] } : {}),
            ...(gone('egress') ? { affectsEgress: false, egress: [] } : {}),
          };
        }),
      };
      expect(list(pruned), `seed ${seed}: ${linted.map((f) => f.object).join(', ')}`).toBe(list(full));
    }
    // The generator must actually produce void policies for the check to mean something.
    expect(reported).toBeGreaterThan(300);
    expect(withRules).toBeGreaterThan(100);
  });
});
