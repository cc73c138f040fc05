// Malformed and hostile input: every case gets a clear issue, and the rest of the input is
// loaded unchanged (a bad object never takes the others down, never half-applies).
import { loadYaml, type V1NetworkPolicy, type V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { allowed, buildIndex, loadObjects } from '../../src/policy/index.js';
import { parseManifestText } from '../../src/policy/load-files.js';
import { netpol, ns, pod } from '../helpers/policy.js';

const good = [ns('a'), pod('a', 'web', { app: 'web' }), netpol('a', 'ok', { podSelector: {}, ingress: [{}] })];

function loadWith(bad: unknown): ReturnType<typeof loadObjects> {
  return loadObjects([...good, bad].map((object, i) => ({ object, source: `doc#${i}` })));
}

function expectRejected(bad: unknown, message: RegExp): void {
  const out = loadWith(bad);
  const errors = out.issues.filter((i) => i.severity === 'error');
  expect(errors.map((e) => e.message).join('\n')).toMatch(message);
  expect(errors[0]?.source).toBe('doc#3');
  // The good objects are intact and the bad policy is not there at all.
  expect(out.namespaces.map((n) => n.name)).toEqual(['a']);
  expect(out.pods.map((p) => p.name)).toEqual(['web']);
  expect(out.policies.map((p) => p.name)).toEqual(['ok']);
}

const onDb = (rule: unknown): unknown => netpol('a', 'bad', { podSelector: { matchLabels: { app: 'db' } }, ingress: [rule] });

describe('invalid YAML', () => {
  it('reports the line and keeps the valid documents of the file', () => {
    const text = 'kind: Namespace\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata: {name: x\n  labels: [\n---\nkind: Namespace\nmetadata:\n  name: b\n';
    const out = parseManifestText(text, 'f.yaml');
    expect(out.issues).toHaveLength(1);
    expect(out.issues[0]?.source).toBe('f.yaml#2');
    expect(out.issues[0]?.message).toMatch(/invalid YAML at line \d+/);
    expect(out.inputs.map((i) => (i.object as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'b']);
  });

  it('rejects duplicate keys and invalid JSON', () => {
    expect(parseManifestText('a: 1\na: 2\n', 'dup.yaml').issues[0]?.message).toMatch(/invalid YAML/);
    expect(parseManifestText('{"kind": "Pod",', 'x.json').issues[0]?.message).toMatch(/invalid JSON/);
  });

  it('refuses alias bombs (billion laughs) quickly', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(97 + i);
      const prev = String.fromCharCode(96 + i);
      lines.push(`${name}: &${name} [${Array<string>(9).fill(`*${prev}`).join(', ')}]`);
    }
    const started = performance.now();
    const out = parseManifestText(lines.join('\n'), 'bomb.yaml');
    expect(out.inputs).toEqual([]);
    expect(out.issues[0]?.message).toMatch(/Excessive alias count/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a document that is not a mapping is an error', () => {
    expect(loadWith(['a', 'list']).issues[0]?.message).toMatch(/not a Kubernetes object/);
    expect(loadWith('just text').issues[0]?.message).toMatch(/not a Kubernetes object/);
  });
});

describe('unknown and irrelevant kinds', () => {
  it('unknown kinds are skipped with a warning; Services are skipped silently', () => {
    const out = loadObjects([...good, { kind: 'Gadget', metadata: { name: 'g' } }, { kind: 'Service', metadata: { name: 's' } }].map((object) => ({ object, source: 's' })));
    expect(out.issues).toEqual([{ severity: 'warning', source: 's', message: 'unknown kind "Gadget" skipped' }]);
    expect(out.pods).toHaveLength(1);
  });

  it('deeply nested lists are refused', () => {
    let obj: unknown = pod('a', 'deep', {});
    for (let i = 0; i < 10; i++) obj = { kind: 'List', items: [obj] };
    const out = loadWith(obj);
    expect(out.issues[0]?.message).toMatch(/nested too deeply/);
    expect(out.pods.map((p) => p.name)).toEqual(['web']);
  });
});

describe('invalid selectors', () => {
  it('unknown operator', () => expectRejected(onDb({ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } }] }), /operator "Equals" is not one of/));
  it('In without values', () => expectRejected(onDb({ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] } }] }), /needs at least one value/));
  it('Exists with values', () => expectRejected(onDb({ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }] }), /takes no values/));
  it('invalid label key', () => expectRejected(netpol('a', 'bad', { podSelector: { matchLabels: { 'bad key!': 'x' } } }), /label key "bad key!" is invalid/));
  it('non-string label value', () => expectRejected(onDb({ from: [{ namespaceSelector: { matchLabels: { tier: 3 } } }] }), /label value 3 must be a string/));
  it('unknown selector field', () => expectRejected(onDb({ from: [{ podSelector: { matchLabel: { a: 'b' } } }] }), /unknown field "matchLabel"/));
  it('peer with nothing in it', () => expectRejected(onDb({ from: [{}] }), /must set one of podSelector, namespaceSelector, ipBlock/));
  it('ipBlock mixed with a selector', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }), /ipBlock cannot be combined/));
  it('invalid policyTypes', () => expectRejected(netpol('a', 'bad', { podSelector: {}, policyTypes: ['Inbound'] }), /policyTypes: must be a list of Ingress and\/or Egress/));
});

describe('invalid CIDRs', () => {
  it('not an address', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '300.1.1.1/8' } }] }), /invalid address/));
  it('missing prefix', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0' } }] }), /missing \/prefix/));
  it('prefix too long', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }), /invalid prefix length/));
  it('bad IPv6', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '2001:db8:::1/64' } }] }), /invalid address/));
  it('except outside its cidr', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }), /must be a strict subset of cidr 10.0.0.0\/8/));
  it('except equal to its cidr', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }] }), /strict subset/));
  it('except of the other family', () => expectRejected(onDb({ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['::/64'] } }] }), /strict subset/));
});

describe('invalid ports', () => {
  it('port 0', () => expectRejected(onDb({ ports: [{ port: 0 }] }), /port 0 is out of range/));
  it('port 65536', () => expectRejected(onDb({ ports: [{ port: 65536 }] }), /port 65536 is out of range/));
  it('quoted number', () => expectRejected(onDb({ ports: [{ port: '80' }] }), /quoted number/));
  it('invalid port name', () => expectRejected(onDb({ ports: [{ port: 'HTTP_Port' }] }), /not a valid port name/));
  it('unknown protocol', () => expectRejected(onDb({ ports: [{ port: 80, protocol: 'ICMP' }] }), /protocol "ICMP" is not one of/));
  it('endPort without port', () => expectRejected(onDb({ ports: [{ endPort: 90 }] }), /endPort needs a numeric port/));
  it('endPort with a named port', () => expectRejected(onDb({ ports: [{ port: 'http', endPort: 90 }] }), /endPort needs a numeric port/));
  it('endPort smaller than port', () => expectRejected(onDb({ ports: [{ port: 100, endPort: 90 }] }), /endPort 90 is smaller than port 100/));
  it('endPort out of range', () => expectRejected(onDb({ ports: [{ port: 100, endPort: 70000 }] }), /endPort 70000 is out of range/));
});

describe('duplicates and missing names', () => {
  it('a duplicate policy is an error and the first definition stays', () => {
    const dup = netpol('a', 'ok', { podSelector: {}, policyTypes: ['Egress'] });
    const out = loadWith(dup);
    expect(out.issues).toEqual([{ severity: 'error', source: 'doc#3', object: 'NetworkPolicy a/ok', message: 'duplicate object; the first definition is kept' }]);
    expect(out.policies[0]?.affectsEgress).toBe(false);
  });
  it('duplicate pods and namespaces are errors', () => {
    expect(loadWith(pod('a', 'web', { app: 'other' })).issues[0]?.message).toMatch(/duplicate/);
    expect(loadWith(ns('a', { x: 'y' })).issues[0]?.message).toMatch(/duplicate/);
  });
  it('objects without a name are errors', () => {
    expect(loadWith({ kind: 'NetworkPolicy', metadata: {}, spec: {} }).issues[0]?.message).toMatch(/without metadata.name/);
    expect(loadWith({ kind: 'Deployment', metadata: { name: 'd' }, spec: {} }).issues[0]?.message).toMatch(/without a pod template/);
  });
});

describe('live objects (client-node shapes, no kind on list items)', () => {
  it('loads namespaces, pods and policies given by kind', () => {
    const { index, issues } = buildIndex({
      namespaces: [{ metadata: { name: 'a', labels: { env: 'prod' }, creationTimestamp: new Date(0) } }],
      pods: [{ metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] }, status: { podIP: '10.0.0.5' } }],
      networkPolicies: [{ metadata: { name: 'deny', namespace: 'a' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }],
    });
    expect(issues).toEqual([]);
    expect(index.namespaces.get('a')?.labels).toEqual({ env: 'prod', 'kubernetes.io/metadata.name': 'a' });
    expect(index.policies.has('a/deny')).toBe(true);
    expect(index.pod('a', 'web')?.namedPorts).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
  });

  it('accepts real @kubernetes/client-node V1Pod / V1NetworkPolicy instances', () => {
    // loadYaml builds the same model class instances the API client returns; list items carry no kind.
    const asListItem = <T extends { kind?: string; apiVersion?: string }>(obj: T): T => {
      delete obj.kind;
      delete obj.apiVersion;
      return obj;
    };
    const pods = [
      asListItem(loadYaml<V1Pod>(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1-abc', namespace: 'a', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'u', controller: true }] }, spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] }, status: { phase: 'Running' } }))),
      asListItem(loadYaml<V1Pod>(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cli', namespace: 'a', labels: { app: 'cli' } }, spec: { containers: [{ name: 'c' }] } }))),
    ];
    expect(pods[0]?.constructor.name).toBe('V1Pod');
    const networkPolicies = [
      asListItem(loadYaml<V1NetworkPolicy>(JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'a' }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'cli' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 'http' }, { port: 8000, endPort: 8010 }] }] } }))),
    ];
    const { index, issues } = buildIndex({ pods, networkPolicies });
    expect(issues).toEqual([]);
    expect(index.workloads.map((w) => w.id)).toEqual(['a/cli[Pod]', 'a/web-1[ReplicaSet]']);
    expect(allowed(index, 'a/cli', 'a/web-1', 80).allowed).toBe(true);
    expect(allowed(index, 'a/cli', 'a/web-1', 8010).allowed).toBe(true);
    expect(allowed(index, 'a/cli', 'a/web-1', 8011).allowed).toBe(false);
    expect(allowed(index, '10.2.0.1', 'a/web-1', 80).allowed).toBe(true);
    expect(allowed(index, '10.1.0.1', 'a/web-1', 80).allowed).toBe(false);
  });
});
